"""The daily digest: empty or not, its subject, the sign-in sheet (CSV) and its guard against formulas."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from mailflow.core.digest import (
    DigestFacts,
    FailureLine,
    PersonLine,
    ReviewLine,
    attendance_csv,
    attendance_filename,
    build_digest,
    sorted_people,
)
from mailflow.core.mail import render
from mailflow.settings import Meeting, Network, Venue

BRUSSELS = ZoneInfo("Europe/Brussels")
DAY = dt.date(2026, 1, 6)
NETWORK = Network(
    name="Leernetwerk",
    timezone=BRUSSELS,
    language="nl",
    signup_address="leernetwerk@in-gent.example",
    coordinator="coordinator@in-gent.example",
)
VENUE = Venue(
    name="Campus Sint-Annaplein", address="Sint-Annaplein 31, 9000 Gent", start=dt.time(19, 30), end=None
)
MEETING = render.meeting_details(Meeting(date=dt.date(2026, 1, 13), theme="Onderwijs"), VENUE, NETWORK)
LOTTE = PersonLine("Lotte Verhaegen", "Vluchtelingenwerk Vlaanderen", "lotte.verhaegen@example.org")
JONAS = PersonLine("Jonas Claeys", None)
QUIET = DigestFacts(
    new_members=(),
    cancellations=(),
    leavers=(),
    erasures=0,
    review=(),
    failures=(),
    bounces=(),
    missed_reminders=0,
    unsure=(),
    waiting=(),
    next_meeting=MEETING,
    expected=(LOTTE, JONAS),
)


def rows(sheet: bytes) -> list[list[str]]:
    """The sheet's header row and one row per person: what comes after the meeting's lines at the top, without
    the empty rows for walk-ins."""
    every = list(csv.reader(io.StringIO(sheet.decode("utf-8-sig"), newline=""), delimiter=";"))
    header = next(i for i, row in enumerate(every) if len(row) == 6)
    return [row for row in every[header:] if any(row)]


# --- empty or not -------------------------------------------------------------------------------------------


def test_a_day_with_only_the_expected_list_is_empty() -> None:
    digest = build_digest(QUIET, DAY, NETWORK)
    assert digest.empty
    assert digest.subject == "Dagoverzicht di 6 januari: niets nieuws - Leernetwerk"
    assert digest.day == DAY and digest.facts is QUIET
    assert digest.csv  # the sheet is there all the same


@pytest.mark.parametrize(
    "change",
    [
        {"new_members": (LOTTE,)},
        {"cancellations": ((JONAS, dt.date(2026, 1, 13)),)},
        {"cancellations": ((JONAS, None),)},
        {"leavers": (JONAS,)},
        {"erasures": 1},
        {"review": (ReviewLine(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC), "Vraag", "question", None),)},
        {"failures": (FailureLine("x@example.org", "550 unknown user", "reply"),)},
        {"bounces": ("x@example.org",)},
        {"missed_reminders": 2},
        {"unsure": (JONAS,)},
        {"held": 1},
    ],
    ids=lambda change: next(iter(change)),
)
def test_anything_that_happened_makes_it_not_empty(change: dict[str, object]) -> None:
    digest = build_digest(replace(QUIET, **change), DAY, NETWORK)  # type: ignore[arg-type]
    assert not digest.empty
    assert digest.subject == "Dagoverzicht di 6 januari - Leernetwerk"


def test_a_waiting_list_alone_is_no_news() -> None:
    assert build_digest(replace(QUIET, waiting=(JONAS,)), DAY, NETWORK).empty


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("fr", "Résumé du mar. 6 janvier - Leernetwerk"),
        ("en", "Digest Tue 6 January - Leernetwerk"),
    ],
)
def test_the_subject_is_in_the_networks_language(language: str, subject: str) -> None:
    digest = build_digest(replace(QUIET, erasures=1), DAY, replace(NETWORK, language=language))
    assert digest.subject == subject


def test_without_a_next_meeting_there_is_no_sheet() -> None:
    assert build_digest(replace(QUIET, next_meeting=None), DAY, NETWORK).csv == b""
    assert attendance_csv((LOTTE,), None) == b""


# --- the sign-in sheet --------------------------------------------------------------------------------------


def test_the_sheet_is_utf8_with_bom_crlf_the_meeting_on_top_and_a_header_in_dutch() -> None:
    """One sign-in sheet everywhere (core/sheet.py): the digest's attachment before the meeting is the sheet
    of the day itself, with the member numbers and the empty rows for walk-ins."""
    people = (LOTTE, JONAS, PersonLine("Élise Dubois-Noël", "CAW Oost-Vlaanderen"))
    sheet = attendance_csv(people, MEETING, network_name="Leernetwerk Gent")
    assert sheet.startswith(b"\xef\xbb\xbfLeernetwerk Gent;Intekenlijst\r\nDatum;dinsdag 13 januari 2026\r\n")
    assert b"\n" not in sheet.replace(b"\r\n", b"")
    assert rows(sheet) == [
        ["Nr.", "Naam", "Organisatie", "E-mail", "Aanwezig", "Handtekening"],
        ["", "Élise Dubois-Noël", "CAW Oost-Vlaanderen", "", "", ""],  # by name, accents aside
        ["", "Jonas Claeys", "", "", "", ""],
        ["", "Lotte Verhaegen", "Vluchtelingenwerk Vlaanderen", "lotte.verhaegen@example.org", "", ""],
    ]


@pytest.mark.parametrize(
    ("language", "header"),
    [
        ("fr", ["N°", "Nom", "Organisation", "E-mail", "Présent", "Signature"]),
        ("en", ["No.", "Name", "Organisation", "Email", "Present", "Signature"]),
    ],
)
def test_the_sheet_header_follows_the_language(language: str, header: list[str]) -> None:
    assert rows(attendance_csv((LOTTE,), MEETING, language=language))[0] == header
    digest = build_digest(QUIET, DAY, replace(NETWORK, language=language))
    assert rows(digest.csv)[0] == header


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil.example","klik")', '\'=HYPERLINK("http://evil.example","klik")'),
        ("+32 9 123 45 67", "'+32 9 123 45 67"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'=1+1"),  # a leading tab or CR cannot hide a formula
        ("\r\n=1+1", "'=1+1"),
        ('An; Bart "de Smet"', 'An; Bart "de Smet"'),  # quoted by the csv module, read back whole
        ("Lijn\neen\r\ntwee", "Lijn een twee"),
        ("Jan-Pieter", "Jan-Pieter"),
    ],
)
def test_cells_are_never_formulas_and_stay_on_one_line(value: str, cell: str) -> None:
    sheet = attendance_csv((PersonLine(value, value, value),), MEETING)
    (_header, row) = rows(sheet)
    assert row == ["", cell, cell, cell, "", ""]


def test_people_sort_by_name_ignoring_case_and_accents() -> None:
    people = (
        PersonLine("zoë", None),
        PersonLine("Émile", "B"),
        PersonLine("Emile", "A"),
        PersonLine("anna", None),
    )
    assert [p.name for p in sorted_people(people)] == ["anna", "Emile", "Émile", "zoë"]


def test_the_sheet_has_a_name_a_coordinator_recognises() -> None:
    assert attendance_filename(MEETING) == "aanwezigheden-2026-01-13.csv"
    assert attendance_filename(MEETING, "fr") == "presences-2026-01-13.csv"
    assert attendance_filename(MEETING, "en") == "attendance-2026-01-13.csv"
