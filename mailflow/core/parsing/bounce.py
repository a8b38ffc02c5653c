"""Bounces: which addresses a bounce says did not take our mail (RFC 3464 delivery status notifications), and
whether a mail without the headers that say so was written by a machine all the same.

Pure and forgiving: a report it cannot read gives no addresses, never an exception.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
from dataclasses import dataclass
from email.message import Message

from mailflow.core.parsing.text import Pattern, fold

__all__ = ["MachineMail", "failed_recipients", "machine_mail"]

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


# --- mail a machine wrote, when the headers alone do not say so ---------------------------------------------

_READ = 4_000  # characters of text a delivery report needs; the returned mail after it adds nothing

# The mailbox of a mail system (RFC 2142 postmaster, MTA daemons): it writes reports, never requests. Not
# "bounces@": newsletters send from it as their envelope address.
_DAEMON_MAILBOX = Pattern(
    r"(?:^|[<\"\s])(?:mailer[-_.]?daemon|mail[-_.]?daemon|post[-_.]?master|mdaemon|maildaemon|"
    r"microsoftexchange[0-9a-f]*)(?:[@>\"\s\\]|$)",
    re.IGNORECASE,
    lowered=True,
)
_DAEMON_NAME = Pattern(r"mail delivery (?:sub)?system|postmaster|mailer-daemon", re.IGNORECASE, lowered=True)
# Gateways, scanners and mail services that write reports too, but whose names alone prove less.
_SYSTEM_MAILBOX = Pattern(
    r"(?:^|[<\"\s])[^@<>\"\s]*(?:(?:smtp|e?-?mail|messaging|mta)[-_.]?\w*?(?:service|system|gateway|server|"
    r"delivery|admin|error)|anti[-_.]?virus|virus[-_.]?wall|interscan|imss|inetgw|mail[-_.]?scanner)"
    r"[^@<>\"\s]*@",
    re.IGNORECASE,
    lowered=True,
)
_SYSTEM_NAME = Pattern(
    r"\bmail(?:er)? ?(?:delivery )?(?:system|subsystem|service|daemon|gateway)\b|system administrator|"
    r"mail administrator",
    re.IGNORECASE,
    lowered=True,
)
# A mailing-list robot: Mailman, Majordomo, fml and the like write from list-owner, list-request and -admin.
_LIST_ROBOT = re.compile(
    r"^(?:owner-[^@]+|[^@]+-(?:owner|request|bounces?|admin|ctl))@|^(?:majordomo|listserv|mailman|ecartis)@",
    re.IGNORECASE,
)
# A subject saying a mail was not delivered (nl/fr/en/de), wherever it stands: NDRs often append it.
_FAILURE_SUBJECT = re.compile(
    r"undeliver(?:ed|able)|non-?deliver(?:y|able)|(?:could not|cannot|couldn't|can't) be delivered|"
    r"not delivered|delivery (?:status|failure|failed|has failed|problem|report|notification|warning|error|"
    r"delayed)|mail delivery (?:failed|failure|error|problem|report|status|notification|warning|"
    r"subsystem|system)|"
    r"mail (?:system )?error|returned mail|returned to sender|failure notice|"
    r"(?:mail|message) (?:bounced|rejected|blocked)|"
    r"onbestelbaar|niet (?:afgeleverd|bezorgd)|bezorging (?:mislukt|vertraagd)|afleverings?(?:fout|rapport)|"
    r"non remis|non distribu|echec (?:de (?:la )?)?(?:remise|livraison|distribution)|"
    r"unzustellbar|nicht zugestellt|zustellung (?:fehlgeschlagen|gescheitert|verzogert)|ubermittlungsfehler",
)
# What a delivery report says in words (nl/fr/en/de): the mail did not arrive, and why.
_FAILURE_PHRASES = (
    re.compile(
        r"(?:could not|cannot|couldn't|can't|was not|has not (?:yet )?been) (?:be )?deliver(?:ed)?|"
        r"(?:unable|failed) to deliver|delivery (?:to the following|has failed|failed|problems?|attempts)|"
        r"failed recipients?|undeliver(?:ed|able)|permanent (?:error|failure|fatal)|"
        r"user unknown|unknown (?:user|recipient)|no such (?:user|mailbox|recipient|address)|"
        r"mailbox (?:unavailable|full|not found|does not exist|is full|quota)|over quota|quota exceeded|"
        r"recipient address rejected|returned mail|transcript of (?:the )?session|"
        r"original message (?:was received|follows)|smtp error|remote (?:host|server) said|"
        r"the following (?:addresses|recipients?) (?:had|failed)|delivery status notification"
    ),
    re.compile(
        r"(?:kon|kan) niet (?:worden )?(?:afgeleverd|bezorgd)|is niet (?:afgeleverd|bezorgd)|onbestelbaar|"
        r"bezorging (?:is )?mislukt|postvak (?:is )?vol|"
        r"n'a pas pu (?:etre )?(?:remis|delivre|distribue|achemine)|impossible de (?:remettre|delivrer|"
        r"distribuer)|non remis|echec de (?:la )?(?:remise|livraison|distribution)|destinataire inconnu|"
        r"konnte nicht zugestellt|unzustellbar|zustellung (?:ist )?fehlgeschlagen|empfanger unbekannt"
    ),
)
# The fields of a delivery report pasted as text (RFC 3464 2.2, 2.3) rather than sent as its own part.
_REPORT_FIELDS = re.compile(
    r"^\s*(?:reporting-mta|final-recipient|original-recipient|diagnostic-code|remote-mta|"
    r"action:\s*(?:failed|delayed)|status:\s*[45]\.\d)",
    re.MULTILINE,
)
# The header block of the returned mail, quoted below the report.
_QUOTED_HEADERS = re.compile(
    r"^\s*(?:received: from |return-path: |message-id: <|delivered-to: )", re.MULTILINE
)
# Words each of the two patterns above needs: a text with none of them (most) is not scanned line by line.
_REPORT_FIELD_WORDS = ("-mta", "-recipient", "diagnostic-code", "action:", "status:")
_QUOTED_HEADER_WORDS = ("received: from ", "return-path: ", "message-id: <", "delivered-to: ")


def _has_any(text: str, words: tuple[str, ...]) -> bool:
    return any(word in text for word in words)


# A challenge-response robot: the mail waits until the sender proves to be a person.
_CHALLENGE = re.compile(
    r"(?:added|add you) to (?:the recipient's|my|the|our) (?:allowed|approved|safe|white) ?(?:list|senders)|"
    r"this (?:account|mailbox|address) is protected by|verify (?:that )?you are (?:a )?(?:human|real person)|"
    r"ensure delivery of your (?:e-?mail|message)|uw bericht (?:wordt )?tegengehouden tot"
)


@dataclass(frozen=True)
class MachineMail:
    """What the mail's own words and sender say about a machine writing it: a bounce or an auto-reply."""

    bounce: bool
    confidence: float
    reason: str


def machine_mail(
    headers: dict[str, str],
    own_text: str,
    sender: str | None,
    sender_name: str | None,
    subject: str,
    reply: bool,
) -> MachineMail | None:
    """A delivery report or robot mail that carries none of the headers RFC 3464 and RFC 3834 ask for.

    Reads general signs, each weak alone: a subject saying a mail was not delivered, a sender that is a mail
    system, a null or missing Return-Path, X-Failed-Recipients, and text that reports a failed delivery. Only
    `own_text` counts (what is not quoted or forwarded), so a person replying to a bounce is still read.
    `reply` (a Re: subject) asks for more than the subject, since a person's reply keeps it.
    """
    if headers.get("x-failed-recipients", "").strip():
        return MachineMail(True, 0.95, "bounce: X-Failed-Recipients header")
    raw_from = headers.get("from", "")
    return_path = headers.get("return-path", "").strip()
    null_path = return_path in ("<>", "") or "<>" in raw_from.replace(" ", "")
    daemon = bool(
        _DAEMON_MAILBOX.search(raw_from)
        or _DAEMON_MAILBOX.search(return_path)
        or _DAEMON_NAME.search(raw_from)
    )
    system = daemon or bool(
        _SYSTEM_MAILBOX.search(raw_from) or _SYSTEM_NAME.search(f"{sender_name or ''} {raw_from}")
    )
    folded = fold(own_text[:_READ])
    if _has_any(folded, _REPORT_FIELD_WORDS) and len(_REPORT_FIELDS.findall(folded)) >= 2:
        return MachineMail(True, 0.9, "bounce: delivery report fields in the text (RFC 3464)")
    subject_says = bool(_FAILURE_SUBJECT.search(fold(subject)))
    quoted_headers = _has_any(folded, _QUOTED_HEADER_WORDS) and bool(_QUOTED_HEADERS.search(folded))
    failures = 0
    if subject_says or system or null_path or quoted_headers:
        # Only then can the words of the text decide; most mail, from people, stops before reading them.
        failures = sum(1 for phrase in _FAILURE_PHRASES if phrase.search(folded))
        failures += len(set(_FAILURE_PHRASES[0].findall(folded))) >= 2
    if subject_says and (system or failures >= (2 if reply else 1) or (null_path and not reply)):
        return MachineMail(True, 0.9, "bounce: failure subject with a mail-system sender or report text")
    if system and failures:
        return MachineMail(True, 0.85, "bounce: mail-system sender reporting a failed delivery")
    if failures >= 2 and (null_path or quoted_headers):
        return MachineMail(True, 0.85, "bounce: text of a delivery report with the returned mail")
    if daemon:
        return MachineMail(False, 0.85, "auto_reply: sent by a mail system")
    if sender and _LIST_ROBOT.match(sender):
        return MachineMail(False, 0.85, "auto_reply: a mailing-list robot")
    if _CHALLENGE.search(folded):
        return MachineMail(False, 0.85, "auto_reply: a challenge-response robot")
    return None
