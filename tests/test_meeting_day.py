"""The meeting's day: the sign-in sheet (a CSV to mark and a page to print) and the coordinator's digest that
carries it, however quiet the day. No server: the digest is queued in a SQLite database and read back from
the outbox."""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import io
import re
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from helpers import EXAMPLE_CONFIG

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import agenda, models, queries
from mailflow.cli import main
from mailflow.core import sheet
from mailflow.core.mail import render, templates
from mailflow.core.vocabulary import MailKind, OutboxStatus, RegistrationStatus
from mailflow.settings import Meeting, Network, Venue
from mailflow.usecases import calendar_jobs
from mailflow.usecases.context import build_app
from mailflow.usecases.meeting_changes import sync_meetings

NETWORK = Network(
    name="Leernetwerk In-Gent",
    timezone=ZoneInfo("Europe/Brussels"),
    language="nl",
    signup_address="leernetwerk@in-gent.example",
    coordinator="coordinator@in-gent.example",
)
VENUE = Venue("Buurthuis De Sleutel", "Voorbeeldstraat 12, 9000 Gent", dt.time(19, 30), dt.time(22, 0))
MEETING = render.meeting_details(
    Meeting(dt.date(2027, 1, 12), "Dringende medische hulp", ("Nora Jacobs",)), VENUE, NETWORK
)
ANNA = sheet.SheetPerson(7, "Anna Peeters", "Vluchtelingenwerk Vlaanderen", "anna.peeters@example.org")
BART = sheet.SheetPerson(3, "Bart Claes", None, "bart.claes@example.org")
ELISE = sheet.SheetPerson(12, "Élise Dubois-Noël", "CAW Oost-Vlaanderen", "elise@example.org")
# Names as a hostile mail may have written them: markup, template syntax, a formula, a line break.
HOSTILE = sheet.SheetPerson(
    21, "<script>alert(1)</script> {{ 7*7 }}", '=HYPERLINK("http://x.example")', "x@example.org"
)
MULTILINE = sheet.SheetPerson(22, "Line\r\nBreak\u202eReversed", "@SUM(A1)", "y@example.org")


def rows(data: bytes) -> list[list[str]]:
    """The sheet from its header row on: the meeting's lines above it are the sheet's top, checked apart."""
    every = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    return every[next(i for i, row in enumerate(every) if len(row) == len(sheet.COLUMNS)) :]


def top(data: bytes) -> list[list[str]]:
    """The meeting's lines at the top of the sheet, above the empty line."""
    every = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    return every[: every.index([])]


def test_the_csv_numbers_each_person_by_name_then_leaves_rows_for_walk_ins() -> None:
    data = sheet.sheet_csv(sheet.sign_in_sheet(MEETING, [BART, ELISE, ANNA], NETWORK))
    assert data.startswith(b"\xef\xbb\xbf" + NETWORK.name.encode() + b";Intekenlijst\r\n")
    assert top(data)[1:] == [
        ["Datum", "dinsdag 12 januari 2027"],
        ["Uur", "19:30 – 22:00"],
        ["Plaats", "Buurthuis De Sleutel, Voorbeeldstraat 12, 9000 Gent"],
        ["Thema", "Dringende medische hulp"],
        ["Sprekers", "Nora Jacobs"],
    ]
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert rows(data) == [
        ["Nr.", "Naam", "Organisatie", "E-mail", "Aanwezig", "Handtekening"],
        ["7", "Anna Peeters", "Vluchtelingenwerk Vlaanderen", "anna.peeters@example.org", "", ""],
        ["3", "Bart Claes", "", "bart.claes@example.org", "", ""],
        ["12", "Élise Dubois-Noël", "CAW Oost-Vlaanderen", "elise@example.org", "", ""],  # accents aside
        *[[""] * 6] * sheet.BLANK_ROWS,
    ]


def test_the_csv_never_holds_a_formula_nor_a_line_break_from_a_mail() -> None:
    data = sheet.sheet_csv(sheet.sign_in_sheet(MEETING, [HOSTILE, MULTILINE], NETWORK))
    cells = [cell for row in rows(data)[1:3] for cell in row]
    assert '\'=HYPERLINK("http://x.example")' in cells and "'@SUM(A1)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "Line Break\u202eReversed" in cells  # one line; the spreadsheet shows it as written
    assert len(rows(data)) == 1 + 2 + sheet.BLANK_ROWS


@pytest.mark.parametrize(
    ("language", "header"),
    [
        ("fr", ["N°", "Nom", "Organisation", "E-mail", "Présent", "Signature"]),
        ("en", ["No.", "Name", "Organisation", "Email", "Present", "Signature"]),
    ],
)
def test_the_columns_are_in_the_coordinators_language(language: str, header: list[str]) -> None:
    network = Network(**{**NETWORK.__dict__, "language": language})
    assert rows(sheet.sheet_csv(sheet.sign_in_sheet(MEETING, [ANNA], network)))[0] == header


def test_the_sheet_reads_back_as_written() -> None:
    written = sheet.sheet_csv(sheet.sign_in_sheet(MEETING, [ANNA, BART, HOSTILE], NETWORK))
    marked = sheet.read_sheet(written)
    assert marked.problems == ()
    assert [(line.number, line.name, line.came) for line in marked.lines] == [
        (21, "<script>alert(1)</script> {{ 7*7 }}", False),
        (7, "Anna Peeters", False),
        (3, "Bart Claes", False),
    ]
    assert marked.lines[0].organisation == '=HYPERLINK("http://x.example")'  # our guard taken off again


# --- the sheet to print -------------------------------------------------------------------------------------


def page(*people: sheet.SheetPerson, language: str = "nl") -> str:
    network = Network(**{**NETWORK.__dict__, "language": language})
    return sheet.sheet_html(templates.make_environment(), sheet.sign_in_sheet(MEETING, people, network))


def test_the_page_names_the_meeting_at_the_top_and_numbers_each_person() -> None:
    html = page(BART, ANNA)
    top = html.split('<table class="sheet">', 1)[0]
    for expected in (
        "Leernetwerk In-Gent",
        "Intekenlijst",
        "dinsdag 12 januari 2027",
        "19:30 – 22:00",
        "Buurthuis De Sleutel, Voorbeeldstraat 12, 9000 Gent",
        "Dringende medische hulp",
        "Nora Jacobs",
    ):
        assert expected in top, expected
    for header in ("Nr.", "Naam", "Organisatie", "Handtekening", "Aanwezig"):
        assert f"<th>{header}" in html, header
    body = html.split("<tbody>", 1)[1]
    assert body.index(">7<") < body.index("Anna Peeters") < body.index(">3<") < body.index("Bart Claes")
    assert "Vluchtelingenwerk Vlaanderen" in body
    # The sheet goes round the room: nobody reads another person's address on it.
    assert "@example.org" not in html


def test_the_page_has_empty_rows_for_walk_ins_and_says_what_to_write() -> None:
    html = page(ANNA)
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr>") == 1 + sheet.BLANK_ROWS
    assert body.count('<td class="box"><span></span></td>') == 1 + sheet.BLANK_ROWS  # a box to tick
    assert "Niet ingeschreven? Schrijf hier je naam, organisatie en e-mailadres." in body
    assert "1 persoon ingeschreven." in html


def test_the_page_prints_on_a4_by_itself() -> None:
    html = page(ANNA)
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", html)
    assert '<meta charset="utf-8">' in html
    # No external assets: no stylesheet, script, image, font or frame fetched from anywhere.
    assert not re.search(r"<(link|script|img|iframe|object)\b|@import|url\(|src=|href=", html, re.IGNORECASE)


def test_hostile_names_are_text_on_the_page() -> None:
    html = page(HOSTILE, MULTILINE)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}" in html  # escaped, and no template ran
    assert "49" not in html
    assert "Line Break" in html and "\u202e" not in html  # one line, and no bidi override


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", ["Feuille de présence", "mardi 12 janvier 2027", "<th>N°", "Présent"]),
        ("en", ["Sign-in sheet"]),
    ],
)
def test_the_page_is_in_the_coordinators_language(language: str, expected: list[str]) -> None:
    html = page(ANNA, language=language)
    for text in expected:
        assert text in html, text


# --- the digest that carries it -----------------------------------------------------------------------------

SEEDED_AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The example config (meetings on 2027-01-12 and 2027-03-09; send_when_empty = false) with SQLite."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
        '# url = "sqlite:////var/lib/mailflow/mailflow.db"', f'url = "sqlite:///{tmp_path}/mailflow.db"'
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def seed(config: Path, day: dt.date, people: list[tuple[str, str | None, str]]) -> list[int]:
    """Members registered for the meeting on `day` long ago: nothing about them is news any more."""
    with build_app(load_config(config)) as app:
        sync_meetings(app, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))  # long before
        with app.sessions.begin() as db:
            meeting = agenda.meeting_on(db, day)
            assert meeting is not None
            members = []
            for name, organisation, address in people:
                member = models.Member(
                    email=address,
                    name=name,
                    name_key=queries.name_key(name),
                    organisation=organisation,
                    language="nl",
                    status="active",
                    unsure=False,
                    undeliverable=False,
                    created_at=SEEDED_AT,
                    last_heard_at=SEEDED_AT,
                )
                db.add(member)
                agenda.set_registration(db, member, meeting, RegistrationStatus.REGISTERED, SEEDED_AT)
                members.append(member)
            db.flush()
            return [m.id for m in members]


def digests(config: Path) -> list[tuple[str, EmailMessage | None]]:
    """Each digest in the outbox: its status, and the mail (None for a day skipped as empty)."""
    with build_app(load_config(config)) as app, app.sessions() as db:
        found = db.scalars(
            sa.select(models.OutboxMessage)
            .where(models.OutboxMessage.kind == MailKind.DIGEST)
            .order_by(models.OutboxMessage.id)
        ).all()
        return [
            (
                row.status,
                email.message_from_bytes(row.raw, policy=email.policy.default) if row.raw else None,
            )
            for row in found
        ]


def test_a_quiet_meeting_day_still_brings_the_digest_with_the_sheet_twice(config: Path, capsys) -> None:
    ids = seed(
        config,
        dt.date(2027, 1, 12),
        [
            ("Anna Peeters", "Vluchtelingenwerk Vlaanderen", "anna@example.org"),
            ("Bart Claes", None, "b@example.org"),
        ],
    )
    # The day before: nothing happened, so nothing goes ([digest] send_when_empty = false).
    assert main(["digest", "--config", str(config), "--now", "2027-01-11T08:00+01:00"]) == 0
    assert "nothing new today" in capsys.readouterr().out
    assert digests(config) == [(OutboxStatus.SKIPPED, None)]

    # The meeting's day, just as quiet: the digest goes all the same, with the sheet to mark and to print.
    assert main(["digest", "--config", str(config), "--now", "2027-01-12T08:00+01:00"]) == 0
    assert "queued" in capsys.readouterr().out
    _day_before, (status, digest) = digests(config)
    assert status == OutboxStatus.PENDING and digest is not None
    attachments = {a.get_filename(): a for a in digest.iter_attachments()}
    assert sorted(attachments) == ["aanwezigheden-2027-01-12.csv", "intekenlijst-2027-01-12.html"]
    table = rows(attachments["aanwezigheden-2027-01-12.csv"].get_payload(decode=True))
    assert table[0] == ["Nr.", "Naam", "Organisatie", "E-mail", "Aanwezig", "Handtekening"]
    assert [row[:2] for row in table[1:3]] == [[str(ids[0]), "Anna Peeters"], [str(ids[1]), "Bart Claes"]]
    printable = attachments["intekenlijst-2027-01-12.html"]
    assert printable.get_content_type() == "text/html"
    html = printable.get_content()
    assert "Anna Peeters" in html and "dinsdag 12 januari 2027" in html and "@page" in html
    text = digest.get_body(("plain",)).get_content()
    assert "BIJEENKOMST VANDAAG" in text
    assert (
        "intekenlijst-2027-01-12.html" in text
        and "--meeting 2027-01-12 --from aanwezigheden-2027-01-12.csv" in text
    )
    assert "Bijeenkomst vandaag" in digest.get_body(("html",)).get_content()

    # Once a day, as every digest.
    assert main(["digest", "--config", str(config), "--now", "2027-01-12T12:00+01:00"]) == 0
    assert len(digests(config)) == 2


def test_the_preview_on_the_meeting_day_names_both_files(config: Path, capsys) -> None:
    seed(config, dt.date(2027, 1, 12), [("Anna Peeters", None, "anna@example.org")])
    assert main(["digest", "--config", str(config), "--preview", "--now", "2027-01-12T07:00+01:00"]) == 0
    out = capsys.readouterr().out
    assert "Attached: aanwezigheden-2027-01-12.csv" in out and "Attached: intekenlijst-2027-01-12.html" in out


def test_after_the_meeting_began_the_next_meetings_list_comes_as_well(config: Path) -> None:
    seed(config, dt.date(2027, 1, 12), [("Anna Peeters", None, "anna@example.org")])
    with build_app(load_config(config)) as app:
        now = dt.datetime(2027, 1, 12, 20, 0, tzinfo=dt.UTC)  # 21:00 in Ghent: the meeting is on
        assert calendar_jobs.queue_digest(app, now) == "queued"
    ((_, digest),) = digests(config)
    assert digest is not None
    assert sorted(a.get_filename() for a in digest.iter_attachments()) == [
        "aanwezigheden-2027-01-12.csv",
        "aanwezigheden-2027-03-09.csv",
        "intekenlijst-2027-01-12.html",
    ]


def test_a_cancelled_meeting_brings_no_sheet(config: Path) -> None:
    text = config.read_text(encoding="utf-8").replace(
        "date = 2027-01-12\n", 'date = 2027-01-12\nstatus = "cancelled"\n'
    )
    config.write_text(text, encoding="utf-8")
    assert main(["digest", "--config", str(config), "--now", "2027-01-12T08:00+01:00"]) == 0
    assert digests(config) == [(OutboxStatus.SKIPPED, None)]
