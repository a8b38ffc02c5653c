"""The period report for the funder and the group: per meeting the people registered, waiting, cancelled and
present; the organisations and municipalities that took part; the new members per month. Written as CSV files
(one per table) and one self-contained HTML page whose bar charts are inline SVG: no script, no outside file.

Pure: the shell counts in the database and passes the figures in; the page is rendered from the package's
template. Numbers only: no person's name reaches the report (organisations and themes do).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import babel.dates
import babel.numbers
import jinja2

from mailflow.core import i18n
from mailflow.core.charts import COLOURS, SINGLE, Chart, bar_chart
from mailflow.core.mail.compose import clean_text
from mailflow.core.parsing.text import fold

# The sign-in sheet's rule for a cell from a mail: one line, never a spreadsheet formula (CSV injection).
from mailflow.core.sheet import spreadsheet_cell
from mailflow.core.vocabulary import MeetingStatus
from mailflow.settings import LANGUAGES, Organisation

__all__ = [
    "Count",
    "MeetingFigures",
    "MonthCount",
    "Report",
    "ReportFigures",
    "build_report",
    "count_by_organisation",
    "new_members_per_month",
]


@dataclass(frozen=True)
class MeetingFigures:
    """One meeting's numbers. `attended` counts the registered people who came: None until the coordinator
    recorded attendance. `walk_ins` came without registering."""

    date: dt.date
    theme: str
    status: str  # MeetingStatus
    capacity: int | None
    registered: int
    waiting: int
    cancelled: int
    attended: int | None = None
    walk_ins: int = 0

    @property
    def present(self) -> int | None:
        """Everyone who came (the registered who did, and walk-ins); None while not recorded."""
        return None if self.attended is None else self.attended + self.walk_ins


@dataclass(frozen=True)
class Count:
    """Members of one organisation or municipality; `name` None: no organisation, or municipality unknown."""

    name: str | None
    members: int


@dataclass(frozen=True)
class MonthCount:
    month: dt.date  # its first day
    members: int


@dataclass(frozen=True)
class ReportFigures:
    """Everything the report shows, counted by the shell for the period `first` to `last` (both included)."""

    network: str
    first: dt.date
    last: dt.date
    made: dt.date  # the day the report was made
    meetings: tuple[MeetingFigures, ...]
    organisations: tuple[Count, ...]  # of the members who took part in a meeting of the period
    municipalities: tuple[Count, ...]  # the same members, by their organisation's municipality
    new_members: tuple[MonthCount, ...]  # every month of the period


@dataclass(frozen=True)
class Report:
    """The report's files by name: "report.html" and one CSV per table ("meetings.csv", ...)."""

    files: dict[str, bytes]


# --- Counting -----------------------------------------------------------------------------------------------


def count_by_organisation(
    organisations: Sequence[str | None], known: Sequence[Organisation]
) -> tuple[tuple[Count, ...], tuple[Count, ...]]:
    """Members per organisation and per municipality, from each member's organisation as stored.

    A stored name that is a known organisation's name or alias (case and accents aside) counts under that
    organisation's name and in its `municipality`; another name counts as first written, in an unknown
    municipality, as does a member without an organisation. Members have no municipality of their own.
    """
    known_by_key: dict[str, Organisation] = {}
    for organisation in known:
        for name in (organisation.name, *organisation.aliases):
            known_by_key.setdefault(_key(name), organisation)
    names: dict[str, str] = {}
    per_organisation: Counter[str | None] = Counter()
    per_municipality: Counter[str | None] = Counter()
    municipality_names: dict[str, str] = {}
    for stored in organisations:
        written = clean_text(stored)
        if not written:
            per_organisation[None] += 1
            per_municipality[None] += 1
            continue
        match = known_by_key.get(_key(written))
        if match is None:
            key = _key(written)
            names.setdefault(key, written)
            per_municipality[None] += 1
        else:
            key = _key(match.name)
            names[key] = match.name
            place = clean_text(match.municipality)
            place_key = _key(place) if place else None
            if place_key is not None:
                municipality_names.setdefault(place_key, place)
            per_municipality[place_key] += 1
        per_organisation[key] += 1
    return _counts(per_organisation, names), _counts(per_municipality, municipality_names)


def _key(name: str) -> str:
    return fold(" ".join(name.split()), every_mark=True)


def _counts(counter: Counter[str | None], names: dict[str, str]) -> tuple[Count, ...]:
    """Most members first; then by name; the unknown last."""
    ordered = sorted(counter.items(), key=lambda item: (item[0] is None, -item[1], item[0] or ""))
    return tuple(Count(names[key] if key is not None else None, n) for key, n in ordered)


def new_members_per_month(joined: Sequence[dt.date], first: dt.date, last: dt.date) -> tuple[MonthCount, ...]:
    """Every month from `first` to `last`, with how many of the `joined` days (local dates) fall in it and in
    the period."""
    counts = Counter(day.replace(day=1) for day in joined if first <= day <= last)
    months = []
    month = first.replace(day=1)
    while month <= last:
        months.append(MonthCount(month, counts[month]))
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return tuple(months)


# --- Tables: the CSV files and the tables under the charts --------------------------------------------------

Cell = str | int | dt.date | None


@dataclass(frozen=True)
class Table:
    """One table of the report, the same in its CSV file and on the page. `kinds` says per column how a cell
    is written: "text", "number", "date" or "month"."""

    name: str
    header: tuple[str, ...]
    kinds: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _tables(figures: ReportFigures, language: str) -> dict[str, Table]:
    t = i18n.translations(language)

    status: dict[str, str] = {
        MeetingStatus.CONFIRMED: str(t.pgettext("meeting status", "confirmed")),
        MeetingStatus.CANCELLED: str(t.pgettext("meeting status", "cancelled")),
    }
    no_organisation = str(t.pgettext("report", "no organisation"))
    unknown = str(t.pgettext("report", "unknown"))
    members = str(t.pgettext("report column", "Members"))
    meetings = Table(
        "meetings",
        (
            str(t.pgettext("report column", "Date")),
            str(t.pgettext("report column", "Theme")),
            str(t.pgettext("report column", "Status")),
            str(t.pgettext("report column", "Capacity")),
            str(t.pgettext("report column", "Registered")),
            str(t.pgettext("report column", "Waiting")),
            str(t.pgettext("report column", "Cancelled")),
            str(t.pgettext("report column", "Attended")),
            str(t.pgettext("report column", "Walk-ins")),
            str(t.pgettext("report column", "Present")),
        ),
        ("date", "text", "text", "number", "number", "number", "number", "number", "number", "number"),
        tuple(
            (
                m.date,
                m.theme,
                status.get(m.status, m.status),
                m.capacity,
                m.registered,
                m.waiting,
                m.cancelled,
                m.attended,
                m.walk_ins if m.attended is not None else None,
                m.present,
            )
            for m in figures.meetings
        ),
    )
    organisations = Table(
        "organisations",
        (str(t.pgettext("report column", "Organisation")), members),
        ("text", "number"),
        tuple((c.name or no_organisation, c.members) for c in figures.organisations),
    )
    municipalities = Table(
        "municipalities",
        (str(t.pgettext("report column", "Municipality")), members),
        ("text", "number"),
        tuple((c.name or unknown, c.members) for c in figures.municipalities),
    )
    new_members = Table(
        "new_members",
        (str(t.pgettext("report column", "Month")), str(t.pgettext("report column", "New members"))),
        ("month", "number"),
        tuple((m.month, m.members) for m in figures.new_members),
    )
    return {table.name: table for table in (meetings, organisations, municipalities, new_members)}


def table_csv(table: Table) -> bytes:
    """The table as CSV in the sign-in sheet's dialect: ";" (Excel's list separator in nl-BE and fr-BE),
    CRLF, UTF-8 with a byte order mark so Excel reads it as UTF-8; dates ISO, months "2027-01", a figure not
    recorded an empty cell, text never a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow(_csv_cell(cell, kind) for cell, kind in zip(row, table.kinds, strict=True))
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(cell: Cell, kind: str) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.date):
        return cell.strftime("%Y-%m") if kind == "month" else cell.isoformat()
    if isinstance(cell, int):
        return str(cell)
    return spreadsheet_cell(clean_text(cell, limit=500))


def _page_cell(cell: Cell, kind: str, language: str) -> str:
    if cell is None:
        return "–"
    if isinstance(cell, dt.date):
        return _month(cell, language) if kind == "month" else _day(cell, language)
    if isinstance(cell, int):
        return babel.numbers.format_decimal(cell, locale=language)
    return clean_text(cell, limit=500)


def _day(day: dt.date, language: str) -> str:
    """ "12 jan 2027", "12 janv. 2027", "Jan 12, 2027"."""
    return babel.dates.format_date(day, "medium", locale=language)


def _month(month: dt.date, language: str) -> str:
    """ "januari 2027", "janvier 2027", "January 2027"."""
    return babel.dates.format_skeleton("yMMMM", month, locale=language)


def _charts(figures: ReportFigures, tables: dict[str, Table], language: str) -> dict[str, Chart]:
    t = i18n.translations(language)
    header = tables["meetings"].header
    series = [
        (header[4], COLOURS["registered"]),
        (header[5], COLOURS["waiting"]),
        (header[6], COLOURS["cancelled"]),
        (header[9], COLOURS["present"]),
    ]
    cancelled = str(t.pgettext("meeting status", "cancelled"))
    meeting_rows = [
        (
            f"{_day(m.date, language)} · "
            + (f"({cancelled}) " if m.status == MeetingStatus.CANCELLED else "")
            + clean_text(m.theme, limit=500),
            [m.registered, m.waiting, m.cancelled, m.present],
        )
        for m in figures.meetings
    ]
    members = str(t.pgettext("report column", "Members"))
    return {
        "meetings": bar_chart(
            "meetings",
            meeting_rows,
            series,
            language=language,
            not_recorded=str(t.pgettext("report", "not recorded")),
        ),
        "organisations": bar_chart(
            "organisations",
            _label_and_count(tables["organisations"]),
            [(members, SINGLE)],
            language=language,
        ),
        "municipalities": bar_chart(
            "municipalities",
            _label_and_count(tables["municipalities"]),
            [(members, SINGLE)],
            language=language,
        ),
        "new_members": bar_chart(
            "new_members",
            [(_month(m.month, language), [m.members]) for m in figures.new_members],
            [(str(t.pgettext("report column", "New members")), SINGLE)],
            language=language,
        ),
    }


def _label_and_count(table: Table) -> list[tuple[str, list[int | None]]]:
    """A chart's rows from a two-column table: a name, and how many members it has."""
    return [(str(name), [count if isinstance(count, int) else None]) for name, count in table.rows]


# --- The report ---------------------------------------------------------------------------------------------


def build_report(figures: ReportFigures, env: jinja2.Environment, language: str) -> Report:
    """The report's CSV files and HTML page, in `language` (nl for one mailflow does not write in)."""
    language = language if language in LANGUAGES else "nl"
    tables = _tables(figures, language)
    files = {f"{name}.csv": table_csv(table) for name, table in tables.items()}
    html = env.get_template("report.html").render(report_context(figures, tables, language))
    files["report.html"] = html.encode("utf-8")
    return Report(files)


def report_context(figures: ReportFigures, tables: dict[str, Table], language: str) -> dict[str, Any]:
    """Everything the page's template may use."""
    held = [m for m in figures.meetings if m.status != MeetingStatus.CANCELLED]
    recorded = [m.present for m in held if m.present is not None]
    return {
        "language": language,
        "network_name": clean_text(figures.network),
        "first": _day(figures.first, language),
        "last": _day(figures.last, language),
        "made": _day(figures.made, language),
        "totals": {
            "meetings": len(held),
            "cancelled_meetings": len(figures.meetings) - len(held),
            "registered": sum(m.registered for m in held),
            "waiting": sum(m.waiting for m in held),
            "cancellations": sum(m.cancelled for m in held),
            "present": sum(recorded),
            "recorded": len(recorded),
            "participants": sum(c.members for c in figures.organisations),
            "organisations": sum(1 for c in figures.organisations if c.name is not None),
            "municipalities": sum(1 for c in figures.municipalities if c.name is not None),
            "new_members": sum(m.members for m in figures.new_members),
        },
        "tables": {
            name: {
                "name": name,
                "file": f"{name}.csv",
                "header": table.header,
                "numeric": [kind == "number" for kind in table.kinds],
                "rows": [
                    [_page_cell(cell, kind, language) for cell, kind in zip(row, table.kinds, strict=True)]
                    for row in table.rows
                ],
            }
            for name, table in tables.items()
        },
        "charts": _charts(figures, tables, language),
    }
