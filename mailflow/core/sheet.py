"""The sign-in sheet of a meeting: the one CSV every sheet is (the digest's attachment, on the meeting's day
and before it, and `mailflow members --meeting DATE --csv`), which the coordinator marks and reads back with
`mailflow attendance --from`; the printable page (A4) that goes round the room; and reading a marked sheet
back.

Pure: no network, no database, no clock, no file — the shell passes in the people, and the bytes to read.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import jinja2

from mailflow.core import i18n
from mailflow.core.calendar.ics import MeetingDetails, for_language, location_text
from mailflow.core.parsing.text import fold
from mailflow.core.typography import finish, long_date
from mailflow.settings import LANGUAGES, Network

__all__ = [
    "BLANK_ROWS",
    "MarkedSheet",
    "SheetError",
    "SheetLine",
    "SheetPerson",
    "SignInSheet",
    "is_mark",
    "read_sheet",
    "sheet_csv",
    "sheet_html",
    "sheet_page_filename",
    "sign_in_sheet",
    "spreadsheet_cell",
]

BLANK_ROWS = 8  # for the people who come without having registered

# The sheet's columns, in order; their headers are the catalogues' "sign-in sheet column" texts.
COLUMNS = ("number", "name", "organisation", "email", "present", "signature")


def column_headers(language: str) -> dict[str, str]:
    """The header of each column in `language`: "Nr.", "Naam", ... ("No.", "Name", ... in English)."""
    pgettext = i18n.translations(language).pgettext
    return {
        "number": str(pgettext("sign-in sheet column", "No.")),
        "name": str(pgettext("sign-in sheet column", "Name")),
        "organisation": str(pgettext("sign-in sheet column", "Organisation")),
        "email": str(pgettext("sign-in sheet column", "Email")),
        "present": str(pgettext("sign-in sheet column", "Present")),
        "signature": str(pgettext("sign-in sheet column", "Signature")),
    }


@dataclass(frozen=True)
class SheetPerson:
    """A member registered for the meeting; `number` (the member's id) lets a signed sheet be read back."""

    number: int | None
    name: str
    organisation: str | None
    email: str


@dataclass(frozen=True)
class SignInSheet:
    network_name: str
    meeting: MeetingDetails
    people: tuple[SheetPerson, ...]  # by name
    language: str
    blank_rows: int = BLANK_ROWS


def sign_in_sheet(
    meeting: MeetingDetails, people: Sequence[SheetPerson], network: Network, blank_rows: int = BLANK_ROWS
) -> SignInSheet:
    """The sheet of `meeting` in the network's language: the people in the order a list on paper has (by
    name, then organisation, ignoring case and accents), then `blank_rows` empty rows."""
    language = network.language if network.language in LANGUAGES else "nl"
    ordered = sorted(
        people,
        key=lambda p: (
            fold(p.name, every_mark=True),
            fold(p.organisation or "", every_mark=True),
            p.number or 0,
        ),
    )
    return SignInSheet(network.name, meeting, tuple(ordered), language, blank_rows)


def sheet_csv(sheet: SignInSheet) -> bytes:
    """The sheet as a spreadsheet: the meeting at the top (the network, then date, hours, place and theme,
    one per line), an empty line, the header row, one row per person, then the empty rows.

    UTF-8 with a byte order mark, which Excel needs to read it as UTF-8; ";" because Excel in a Belgian
    (nl-BE, fr-BE) locale splits on its list separator, ";", and would otherwise put each whole row in one
    cell; CRLF line ends (RFC 4180 2); and no cell a spreadsheet would run as a formula. `read_sheet` finds
    the header row below the meeting's lines.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    translations = i18n.translations(sheet.language)
    column = translations.pgettext
    gettext = translations.gettext
    shown = for_language(sheet.meeting, sheet.language)
    top = [
        [_line(sheet.network_name), str(column("title of the printable sign-in sheet", "Sign-in sheet"))],
        [gettext("Date"), long_date(shown.date, sheet.language)],
        [gettext("Time"), meeting_hours(shown, sheet.language)],
        [gettext("Place"), location_text(shown)],
        [gettext("Theme"), shown.theme],
    ]
    if shown.speakers:
        top.append([gettext("Speakers"), ", ".join(shown.speakers)])
    writer.writerows([[spreadsheet_cell(finish(cell, sheet.language)) for cell in row] for row in top])
    writer.writerow([])
    headers = column_headers(sheet.language)
    writer.writerow([headers[name] for name in COLUMNS])
    for person in sheet.people:
        writer.writerow(
            [
                "" if person.number is None else str(person.number),
                spreadsheet_cell(person.name),
                spreadsheet_cell(person.organisation),
                spreadsheet_cell(person.email),
                "",
                "",
            ]
        )
    writer.writerows([[""] * len(COLUMNS)] * sheet.blank_rows)
    return buffer.getvalue().encode("utf-8-sig")


def meeting_hours(meeting: MeetingDetails, language: str) -> str:
    """ "19:30 – 22:00", "19h30 – 22h00": the hours as the mails write them."""
    pgettext = i18n.translations(language).pgettext

    def clock(moment: dt.datetime) -> str:
        time_of_day = str(pgettext("time of day", "%(hour)s:%(minute)s"))
        return time_of_day % {"hour": moment.strftime("%H"), "minute": moment.strftime("%M")}

    if meeting.ends_at is None:
        return str(pgettext("meeting hours without an end", "%(start)s")) % {
            "start": clock(meeting.starts_at)
        }
    hours = str(pgettext("meeting hours", "%(start)s – %(end)s"))
    return hours % {"start": clock(meeting.starts_at), "end": clock(meeting.ends_at)}


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection"). A leading tab or
# CR, which can hide one, is already gone: every control character becomes a space and the ends are stripped.
_FORMULA_STARTS = ("=", "+", "-", "@")


def spreadsheet_cell(value: str | None) -> str:
    """One value from a mail, safe in a spreadsheet: on one line, and never a formula."""
    if not value:
        return ""
    text = " ".join(
        "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value).split()
    )
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def sheet_html(env: jinja2.Environment, sheet: SignInSheet) -> str:
    """The printable page: the meeting at the top, one row per person with a box to sign and a box to tick,
    then the empty rows. One self-contained file (no external assets) that prints on A4."""
    shown = for_language(sheet.meeting, sheet.language)
    context = {
        "language": sheet.language,
        "network_name": _line(sheet.network_name),
        "meeting": shown,
        "location": location_text(shown),
        "people": [
            {
                "number": p.number,
                "name": _line(p.name) or "?",
                "organisation": _line(p.organisation),
            }
            for p in sheet.people
        ],
        "blank_rows": sheet.blank_rows,
    }
    return finish(env.get_template("sign_in_sheet.html").render(context), sheet.language)


def _line(value: str | None) -> str:
    """A value on one line for the page, as compose.clean_text makes it for a mail: control and line-separator
    characters become spaces, and bidi overrides, which can make a name read backwards, go."""
    if not value:
        return ""
    kept = "".join(
        "" if c in _BIDI_CONTROLS else " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in value
    )
    return " ".join(kept.split())[:500]


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def sheet_page_filename(meeting: MeetingDetails, language: str = "nl") -> str:
    """ "intekenlijst-2026-01-13.html", "feuille-de-presence-2026-01-13.html", "sign-in-sheet-…"."""
    name = i18n.translations(language).pgettext("file name of the printable sign-in sheet", "sign-in-sheet")
    return f"{name}-{meeting.date.isoformat()}.html"


# --- Reading a marked sheet back ----------------------------------------------------------------------------


class SheetError(ValueError):
    """A file that cannot be read as a sign-in sheet; the message says why."""


@dataclass(frozen=True)
class SheetLine:
    """One written row of a marked sheet. `row` is its line in the file, as a spreadsheet numbers it."""

    row: int
    number: int | None  # the member number, for the people the sheet was made with
    name: str
    organisation: str
    email: str
    came: bool


@dataclass(frozen=True)
class MarkedSheet:
    lines: tuple[SheetLine, ...]
    problems: tuple[str, ...]  # rows that cannot be read; nothing should be recorded from such a sheet


# What the coordinator may write in the "present" column to say someone did NOT come; anything else is a mark.
_NOT_A_MARK = frozenset(
    [
        "0",
        "n",
        "no",
        "nee",
        "neen",
        "non",
        "-",
        "–",
        "false",
        "onwaar",
        "faux",
        "afwezig",
        "absent",
        "absente",
    ]
    + ["✗", "✘", "x-", "/"]
)


def is_mark(text: str) -> bool:
    """Whether a cell of the "present" column says the person came: x, X, ja, oui, yes, 1, ✓, a signature...;
    not empty, and not a no ("nee", "non", "0", "-")."""
    value = text.strip()
    return bool(value) and fold(value, every_mark=True) not in _NOT_A_MARK


def _header_key(text: str) -> str:
    """A header cell as compared: "Nr.", "N°" and "#" -> "nr", "n", "nr"; "E-mail" -> "e mail"."""
    text = text.strip().lstrip("\ufeff")
    if text == "#":
        return "nr"
    return " ".join("".join(c if c.isalnum() else " " for c in fold(text, every_mark=True)).split())


# Headers read as each column besides our own in every language: what a coordinator may have typed instead.
_ALIASES = {
    "number": ("nr", "no", "n", "id", "nummer", "lidnummer", "member number", "numero", "num"),
    "name": ("naam", "nom", "name", "voornaam en naam", "nom et prenom", "prenom et nom", "full name"),
    "organisation": ("organisatie", "organisation", "organization", "org", "organisme", "vereniging"),
    "email": ("email", "e mail", "mail", "e mailadres", "emailadres", "adresse e mail", "email address"),
    "present": ("present", "presente", "aanwezig", "came", "attended", "x", "ja"),
    "signature": ("handtekening", "signature", "paraaf"),
}


def _header_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for column, aliases in _ALIASES.items():
        for alias in aliases:
            names[_header_key(alias)] = column
    for language in LANGUAGES:
        for column, header in column_headers(language).items():
            names[_header_key(header)] = column
    return names


def _decode(data: bytes) -> str:
    """The file's text: UTF-8 with or without a byte order mark, UTF-16 with one (Excel's "Unicode text"),
    else Windows-1252 (Excel's "CSV" on a Western Windows)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SheetError("the file says it is UTF-16 but is not") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_row(rows: Sequence[list[str]]) -> tuple[int, dict[str, int]]:
    """The first row that names a name column, and where each column it names is."""
    known = _header_names()
    for index, row in enumerate(rows):
        # The first column of a name counts, should a header be there twice.
        columns = {
            known[key]: i for i, cell in reversed(list(enumerate(row))) if (key := _header_key(cell)) in known
        }
        if "name" in columns:
            return index, columns
    raise SheetError(_NO_HEADER)


_NO_HEADER = (
    "no header row with a name column (such as 'Naam', 'Nom' or 'Name'): "
    "is this the sign-in sheet mailflow sent?"
)


def _table(text: str) -> tuple[list[list[str]], int, dict[str, int]]:
    """The rows, the header row and its columns, split on the separator that finds the fullest header: ";"
    as we write it and Excel saves it in a Belgian locale, "," or a tab as other programs do. The meeting's
    lines above the header ("Plaats;Campus, Gent") do not decide it."""
    found: list[tuple[list[list[str]], int, dict[str, int]]] = []
    for separator in (";", ",", "\t"):
        if separator not in text:
            continue
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
        try:
            index, columns = _header_row(rows)
        except SheetError:
            continue
        found.append((rows, index, columns))
    if not found:
        if not any(separator in text for separator in (";", ",", "\t")):
            raise SheetError("the first line has no columns (separated by ';', ',' or a tab)")
        raise SheetError(_NO_HEADER)
    return max(found, key=lambda table: len(table[2]))


_NUMBER = re.compile(r"#?\s*(\d{1,9})(?:[.,]0+)?")
_FORMULA_GUARD = re.compile(r"^'(?=[=+\-@])")  # the "'" _cell() put in front of a would-be formula


def read_sheet(data: bytes) -> MarkedSheet:
    """The rows of a marked sign-in sheet, as we write it or as a spreadsheet program saved it.

    The columns are found by their headers, in any of mailflow's languages, in any order; the "present"
    column holds the marks, or, when the file has none, the "signature" column. A person came when their
    row is marked. On a sheet with member numbers, a row without one is a walk-in written in an empty row:
    written in at all, they came. Raises SheetError for a file with no recognisable header.
    """
    text = _decode(data)
    if not text.strip():
        raise SheetError("the file is empty")
    rows, index, columns = _table(text)
    if "present" not in columns and "signature" not in columns:
        raise SheetError("no column to mark who came (such as 'Aanwezig', 'Présent' or 'Present')")
    numbered = "number" in columns
    read: list[SheetLine] = []
    problems: list[str] = []
    for offset, row in enumerate(rows[index + 1 :], start=index + 2):

        def cell(name: str, row: list[str] = row) -> str:
            at = columns.get(name)
            return row[at].strip() if at is not None and at < len(row) else ""

        if not any(c.strip() for c in row):
            continue
        number_text = cell("number")
        number = None
        if number_text:
            match = _NUMBER.fullmatch(number_text)
            if match is None:
                problems.append(f"row {offset}: the member number {number_text!r} is not a number")
                continue
            number = int(match.group(1))
        came = is_mark(cell("present") if "present" in columns else cell("signature"))
        read.append(
            SheetLine(
                row=offset,
                number=number,
                name=_FORMULA_GUARD.sub("", cell("name"), count=1),
                organisation=_FORMULA_GUARD.sub("", cell("organisation"), count=1),
                email=cell("email"),
                came=came or (numbered and number is None),
            )
        )
    return MarkedSheet(tuple(read), tuple(problems))
