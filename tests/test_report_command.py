"""`mailflow report` on a real database (SQLite, and PostgreSQL through `database_url`) filled through the
models: what it counts, what it leaves out, the files it writes, and its refusals."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import COORDINATOR, SIGNUP_ADDRESS, database, to_toml

from mailflow.adapters.db import models
from mailflow.cli import main

BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = "2027-07-01T10:00+02:00"
MEETINGS = [
    {"date": dt.date(2027, 1, 12), "theme": "Dringende medische hulp", "capacity": 3},
    {"date": dt.date(2027, 3, 9), "theme": "Toegang tot onderwijs", "status": "cancelled"},
    {"date": dt.date(2027, 5, 11), "theme": "Juridische bijstand"},
    {"date": dt.date(2027, 9, 14), "theme": "Vrijwillige terugkeer"},  # after the period
]
ORGANISATIONS = [
    {"name": "Werkgroep Vluchtelingen Gent", "aliases": ["WVG"], "municipality": "Gent"},
    {"name": "Rode Kruis Vlaanderen", "municipality": "Mechelen"},
    {"name": "CAW Oost-Vlaanderen"},  # no municipality
]
# Invented people: (name, organisation as stored, when they joined, in UTC).
PEOPLE = {
    "ine": ("Ine Verbeke", "Werkgroep Vluchtelingen Gent", dt.datetime(2026, 12, 20, 9, 0)),  # before
    "karim": ("Karim Aziz", "wvg", dt.datetime(2027, 1, 5, 9, 0)),
    "lotte": ("Lotte De Smet", "Rode Kruis Vlaanderen", dt.datetime(2027, 1, 31, 23, 30)),  # 1 Feb in Gent
    "bram": ("Bram Claes", None, dt.datetime(2027, 2, 10, 9, 0)),
    "sofie": ("Sofie Peeters", "CAW Oost-Vlaanderen", dt.datetime(2027, 4, 2, 9, 0)),
    # Joined on 1 July in Gent, after the period.
    "youssef": ("Youssef Janssens", "Buurtwerk Zwijnaarde", dt.datetime(2027, 6, 30, 22, 30)),
}


def write_config(folder: Path, database_url: str) -> Path:
    path = folder / "config.toml"
    document = {
        "network": {
            "name": "Leernetwerk In-Gent",
            "language": "nl",
            "signup_address": SIGNUP_ADDRESS,
            "coordinator": COORDINATOR,
        },
        "venue": {"name": "Campus Sint-Annaplein", "address": "Sint-Annaplein 31, 9000 Gent"},
        "database": {"url": database_url},
        "organisations": ORGANISATIONS,
        "meetings": MEETINGS,
    }
    path.write_text(to_toml(document), encoding="utf-8")
    return path


def fill(database_url: str) -> None:
    """The meetings as mailflow writes them, the members, and their registrations, through the models."""
    with database(database_url) as db:
        meetings = {}
        for item in MEETINGS:
            day = item["date"]
            meetings[day.month] = models.Meeting(
                date=day,
                starts_at=dt.datetime.combine(day, dt.time(19, 30), tzinfo=BRUSSELS),
                theme=item["theme"],
                speakers=[],
                capacity=item.get("capacity"),
                status=item.get("status", "confirmed"),
                sequence=0,
                walk_ins=0,
            )
        # January: attendance recorded, with two walk-ins.
        meetings[1].walk_ins = 2
        meetings[1].attendance_recorded_at = dt.datetime(2027, 1, 13, 9, 0, tzinfo=dt.UTC)
        members = {}
        for key, (name, organisation, joined) in PEOPLE.items():
            at = joined.replace(tzinfo=dt.UTC)
            members[key] = models.Member(
                email=f"{key}@example.org",
                name=name,
                name_key=name.lower(),
                organisation=organisation,
                created_at=at,
                last_heard_at=at,
            )
        db.add_all([*meetings.values(), *members.values()])
        registrations = [
            ("ine", 1, "registered", True),
            ("karim", 1, "registered", True),
            ("lotte", 1, "registered", False),  # had a place, did not come
            ("bram", 1, "waiting", None),
            ("sofie", 1, "cancelled", None),
            ("bram", 3, "registered", None),  # the meeting was cancelled
            ("sofie", 5, "registered", None),  # attendance not recorded: having a place counts
            ("youssef", 5, "registered", None),
            ("karim", 5, "cancelled", None),
            ("lotte", 9, "registered", None),  # after the period
        ]
        moment = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
        for key, month, status, attended in registrations:
            db.add(
                models.Registration(
                    member=members[key],
                    meeting=meetings[month],
                    status=status,
                    attended=attended,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        db.commit()


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline=""), delimiter=";"))


def test_the_report_of_a_half_year(database_url, tmp_path, capsys):
    config = write_config(tmp_path, database_url)
    fill(database_url)
    out = tmp_path / "verslag" / "2027-h1"  # made, parents too
    status = main(
        ["report", "--config", str(config), "--from", "2027-01-01", "--to", "2027-06-30", "--out", str(out)]
        + ["--now", NOW]
    )
    assert status == 0
    written = capsys.readouterr().out.split()
    names = ["report.html", "meetings.csv", "municipalities.csv", "new_members.csv", "organisations.csv"]
    assert written == [str(out / name) for name in names]
    assert rows(out / "meetings.csv")[1:] == [
        ["2027-01-12", "Dringende medische hulp", "bevestigd", "3", "3", "1", "1", "2", "2", "4"],
        ["2027-03-09", "Toegang tot onderwijs", "geannuleerd", "", "1", "0", "0", "", "", ""],
        ["2027-05-11", "Juridische bijstand", "bevestigd", "", "2", "0", "1", "", "", ""],
    ]
    # Took part: Ine and Karim came in January; Sofie and Youssef had a place in May (not recorded). Lotte
    # did not come, Bram only waited or had a place at the cancelled meeting.
    assert rows(out / "organisations.csv")[1:] == [
        ["Werkgroep Vluchtelingen Gent", "2"],
        ["Buurtwerk Zwijnaarde", "1"],
        ["CAW Oost-Vlaanderen", "1"],
    ]
    assert rows(out / "municipalities.csv")[1:] == [["Gent", "2"], ["onbekend", "2"]]
    # Joined in the period, by the local date: Lotte on 1 February, Youssef on 1 July (outside).
    assert rows(out / "new_members.csv")[1:] == [
        ["2027-01", "1"],
        ["2027-02", "2"],
        ["2027-03", "0"],
        ["2027-04", "1"],
        ["2027-05", "0"],
        ["2027-06", "0"],
    ]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 4 and "Leernetwerk In-Gent" in html
    # Numbers only: nobody's name or address is in the report.
    everything = "\n".join(path.read_bytes().decode("utf-8-sig") for path in out.iterdir()).lower()
    for name, _, _ in PEOPLE.values():
        first, *_, last = name.lower().split()
        for part in (first, last):
            assert not re.search(rf"\b{part}\b", everything), part
    assert "@example.org" not in everything


def test_a_period_that_ends_before_it_starts_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/mailflow.db")
    args = ["report", "--config", str(config), "--from", "2027-07-01", "--to", "2027-06-30"]
    assert main([*args, "--out", str(out)]) == 2
    assert "--from 2027-07-01 is after --to 2027-06-30" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "mailflow.db").exists()  # nothing was done


@pytest.mark.parametrize("value", ["1-7-2027", "2027-02-30", "last month"])
def test_a_date_that_is_not_one_is_refused(tmp_path, capsys, value):
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/mailflow.db")
    args = ["report", "--config", str(config), "--from", value, "--to", "2027-06-30", "--out", str(tmp_path)]
    assert main(args) == 2
    assert f"--from must be a date like 2026-01-13, got {value!r}" in capsys.readouterr().err


def test_a_folder_that_cannot_be_written_is_refused(tmp_path, capsys):
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/mailflow.db")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    args = ["report", "--config", str(config), "--from", "2027-01-01", "--to", "2027-06-30"]
    assert main([*args, "--out", str(blocked / "report")]) == 2
    error = capsys.readouterr().err
    assert f"--out {blocked / 'report'}: cannot write the report there" in error
    assert "give a folder you may write in" in error
    assert not (tmp_path / "mailflow.db").exists()
