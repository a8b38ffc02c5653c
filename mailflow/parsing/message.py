"""A first reading of a mail: headers, sender, and every mail a registration of its From display name.

The parsing issue replaces this with the real understanding; the signature stays.
"""

from __future__ import annotations

import email
import email.policy
import email.utils

from mailflow.parsing.result import Intent, ParseContext, ParsedMessage, Person


def parse_message(raw: bytes, context: ParseContext) -> ParsedMessage:
    """Read one raw RFC 5322 message. Never raises."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        name, address = email.utils.parseaddr(str(msg.get("From", "")))
    except Exception:  # noqa: BLE001 - odd mail is normal here
        return ParsedMessage(Intent.OTHER, reasons=("unreadable",))
    address = address.lower() or None
    people = (Person(name=name, email=address),) if name else ()
    return ParsedMessage(
        Intent.REGISTER,
        people=people,
        sender=address,
        sender_name=name or None,
        message_id=str(msg.get("Message-ID", "")).strip() or None,
        subject=str(msg.get("Subject", "")),
    )
