"""Outgoing mail: reply data -> email.message.EmailMessage from the templates in `templates/`.

Pure: no network, no database, no clock — `now` is passed in.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email.policy
import email.utils
import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from email import quoprimime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from pathlib import Path
from typing import Any

import babel.dates
import babel.lists
import jinja2

import mailflow
from mailflow import config
from mailflow.calendar_invite import MeetingDetails, ics_filename, location_text, meeting_details, meeting_ics
from mailflow.digest import Digest, PersonLine, attendance_filename, sorted_people
from mailflow.parsing.result import Person

__all__ = [
    "KINDS",
    "MeetingDetails",
    "Reply",
    "make_environment",
    "meeting_details",
    "meeting_ics",
    "message_bytes",
    "new_message_id",
    "render_digest",
    "render_promotion",
    "render_reminder",
    "render_reply",
]

KINDS = ("register", "waitlist", "cancel", "unsubscribe", "erase")
KINDS_WITH_INVITE = ("register", "waitlist")

# RFC 5322 3.6.4 msg-id, loosely: printable ASCII without spaces or inner angle brackets, and without "=?", which
# Python's own parser (email.policy.default) reads as an RFC 2047 encoded-word even inside an id, so that
# "<=?utf-8?q?=0D=0ABcc:_x?=@example.org>" would come back as a line break. Anything else is dropped rather than
# "repaired", because a repaired id no longer threads anyway.
_MSG_ID = re.compile(r"<(?![^>]*=\?)[!-;=?-~]{1,900}>")
# The first and the last few References are the ones clients thread on (RFC 5322 3.6.4 and jwz's threading
# algorithm); a mail loop must not grow the header without bound.
MAX_REFERENCES = 20
# Reply prefixes mail clients put in front of a subject: Re, RE, Aw (German), Antw (Dutch), Réf/Rép (French), SV/VS.
_REPLY_PREFIX = re.compile(
    r"^(?:\s*(?:re|aw|antw|antwoord|réf|ref|rép|rep|sv|vs)\s*(?:\[\d+\])?\s*:)+\s*", re.IGNORECASE
)
_NAME_LIMIT = 200


@dataclass(frozen=True)
class Reply:
    """One answer to one mail; `people` and names come from that mail and are never trusted."""

    kind: str  # one of KINDS
    language: str  # "nl" | "fr" | "en"; anything else -> the network's language
    to_address: str
    to_name: str | None
    people: tuple[Person, ...]  # who was registered or excused
    meeting: MeetingDetails | None  # register: where they are expected; cancel: the one they are excused from
    unsure: bool  # say what we noted and ask for a correction
    in_reply_to: str | None  # the Message-ID of the mail answered, byte for byte
    references: tuple[str, ...]  # that mail's own References chain
    subject: str  # the subject of the mail answered


# --- Threading headers that serialise verbatim ---------------------------------------------------------------

_VERBATIM_HEADERS = frozenset({"message-id", "in-reply-to", "references"})


class VerbatimIdPolicy(EmailPolicy):
    """The default policy, except that Message-ID, In-Reply-To and References keep every id byte for byte.

    The default policy folds a header longer than 78 characters and, when a single id does not fit on a line,
    rewrites it as RFC 2047 encoded-words (`=?utf-8?q?=3C...?=`). No client unfolds encoded-words in a msg-id, so
    the reply falls out of its thread. Here ids are only ever folded at the spaces between them (RFC 5322 2.2.3),
    and one long id stays whole on its line (it may reach the 998-character limit of RFC 5322 2.1.1).
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if name.lower() in _VERBATIM_HEADERS and isinstance(value, str):
            if not value or not all(_MSG_ID.fullmatch(token) for token in value.split(" ")):
                raise ValueError(f"{name} must be message ids separated by single spaces")
            return (name, value)
        return super().header_store_parse(name, value)

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        # The generator asks each part for its Content-Type and Content-Transfer-Encoding, and the default policy
        # parses the stored string anew every time; the values assemble() writes are a handful of constants, so
        # each is parsed once. Values from anywhere else (a parsed mail) take the usual way and are not kept.
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


# One policy for every message we build, so that any serialiser (message_bytes, smtplib.send_message, as_bytes)
# keeps the ids whole; CRLF because SMTP (RFC 5321 2.3.8) and the outbox want the bytes as sent.
POLICY = VerbatimIdPolicy(linesep="\r\n")
_LINE_LENGTH = POLICY.max_line_length or 78  # RFC 5322 2.1.1

# (lowercased name, value) -> the parsed header, for the Content-Type and Content-Transfer-Encoding values that
# assemble() writes. Header objects are immutable str subclasses, so one can serve every message.
_PARSED_STRUCTURE: dict[tuple[str, str], Any] = {}


def _structure_value(name: str, value: str) -> str:
    """`value`, after noting its parsed form for header_fetch_parse (our constants only: nothing from a mail)."""
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

    Ids that are not well-formed msg-ids are left out; a long chain keeps its first id and the most recent ones.
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


# --- Values from mail, made safe -------------------------------------------------------------------------------


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
    return " ".join(kept.split())[:limit].strip()


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def reply_subject(original: str, fallback: str) -> str:
    """ "Re: " once in front of the answered subject, whatever reply prefixes it already had."""
    subject = _REPLY_PREFIX.sub("", clean_text(original, limit=300))
    return f"Re: {subject or fallback}"


# --- Templates -------------------------------------------------------------------------------------------------


def default_template_dirs() -> list[Path]:
    """The installed `mailflow/templates`, else the checkout's top-level `templates/` (only one: never a mix)."""
    package = Path(mailflow.__file__).parent
    return [path for path in (package / "templates", package.parent / "templates") if path.is_dir()][:1]


def make_environment(template_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja environment for every outgoing mail: strict, HTML autoescaped, with date and time filters."""
    search_path = [template_dir] if template_dir is not None else default_template_dirs()
    if not search_path:
        raise FileNotFoundError("no templates folder found next to the mailflow package")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search_path),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["longdate"] = longdate
    env.filters["clock"] = clock
    env.filters["namelist"] = namelist
    return env


@jinja2.pass_context
def longdate(context: jinja2.runtime.Context, value: dt.date, locale: str | None = None) -> str:
    """ "dinsdag 13 januari 2026", "mardi 13 janvier 2026", "Tuesday, January 13, 2026" (the template's language)."""
    return babel.dates.format_date(value, format="full", locale=locale or context["language"])


def clock(value: dt.datetime | dt.time) -> str:
    """ "19:30"."""
    return value.strftime("%H:%M")


@jinja2.pass_context
def namelist(context: jinja2.runtime.Context, people: Any, locale: str | None = None) -> str:
    """People's names as a sentence: "An, Bart en Carla", "An, Bart et Carla", "An, Bart, and Carla"."""
    names = [person["name"] if isinstance(person, dict) else str(person) for person in people]
    return babel.lists.format_list(names, locale=locale or context["language"]) if names else ""


def template_names(kind: str, language: str) -> tuple[str, str]:
    """The text and HTML template of a reply: "reply_register.nl.txt", "reply_register.nl.html".

    Other mails follow the same "{what}.{language}.{txt|html}" pattern ("reminder.nl.txt", "digest.nl.html");
    files starting with "_" are pieces they include.
    """
    return f"reply_{kind}.{language}.txt", f"reply_{kind}.{language}.html"


def tidy_text(text: str) -> str:
    """Plain text as a mail client shows it best: no trailing spaces, at most one blank line in a row.

    Templates stay readable (macros and blocks each on their own line) without counting newlines.
    """
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip("\n") + "\n"


# --- The reply -------------------------------------------------------------------------------------------------


def reply_context(reply: Reply, network: config.Network, language: str) -> dict[str, Any]:
    """Everything a reply template may use; every value that came from a mail is cleaned first."""
    people = [
        {"name": clean_text(person.name) or "?", "organisation": clean_text(person.organisation) or None}
        for person in reply.people
    ]
    return {
        "kind": reply.kind,
        "language": language,
        "network_name": network.name,
        "signup_address": network.signup_address,
        "to_name": clean_text(reply.to_name) or None,
        "people": people,
        "meeting": reply.meeting,
        "location": location_text(reply.meeting) if reply.meeting else "",
        "unsure": reply.unsure,
    }


def reply_language(language: str, network: config.Network) -> str:
    return language if language in config.LANGUAGES else network.language


def render_reply(
    env: jinja2.Environment,
    reply: Reply,
    *,
    network: config.Network,
    sender: str,
    message_id: str,
    now: dt.datetime,
) -> EmailMessage:
    """The complete reply: headers for one recipient in the same thread, text and HTML, and an .ics if invited.

    Raises ValueError for an unknown kind, a naive `now`, a bad `message_id`, or a `to_address` that is not
    exactly one mailbox.
    """
    if reply.kind not in KINDS:
        raise ValueError(f"reply kind must be one of {', '.join(KINDS)}, got {reply.kind!r}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    language = reply_language(reply.language, network)
    context = reply_context(reply, network, language)
    text_name, html_name = template_names(reply.kind, language)
    text = tidy_text(env.get_template(text_name).render(context))
    html = env.get_template(html_name).render(context)

    parent, references = threading_ids(reply.in_reply_to, reply.references)
    attachments: list[Attachment] = []
    if reply.meeting is not None and reply.kind in KINDS_WITH_INVITE:
        ics = meeting_ics(
            reply.meeting,
            network,
            "PUBLISH",
            now=now,
            language=language,
            status="TENTATIVE" if reply.kind == "waitlist" else "CONFIRMED",
        )
        attachments.append(invite_attachment(ics, reply.meeting, network))
    return assemble(
        sender=sender_value(clean_text(network.name), sender),
        # Address() refuses anything but one addr-spec, so a To of "a@x, b@y" or with CR/LF raises here.
        to=mailbox_value("To", context["to_name"] or "", reply.to_address.strip()),
        subject=reply_subject(reply.subject, fallback=network.name),
        date=now.astimezone(network.timezone),
        message_id=message_id,
        threading=(parent, references),
        # RFC 3834 5: mark the reply as automatic, so vacation responders and other robots don't answer it.
        auto_submitted="auto-replied",
        language=language,
        text=text,
        html=html,
        attachments=attachments,
    )


# --- Reminders and the digest ---------------------------------------------------------------------------------

_REMINDER_SUBJECTS = {
    "nl": "Herinnering: {name}, {day}",
    "fr": "Rappel : {name}, {day}",
    "en": "Reminder: {name}, {day}",
}


def _require_aware(now: dt.datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def reminder_context(
    member_name: str,
    meeting: MeetingDetails,
    days_before: int,
    network: config.Network,
    language: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """Everything a reminder template may use; the member's name is cleaned first."""
    return {
        "language": language,
        "network_name": network.name,
        "signup_address": network.signup_address,
        "to_name": clean_text(member_name) or None,
        "meeting": meeting,
        "location": location_text(meeting),
        "days_before": days_before,
        # Counted from now, not from the offset: a reminder sent late after downtime still says the truth.
        "days_left": max(0, (meeting.date - now.astimezone(network.timezone).date()).days),
    }


def render_reminder(
    env: jinja2.Environment,
    *,
    member_name: str,
    to_address: str,
    language: str,
    meeting: MeetingDetails,
    days_before: int,
    network: config.Network,
    sender: str,
    message_id: str,
    now: dt.datetime,
) -> EmailMessage:
    """A reminder of `meeting` to one member: the practical details, how to cancel or leave, and the .ics.

    `days_before` is the configured offset it was due at; the text counts the days from `now`, which after
    downtime may be one less. Raises ValueError for a naive `now`, a bad `message_id`, or a `to_address` that is
    not exactly one mailbox.
    """
    if days_before < 0:
        raise ValueError(f"days_before must be >= 0, got {days_before}")
    return _member_mail(env, "reminder", member_name=member_name, to_address=to_address, language=language,
                        meeting=meeting, days_before=days_before, network=network, sender=sender,
                        message_id=message_id, now=now)


def render_promotion(
    env: jinja2.Environment,
    *,
    member_name: str,
    to_address: str,
    language: str,
    meeting: MeetingDetails,
    network: config.Network,
    sender: str,
    message_id: str,
    now: dt.datetime,
) -> EmailMessage:
    """The mail to someone on the waiting list who got a place: they are expected now, with the details and .ics.

    Raises ValueError as render_reminder does.
    """
    return _member_mail(env, "promoted", member_name=member_name, to_address=to_address, language=language,
                        meeting=meeting, days_before=0, network=network, sender=sender, message_id=message_id,
                        now=now)


_MEMBER_MAIL_SUBJECTS = {
    "reminder": _REMINDER_SUBJECTS,
    "promoted": {
        "nl": "Er is een plaats vrij voor je: {name}, {day}",
        "fr": "Une place s'est libérée pour vous : {name}, {day}",
        "en": "A place has come free for you: {name}, {day}",
    },
}


def _member_mail(env: jinja2.Environment, kind: str, *, member_name: str, to_address: str, language: str,
                 meeting: MeetingDetails, days_before: int, network: config.Network, sender: str,
                 message_id: str, now: dt.datetime) -> EmailMessage:
    """A mail mailflow starts on its own to one member about one meeting (`kind` names the templates)."""
    _require_aware(now)
    language = reply_language(language, network)
    context = reminder_context(member_name, meeting, days_before, network, language, now)
    to_name = context["to_name"]
    text = tidy_text(env.get_template(f"{kind}.{language}.txt").render(context))
    html = env.get_template(f"{kind}.{language}.html").render(context)
    ics = meeting_ics(meeting, network, "PUBLISH", now=now, language=language)
    day = babel.dates.format_date(meeting.date, format="full", locale=language)
    return assemble(
        sender=sender_value(clean_text(network.name), sender),
        to=mailbox_value("To", to_name or "", to_address.strip()),
        subject=_MEMBER_MAIL_SUBJECTS[kind][language].format(name=clean_text(network.name), day=day),
        date=now.astimezone(network.timezone),
        message_id=message_id,
        # RFC 3834 5: it answers nothing, so "auto-generated", and no In-Reply-To.
        auto_submitted="auto-generated",
        language=language,
        text=text,
        html=html,
        attachments=[invite_attachment(ics, meeting, network)],
    )


def _person(person: PersonLine) -> dict[str, str | None]:
    return {
        "name": clean_text(person.name) or "?",
        "organisation": clean_text(person.organisation) or None,
        "email": clean_text(person.email, limit=320) or None,
    }


def digest_context(digest: Digest, network: config.Network, language: str) -> dict[str, Any]:
    """Everything a digest template may use; every value that came from a mail is cleaned first."""
    facts = digest.facts
    meeting = facts.next_meeting
    return {
        "language": language,
        "network_name": network.name,
        "signup_address": network.signup_address,
        "to_name": None,
        "day": digest.day,
        "empty": digest.empty,
        "review": [
            {
                "received": babel.dates.format_datetime(
                    item.received_at, "d MMM HH:mm", tzinfo=network.timezone, locale=language
                ),
                "subject": clean_text(item.subject, limit=300),
                "reason": clean_text(item.reason, limit=300),
                "sender": clean_text(item.sender, limit=320) or None,
            }
            for item in facts.review
        ],
        "unsure": [_person(person) for person in facts.unsure],
        "failures": [
            {
                "kind": clean_text(item.kind, limit=40),
                "recipient": clean_text(item.recipient, limit=320),
                "error": clean_text(item.error, limit=300),
            }
            for item in facts.failures
        ],
        "bounces": [clean_text(address, limit=320) for address in facts.bounces],
        "missed_reminders": facts.missed_reminders,
        "held": facts.held,
        "mailbox_recreated": facts.mailbox_recreated,
        "new_members": [_person(person) for person in facts.new_members],
        "cancellations": [{"person": _person(person), "date": date} for person, date in facts.cancellations],
        "leavers": [_person(person) for person in facts.leavers],
        "erasures": facts.erasures,
        "meeting": meeting,
        "location": location_text(meeting) if meeting else "",
        "expected": [_person(person) for person in sorted_people(facts.expected)],
        "waiting": [_person(person) for person in facts.waiting],
        "csv_filename": attendance_filename(meeting, language) if meeting else None,
    }


def render_digest(
    env: jinja2.Environment,
    digest: Digest,
    *,
    network: config.Network,
    to_address: str,
    sender: str,
    message_id: str,
    now: dt.datetime,
) -> EmailMessage:
    """The daily digest to the coordinator, in the network's language, with the sign-in sheet when a meeting is next.

    Raises ValueError for a naive `now`, a bad `message_id`, or a `to_address` that is not exactly one mailbox.
    """
    _require_aware(now)
    language = reply_language(network.language, network)
    context = digest_context(digest, network, language)
    text = tidy_text(env.get_template(f"digest.{language}.txt").render(context))
    html = env.get_template(f"digest.{language}.html").render(context)
    attachments = []
    if digest.facts.next_meeting is not None and digest.csv:
        filename = attendance_filename(digest.facts.next_meeting, language)
        # RFC 4180 3 (text/csv): the header parameter says the first row names the columns.
        attachments.append(Attachment('text/csv; charset="utf-8"; header="present"', filename, digest.csv))
    return assemble(
        sender=sender_value(clean_text(network.name), sender),
        to=mailbox_value("To", "", to_address.strip()),
        subject=clean_text(digest.subject, limit=300),
        date=now.astimezone(network.timezone),
        message_id=message_id,
        auto_submitted="auto-generated",  # RFC 3834 5
        language=language,
        text=text,
        html=html,
        attachments=attachments,
    )


# --- Assembling the MIME tree ----------------------------------------------------------------------------------
#
# email.message's set_content/add_alternative/add_attachment parse and re-parse every Content-* header as they go
# (some forty header objects per reply), which made a reply cost over 10 ms. Here the tree is built once with
# set_raw(): the values are either constants or folded by the policy exactly once, so the result serialises with
# the same bytes as before, minus the stray MIME-Version lines add_alternative left in the parts.

# Fixed boundaries are safe because every body is quoted-printable or base64: QP writes "=" as "=3D" and base64 has
# no "_", so no body line can contain "=_" and none can be taken for a boundary (RFC 2046 5.1.1). Fixed ones keep
# the bytes deterministic and the Content-Type values constant.
_MIXED = 'multipart/mixed; boundary="=_mailflow_mixed"'
_ALTERNATIVE = 'multipart/alternative; boundary="=_mailflow_alternative"'
_SAFE_FILENAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,100}")


@dataclass(frozen=True)
class Attachment:
    """A file attached to a mail: `content_type` with its parameters, a plain ASCII filename, the bytes."""

    content_type: str  # 'text/calendar; method="PUBLISH"; charset="utf-8"'
    filename: str
    data: bytes


def invite_attachment(ics: bytes, meeting: MeetingDetails, network: config.Network) -> Attachment:
    """The .ics as a PUBLISH (RFC 5546 3.2.1): calendars offer to add it, nobody is asked to answer."""
    return Attachment('text/calendar; method="PUBLISH"; charset="utf-8"', ics_filename(meeting, network), ics)


def subject_value(subject: str) -> str:
    """A Subject value, folded at spaces (RFC 5322 2.2.3) so no line passes 78 characters where it can be helped.

    Printable ASCII is folded here; anything else goes through the policy, which writes RFC 2047 encoded-words.
    The policy would put a 70-to-77-character subject whole on a continuation line ("Subject:\r\n Rappel : ..."),
    which Python's own parser reads back with a leading space.
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
    subject that was decoded from the mail and still reads "=?utf-8?q?=0D=0ABcc:_x@example.org?=" would come out
    as a line break and a header of its own: such a subject is written wholly as encoded-words of ours, which
    readers decode to exactly this text. Mailboxes are checked as they will be read (see _read_back).
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

    The name is the one value in a reply that comes from the mail, and Python's folder is not to be trusted with
    it: it decodes "=?...?=" in a name once more (a line break, from text the mail had encoded twice), and for a
    long name with both specials and non-ASCII ("X: ü× \\...") its refold drops the quotes, so that "X:" reads as
    a group and the reply goes to no one. Such a name is left out: the reply still reaches its one recipient.
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
        # (RFC 5322 3.4: a phrase of atoms needs no quotes); a line that would need folding still goes through it.
        value = f"{display_name} <{address.addr_spec}>" if display_name else address.addr_spec
        if len(name) + 2 + len(value) <= _LINE_LENGTH:
            return value
    return _folded_value(name, address)


# RFC 5322 3.2.3 atext in words separated by one space; without "=" and "?", so nothing that looks like an
# RFC 2047 encoded-word takes the short cut.
_PLAIN_PHRASE = re.compile(r"(?:[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*)?")
_PLAIN_ADDR_SPEC = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+")


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
    language: str,
    text: str,
    html: str,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A complete message: text and HTML as alternatives, then the attachments.

    `sender` and `to` are folded values from mailbox_value(); `subject` is made a single line here.
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
    msg.set_raw("MIME-Version", "1.0")
    alternative = [_text_part("plain", text), _text_part("html", html)]
    if attachments:
        body = _multipart(_ALTERNATIVE, alternative)
        _multipart(_MIXED, [body, *(_attachment_part(item) for item in attachments)], into=msg)
    else:
        _multipart(_ALTERNATIVE, alternative, into=msg)
    msg.set_raw("Content-Language", language)  # RFC 3282
    return msg
