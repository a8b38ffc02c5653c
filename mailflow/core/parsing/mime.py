"""From a MIME tree to the text a person would read: part choice, transfer encodings, charsets, HTML, vCards.

Pure: no network, no clock. Attachments are never read, except a vCard (a name and organisation) and a message
forwarded as an attachment (message/rfc822), which may be the registration itself.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from email.message import Message

from inscriptis import get_text

MAX_TEXT = 100_000  # characters of body text read; a registration never needs more, a flood gets no further
MAX_PARTS = 200  # MIME parts walked; a bomb of nested multiparts stops here

VCARD_TYPES = ("text/vcard", "text/x-vcard", "text/directory")
# The machine-readable parts of RFC 6522 reports, by the report type they stand for.
REPORT_PARTS = {
    "message/feedback-report": "feedback-report",  # RFC 5965 abuse reports (ARF)
    "message/disposition-notification": "disposition-notification",  # RFC 8098 read receipts
    "message/global-disposition-notification": "disposition-notification",
}
# Charsets that are 7-bit on the wire: ASCII-only bytes do not mean ASCII text for them.
STATEFUL_CHARSETS = ("iso-2022", "utf-7", "hz-gb")
# What mail clients mean by "latin-1": the WHATWG encoding standard reads these labels as windows-1252.
LATIN1_LABELS = {
    "iso-8859-1",
    "iso8859-1",
    "latin1",
    "latin-1",
    "l1",
    "us-ascii",
    "ascii",
    "iso_8859-1",
    "cp819",
}

# A marker line put where an HTML mail starts quoting, so that the structure step cuts there like at
# "-----Original Message-----" (inscriptis renders <blockquote> without ">" prefixes).
HTML_QUOTE_MARK = "-----Original Message-----"
_HTML_QUOTE_START = re.compile(
    r"<blockquote\b|<div[^>]+(?:id=[\"']?divRplyFwdMsg|class=[\"']?gmail_quote\b(?![^>]*gmail_quote_container))",
    re.IGNORECASE,
)
_CHARSET = re.compile(r"(?i)\bcharset\s*=\s*[\"']?([^\"';\s]+)")
_USELESS_PLAIN = re.compile(
    r"^\s*(?:this is an? (?:html|multipart).*|\[?image[^\]]*\]?)?\s*$", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True)
class VCard:
    name: str | None
    organisation: str | None
    email: str | None


@dataclass(frozen=True)
class Attached:
    """A message attached whole (message/rfc822): its sender and text."""

    from_header: str
    subject: str
    text: str


@dataclass(frozen=True)
class Body:
    text: str = ""
    html_only: bool = False
    report_type: str | None = None  # "delivery-status" or "disposition-notification" for multipart/report
    delivery_actions: tuple[str, ...] = ()  # RFC 3464 Action: failed, delayed, ...
    vcards: tuple[VCard, ...] = ()
    attached: tuple[Attached, ...] = ()
    notes: tuple[str, ...] = field(default=())  # what was odd about the MIME, for `reasons`


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Bytes to text: the declared charset when it fits, else UTF-8, else windows-1252 (never raises)."""
    label = (declared or "").strip().strip('"').lower()
    if label.startswith(STATEFUL_CHARSETS):
        try:
            return data.decode(label)
        except (LookupError, UnicodeDecodeError):
            pass
    if data.isascii():
        return data.decode("ascii")
    # Valid UTF-8 with non-ASCII bytes is almost never anything else: it beats a wrong "iso-8859-1" label.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if label and label not in LATIN1_LABELS and not label.startswith(("utf-8", "utf8", "unknown")):
        try:
            codecs.lookup(label)
            return data.decode(label)
        except (LookupError, UnicodeDecodeError, ValueError):
            pass
    return data.decode("cp1252", errors="replace")


def _payload_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: a line ending in a space goes on in the next line ("-- " stays a line)."""
    out: list[str] = []
    buffer = ""
    for line in text.split("\n"):
        line = line.removeprefix(" ")
        if line.endswith(" ") and line != "-- " and not line.startswith(">"):
            buffer += line[:-1] if delsp else line
            continue
        out.append(buffer + line)
        buffer = ""
    if buffer:
        out.append(buffer)
    return "\n".join(out)


def _charset(part: Message) -> str | None:
    match = _CHARSET.search(str(part.get("Content-Type", "")))
    return match.group(1) if match else None


def part_text(part: Message, ctype: str = "text/plain") -> str:
    """The decoded text of one text/* part, with LF line endings."""
    text = decode_bytes(_payload_bytes(part)[: MAX_TEXT * 4], _charset(part))
    text = text.replace("\r\n", "\n").replace("\r", "\n")[:MAX_TEXT]
    if ctype == "text/html":
        return html_to_text(text)
    if "flowed" in str(part.get("Content-Type", "")).lower():
        # RFC 3676 format=flowed (DelSp=yes deletes the space before the soft break)
        text = _unflow(text, str(part.get_param("delsp", "")).lower() == "yes")
    return text


def html_to_text(html: str) -> str:
    """HTML to readable text with inscriptis; where the mail starts quoting, a marker line the structure step
    knows."""
    match = _HTML_QUOTE_START.search(html)
    if match:
        html = f"{html[: match.start()]}<p>{HTML_QUOTE_MARK}</p>{html[match.start() :]}"
    try:
        text: str = get_text(html)  # inscriptis ships no type information
        return text
    except Exception:  # noqa: BLE001 - inscriptis on broken markup; the tags stripped crudely will do
        return re.sub(r"<[^>]*>", " ", html)


def _disposition_and_type(part: Message) -> str:
    return (str(part.get("Content-Disposition", "")) + str(part.get("Content-Type", ""))).lower()


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).lower()
    if disposition.strip().startswith("attachment") or "filename" in disposition:
        return True
    return "name=" in str(part.get("Content-Type", "")).lower()


def _useful(text: str) -> bool:
    return not _USELESS_PLAIN.match(text)


def parse_vcard(text: str) -> VCard:
    """FN, ORG and EMAIL of a vCard (RFC 6350); folded lines are unfolded first."""
    fields: dict[str, str] = {}
    for line in re.sub(r"\r?\n[ \t]", "", text).splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        field_name = key.split(";", 1)[0].strip().upper()
        if field_name in ("FN", "ORG", "EMAIL", "N") and field_name not in fields:
            fields[field_name] = value.strip()
    name = fields.get("FN")
    if not name and fields.get("N"):
        parts = fields["N"].split(";")
        name = " ".join(p for p in (parts[1] if len(parts) > 1 else "", parts[0]) if p)
    organisation = fields.get("ORG", "").replace(";", ", ").strip(", ") or None
    return VCard(
        name=name or None, organisation=organisation, email=(fields.get("EMAIL") or "").lower() or None
    )


class _Walker:
    def __init__(self) -> None:
        self.parts_seen = 0
        self.vcards: list[VCard] = []
        self.attached: list[Attached] = []
        self.html_only = True
        self.saw_text = False
        self.types: dict[int, str] = {}  # id(part) -> content type: each part's headers are searched once

    def content_type(self, part: Message) -> str:
        """`part.get_content_type()`, read once per part (it searches the part's headers each time)."""
        found = self.types.get(id(part))
        if found is None:
            found = self.types[id(part)] = part.get_content_type()
        return found

    def text_of(self, part: Message, depth: int = 0, ctype: str | None = None) -> str:
        """The readable text below `part`, choosing among alternatives and skipping attachments."""
        self.parts_seen += 1
        if self.parts_seen > MAX_PARTS or depth > 20:
            return ""
        ctype = ctype or self.content_type(part)
        if ctype in VCARD_TYPES or (ctype == "text/plain" and ".vcf" in _disposition_and_type(part)):
            self.vcards.append(parse_vcard(decode_bytes(_payload_bytes(part)[:20_000], _charset(part))))
            return ""
        if ctype == "message/rfc822":
            self._attach(part, depth)
            return ""
        if part.is_multipart():
            children = [(c, self.content_type(c)) for c in part.get_payload() if isinstance(c, Message)]
            if ctype == "multipart/alternative":
                return self._alternative(children, depth)
            if ctype == "multipart/report":
                # RFC 6522: the first part is for people; the rest is for machines and the returned mail.
                return self.text_of(children[0][0], depth + 1, children[0][1]) if children else ""
            texts = []
            for index, (child, child_type) in enumerate(children):
                if index and child_type not in VCARD_TYPES and _is_attachment(child):
                    if child_type == "message/rfc822":
                        self._attach(child, depth)
                    continue
                texts.append(self.text_of(child, depth + 1, child_type))
            return "\n".join(t for t in texts if t.strip())
        if not ctype.startswith("text/") or ctype in ("text/calendar", "text/rfc822-headers"):
            return ""
        if self.saw_text and _is_attachment(part):
            return ""
        text = part_text(part, ctype)
        self.saw_text = True
        if ctype != "text/html":
            self.html_only = False
        return text

    def _alternative(self, children: list[tuple[Message, str]], depth: int) -> str:
        # Prefer text/plain unless it is empty or a "this is an HTML message" stub;
        # else the richest other part.
        for child, child_type in children:
            if child_type == "text/plain":
                text = self.text_of(child, depth + 1, child_type)
                if _useful(text):
                    return text
        for child, child_type in reversed(children):
            if child_type != "text/plain":
                text = self.text_of(child, depth + 1, child_type)
                if text.strip():
                    return text
        return ""

    def _attach(self, part: Message, depth: int) -> None:
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message) and len(self.attached) < 5:
            message = inner[0]
            walker = _Walker()
            walker.parts_seen = self.parts_seen
            text = walker.text_of(message, depth + 1)
            self.parts_seen = walker.parts_seen
            self.attached.append(
                Attached(str(message.get("From", "")), str(message.get("Subject", "")), text[:MAX_TEXT])
            )


def extract_body(message: Message) -> Body:
    """The text of a parsed message and the facts its MIME structure tells
    (report type, vCards, attachments)."""
    walker = _Walker()
    text = walker.text_of(message)
    report_type = None
    actions: list[str] = []
    if walker.content_type(message) == "multipart/report":
        report_type = str(message.get_param("report-type", "") or "").lower() or "unknown"
    for part in _own_parts(message, walker):
        # A report part counts wherever the mail carries it: some servers send it in multipart/mixed.
        ctype = walker.content_type(part)
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            actions.extend(_delivery_actions(part))
            report_type = "delivery-status"
        elif ctype in REPORT_PARTS and report_type is None:
            report_type = REPORT_PARTS[ctype]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Body(
        text=text[:MAX_TEXT],
        html_only=walker.html_only and walker.saw_text,
        report_type=report_type,
        delivery_actions=tuple(actions),
        vcards=tuple(walker.vcards),
        attached=tuple(walker.attached),
    )


def _own_parts(message: Message, walker: _Walker) -> list[Message]:
    """The parts of the mail itself, not of a mail it carries whole (message/rfc822): a person forwarding a
    bounce as an attachment has not written a bounce."""
    found: list[Message] = []
    stack = [message]
    while stack and len(found) < MAX_PARTS:
        part = stack.pop()
        found.append(part)
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list) and walker.content_type(part) != "message/rfc822":
            stack.extend(reversed([child for child in payload if isinstance(child, Message)]))
    return found


def _delivery_actions(part: Message) -> list[str]:
    """The Action: fields of an RFC 3464 delivery-status part
    (failed, delayed, delivered, relayed, expanded)."""
    found: list[str] = []
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    for block in blocks:
        if isinstance(block, Message):
            action = block.get("Action")
            if action:
                found.append(str(action).strip().lower())
    if not found and isinstance(payload, str):
        found = [m.lower() for m in re.findall(r"(?im)^Action:\s*(\w+)", payload)]
    return found
