"""Changes to a meeting reach people's calendars: an update with a higher SEQUENCE (same UID) when its date,
time, place, theme or speakers change, one cancellation with METHOD:CANCEL when it is called off, a CANCEL
.ics with a person's own cancel or leave, and none for the waiting list.

Three levels: the pure rules (what changed, which dates moved); the sync against the database alone (SQLite,
and PostgreSQL in the servers lane); and end to end with `mailflow run --once --now ...` against the real test
servers, and a `mailflow run` daemon that reads its config again on SIGHUP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import email.utils
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa
from helpers import COORDINATOR, SIGNUP_ADDRESS, database, wait_for_first_pass, write_config
from passes import mail

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import models
from mailflow.cli import main
from mailflow.core.calendar.ics import meeting_details
from mailflow.core.mail import render, templates
from mailflow.core.parsing import Person
from mailflow.core.vocabulary import EventKind, MailKind, OutboxStatus
from mailflow.settings import Meeting, Network, Venue
from mailflow.usecases.check import check
from mailflow.usecases.context import App, build_app
from mailflow.usecases.meeting_changes import (
    announcement,
    changed_fields,
    pair_moves,
    sync_meetings,
    told_details,
    unlisted_warnings,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
MARCH, MAY = dt.date(2026, 3, 10), dt.date(2026, 5, 12)
NOW = dt.datetime(2026, 2, 2, 9, 0, tzinfo=BRUSSELS)  # before any invitation (21 days) or reminder is due
MEETINGS = [
    {"date": MARCH, "theme": "Toegang tot onderwijs", "speakers": ["Nora Jacobs"], "capacity": 1},
    {"date": MAY, "theme": "Juridische bijstand", "speakers": []},
]
VENUE_LINE = "Buurthuis De Sleutel, Voorbeeldstraat 12, 9000 Gent"  # the tests' venue (helpers.write_config)
NEW_PLACE = "Vormingscentrum, Kortrijksesteenweg 1, 9000 Gent"

ANNA = ("Anna Peeters", "anna.peeters@example.org")
BART = ("Bart Claes", "bart.claes@example.org")


# --- the pure rules -----------------------------------------------------------------------------------------

NETWORK = Network("Leernetwerk In-Gent", BRUSSELS, "nl", SIGNUP_ADDRESS, COORDINATOR)
VENUE = Venue("Buurthuis De Sleutel", "Voorbeeldstraat 12, 9000 Gent", dt.time(19, 30), dt.time(21, 30))


def _told(**changes: Any) -> dict[str, object]:
    meeting = Meeting(MARCH, "Toegang tot onderwijs", ("Nora Jacobs",))
    details = meeting_details(dataclasses.replace(meeting, **changes), VENUE, NETWORK)
    return announcement(details, "confirmed")


def test_nothing_changed_is_no_change() -> None:
    assert changed_fields(_told(), _told(), BRUSSELS) == ()


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"place": NEW_PLACE}, ("place",)),
        ({"place": NEW_PLACE, "theme": "Onderwijs voor iedereen"}, ("place", "theme")),
        ({"speakers": ("Nora Jacobs", "Karim Aziz")}, ("speakers",)),
        ({"speakers": ()}, ("speakers",)),
        # A new date is not a new time of day, though the start moved.
        ({"date": dt.date(2026, 3, 17)}, ("date",)),
    ],
)
def test_the_fields_that_changed_are_named(changes: dict[str, Any], fields: tuple[str, ...]) -> None:
    assert changed_fields(_told(), _told(**changes), BRUSSELS) == fields


def test_a_new_start_time_and_a_call_off_taken_back_are_changes() -> None:
    later = {**_told(), "starts_at": "2026-03-10T20:00:00+01:00"}
    assert changed_fields(_told(), later, BRUSSELS) == ("time",)
    # The same moment written in UTC is no change.
    utc = {**_told(), "starts_at": "2026-03-10T18:30:00+00:00"}
    assert changed_fields(_told(), utc, BRUSSELS) == ()
    cancelled = {**_told(), "status": "cancelled"}
    assert changed_fields(cancelled, _told(place=NEW_PLACE), BRUSSELS) == ("status", "place")


def test_the_place_told_is_the_line_people_read() -> None:
    assert _told()["place"] == VENUE_LINE
    moved_venue = meeting_details(
        Meeting(MARCH, "Toegang tot onderwijs", ("Nora Jacobs",)),
        dataclasses.replace(VENUE, address="Andere straat 1, 9000 Gent"),
        NETWORK,
    )
    assert changed_fields(_told(), announcement(moved_venue, "confirmed"), BRUSSELS) == ("place",)


def test_what_was_told_comes_back_as_details_for_the_update() -> None:
    now = meeting_details(Meeting(dt.date(2026, 3, 17), "Nieuw thema", (), NEW_PLACE), VENUE, NETWORK)
    before = told_details({**_told(), "starts_at": "2026-03-10T19:00:00+01:00"}, now, BRUSSELS)
    assert before.date == MARCH and before.starts_at == dt.datetime(2026, 3, 10, 19, 0, tzinfo=BRUSSELS)
    assert (before.theme, before.speakers, before.place_name) == (
        "Toegang tot onderwijs",
        ("Nora Jacobs",),
        VENUE_LINE,
    )
    assert before.uid == now.uid


D = dt.date


@pytest.mark.parametrize(
    ("unlisted", "new", "moves"),
    [
        ([D(2026, 3, 10)], [D(2026, 3, 17)], {D(2026, 3, 10): D(2026, 3, 17)}),
        ([D(2026, 3, 10)], [D(2026, 2, 24)], {D(2026, 3, 10): D(2026, 2, 24)}),
        ([D(2026, 3, 10)], [D(2026, 3, 24)], {D(2026, 3, 10): D(2026, 3, 24)}),  # 14 days: still a move
        ([D(2026, 3, 10)], [D(2026, 3, 25)], {}),  # 15 days: a new meeting
        ([D(2026, 3, 10)], [], {}),
        ([], [D(2026, 3, 10)], {}),
        # Two new dates near one old one, or two old near one new: a guess, so no move.
        ([D(2026, 3, 10)], [D(2026, 3, 3), D(2026, 3, 17)], {}),
        ([D(2026, 3, 3), D(2026, 3, 10)], [D(2026, 3, 17)], {}),
        # Two meetings that each moved, far apart: both pair.
        (
            [D(2026, 3, 10), D(2026, 5, 12)],
            [D(2026, 3, 17), D(2026, 5, 19)],
            {D(2026, 3, 10): D(2026, 3, 17), D(2026, 5, 12): D(2026, 5, 19)},
        ),
        # One pair is clear though another old date has no partner.
        ([D(2026, 3, 10), D(2026, 7, 7)], [D(2026, 3, 17)], {D(2026, 3, 10): D(2026, 3, 17)}),
    ],
)
def test_a_moved_date_pairs_only_when_it_is_unambiguous(
    unlisted: list[dt.date], new: list[dt.date], moves: dict[dt.date, dt.date]
) -> None:
    assert pair_moves(unlisted, new) == moves


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_leave_reply_takes_each_meeting_with_a_place_out_of_the_calendar(language: str) -> None:
    march, may = (
        meeting_details(Meeting(day, "Thema", ()), VENUE, NETWORK) for day in (MARCH, dt.date(2026, 5, 12))
    )
    reply = render.Reply(
        kind="unsubscribe",
        language=language,
        to_address=ANNA[1],
        to_name=ANNA[0],
        people=(Person(ANNA[0]),),
        meeting=None,
        unsure=False,
        in_reply_to=None,
        references=(),
        subject="Uitschrijven",
        calendar_cancel=(march, dataclasses.replace(may, sequence=3)),
    )
    message = render.render_reply(
        templates.make_environment(),
        reply,
        network=NETWORK,
        sender=SIGNUP_ADDRESS,
        message_id="<leave@in-gent.example>",
        now=NOW,
    )
    parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    events = [(str(c["METHOD"]), *_uid_and_sequence(c)) for c in _calendars(parsed)]  # type: ignore[arg-type]
    assert events == [
        ("CANCEL", "meeting-2026-03-10@in-gent.example", 0),
        ("CANCEL", "meeting-2026-05-12@in-gent.example", 3),
    ]
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert {"nl": "de 2 komende bijeenkomsten", "fr": "les 2 prochaines rencontres", "en": "the 2 coming"}[
        language
    ] in text


def _uid_and_sequence(calendar: icalendar.Calendar) -> tuple[str, int]:
    [event] = calendar.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    return str(event["UID"]), int(event["SEQUENCE"])


# --- the sync, against the database alone ---------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The App of a config whose servers are never reached: only the database is used."""
    nowhere = SimpleNamespace(host="127.0.0.1", port=9, username="mailflow", password="unused")
    path = write_config(tmp_path, nowhere, nowhere, database_url, monkeypatch, meetings=MEETINGS)
    with build_app(load_config(path)) as built:
        yield built


def _with_meetings(app: App, **march: Any) -> None:
    """The config read again with the March meeting changed (date, place, status, ...)."""
    meetings = [dataclasses.replace(m, **march) if m.date == MARCH else m for m in app.config.meetings]
    app.config = dataclasses.replace(app.config, meetings=tuple(meetings))


def _member(db: Any, name: str, address: str, **fields: Any) -> models.Member:
    member = models.Member(
        email=address,
        name=name,
        name_key=name.lower(),
        organisation=None,
        language="nl",
        status="active",
        unsure=False,
        undeliverable=False,
        created_at=NOW,
        last_heard_at=NOW,
    )
    for key, value in fields.items():
        setattr(member, key, value)
    db.add(member)
    return member


def _people(app: App) -> None:
    """Anna registered; Bart and Carla registered at one shared address; Dirk waiting; Eva left and Frank's
    address bounces (both registered, neither told)."""
    with app.sessions.begin() as db:
        march = db.scalar(sa.select(models.Meeting).where(models.Meeting.date == MARCH))
        people = [
            (_member(db, "Anna Peeters", "anna@example.org"), "registered"),
            (_member(db, "Bart Peeters", "fam.peeters@example.org"), "registered"),
            (_member(db, "Carla Peeters", "fam.peeters@example.org"), "registered"),
            (_member(db, "Dirk Maes", "dirk@example.org"), "waiting"),
            (_member(db, "Eva Claes", "eva@example.org", status="left"), "registered"),
            (_member(db, "Frank Aziz", "frank@example.org", undeliverable=True), "registered"),
        ]
        for member, status in people:
            db.add(
                models.Registration(
                    member=member, meeting=march, status=status, created_at=NOW, updated_at=NOW
                )
            )


def _outbox(app: App) -> list[tuple[str, str, str, str]]:
    """(key, kind, recipient, status) of every outbox row, in order."""
    with app.sessions() as db:
        rows = db.scalars(sa.select(models.OutboxMessage).order_by(models.OutboxMessage.id))
        return [(r.key, r.kind, r.recipient, r.status) for r in rows]


def _march(app: App) -> models.Meeting:
    with app.sessions() as db:
        row = db.scalar(sa.select(models.Meeting).where(models.Meeting.id == 1))
        assert row is not None
        db.expunge(row)
        return row


def _events(app: App) -> list[tuple[str, str | None]]:
    with app.sessions() as db:
        return [(e.kind, e.detail) for e in db.scalars(sa.select(models.Event).order_by(models.Event.id))]


def _raw(app: App, key: str) -> EmailMessage:
    with app.sessions() as db:
        raw = db.scalar(sa.select(models.OutboxMessage.raw).where(models.OutboxMessage.key == key))
    assert raw
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_the_first_sync_records_what_is_told_and_mails_nobody(app: App) -> None:
    sync_meetings(app, NOW)
    march = _march(app)
    assert march.sequence == 0 and march.uid == "meeting-2026-03-10@in-gent.example"
    assert march.announced is not None and march.announced["place"] == VENUE_LINE
    sync_meetings(app, NOW)
    assert _outbox(app) == [] and _events(app) == []


def test_a_new_place_is_one_update_per_address_to_the_registered_and_the_waiting(app: App) -> None:
    sync_meetings(app, NOW)
    _people(app)
    _with_meetings(app, place=NEW_PLACE, theme="Onderwijs voor iedereen")
    sync_meetings(app, NOW)

    march = _march(app)
    assert march.sequence == 1 and march.place == NEW_PLACE
    assert march.announced is not None and march.announced["place"] == NEW_PLACE
    assert _events(app) == [(EventKind.MEETING_CHANGED, "place,theme")]
    outbox = _outbox(app)
    assert sorted((kind, to) for _key, kind, to, _status in outbox) == [
        (MailKind.UPDATE, "anna@example.org"),
        (MailKind.UPDATE, "dirk@example.org"),
        (MailKind.UPDATE, "fam.peeters@example.org"),
    ]
    assert {key for key, *_ in outbox} == {"update:1:1:1", "update:2:1:1", "update:4:1:1"}

    shared = _raw(app, "update:2:1:1")
    assert shared["To"].addresses[0].display_name == "Bart Peeters en Carla Peeters"
    assert shared["Subject"] == "Gewijzigd: di 10 maart - Leernetwerk"
    text = shared.get_body(("plain",)).get_content()
    assert f"- Plaats: {VENUE_LINE} → {NEW_PLACE}" in text
    assert "- Thema: Toegang tot onderwijs → Onderwijs voor iedereen" in text
    event = _event(shared, "PUBLISH")
    assert (str(event["UID"]), int(event["SEQUENCE"])) == ("meeting-2026-03-10@in-gent.example", 1)
    assert str(event["LOCATION"]) == NEW_PLACE

    waiting = _raw(app, "update:4:1:1")
    assert _calendars(waiting) == []
    assert "op de wachtlijst" in waiting.get_body(("plain",)).get_content()

    sync_meetings(app, NOW)  # told once
    assert len(_outbox(app)) == 3 and _march(app).sequence == 1


def test_a_change_after_the_meeting_began_tells_nobody(app: App) -> None:
    sync_meetings(app, NOW)
    _people(app)
    _with_meetings(app, theme="Achteraf hernoemd")
    sync_meetings(app, dt.datetime(2026, 3, 10, 20, 0, tzinfo=BRUSSELS))
    assert _outbox(app) == [] and _march(app).sequence == 0


def test_a_moved_date_keeps_the_row_and_its_uid(app: App, caplog: pytest.LogCaptureFixture) -> None:
    sync_meetings(app, NOW)
    _people(app)
    _with_meetings(app, date=dt.date(2026, 3, 17))
    with caplog.at_level(logging.INFO, logger="mailflow"):
        sync_meetings(app, NOW)
    march = _march(app)
    assert (march.date, march.uid, march.sequence) == (
        dt.date(2026, 3, 17),
        "meeting-2026-03-10@in-gent.example",
        1,
    )
    with app.sessions() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(models.Meeting)) == 2
        assert db.scalar(sa.select(sa.func.count()).select_from(models.Registration)) == 6
    assert _events(app) == [(EventKind.MEETING_CHANGED, "date")]
    text = _raw(app, "update:1:1:1").get_body(("plain",)).get_content()
    assert "- Datum: dinsdag 10 maart 2026 → dinsdag 17 maart 2026" in text
    event = _event(_raw(app, "update:1:1:1"), "PUBLISH")
    assert event.decoded("DTSTART") == dt.datetime(2026, 3, 17, 19, 30, tzinfo=BRUSSELS)
    assert "meeting id=1 moved from 2026-03-10 to 2026-03-17" in caplog.text


def test_a_meeting_gone_from_the_config_is_left_as_it_is_and_the_coordinator_hears_it(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    sync_meetings(app, NOW)
    _people(app)
    app.config = dataclasses.replace(app.config, meetings=app.config.meetings[1:])
    with caplog.at_level(logging.WARNING, logger="mailflow"):
        sync_meetings(app, NOW)
    assert _outbox(app) == [] and _march(app).status == "confirmed" and _march(app).sequence == 0
    [line] = [r.getMessage() for r in caplog.records if "no longer in the config" in r.getMessage()]
    assert line.startswith("meeting id=1 on 2026-03-10 is no longer in the config")
    assert "@" not in line
    with app.sessions() as db:
        [warning] = unlisted_warnings(db, app.config, NOW)
    assert warning.startswith("the meeting on 2026-03-10 is no longer in [[meetings]]")
    assert 'status = "cancelled"' in warning


def test_a_cancelled_meeting_is_told_once_and_its_pending_mail_is_no_longer_owed(app: App) -> None:
    sync_meetings(app, NOW)
    _people(app)
    with app.sessions.begin() as db:  # a reminder still waiting for the SMTP server
        db.add(
            models.OutboxMessage(
                key="reminder:1:2026-03-10:7",
                kind=MailKind.REMINDER,
                recipient="anna@example.org",
                message_id="<r@in-gent.example>",
                raw=b"",
                status=OutboxStatus.PENDING,
                attempts=0,
                next_attempt_at=NOW,
                created_at=NOW,
                member_id=1,
                meeting_id=1,
            )
        )
    _with_meetings(app, status="cancelled")
    sync_meetings(app, NOW)
    sync_meetings(app, NOW)

    assert _march(app).status == "cancelled" and _march(app).sequence == 1
    assert _events(app) == [(EventKind.MEETING_CANCELLED, None)]
    assert _outbox(app) == [
        ("reminder:1:2026-03-10:7", MailKind.REMINDER, "anna@example.org", OutboxStatus.CANCELLED),
        ("meeting_cancelled:1:1:1", MailKind.MEETING_CANCELLED, "anna@example.org", OutboxStatus.PENDING),
        (
            "meeting_cancelled:2:1:1",
            MailKind.MEETING_CANCELLED,
            "fam.peeters@example.org",
            OutboxStatus.PENDING,
        ),
        ("meeting_cancelled:4:1:1", MailKind.MEETING_CANCELLED, "dirk@example.org", OutboxStatus.PENDING),
    ]
    told = _raw(app, "meeting_cancelled:1:1:1")
    assert told["Subject"] == "Afgelast: di 10 maart - Leernetwerk"
    event = _event(told, "CANCEL")
    assert (str(event["STATUS"]), int(event["SEQUENCE"])) == ("CANCELLED", 1)
    assert _calendars(_raw(app, "meeting_cancelled:4:1:1")) == []

    # Held after all: a change like any other, to the same people.
    _with_meetings(app, status="confirmed")
    sync_meetings(app, NOW)
    assert _march(app).sequence == 2
    assert _events(app)[-1] == (EventKind.MEETING_CHANGED, "status")
    again = _raw(app, "update:1:1:2")
    assert "gaat toch door" in again.get_body(("plain",)).get_content()
    assert int(_event(again, "PUBLISH")["SEQUENCE"]) == 2

    # Called off a second time: told again, with a SEQUENCE above the one that brought it back.
    _with_meetings(app, status="cancelled")
    sync_meetings(app, NOW)
    second = _raw(app, "meeting_cancelled:1:1:3")
    assert int(_event(second, "CANCEL")["SEQUENCE"]) == 3


def test_a_row_from_before_mailflow_kept_what_it_told_is_taken_as_told(app: App) -> None:
    sync_meetings(app, NOW)
    _people(app)
    with app.sessions.begin() as db:
        db.execute(sa.update(models.Meeting).values(announced=None))
    _with_meetings(app, place=NEW_PLACE)
    sync_meetings(app, NOW)
    assert _outbox(app) == [] and _march(app).sequence == 0
    assert _march(app).announced["place"] == NEW_PLACE  # type: ignore[index]


def _calendars(message: EmailMessage) -> list[icalendar.Calendar]:
    return [
        icalendar.Calendar.from_ical(part.get_content())
        for part in message.walk()
        if part.get_content_type() == "text/calendar"
    ]


def _event(message: EmailMessage, method: str) -> icalendar.Event:
    """The one VEVENT of a mail's one .ics, checking its METHOD."""
    [calendar] = _calendars(message)
    assert str(calendar["METHOD"]) == method
    [event] = calendar.walk("VEVENT")
    return event


# --- end to end ---------------------------------------------------------------------------------------------


def _mail(sender: tuple[str, str], body: str, subject: str = "Inschrijving") -> bytes:
    message = EmailMessage()
    message["From"] = email.utils.formataddr(sender)
    message["To"] = SIGNUP_ADDRESS
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Feb 2026 08:00:00 +0100"
    message["Message-ID"] = email.utils.make_msgid(domain="example.org")
    message.set_content(body)
    return bytes(message)


def _registration(person: tuple[str, str]) -> bytes:
    return _mail(
        person,
        f"Beste,\n\nGraag schrijf ik me in voor de bijeenkomst van 10 maart.\n\nGroeten,\n{person[0]}\n",
    )


class Passes:
    """`mailflow run --once` at chosen moments; each pass returns the mail volunteers received in it."""

    def __init__(self, config: Path, imap: Any, sink: Any) -> None:
        self.config, self.imap, self.sink, self.seen = config, imap, sink, 0

    def run(self, now: str, *, fresh_process: bool = False) -> list[EmailMessage]:
        command = ["run", "--config", str(self.config), "--once", "--now", now]
        if fresh_process:
            done = subprocess.run(
                [sys.executable, "-m", "mailflow", *command],
                env=os.environ.copy(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
        else:
            assert main(command) == 0
        received = [
            email.message_from_bytes(m.data, policy=email.policy.default)
            for m in self.sink.messages[self.seen :]
        ]
        self.seen = len(self.sink.messages)
        return [m for m in received if m["To"].addresses[0].addr_spec != COORDINATOR]  # type: ignore[misc]

    def send(self, raw: bytes, now: str) -> list[EmailMessage]:
        self.imap.append("INBOX", raw)
        return self.run(now)


def _to(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec)


def _config(make_config: Any, imap: Any, smtp_sink: Any, database_url: str, meetings: list[Any]) -> Path:
    return make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=meetings)


def _march_with(**changes: Any) -> list[dict[str, Any]]:
    return [{**MEETINGS[0], **changes}, MEETINGS[1]]


@pytest.fixture
def passes(imap: Any, smtp_sink: Any, database_url: str, make_config: Any) -> Passes:
    return Passes(_config(make_config, imap, smtp_sink, database_url, MEETINGS), imap, smtp_sink)


def _registered_and_waiting(passes: Passes) -> tuple[icalendar.Event, EmailMessage]:
    """Anna takes March's one place, Bart goes on its waiting list; returns Anna's event and Bart's reply."""
    [anna] = passes.send(_registration(ANNA), "2026-02-02T09:00+01:00")
    [bart] = passes.send(_registration(BART), "2026-02-02T09:01+01:00")
    assert "volzet" in bart.get_body(("plain",)).get_content()
    assert _calendars(bart) == []  # the waiting list has no calendar event
    return _event(anna, "PUBLISH"), bart


def test_a_new_place_reaches_the_calendar_once_restarts_or_not(
    passes: Passes, imap: Any, smtp_sink: Any, database_url: str, make_config: Any
) -> None:
    first, _ = _registered_and_waiting(passes)
    assert int(first["SEQUENCE"]) == 0

    _config(make_config, imap, smtp_sink, database_url, _march_with(place=NEW_PLACE))
    told = passes.run("2026-02-03T09:00+01:00")
    assert sorted(_to(m) for m in told) == [ANNA[1], BART[1]]
    anna = next(m for m in told if _to(m) == ANNA[1])
    bart = next(m for m in told if _to(m) == BART[1])
    event = _event(anna, "PUBLISH")
    assert str(event["UID"]) == str(first["UID"])
    assert int(event["SEQUENCE"]) > int(first["SEQUENCE"])
    assert str(event["LOCATION"]) == NEW_PLACE
    assert f"{VENUE_LINE} → {NEW_PLACE}" in anna.get_body(("plain",)).get_content()
    assert _calendars(bart) == []
    assert "op de wachtlijst" in bart.get_body(("plain",)).get_content()

    assert passes.run("2026-02-03T09:05+01:00") == []
    assert passes.run("2026-02-03T09:10+01:00", fresh_process=True) == []

    # A second change: a fresh process tells it once more, with a SEQUENCE higher again.
    _config(make_config, imap, smtp_sink, database_url, _march_with(place=NEW_PLACE, speakers=[]))
    told = passes.run("2026-02-04T09:00+01:00", fresh_process=True)
    assert sorted(_to(m) for m in told) == [ANNA[1], BART[1]]
    anna = next(m for m in told if _to(m) == ANNA[1])
    assert int(_event(anna, "PUBLISH")["SEQUENCE"]) == int(event["SEQUENCE"]) + 1
    assert passes.run("2026-02-04T09:05+01:00") == []
    with database(database_url) as db:
        details = db.scalars(
            sa.select(models.Event.detail).where(models.Event.kind == EventKind.MEETING_CHANGED)
        ).all()
    assert details == ["place", "speakers"]


def test_a_moved_date_keeps_the_uid(
    passes: Passes, imap: Any, smtp_sink: Any, database_url: str, make_config: Any
) -> None:
    first, _ = _registered_and_waiting(passes)
    _config(make_config, imap, smtp_sink, database_url, _march_with(date=dt.date(2026, 3, 17)))
    told = passes.run("2026-02-03T09:00+01:00")
    assert sorted(_to(m) for m in told) == [ANNA[1], BART[1]]
    event = _event(next(m for m in told if _to(m) == ANNA[1]), "PUBLISH")
    assert str(event["UID"]) == str(first["UID"]) == "meeting-2026-03-10@in-gent.example"
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == dt.datetime(2026, 3, 17, 19, 30, tzinfo=BRUSSELS)
    assert passes.run("2026-02-03T09:05+01:00", fresh_process=True) == []


def test_a_cancelled_meeting_sends_one_cancel_each_and_no_more_reminders(
    passes: Passes, imap: Any, smtp_sink: Any, database_url: str, make_config: Any
) -> None:
    first, _ = _registered_and_waiting(passes)
    _config(make_config, imap, smtp_sink, database_url, _march_with(status="cancelled"))
    told = passes.run("2026-02-03T09:00+01:00")
    assert sorted(_to(m) for m in told) == [ANNA[1], BART[1]]
    anna = next(m for m in told if _to(m) == ANNA[1])
    event = _event(anna, "CANCEL")
    assert str(event["UID"]) == str(first["UID"]) and str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) > int(first["SEQUENCE"])
    assert "is afgelast" in anna.get_body(("plain",)).get_content()
    assert _calendars(next(m for m in told if _to(m) == BART[1])) == []

    assert passes.run("2026-02-03T09:05+01:00", fresh_process=True) == []
    # "Jammer, dan kan ik niet" in answer: nothing is left to cancel, and no other meeting is touched.
    assert passes.send(mail(ANNA, "Jammer, dan kan ik niet.\n", answers=anna), "2026-02-03T10:00+01:00") == []
    with database(database_url) as db:
        statuses = db.scalars(sa.select(models.Registration.status)).all()
    assert sorted(statuses) == ["registered", "waiting"]
    # The week before and the day before: no reminder for a meeting that will not take place.
    assert passes.run("2026-03-03T10:00+01:00") == []
    assert passes.run("2026-03-09T10:00+01:00") == []


def test_a_person_s_own_cancel_and_leave_take_the_meeting_out_of_their_calendar(
    passes: Passes, database_url: str
) -> None:
    first, _ = _registered_and_waiting(passes)
    cancel = _mail(ANNA, "Beste,\n\nIk kan toch niet komen op 10 maart.\n\nAnna\n", subject="Afmelding")
    [reply, promoted] = sorted(passes.send(cancel, "2026-02-02T10:00+01:00"), key=_to)
    assert _to(reply) == ANNA[1]
    event = _event(reply, "CANCEL")
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (str(first["UID"]), int(first["SEQUENCE"]))
    # Bart gets Anna's place, and with it the calendar event.
    assert _to(promoted) == BART[1]
    assert str(_event(promoted, "PUBLISH")["UID"]) == str(first["UID"])

    leave = _mail(BART, "Beste,\n\nIk stap uit het leernetwerk.\n\nBart\n", subject="Uitschrijven")
    [left] = passes.send(leave, "2026-02-02T10:05+01:00")
    event = _event(left, "CANCEL")
    assert str(event["UID"]) == str(first["UID"]) and str(event["STATUS"]) == "CANCELLED"
    assert "uit de agenda" in left.get_body(("plain",)).get_content()


# --- the daemon reads its config again on SIGHUP ------------------------------------------------------------


def _wait_for(sink: Any, count: int, timeout: float = 30.0) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while True:
        received = [
            email.message_from_bytes(m.data, policy=email.policy.default)
            for m in sink.messages
            if COORDINATOR not in m.rcpt_tos
        ]
        if len(received) >= count or time.monotonic() > deadline:
            return received  # type: ignore[return-value]
        time.sleep(0.1)


@pytest.mark.servers  # a `mailflow run` daemon
def test_sighup_reads_the_config_again_and_tells_the_change(
    tmp_path: Path, imap: Any, smtp_sink: Any, make_config: Any
) -> None:
    database_url = f"sqlite:///{tmp_path}/mailflow.db"
    config = _config(make_config, imap, smtp_sink, database_url, MEETINGS)
    log_file = tmp_path / "daemon.log"
    with log_file.open("w") as log:
        daemon = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mailflow",
                "run",
                "--config",
                str(config),
                "--now",
                "2026-02-02T09:00+01:00",
            ],
            env=os.environ.copy(),
            stderr=log,
        )
    try:
        wait_for_first_pass(database_url)
        imap.append("INBOX", _registration(ANNA))
        [confirmation] = _wait_for(smtp_sink, 1)
        first = _event(confirmation, "PUBLISH")

        # A broken file: one clear line, and the daemon goes on with the config it had.
        good = config.read_text(encoding="utf-8")
        config.write_text(good.replace("[network]", "[network\n", 1), encoding="utf-8")
        daemon.send_signal(signal.SIGHUP)
        _until(lambda: "not taken, the running config stays" in log_file.read_text(), "the error line")
        assert daemon.poll() is None

        # The same file with a place for March (written anew by make_config, its password would be in
        # another variable: a change of [imap], which waits for a restart).
        march = 'theme = "Toegang tot onderwijs"\n'
        assert good.count(march) == 1
        config.write_text(good.replace(march, f'{march}place = "{NEW_PLACE}"\n'), encoding="utf-8")
        daemon.send_signal(signal.SIGHUP)
        received = _wait_for(smtp_sink, 2)
        assert len(received) == 2, log_file.read_text()
        event = _event(received[1], "PUBLISH")
        assert str(event["UID"]) == str(first["UID"]) and int(event["SEQUENCE"]) == 1
        assert str(event["LOCATION"]) == NEW_PLACE

        daemon.send_signal(signal.SIGHUP)  # the same file again: nothing new to tell
        _until(lambda: log_file.read_text().count("read again") == 2, "the second reload")
        time.sleep(1)
        assert len(_wait_for(smtp_sink, 3, timeout=0)) == 2
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    text = log_file.read_text()
    assert text.count("ERROR") == 1 and "restart" not in text
    assert ANNA[1] not in text and "Anna" not in text


def _until(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.1)


def test_mailflow_check_names_a_meeting_gone_from_the_config(
    passes: Passes, imap: Any, smtp_sink: Any, database_url: str, make_config: Any
) -> None:
    passes.run("2026-02-02T09:00+01:00")
    config = _config(make_config, imap, smtp_sink, database_url, MEETINGS[1:])
    lines: list[str] = []
    assert check(str(config), lines.append, today=dt.date(2026, 2, 2))
    assert "WARN meetings: the meeting on 2026-03-10 is no longer in [[meetings]]" in "\n".join(lines)
    assert passes.run("2026-02-02T09:05+01:00") == []  # left as it is: nobody is told
