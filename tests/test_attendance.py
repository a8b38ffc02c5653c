"""`mailflow attendance`: who came, from the sign-in sheet the digest carried (marked, as a spreadsheet
program saves it) or from names; a record replaces the previous one; names that match nobody or several
record nothing. The database is SQLite, and PostgreSQL for the sheet's round trip."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import email
import email.policy
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import EXAMPLE_CONFIG

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import agenda, models, queries
from mailflow.cli import main
from mailflow.core import sheet
from mailflow.core.vocabulary import EventKind, MailKind, RegistrationStatus
from mailflow.usecases.context import build_app
from mailflow.usecases.meeting_changes import sync_meetings

DAY = dt.date(2027, 1, 12)  # the example config's first meeting, 19:30-22:00 in Ghent
AFTER = "2027-01-12T22:30+01:00"
SEEDED_AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

ANNA = ("Anna Peeters", "Vluchtelingenwerk Vlaanderen", "anna.peeters@example.org")
BART = ("Bart Claes", None, "bart.claes@example.org")
CHLOE = ("Chloé Dubois", "Caritas International", "chloe.dubois@example.org")
WAITING = ("Wim Wachter", None, "wim@example.org")
CANCELLED = ("Carla Afgemeld", None, "carla@example.org")


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """The example config, with its database in tmp_path (or the test's `database_url`)."""
    url = (
        request.getfixturevalue("database_url")
        if "database_url" in request.fixturenames
        else f"sqlite:///{tmp_path}/mailflow.db"
    )
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
        '# url = "sqlite:////var/lib/mailflow/mailflow.db"', f'url = "{url}"'
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def seed(config: Path) -> dict[str, int]:
    """Anna, Bart and Chloé registered for DAY, Wim waiting, Carla cancelled: name -> member number."""
    with build_app(load_config(config)) as app:
        sync_meetings(app, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))  # long before
        with app.sessions.begin() as db:
            meeting = agenda.meeting_on(db, DAY)
            assert meeting is not None
            members = {}
            for person, status in [
                (ANNA, RegistrationStatus.REGISTERED),
                (BART, RegistrationStatus.REGISTERED),
                (CHLOE, RegistrationStatus.REGISTERED),
                (WAITING, RegistrationStatus.WAITING),
                (CANCELLED, RegistrationStatus.CANCELLED),
            ]:
                members[person[0]] = member = _member(*person)
                db.add(member)
                agenda.set_registration(db, member, meeting, status, SEEDED_AT)
            db.flush()
            return {name: member.id for name, member in members.items()}


def _member(name: str, organisation: str | None, address: str) -> models.Member:
    return models.Member(
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


def sheet_from_the_digest(config: Path) -> bytes:
    """The CSV the coordinator got with the digest on the meeting's morning."""
    assert main(["digest", "--config", str(config), "--now", "2027-01-12T08:00+01:00"]) == 0
    with build_app(load_config(config)) as app, app.sessions() as db:
        raw = db.scalars(
            sa.select(models.OutboxMessage.raw).where(models.OutboxMessage.kind == MailKind.DIGEST)
        ).one()
    digest = email.message_from_bytes(raw, policy=email.policy.default)
    (csv_part,) = [a for a in digest.iter_attachments() if a.get_content_type() == "text/csv"]  # type: ignore[attr-defined]
    data: bytes = csv_part.get_payload(decode=True)
    return data


def marked(data: bytes, marks: dict[str, str], walk_ins: Sequence[list[str]] = ()) -> list[list[str]]:
    """The sheet's rows with a mark in "Aanwezig" for the names in `marks`, and walk-ins written in the
    empty rows (name, organisation, email)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    top = header_index(rows)  # the meeting's lines come first
    header = rows[top]
    name, present = header.index("Naam"), header.index("Aanwezig")
    for row in rows[top + 1 :]:
        if row[name] in marks:
            row[present] = marks[row[name]]
    blank = [i for i, row in enumerate(rows) if i > top and not any(row)]
    for index, (who, organisation, address) in zip(blank, walk_ins, strict=False):
        rows[index][1:4] = [who, organisation, address]
    return rows


def header_index(rows: list[list[str]]) -> int:
    """Where the column names are, under the meeting's lines at the top of the sheet."""
    return next(i for i, row in enumerate(rows) if "Naam" in row)


def write(rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding, errors="replace")  # Windows-1252 has no ✓: "?" is a mark too


def record(config: Path, tmp_path: Path, data: bytes, now: str = AFTER) -> int:
    path = tmp_path / "aanwezigheden-2027-01-12.csv"
    path.write_bytes(data)
    return main(
        [
            "attendance",
            "--config",
            str(config),
            "--meeting",
            DAY.isoformat(),
            "--from",
            str(path),
            "--now",
            now,
        ]
    )


def state(config: Path) -> tuple[dict[str, tuple[str, bool | None]], models.Meeting, list[str]]:
    """name -> (registration status, attended); the meeting; the details of its attendance events."""
    with build_app(load_config(config)) as app, app.sessions() as db:
        meeting = agenda.meeting_on(db, DAY)
        assert meeting is not None
        people = {r.member.name: (r.status, r.attended) for r in agenda.registrations_of(db, meeting)}
        events = db.scalars(
            sa.select(models.Event.detail)
            .where(models.Event.kind == EventKind.ATTENDANCE)
            .order_by(models.Event.id)
        ).all()
        db.expunge(meeting)
        return people, meeting, [e or "" for e in events]


# --- the sheet, marked --------------------------------------------------------------------------------------


def test_the_marked_sheet_records_who_came_and_again_replaces_it(config, tmp_path, capsys, database_url):
    numbers = seed(config)
    data = sheet_from_the_digest(config)
    rows = marked(
        data,
        {"Anna Peeters": "x", "Chloé Dubois": "✓"},
        walk_ins=[
            ["Dirk Nieuw", "Buurtwerk 't Centrum", "Dirk.Nieuw@example.org"],
            ["Eva Zonderadres", "", ""],
        ],
    )
    assert record(config, tmp_path, write(rows)) == 0
    out = capsys.readouterr().out
    assert "3 came (1 new member(s)), 1 registered did not come, 1 came unregistered" in out
    people, meeting, events = state(config)
    assert people == {
        "Anna Peeters": ("registered", True),
        "Bart Claes": ("registered", False),
        "Chloé Dubois": ("registered", True),
        "Wim Wachter": ("waiting", None),
        "Carla Afgemeld": ("cancelled", None),
        "Dirk Nieuw": ("registered", True),  # a member now, with his address
    }
    assert meeting.walk_ins == 1  # Eva: counted, not named
    recorded_at = meeting.attendance_recorded_at
    assert recorded_at is not None and recorded_at.replace(second=0, microsecond=0) == dt.datetime(
        2027, 1, 12, 21, 30, tzinfo=dt.UTC
    )
    assert events == ["came=3 absent=1 walk_ins=1 new_members=1"]  # counts, never names
    with build_app(load_config(config)) as app, app.sessions() as db:
        (dirk,) = queries.members_at(db, "dirk.nieuw@example.org")
        assert (dirk.name, dirk.organisation, dirk.status) == ("Dirk Nieuw", "Buurtwerk 't Centrum", "active")
        assert queries.members_at(db, "eva@example.org") == []
        assert not db.scalars(sa.select(models.Member).where(models.Member.name.like("Eva%"))).all()

    # The same sheet again: the same record, and Dirk is found, not made twice.
    assert record(config, tmp_path, write(rows)) == 0
    again, meeting, events = state(config)
    assert again == people and meeting.walk_ins == 1 and len(events) == 2
    with build_app(load_config(config)) as app, app.sessions() as db:
        assert len(queries.members_at(db, "dirk.nieuw@example.org")) == 1

    # A corrected sheet replaces the record whole: Chloé did not come after all, and neither did Dirk.
    rows = marked(data, {"Anna Peeters": "X", "Bart Claes": "ja"}, walk_ins=[["Eva Zonderadres", "", ""]] * 2)
    assert record(config, tmp_path, write(rows)) == 0
    people, meeting, _ = state(config)
    assert people == {
        "Anna Peeters": ("registered", True),
        "Bart Claes": ("registered", True),
        "Chloé Dubois": ("registered", False),
        "Wim Wachter": ("waiting", None),
        "Carla Afgemeld": ("cancelled", None),
    }
    assert meeting.walk_ins == 2
    assert str(numbers["Anna Peeters"]) in data.decode("utf-8-sig")


# As spreadsheet programs save a sheet: with or without the byte order mark, "," or a tab between the cells,
# Windows-1252 or UTF-16, quoted cells, numbers as decimals, the columns moved, the marks people write.
def _no_bom(rows: list[list[str]]) -> bytes:
    return write(rows, encoding="utf-8")


def _comma_cp1252(rows: list[list[str]]) -> bytes:
    return write(rows, delimiter=",", encoding="cp1252")


def _utf16_tabs(rows: list[list[str]]) -> bytes:
    return codecs.BOM_UTF16_LE + write(rows, delimiter="\t", encoding="utf-16-le")


def _quoted_decimal_numbers(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(
        [[f"{cell}.0" if i == 0 and cell.isdigit() else cell for i, cell in enumerate(row)] for row in rows]
    )
    return buffer.getvalue().encode("utf-8")


def _columns_moved_short_rows(rows: list[list[str]]) -> bytes:
    order = [4, 1, 0, 2, 3, 5]  # "Aanwezig" first, the number third
    moved = [[(row + [""] * 6)[i] for i in order] for row in rows]
    return write([_without_trailing_blanks(row) for row in moved])


def _without_trailing_blanks(row: list[str]) -> list[str]:
    while row and not row[-1]:
        row = row[:-1]
    return row


@pytest.mark.parametrize(
    ("save", "anna", "bart"),
    [
        (_no_bom, "x", "nee"),
        (_comma_cp1252, "✓", "0"),  # "?" in Windows-1252, still a mark
        (_utf16_tabs, "oui", ""),
        (_quoted_decimal_numbers, "1", "-"),
        (_columns_moved_short_rows, "yes", " "),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_a_sheet_as_a_spreadsheet_program_saved_it(
    config, tmp_path, save: Callable[[list[list[str]]], bytes], anna, bart
):
    seed(config)
    rows = marked(
        sheet_from_the_digest(config), {"Anna Peeters": anna, "Bart Claes": bart, "Chloé Dubois": "X"}
    )
    assert record(config, tmp_path, save(rows)) == 0
    people, meeting, _ = state(config)
    assert {name: came for name, (_, came) in people.items()} == {
        "Anna Peeters": True,
        "Bart Claes": False,
        "Chloé Dubois": True,
        "Wim Wachter": None,
        "Carla Afgemeld": None,
    }
    assert meeting.walk_ins == 0


def test_a_sheet_without_numbers_matches_people_by_address_and_name(config, tmp_path):
    """The everyday list from an earlier digest (name, organisation, email, signature), signed."""
    seed(config)
    rows = [
        ["Naam", "Organisatie", "E-mail", "Handtekening"],
        ["Anna Peeters", "Vluchtelingenwerk Vlaanderen", "anna.peeters@example.org", "A. Peeters"],
        ["Bart Claes", "", "bart.claes@example.org", ""],
        ["Chloé Dubois", "Caritas International", "CHLOE.DUBOIS@example.org", "CD"],
    ]
    assert record(config, tmp_path, write(rows)) == 0
    people, meeting, _ = state(config)
    assert people["Anna Peeters"][1] is True and people["Chloé Dubois"][1] is True
    assert people["Bart Claes"][1] is False
    assert len(people) == 5 and meeting.walk_ins == 0


def test_a_marked_row_with_an_unknown_number_records_nothing(config, tmp_path, capsys):
    seed(config)
    rows = marked(sheet_from_the_digest(config), {"Anna Peeters": "x"})
    rows[header_index(rows) + 1][0] = "9999"
    assert record(config, tmp_path, write(rows)) == 1
    err = capsys.readouterr().err
    assert "no member 9999" in err and "nothing was recorded" in err
    people, meeting, events = state(config)
    assert all(came is None for _, came in people.values())
    assert meeting.attendance_recorded_at is None and events == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"just some text\r\nno columns\r\n", "no columns"),
        (b"Datum;Thema\r\n2027-01-12;x\r\n", "no header row with a name column"),
        (b"Naam;Organisatie\r\nAnna;x\r\n", "no column to mark who came"),
    ],
)
def test_a_file_that_is_no_sign_in_sheet_is_refused(config, tmp_path, capsys, data: bytes, message: str):
    seed(config)
    assert record(config, tmp_path, data) == 2
    assert message in capsys.readouterr().err
    assert state(config)[1].attendance_recorded_at is None


def test_reading_back_keeps_what_people_wrote_and_notes_odd_rows() -> None:
    data = write(
        [
            ["Nr.", "Naam", "Organisatie", "E-mail", "Aanwezig", "Handtekening"],
            ["#4", "'=cmd", "", "", "x", ""],
            ["abc", "Iemand", "", "", "x", ""],
            ["", "", "", "", "", ""],
            ["", "Walk In", "Org", "walk@example.org", "", ""],  # written in an empty row: came
        ]
    )
    read = sheet.read_sheet(data)
    assert [(line.row, line.number, line.name, line.came) for line in read.lines] == [
        (2, 4, "=cmd", True),
        (5, None, "Walk In", True),
    ]
    assert read.problems == ("row 3: the member number 'abc' is not a number",)


@pytest.mark.parametrize("mark", ["x", "X", "ja", "Ja", "oui", "yes", "1", "✓", "✔", "aanwezig", "A.P."])
def test_any_mark_means_came(mark: str) -> None:
    assert sheet.is_mark(mark)


@pytest.mark.parametrize("mark", ["", " ", "nee", "Neen", "non", "no", "0", "-", "afwezig", "absent"])
def test_an_empty_cell_or_a_no_means_did_not_come(mark: str) -> None:
    assert not sheet.is_mark(mark)


# --- names --------------------------------------------------------------------------------------------------


def by_names(config: Path, *names: str, now: str = AFTER) -> int:
    return main(["attendance", "--config", str(config), "--meeting", DAY.isoformat(), *names, "--now", now])


def test_names_record_who_came_in_any_spelling(config, capsys):
    seed(config)
    assert by_names(config, "peeters anna", "CHLOE DUBOIS", "Wim Wachter") == 0
    assert "3 came, 1 registered did not come" in capsys.readouterr().out
    people, meeting, events = state(config)
    assert people == {
        "Anna Peeters": ("registered", True),
        "Bart Claes": ("registered", False),
        "Chloé Dubois": ("registered", True),
        "Wim Wachter": ("waiting", True),  # came from the waiting list all the same
        "Carla Afgemeld": ("cancelled", None),
    }
    assert meeting.walk_ins == 0 and events == ["came=3 absent=1 walk_ins=0 new_members=0"]

    # Without --from or names: what was recorded.
    assert by_names(config) == 0
    out = capsys.readouterr().out
    assert "recorded 2027-01-12 22:30 CET" in out
    assert "came          Anna Peeters (Vluchtelingenwerk Vlaanderen)" in out
    assert "did not come  Bart Claes" in out


def test_names_that_match_nobody_record_nothing_and_say_what_is_close(config, capsys):
    seed(config)
    assert by_names(config, "Anna", "Bart Claes", "Chloe Dubuis", "Zora Onbekend") == 1
    err = capsys.readouterr().err
    assert "'Anna' matches no member (close: Anna Peeters (Vluchtelingenwerk Vlaanderen))" in err
    assert "'Chloe Dubuis' matches no member (close: Chloé Dubois (Caritas International))" in err
    assert "'Zora Onbekend' matches no member\n" in err
    assert "nothing was recorded" in err and "Bart Claes" not in err
    people, meeting, events = state(config)
    assert all(came is None for _, came in people.values())
    assert meeting.attendance_recorded_at is None and events == []


def test_a_name_two_members_share_takes_the_registered_one_else_asks_for_the_number(config, capsys):
    numbers = seed(config)
    with build_app(load_config(config)) as app, app.sessions.begin() as db:
        db.add(_member("Anna Peeters", "Een andere Anna", "anna.2@example.org"))
        db.add(_member("Jan Janssens", "CAW", "jan.1@example.org"))
        db.add(_member("Jan Janssens", "OCMW", "jan.2@example.org"))
    assert by_names(config, "Anna Peeters") == 0
    assert state(config)[0]["Anna Peeters"] == ("registered", True)

    assert by_names(config, "Jan Janssens") == 1
    err = capsys.readouterr().err
    assert "'Jan Janssens' matches 2 members: #" in err and "(CAW)" in err and "(OCMW)" in err
    assert "give the number instead" in err
    number = err.split("#", 1)[1].split(" ", 1)[0]
    assert by_names(config, f"#{number}", str(numbers["Bart Claes"])) == 0
    people = state(config)[0]
    assert people["Jan Janssens"] == ("registered", True) and people["Bart Claes"] == ("registered", True)
    assert people["Anna Peeters"] == ("registered", False)  # this record replaced the one before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--meeting", "2027-01-13", "Anna Peeters"], "no confirmed meeting on 2027-01-13"),
        (["--meeting", "12 januari", "Anna Peeters"], "--meeting must be a date"),
        (["--meeting", "2027-03-09", "Anna Peeters"], "has not begun yet"),
        (["--meeting", "2027-01-12", "--from", "x.csv", "Anna Peeters"], "not both"),
        (["--meeting", "2027-01-12", "--from", "no-such-file.csv"], "no-such-file.csv"),
    ],
)
def test_what_cannot_be_recorded_exits_2(config, capsys, arguments: list[str], message: str):
    seed(config)
    assert main(["attendance", "--config", str(config), *arguments, "--now", AFTER]) == 2
    assert message in capsys.readouterr().err
    assert state(config)[1].attendance_recorded_at is None


def test_before_the_meeting_begins_nothing_is_recorded(config, capsys):
    seed(config)
    assert by_names(config, "Anna Peeters", now="2027-01-12T19:00+01:00") == 2
    assert "has not begun yet" in capsys.readouterr().err


def test_a_walk_in_at_a_known_address_under_another_name_is_noted(config, tmp_path, capsys):
    seed(config)
    rows = marked(
        sheet_from_the_digest(config), {}, walk_ins=[["A. Peeters", "", "anna.peeters@example.org"]]
    )
    assert record(config, tmp_path, write(rows)) == 0
    assert "a new member at an address that has members already" in capsys.readouterr().err
    people, _, _ = state(config)
    assert people["A. Peeters"] == ("registered", True) and people["Anna Peeters"] == ("registered", False)
