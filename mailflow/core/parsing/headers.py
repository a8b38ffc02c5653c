"""Header facts the shell needs to answer safely: sender, display name, Message-ID, References, Subject, Date.

Pure: no network, no clock. Every function takes what the mail gives and returns None or "" where it is absent
or unsafe; none raises.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import re
from email.header import Header, decode_header, make_header
from email.message import Message

from mailflow.core.parsing.mime import decode_bytes

MAX_LINE = 998  # RFC 5322 2.1.1: octets in a line, so in a Message-ID, and more than one mailbox ever needs
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_ADDR_SPEC = re.compile(r"[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+\.[^\s<>()\[\]\"',;:@]+")
_MSG_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]+>")
_ADDR = r'[^<>\s@",;:()\\\[\]]+@[^<>\s@",;:()\\\[\]]+'
# `Name <addr>`, `"Name" <addr>` or a bare `addr`: one address, whatever commas or colons the name holds.
_SIMPLE_FROM = re.compile(
    rf'^(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<plain>[^<>"@]*?))\s*<(?P<angle>{_ADDR})>$|^(?P<bare>{_ADDR})$'
)
_SURROGATE = re.compile("[\udc80-\udcff]")
_VALID_ADDR = re.compile(r"^[^\s\x00-\x1f\x7f@<>()\[\]\",;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


# A header line a mail store or a dump tool may push down below blank lines (RFC 5322 2.2 field names).
_LEADING_BLANK = re.compile(rb"\A(?:[ \t]*\r?\n|[ \t]*\r)+")
_FIELD_NAME = re.compile(rb"^[!-9;-~]+:")
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
_KNOWN_FIELD = re.compile(
    rb"^(?:received|return-path|delivered-to|from|to|subject|date|message-id|mime-version|x-[\w-]+):[ \t]",
    re.IGNORECASE | re.MULTILINE,
)


def without_leading_blank(raw: bytes) -> bytes:
    """The mail without blank lines before its header block.

    A blank first line ends the headers at once (RFC 5322 2.1), so a mail saved with one reads as all body:
    no From, no Subject, no Return-Path, and a bounce's own headers read as the sender's words. Only when
    known header fields follow is the blank cut; a mail that truly has no headers is left as it is.
    """
    match = _LEADING_BLANK.match(raw)
    if match is None:
        return raw
    rest = raw[match.end() :]
    head = _LINE_BREAK.split(rest[:2000])[:6]
    known = sum(1 for line in head if _KNOWN_FIELD.match(line))
    return rest if known >= 2 and _FIELD_NAME.match(head[0]) else raw


def one_line(text: str) -> str:
    """Without control characters, CR or LF (header injection), and with single spaces."""
    if text.isascii() and text.isprintable():
        return " ".join(text.split())  # no control character to replace: the common case
    return " ".join(_CONTROL.sub(" ", text).split())


def decode_words(value: object) -> str:
    """An RFC 2047 header value (or raw 8-bit one) as text, on one line."""
    if value is None:
        return ""
    if isinstance(value, str) and value.isascii() and "=?" not in value:
        return one_line(value)  # the common case: nothing to decode
    try:
        if isinstance(value, Header):
            chunks = decode_header(value)
        else:
            chunks = decode_header(str(value))
        try:
            text = str(make_header(chunks))
        except (LookupError, UnicodeError, ValueError):
            text = "".join(
                decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk
                for chunk, charset in chunks
            )
    except Exception:  # noqa: BLE001 - a broken encoded-word is read as it stands
        text = str(value)
    if _SURROGATE.search(text):  # raw 8-bit bytes smuggled in by the parser
        text = decode_bytes(text.encode("ascii", "surrogateescape"), None)
    return one_line(text)


Headers = dict[str, str]  # lower-cased name -> the first such header, undecoded (8-bit bytes restored)
MAX_HEADERS = 500  # header lines read into Headers; a mail needs some dozens, a flood gets no further


def header_map(message: Message[str | Header, str]) -> Headers:
    """Every header once, by lower-cased name; the first of a repeated one wins (read once, looked up often).

    Under compat32 a header with raw 8-bit bytes comes as a Header, not a str (typeshed's default: str only).
    """
    found: Headers = {}
    for name, value in message.items()[:MAX_HEADERS]:
        key = name.lower()
        if key in found:
            continue
        if isinstance(value, Header):
            # Raw 8-bit bytes (RFC 6532 UTF-8, or a legacy charset): compat32 wraps them as "unknown-8bit",
            # and str() of that would turn every byte into U+FFFD. Read the bytes as a body's text is read
            # instead.
            text = "".join(
                decode_bytes(chunk, None) if isinstance(chunk, bytes) else chunk
                for chunk, _ in decode_header(value)
            )
        else:
            text = str(value)
        found[key] = text
    return found


def raw_header(headers: Headers, name: str) -> str:
    """The header as it came, undecoded, or ""."""
    return headers.get(name.lower(), "")


# Python's RFC 5322 parser, the second opinion on who a From names
# (CVE-2023-27043: email.utils and it disagree).
_FROM_READER = email.policy.default.header_factory
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")  # RFC 2047 2


def sender_from(message: Message, headers: Headers) -> tuple[str | None, str | None, str | None]:
    """(address, display name, problem) of the mail's sender.

    The address is None, and the problem says why in words for the review folder, unless the mail has exactly
    one From header naming exactly one mailbox that every reader agrees on. A reply to any other From could
    reach someone who never wrote (CVE-2023-27043).
    """
    from_header = raw_header(headers, "From")
    if not from_header.strip():
        return None, None, "no From address to answer"
    address, name = sender_of(from_header)
    if len(message.get_all("From") or ()) > 1:
        # RFC 5322 3.6: exactly one From; readers differ in which of several they show.
        return None, name, "ambiguous From: several From headers, not answered"
    if address is None:
        return None, name, "ambiguous From: not exactly one plain address, not answered"
    return address, name, None


def sender_of(from_header: str) -> tuple[str | None, str | None]:
    """(addr-spec lower-cased, decoded display name) of a From header.

    The address is None unless the header holds exactly one: CVE-2023-27043 forms such as
    `"a@x.example" <b@y.example>`, `a@x.example<b@y.example>`, two comma-separated addresses, group syntax
    (`team: a@x.example;`) or any form Python's RFC 5322 parser reads otherwise give None,
    as does a missing From.
    """
    if not from_header.strip():
        return None, None
    unfolded = one_line(from_header)
    if len(unfolded) > MAX_LINE:
        return None, None  # one mailbox never needs more: a From this long is a list, not a sender
    simple = _SIMPLE_FROM.match(unfolded)
    if simple and "@" not in (simple["quoted"] or simple["plain"] or ""):
        # The everyday `Name <addr>` or bare `addr`: no need for the full RFC 5322 address parser.
        address = (simple["angle"] or simple["bare"]).lower()
        quoted = simple["quoted"]
        name = decode_words(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else simple["plain"] or "")
        spoofed = {a.lower().strip(".") for a in _ADDR_SPEC.findall(name)} - {address}
        # "=?utf-8?q?a=40x.example?= <b@y>" names two addresses; "team: <a@x>" is a group (only a ":" or ";"
        # in an unquoted name can make one, so only then is the slower second opinion asked).
        grouped = ":" in (simple["plain"] or "") or ";" in (simple["plain"] or "")
        ok = valid_address(address) and not spoofed and (not grouped or _read_alike(unfolded, address))
        return (address if ok else None), (name.strip("'\" ") or None)
    decoded = decode_words(unfolded)
    pairs = email.utils.getaddresses([unfolded])
    display = (decode_words(pairs[0][0]) if pairs else "").strip("'\" ") or None
    found = {a.lower().strip(".") for a in _ADDR_SPEC.findall(decoded)}
    addresses = [addr for _, addr in pairs if addr]
    if len(pairs) != 1 or len(addresses) != 1:
        return None, display
    address = addresses[0].lower()
    if not valid_address(address) or found - {address} or not _read_alike(unfolded, address):
        return None, display
    return address, display


def valid_address(address: str) -> bool:
    """Whether `address` is one plain addr-spec mailflow may write to.

    RFC 5321 4.5.3.1.3 limits a path to 256 octets, angle brackets included. RFC 2047 5: an encoded-word never
    stands in an addr-spec, but Python's parser decodes one there all the same. Non-ASCII addresses (RFC 6531)
    need SMTPUTF8 all the way, and the email package refuses to write them.
    """
    return (
        len(address) <= 254 and address.isascii() and bool(_VALID_ADDR.match(address)) and "=?" not in address
    )


def _read_alike(unfolded: str, address: str) -> bool:
    """Whether Python's RFC 5322 parser reads `address` alone from the From, outside any group.

    Words without "@" do not count: `Peeters, An <an@x.example>` (a comma in an unquoted name, as Outlook
    writes it) names one address to every reader. Encoded-words count as one word here (the parser would
    refuse a name that decodes to a line break); what they decode to is checked for addresses by the caller.
    """
    try:
        groups = _FROM_READER("From", _ENCODED_WORD.sub("x", unfolded)).groups
    except Exception:  # noqa: BLE001 - what the parser cannot read, nobody can answer safely
        return False
    if any(group.display_name is not None for group in groups):
        return False  # group syntax: RFC 5322 3.6.2 allows only mailboxes in From
    found = {a.addr_spec.lower() for group in groups for a in group.addresses if "@" in a.addr_spec}
    return found == {address}


def message_id_of(headers: Headers) -> str | None:
    """The Message-ID exactly as sent ("<abc@host>"), or None
    (also for one longer than RFC 5322's 998-octet line)."""
    match = _MSG_ID.search(raw_header(headers, "Message-ID"))
    return match.group(0) if match and len(match.group(0)) <= MAX_LINE else None


def references_of(headers: Headers) -> tuple[str, ...]:
    """The References chain, or In-Reply-To when there is none, as "<...>" ids."""
    ids = _MSG_ID.findall(raw_header(headers, "References"))
    if not ids:
        ids = _MSG_ID.findall(raw_header(headers, "In-Reply-To"))
    return tuple(ids[-50:])


def date_of(headers: Headers) -> dt.datetime | None:
    """The Date header as an aware datetime (UTC when the mail says -0000 or no zone), or None."""
    value = raw_header(headers, "Date").strip()
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if not 1990 <= when.year <= 2200:  # since Python 3.10 a date it cannot read raises ValueError, never None
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


# One plain mailbox of an address list: `addr` or `Name <addr>`, with a name of plain words. The email
# package's parser reads exactly the addr of such a list; anything else (quotes, comments, groups, routes)
# is left to it.
_PLAIN_MAILBOX = re.compile(
    r"\s*(?:[A-Za-z0-9 .'-]*<([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>"
    r"|([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+))\s*"
)


def address_specs(message: Message, name: str) -> list[str]:
    """The lower-cased addresses of an address header: `addresses_of` without the names, read at once when
    every mailbox in it is a plain one (most To headers)."""
    values = [one_line(str(v)) for v in message.get_all(name) or []]
    items = ", ".join(values).split(",")  # as the parser reads them: all such headers joined
    mailboxes = [_PLAIN_MAILBOX.fullmatch(item) for item in items]
    if all(mailbox or not item.strip() for mailbox, item in zip(mailboxes, items, strict=True)):
        return [(mailbox[1] or mailbox[2]).lower() for mailbox in mailboxes if mailbox][:50]
    return [address for _, address in addresses_of(message, name)]


def addresses_of(message: Message, name: str) -> list[tuple[str, str]]:
    """(decoded display name, lower-cased address) pairs of an address header such as Cc."""
    values = [one_line(str(v)) for v in message.get_all(name) or []]
    try:
        pairs = email.utils.getaddresses(values)
    except Exception:  # noqa: BLE001 - an unparsable Cc is no Cc
        return []
    return [(decode_words(n).strip("'\" "), a.lower()) for n, a in pairs if a and "@" in a][:50]
