"""Which addresses a bounce says did not take our mail (RFC 3464 delivery status notifications).

Pure and forgiving: a report it cannot read gives no addresses, never an exception.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
from email.message import Message

__all__ = ["failed_recipients"]

_MAX_PARTS = 200  # a report has a handful of parts; a hostile one must not make us walk thousands


def failed_recipients(raw: bytes) -> tuple[str, ...]:
    """The lower-cased addresses a bounce reports as failed, in order and without repeats.

    Reads the per-recipient fields of a message/delivery-status part (Final-Recipient with Action: failed; RFC
    3464 2.3), and Exim's X-Failed-Recipients header, which some servers send instead of a report.
    """
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        found = [*_header_addresses(message.get_all("X-Failed-Recipients") or [])]
        for index, part in enumerate(message.walk()):
            if index >= _MAX_PARTS:
                break
            if part.get_content_type() == "message/delivery-status":
                found += _report_addresses(part)
    except Exception:  # noqa: BLE001 - a broken report is simply one we cannot read
        return ()
    return tuple(dict.fromkeys(address for address in found if address))


def _report_addresses(part: Message) -> list[str]:
    # The email package parses a delivery-status body as a list of header blocks: the per-message block first,
    # then one per recipient.
    payload = part.get_payload()
    blocks = payload[1:] if isinstance(payload, list) else []
    found = []
    for block in blocks:
        if not isinstance(block, Message):
            continue
        action = str(block.get("Action", "failed")).strip().lower()
        recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
        if action == "failed" and recipient:
            found += _typed_address(str(recipient))
    return found


def _typed_address(value: str) -> list[str]:
    """ "rfc822; anna@example.org" -> ["anna@example.org"]; other address types are not mail addresses."""
    kind, _, address = value.partition(";")
    if kind.strip().lower() != "rfc822":
        return []
    return list(_header_addresses([address]))


def _header_addresses(values: list[str]) -> list[str]:
    addresses = email.utils.getaddresses([str(v) for v in values])
    return [addr.strip().lower() for _, addr in addresses if "@" in addr and " " not in addr.strip()]
