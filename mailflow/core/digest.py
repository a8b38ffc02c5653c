"""What goes into the coordinator's daily digest, and the sign-in sheet (CSV) for the next meeting.

Pure: no network, no database, no clock — the shell gathers the facts of the day and passes them in.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import babel.dates

from mailflow.core import i18n
from mailflow.core.calendar.ics import MeetingDetails
from mailflow.core.parsing.text import fold
from mailflow.settings import LANGUAGES, Network

__all__ = [
    "Digest",
    "DigestFacts",
    "FailureLine",
    "MeetingLine",
    "PersonLine",
    "ProposalLine",
    "ReviewLine",
    "attendance_csv",
    "attendance_filename",
    "build_digest",
    "sorted_people",
]


@dataclass(frozen=True)
class PersonLine:
    name: str
    organisation: str | None
    email: str | None = None


@dataclass(frozen=True)
class ReviewLine:
    """A mail waiting in the review folder for the coordinator;
    `reason` is ours, the rest came with the mail."""

    received_at: dt.datetime
    subject: str
    reason: str
    sender: str | None


@dataclass(frozen=True)
class FailureLine:
    recipient: str
    error: str
    kind: str  # what the mail was: "reply", "reminder", ...


@dataclass(frozen=True)
class MeetingLine:
    """Where a coming meeting stands: places taken of its capacity (None: no limit), and its waiting list in
    the order places will be given."""

    date: dt.date
    theme: str
    capacity: int | None
    taken: int
    waiting: tuple[PersonLine, ...] = ()


@dataclass(frozen=True)
class ProposalLine:
    """A theme a member proposed for a coming meeting; `theme` came with their mail."""

    person: PersonLine
    theme: str


@dataclass(frozen=True)
class DigestFacts:
    """Everything that happened since the last digest, and the next meeting with who is expected."""

    new_members: tuple[PersonLine, ...]
    cancellations: tuple[tuple[PersonLine, dt.date | None], ...]  # who, and the meeting they are excused from
    leavers: tuple[PersonLine, ...]
    erasures: int  # a count only: nothing of an erased person may remain
    review: tuple[ReviewLine, ...]  # every mail in the review folder now, not only the new ones
    failures: tuple[FailureLine, ...]
    bounces: tuple[str, ...]  # addresses that bounced
    missed_reminders: int
    unsure: tuple[PersonLine, ...]  # registered on a reading mailflow was not sure of
    waiting: tuple[PersonLine, ...]  # on the waiting list of the next meeting
    next_meeting: MeetingDetails | None
    expected: tuple[PersonLine, ...]
    held: int = 0  # mails held back by a rate limit
    mailbox_recreated: int = 0  # times the signup folder was found recreated (a new UIDVALIDITY)
    coming: tuple[MeetingLine, ...] = ()  # the coming meetings: places taken, waiting lists
    promotions: tuple[tuple[PersonLine, dt.date | None], ...] = ()  # given a place from a waiting list
    invited: int = 0  # members invited to a meeting
    review_unread: bool = False  # the review folder could not be read: `review` is what mailflow put there
    # Follow-ups that went without their file: the meeting's date, and why the file could not be read.
    followups_without_attachment: tuple[tuple[dt.date, str], ...] = ()
    proposals: tuple[ProposalLine, ...] = ()  # themes proposed for coming meetings, in the order made
    web_changes: int = 0  # changes the coordinator made on the web page (`mailflow web`)


@dataclass(frozen=True)
class Digest:
    subject: str
    facts: DigestFacts
    day: dt.date
    empty: bool  # nothing happened; the shell sends it anyway only with [digest] send_when_empty
    csv: bytes  # the sign-in sheet of the next meeting; b"" without one


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection"). A leading tab or
# CR, which can hide one, is already gone: _cell() makes every control character a space and strips.
_FORMULA_STARTS = ("=", "+", "-", "@")


def build_digest(facts: DigestFacts, day: dt.date, network: Network) -> Digest:
    """The digest of `day`, in the network's language, with the sign-in sheet of the next meeting."""
    language = network.language if network.language in LANGUAGES else "nl"
    empty = not (
        facts.new_members
        or facts.cancellations
        or facts.leavers
        or facts.erasures
        or facts.review
        or facts.failures
        or facts.bounces
        or facts.missed_reminders
        or facts.unsure
        or facts.held
        or facts.mailbox_recreated
        or facts.promotions
        or facts.invited
        or facts.followups_without_attachment
        or facts.proposals
        or facts.web_changes
    )
    translations = i18n.translations(language)
    if empty:
        template = translations.gettext("Daily digest {name}, {day}: nothing new")
    else:
        template = translations.gettext("Daily digest {name}, {day}")
    written_day = babel.dates.format_date(day, format="full", locale=language)
    subject = template.format(name=network.name, day=written_day)
    return Digest(
        subject=subject,
        facts=facts,
        day=day,
        empty=empty,
        csv=attendance_csv(facts.expected, facts.next_meeting, language=language),
    )


def sorted_people(people: Sequence[PersonLine]) -> list[PersonLine]:
    """People in the order a list on paper has: by name, then organisation, ignoring case and accents."""
    return sorted(people, key=lambda person: (_sort_key(person.name), _sort_key(person.organisation or "")))


def _sort_key(text: str) -> str:
    return fold(text, every_mark=True)


def attendance_csv(
    expected: Sequence[PersonLine],
    meeting: MeetingDetails | None,
    *,
    language: str = "nl",
    delimiter: str = ";",
) -> bytes:
    """The sign-in sheet of `meeting`: a header row, then one row per person by name; b"" without a meeting.

    UTF-8 with a byte order mark, which Excel needs to read it as UTF-8; CRLF line ends (RFC 4180 2). The
    delimiter is ";" because Excel in a Belgian (nl-BE, fr-BE) locale splits on its list separator, ";", and
    would otherwise put each whole row in one cell. Cells a spreadsheet would run as a formula get a leading
    "'".
    """
    if meeting is None:
        return b""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    translations = i18n.translations(language)  # nl's for a language mailflow does not write in
    header = [
        translations.pgettext("sign-in sheet column", "Name"),
        translations.pgettext("sign-in sheet column", "Organisation"),
        translations.pgettext("sign-in sheet column", "Email"),
        translations.pgettext("sign-in sheet column", "Signature"),
    ]
    writer.writerow(header)
    for person in sorted_people(expected):
        writer.writerow([_cell(person.name), _cell(person.organisation), _cell(person.email), ""])
    return buffer.getvalue().encode("utf-8-sig")


def _cell(value: str | None) -> str:
    """One value from a mail, safe in a spreadsheet: on one line, and never a formula."""
    if not value:
        return ""
    text = " ".join(
        "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value).split()
    )
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def attendance_filename(meeting: MeetingDetails, language: str = "nl") -> str:
    """ "aanwezigheden-2026-01-13.csv", "presences-2026-01-13.csv", "attendance-2026-01-13.csv"."""
    name = i18n.translations(language).pgettext("file name of the sign-in sheet", "attendance")
    return f"{name}-{meeting.date.isoformat()}.csv"
