"""Outgoing MIME: the headers and the multipart tree of every mail mailflow sends, built to serialise safely.

Pure. Threading ids are written byte for byte; a value from a mail reaches a header only as one clean line,
read back as a reader will see it; the tree is built once from constants (see "Assembling the MIME tree").
"""

from __future__ import annotations

import binascii
import datetime as dt
import email.policy
import email.utils
import functools
import re
import unicodedata
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from email import quoprimime
from email.charset import QP, Charset
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from typing import Any

# RFC 5322 3.6.4 msg-id, loosely: printable ASCII without spaces or inner angle brackets, and without "=?",
# which Python's own parser (email.policy.default) reads as an RFC 2047 encoded-word even inside an id, so
# that "<=?utf-8?q?=0D=0ABcc:_x?=@example.org>" would come back as a line break. Anything else is dropped
# rather than "repaired", because a repaired id no longer threads anyway.
_MSG_ID = re.compile(r"<(?![^>]*=\?)[!-;=?-~]{1,900}>")
# The first and the last few References are the ones clients thread on (RFC 5322 3.6.4 and jwz's threading
# algorithm); a mail loop must not grow the header without bound.
MAX_REFERENCES = 20
_NAME_LIMIT = 200


# --- Threading headers that serialise verbatim --------------------------------------------------------------

# List-Unsubscribe is one long <mailto:...> without spaces: the default policy would cut it into
# encoded-words, which no client reads back as a URL.
_VERBATIM_HEADERS = frozenset({"message-id", "in-reply-to", "references", "list-unsubscribe"})


class VerbatimIdPolicy(EmailPolicy):
    """The default policy, except that Message-ID, In-Reply-To and References keep every id byte for byte.

    The default policy folds a header longer than 78 characters and, when a single id does not fit on a line,
    rewrites it as RFC 2047 encoded-words (`=?utf-8?q?=3C...?=`). No client unfolds encoded-words in a msg-id,
    so the reply falls out of its thread. Here ids are only ever folded at the spaces between them (RFC 5322
    2.2.3), and one long id stays whole on its line (it may reach the 998-character limit of RFC 5322 2.1.1).
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if name.lower() in _VERBATIM_HEADERS and isinstance(value, str):
            if not value or not all(_MSG_ID.fullmatch(token) for token in value.split(" ")):
                raise ValueError(f"{name} must be message ids separated by single spaces")
            return (name, value)
        return super().header_store_parse(name, value)

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        # The generator asks each part for its Content-Type and Content-Transfer-Encoding, and the default
        # policy parses the stored string anew every time; the values assemble() writes are a handful of
        # constants, so each is parsed once. Values from anywhere else (a parsed mail) take the usual way and
        # are not kept.
        if isinstance(value, str):
            parsed = _PARSED_STRUCTURE.get((name.lower(), value))
            if parsed is not None:
                return parsed
        return super().header_fetch_parse(name, value)

    def fold(self, name: str, value: Any) -> str:
        if name.lower() in _VERBATIM_HEADERS:
            return _fold_between_ids(name, str(value).split(), self.linesep, self.max_line_length or 78)
        folded: str = super().fold(name, value)
        return folded

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in _VERBATIM_HEADERS:
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


def _fold_between_ids(name: str, ids: list[str], linesep: str, width: int) -> str:
    lines = [f"{name}:"]
    for msg_id in ids:
        if len(lines[-1]) + 1 + len(msg_id) > width and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += " " + msg_id
    return linesep.join(lines) + linesep


# One policy for every message we build, so that any serialiser (message_bytes, smtplib.send_message,
# as_bytes) keeps the ids whole; CRLF because SMTP (RFC 5321 2.3.8) and the outbox want the bytes as sent.
POLICY = VerbatimIdPolicy(linesep="\r\n")
_LINE_LENGTH = POLICY.max_line_length or 78  # RFC 5322 2.1.1

# (lowercased name, value) -> the parsed header, for the Content-Type and Content-Transfer-Encoding values
# that assemble() writes. Header objects are immutable str subclasses, so one can serve every message.
_PARSED_STRUCTURE: dict[tuple[str, str], Any] = {}


def _structure_value(name: str, value: str) -> str:
    """`value`, after noting its parsed form for header_fetch_parse
    (our constants only: nothing from a mail)."""
    key = (name.lower(), value)
    if key not in _PARSED_STRUCTURE:
        _PARSED_STRUCTURE[key] = POLICY.header_factory(name, value)
    return value


def new_message_id(domain: str) -> str:
    """A fresh "<unique@domain>" for a message we send."""
    return email.utils.make_msgid(domain=domain)


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes over SMTP and into the outbox: CRLF line ends, threading headers verbatim."""
    return msg.as_bytes(policy=POLICY)


def threading_ids(in_reply_to: str | None, references: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To and References for a reply (RFC 5322 3.6.4): the parent's chain plus the parent, once each.

    Ids that are not well-formed msg-ids are left out;
    a long chain keeps its first id and the most recent ones.
    """
    parent = in_reply_to.strip() if in_reply_to else None
    if parent is not None and not _MSG_ID.fullmatch(parent):
        parent = None
    chain: list[str] = []
    for msg_id in (*references, parent):
        msg_id = msg_id.strip() if msg_id else None
        if msg_id and _MSG_ID.fullmatch(msg_id) and msg_id not in chain:
            chain.append(msg_id)
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return parent, tuple(chain)


# --- Values from mail, made safe ----------------------------------------------------------------------------


def clean_text(value: str | None, limit: int = _NAME_LIMIT) -> str:
    """A single line for a header or a template: control and line-separator characters become spaces.

    A CR or LF in a display name would otherwise start a new header, and U+2028 is a line break to
    str.splitlines(). Bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) go too: they can make a name
    read backwards. Other format characters stay, since ZWNJ and ZWJ belong to Persian and Indic names.
    """
    if not value:
        return ""
    kept = "".join(
        "" if char in _BIDI_CONTROLS else " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char
        for char in value
    )
    return " ".join(_SPACES.split(kept))[:limit].strip()


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Runs of white space become one space; no-break spaces stay, as French typography sets them (U+00A0,
# U+202F before ":" and inside « », U+2007 in numbers).
_SPACES = re.compile(r"[^\S\u00a0\u202f\u2007]+")


# --- Assembling the MIME tree -------------------------------------------------------------------------------
#
# email.message's set_content/add_alternative/add_attachment parse and re-parse every Content-* header as they
# go (some forty header objects per reply), which made a reply cost over 10 ms. Here the tree is built once
# with set_raw(): the values are either constants or folded by the policy exactly once, so the result
# serialises with the same bytes as before, minus the stray MIME-Version lines add_alternative left in the
# parts.

# Fixed boundaries are safe because every body is quoted-printable or base64: QP writes "=" as "=3D" and
# base64 has no "_", so no body line can contain "=_" and none can be taken for a boundary (RFC 2046 5.1.1).
# Fixed ones keep the bytes deterministic and the Content-Type values constant.
_MIXED = 'multipart/mixed; boundary="=_mailflow_mixed"'
_ALTERNATIVE = 'multipart/alternative; boundary="=_mailflow_alternative"'
_SAFE_FILENAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,100}")


@dataclass(frozen=True)
class Attachment:
    """A file attached to a mail: `content_type` with its parameters, a plain ASCII filename, the bytes."""

    content_type: str  # 'text/calendar; method="PUBLISH"; charset="utf-8"'
    filename: str
    data: bytes


def calendar_attachment(ics: bytes, filename: str, method: str) -> Attachment:
    """An .ics to attach. PUBLISH (RFC 5546 3.2.1): calendars offer to add or update it, nobody is asked to
    answer; CANCEL (3.2.5): calendars take the event out."""
    return Attachment(f'text/calendar; method="{method}"; charset="utf-8"', filename, ics)


def list_unsubscribe(address: str, subject: str) -> str:
    """A List-Unsubscribe value (RFC 2369 3.2): a mail to `address` with `subject`, which mailflow reads as
    a request to leave. The subject is percent-encoded (RFC 6068), so the value is plain ASCII."""
    return f"<mailto:{address}?subject={urllib.parse.quote(subject, safe='')}>"


def require_aware(now: dt.datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def subject_value(subject: str) -> str:
    """A Subject value, folded at spaces (RFC 5322 2.2.3) so no line passes 78 characters where it can be
    helped.

    Printable ASCII is folded here; anything else goes through the policy, which writes RFC 2047
    encoded-words. The policy would put a 70-to-77-character subject whole on a continuation line
    ("Subject:\r\n Rappel : ..."), which Python's own parser reads back with a leading space.
    """
    if not _PLAIN_TEXT.fullmatch(subject) or "=?" in subject:
        return _folded_value("Subject", subject)
    lines = ["Subject:"]
    for word in subject.split(" "):
        if len(lines[-1]) + 1 + len(word) > _LINE_LENGTH and lines[-1] != "Subject:":
            lines.append("")
        lines[-1] += " " + word
    return POLICY.linesep.join(lines).removeprefix("Subject: ")


_PLAIN_TEXT = re.compile(r"[!-~]+(?: [!-~]+)*")


def _folded_value(name: str, value: Any) -> str:
    """A header value as the policy writes it (RFC 2047 encoded-words, folded at 78), ready for set_raw().

    The policy reads any "=?...?=" in the text it is given as an encoded-word and decodes it once more, so a
    subject that was decoded from the mail and still reads "=?utf-8?q?=0D=0ABcc:_x@example.org?=" would come
    out as a line break and a header of its own: such a subject is written wholly as encoded-words of ours,
    which readers decode to exactly this text. Mailboxes are checked as they will be read (see _read_back).
    """
    if isinstance(value, str) and "=?" in value:
        return Header(value, "utf-8", header_name=name).encode(linesep=POLICY.linesep)
    folded: str = POLICY.header_factory(name, value).fold(policy=POLICY)
    value_part = folded.partition(":")[2].removesuffix(POLICY.linesep)
    # "To:\r\n <one long token>" can't be stored as such (the serialiser always writes "To: "); stored as one
    # long line, it gets refolded to the same bytes when written.
    value_part = value_part.removeprefix(" ").removeprefix(POLICY.linesep).removeprefix(" ")
    if isinstance(value, Address) and not _read_back(name, value_part, value):
        return value.addr_spec
    return value_part


def _read_back(name: str, value: str, address: Address) -> bool:
    """Whether a reader of the serialised header gets exactly `address` back: one mailbox, the same name.

    The name is the one value in a reply that comes from the mail, and Python's folder is not to be trusted
    with it: it decodes "=?...?=" in a name once more (a line break, from text the mail had encoded twice),
    and for a long name with both specials and non-ASCII ("X: ü× \\...") its refold drops the quotes, so that
    "X:" reads as a group and the reply goes to no one. Such a name is left out:
    the reply still reaches its one recipient.
    """
    written = POLICY.fold(name, value)  # what the generator writes for a set_raw() value, refolded if long
    reader = email.policy.default
    try:
        header = reader.header_fetch_parse(*reader.header_source_parse(written.splitlines(keepends=True)))
        found = [(mailbox.display_name, mailbox.addr_spec) for mailbox in header.addresses]
    except Exception:  # noqa: BLE001 - what the reader cannot read is not written
        return False
    return found == [(address.display_name, address.addr_spec)]


# Only the sender is cached: names and addresses from mail must not linger in memory after an erase.
@functools.lru_cache(maxsize=8)
def sender_value(display_name: str, addr_spec: str) -> str:
    """The From value for our own address."""
    return mailbox_value("From", display_name, addr_spec)


def mailbox_value(name: str, display_name: str, addr_spec: str) -> str:
    """One mailbox as a From/To value. Raises ValueError unless `addr_spec` is exactly one addr-spec."""
    address = Address(display_name=display_name, addr_spec=addr_spec)
    if _PLAIN_PHRASE.fullmatch(display_name) and _PLAIN_ADDR_SPEC.fullmatch(address.addr_spec):
        # Most names are words of letters: written as the policy would write them, without its parser
        # (RFC 5322 3.4: a phrase of atoms needs no quotes);
        # a line that would need folding still goes through it.
        value = f"{display_name} <{address.addr_spec}>" if display_name else address.addr_spec
        if len(name) + 2 + len(value) <= _LINE_LENGTH:
            return value
    elif _LETTER_WORDS.fullmatch(display_name) and _PLAIN_ADDR_SPEC.fullmatch(address.addr_spec):
        folded = _letters_value(name, display_name, address.addr_spec)
        if folded is not None:
            return folded
    return _folded_value(name, address)


def _letters_value(name: str, display_name: str, addr_spec: str) -> str | None:
    """A name of letters beyond ASCII ("Élise Dubois-Noël", "Anaïs de la Vallée"), folded, or None.

    Each run of words with other letters is one Q encoded-word (RFC 2047 5(3): nothing in it but letters,
    digits and "!*+-/=_", its spaces written "_"), the ASCII words between are atoms, and lines fold at the
    spaces between them: no two encoded-words meet, so every reader keeps the spaces as written, and Python's
    own reader too, whose refold of such a name the policy's writing cannot pass (_read_back). Neither the
    policy's parser nor the read-back is needed: a seventh of the cost. tests/test_render.py reads them back.
    """
    tokens: list[str] = []
    run: list[str] = []
    for word in [*display_name.split(" "), ""]:  # "": the end, which closes the last run
        if word and not word.isascii():
            run.append(word)
            continue
        if run:
            encoded = Header(" ".join(run), _UTF8_Q).encode()
            if len(encoded) > 75 or "\n" in encoded:  # too long for one encoded-word: the policy splits it
                return None
            tokens.append(encoded)
            run = []
        if word:
            tokens.append(word)
    lines = [f"{name}:"]
    for token in [*tokens, f"<{addr_spec}>"]:
        if len(lines[-1]) + 1 + len(token) > _LINE_LENGTH and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += " " + token
    if any(len(line) > _LINE_LENGTH for line in lines):
        return None
    return POLICY.linesep.join(lines).removeprefix(f"{name}: ")


# RFC 5322 3.2.3 atext in words separated by one space; without "=" and "?", so nothing that looks like an
# RFC 2047 encoded-word takes the short cut.
_PLAIN_PHRASE = re.compile(r"(?:[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*)?")
_PLAIN_ADDR_SPEC = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+")
# Words of letters (any script), joined inside by a hyphen or an apostrophe, separated by one space.
_LETTER_WORDS = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*(?: [^\W\d_]+(?:[-'][^\W\d_]+)*)*")
_UTF8_Q = Charset("utf-8")
_UTF8_Q.header_encoding = QP


def _leaf(content_type: str, cte: str, payload: str, disposition: str | None = None) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    part.set_raw("Content-Type", _structure_value("Content-Type", content_type))
    part.set_raw("Content-Transfer-Encoding", _structure_value("Content-Transfer-Encoding", cte))
    if disposition:
        part.set_raw("Content-Disposition", disposition)
    part.set_payload(payload)
    return part


def _text_part(subtype: str, text: str) -> MIMEPart:
    # Quoted-printable keeps the bytes 7-bit, so no relay without 8BITMIME (RFC 6152) has to convert them;
    # the same encoding set_content(cte="quoted-printable") gives.
    lines = text.encode("utf-8").splitlines()
    body = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _LINE_LENGTH)
    return _leaf(f'text/{subtype}; charset="utf-8"', "quoted-printable", body)


def _attachment_part(attachment: Attachment) -> MIMEPart:
    if not _SAFE_FILENAME.fullmatch(attachment.filename):
        raise ValueError(f"attachment filename must be plain lowercase ASCII, got {attachment.filename!r}")
    chunk = _LINE_LENGTH // 4 * 3
    data = attachment.data
    body = "".join(
        binascii.b2a_base64(data[i : i + chunk]).decode("ascii") for i in range(0, len(data), chunk)
    )
    return _leaf(attachment.content_type, "base64", body, f'attachment; filename="{attachment.filename}"')


def _multipart(content_type: str, parts: Sequence[MIMEPart], into: MIMEPart | None = None) -> MIMEPart:
    container = into if into is not None else MIMEPart(policy=POLICY)
    container.set_raw("Content-Type", _structure_value("Content-Type", content_type))
    container.set_payload(list(parts))
    return container


def assemble(
    *,
    sender: str,
    to: str,
    subject: str,
    date: dt.datetime,
    message_id: str,
    threading: tuple[str | None, tuple[str, ...]] = (None, ()),
    auto_submitted: str,
    loop: str,
    language: str,
    text: str,
    html: str,
    attachments: Sequence[Attachment] = (),
    unsubscribe: str | None = None,
) -> EmailMessage:
    """A complete message: text and HTML as alternatives, then the attachments.

    `sender` and `to` are folded values from mailbox_value(); `subject` is made a single line here. `loop` is
    our signup address, written in X-Loop so that our mail is known for ours when a robot sends it back.
    `unsubscribe` is a List-Unsubscribe value (list_unsubscribe()) for the mails mailflow starts itself.
    Raises ValueError for a malformed `message_id` or attachment filename.
    """
    msg = EmailMessage(policy=POLICY)
    msg.set_raw("From", sender)
    msg.set_raw("To", to)
    msg.set_raw("Subject", subject_value(clean_text(subject, limit=900)))  # never a CR or LF into the header
    msg.set_raw("Date", email.utils.format_datetime(date))
    msg["Message-ID"] = message_id  # the policy checks the form
    parent, references = threading
    if parent:
        msg["In-Reply-To"] = parent
    if references:
        msg["References"] = " ".join(references)
    msg.set_raw("Auto-Submitted", auto_submitted)
    # Exchange's own way of saying "don't answer this automatically" (MS-OXCMAIL 2.2.3.2.14).
    msg.set_raw("X-Auto-Response-Suppress", "All")
    # The loop header procmail and RT write: a mail that comes back with it is ours, and is never answered.
    msg.set_raw("X-Loop", loop)
    if unsubscribe:
        msg["List-Unsubscribe"] = unsubscribe  # the policy checks the form, as for the ids
    msg.set_raw("MIME-Version", "1.0")
    alternative = [_text_part("plain", text), _text_part("html", html)]
    if attachments:
        body = _multipart(_ALTERNATIVE, alternative)
        _multipart(_MIXED, [body, *(_attachment_part(item) for item in attachments)], into=msg)
    else:
        _multipart(_ALTERNATIVE, alternative, into=msg)
    msg.set_raw("Content-Language", language)  # RFC 3282
    return msg
