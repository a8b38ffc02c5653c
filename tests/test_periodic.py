"""End to end with a pretend clock: reminders, the waiting list and the coordinator's digest.

Each pass is `mailflow run --once --now ...` against the real test servers (Dovecot or pymap, aiosmtpd, SQLite
and PostgreSQL). Meeting times are Europe/Brussels; reminders go at 10:00 local, 7 days and 1 day before.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import os
import signal
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import COORDINATOR, database

from mailflow.adapters.db import agenda, models
from mailflow.cli import main

# 2026-03-31: the Tuesday after summer time starts (Sunday 29 March), so its 1-day reminder is at 08:00 UTC
# while its 7-day reminder is at 09:00 UTC. 2026-10-27: the Tuesday after winter time starts (Sunday 25
# October).
SPRING = dt.date(2026, 3, 31)
AUTUMN = dt.date(2026, 10, 27)
MEETINGS = [
    {"date": SPRING, "theme": "Toegang tot onderwijs", "speakers": ["Nora Jacobs", "Karim El Idrissi"]},
    {"date": AUTUMN, "theme": "Juridische bijstand", "speakers": []},
]

ANNA = ("Anna Peeters", "anna.peeters@example.org", "Vluchtelingenwerk Vlaanderen")
BART = ("Bart Claes", "bart.claes@example.org", "CAW Oost-Vlaanderen")
CHLOE = ("Chloé Dubois", "chloe.dubois@example.org", "Caritas International")


def _mail(person: tuple[str, str, str], subject: str, body: str) -> bytes:
    name, address, _ = person
    message = EmailMessage()
    message["From"] = email.utils.formataddr((name, address))
    message["To"] = "leernetwerk@in-gent.example"
    message["Subject"] = subject
    message["Date"] = "Sun, 01 Mar 2026 10:00:00 +0100"
    message["Message-ID"] = email.utils.make_msgid(domain="example.org")
    message.set_content(body)
    return bytes(message)


def registration(person: tuple[str, str, str]) -> bytes:
    name, _, organisation = person
    return _mail(
        person,
        "Inschrijving",
        "Beste,\n\nGraag schrijf ik me in voor de volgende bijeenkomst van het "
        f"leernetwerk.\n\nMet vriendelijke groeten,\n{name}\n{organisation}\n",
    )


def cancellation(person: tuple[str, str, str]) -> bytes:
    return _mail(
        person,
        "Afmelding",
        f"Beste,\n\nIk kan helaas niet komen naar de volgende bijeenkomst.\n\nGroeten,\n{person[0]}\n",
    )


def unsubscription(person: tuple[str, str, str]) -> bytes:
    return _mail(
        person,
        "Uitschrijven",
        "Beste,\n\nGelieve mij uit te schrijven uit het leernetwerk, ik wil geen "
        f"mails meer ontvangen.\n\nGroeten,\n{person[0]}\n",
    )


@pytest.fixture
def config_path(imap, smtp_sink, database_url, make_config) -> Path:
    return make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)


class Clock:
    """Passes of `mailflow run --once` at chosen moments. Each returns the mail members received in that pass;
    the coordinator's digests collect in `digests`."""

    def __init__(self, config_path: Path, smtp_sink) -> None:
        self.config_path, self.sink, self.seen = config_path, smtp_sink, 0
        self.digests: list[EmailMessage] = []

    def run(self, now: str) -> list[EmailMessage]:
        assert main(["run", "--config", str(self.config_path), "--once", "--now", now]) == 0
        received = _parsed(self.sink.messages[self.seen :])
        self.seen = len(self.sink.messages)
        self.digests += [m for m in received if _to(m) == COORDINATOR]
        return [m for m in received if _to(m) != COORDINATOR]

    def digests_of(self, now: str) -> list[EmailMessage]:
        """Run a pass; the digests it sent."""
        before = len(self.digests)
        self.run(now)
        return self.digests[before:]


def _to(message: EmailMessage) -> str:
    return message["To"].addresses[0].addr_spec


def _kinds(messages: list[EmailMessage]) -> list[tuple[str, str]]:
    """(recipient, what kind of mail) for each message, sorted: "reminder", "digest", "promoted" or
    "reply"."""

    def kind(message: EmailMessage) -> str:
        subject = str(message["Subject"])
        if subject.startswith("Herinnering"):
            return "reminder"
        if subject.startswith("Dagoverzicht"):
            return "digest"
        if subject.startswith("Je hebt een plaats"):
            return "promoted"
        return "reply"

    return sorted((message["To"].addresses[0].addr_spec, kind(message)) for message in messages)


def _parsed(received) -> list[EmailMessage]:
    return [email.message_from_bytes(r.data, policy=email.policy.default) for r in received]


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_reminders_at_7_and_1_days_once_each_and_never_after_the_start(config_path, imap, smtp_sink):
    clock = Clock(config_path, smtp_sink)
    imap.append("INBOX", registration(ANNA))
    imap.append("INBOX", registration(BART))
    assert _kinds(clock.run("2026-03-01T12:00+01:00")) == [(ANNA[1], "reply"), (BART[1], "reply")]

    # 7 days before at 10:00 winter time (09:00 UTC): not a minute early, then once, however often it runs.
    assert clock.run("2026-03-24T09:59+01:00") == []
    sent = clock.run("2026-03-24T10:00+01:00")
    assert _kinds(sent) == [(ANNA[1], "reminder"), (BART[1], "reminder")]
    assert clock.run("2026-03-24T10:00:30+01:00") == []
    assert clock.run("2026-03-24T15:00+01:00") == []

    reminder = next(m for m in sent if _to(m) == ANNA[1])
    text = _text(reminder)
    for expected in (
        "dinsdag 31 maart 2026",
        "19:30",
        "Buurthuis De Sleutel",
        "Toegang tot onderwijs",
        "Nora Jacobs",
        "Karim El Idrissi",
        "Dag Anna,",
    ):
        assert expected in text, expected
    assert "Kan je toch niet komen?" in text or "niet komen" in text  # how to cancel by replying
    assert reminder["Auto-Submitted"] == "auto-generated"
    assert [a.get_content_type() for a in reminder.iter_attachments()] == ["text/calendar"]

    # Anna cancels: her 1-day reminder is not sent; Bart's goes at 10:00 summer time, 08:00 UTC.
    imap.append("INBOX", cancellation(ANNA))
    assert _kinds(clock.run("2026-03-25T12:00+01:00")) == [(ANNA[1], "reply")]
    assert clock.run("2026-03-30T09:59+02:00") == []
    assert _kinds(clock.run("2026-03-30T10:00+02:00")) == [(BART[1], "reminder")]
    assert clock.run("2026-03-30T18:00+02:00") == []
    # The meeting has started: nothing more, and the next meeting is months away.
    assert clock.run("2026-03-31T19:31+02:00") == []
    assert clock.run("2026-04-01T10:00+02:00") == []


def test_autumn_daylight_saving_change_moves_the_utc_time_not_the_local_one(config_path, imap, smtp_sink):
    clock = Clock(config_path, smtp_sink)
    imap.append("INBOX", registration(CHLOE))
    clock.run("2026-10-01T12:00+02:00")
    assert clock.run("2026-10-20T07:59Z") == []
    assert _kinds(clock.run("2026-10-20T08:00Z")) == [(CHLOE[1], "reminder")]  # 10:00 summer time
    assert clock.run("2026-10-26T08:59Z") == []  # 09:59 winter time: 24 hours later would be too early
    assert _kinds(clock.run("2026-10-26T09:00Z")) == [(CHLOE[1], "reminder")]


def test_after_downtime_only_the_newest_reminder_goes_within_the_grace_window(
    config_path, imap, smtp_sink, database_url
):
    clock = Clock(config_path, smtp_sink)
    imap.append("INBOX", registration(ANNA))
    clock.run("2026-03-01T12:00+01:00")
    # Down from before the 7-day reminder until 23 hours after it: a restart inside the window still sends it.
    assert _kinds(clock.run("2026-03-25T09:00+01:00")) == [(ANNA[1], "reminder")]
    # Down again past the 1-day reminder's window (24 h): on the day itself it is recorded as missed, not
    # sent.
    assert clock.run("2026-03-31T10:30+02:00") == []
    with database(database_url) as db:
        rows = db.execute(
            sa.select(models.OutboxMessage.key, models.OutboxMessage.status)
            .where(models.OutboxMessage.kind == "reminder")
            .order_by(models.OutboxMessage.key)
        ).all()
    member_id = rows[0][0].split(":")[1]
    assert rows == [
        (f"reminder:{member_id}:2026-03-31:1", "missed"),
        (f"reminder:{member_id}:2026-03-31:7", "sent"),
    ]

    # That pass is the first after 08:00 that day, so it brought the day's digest, which says so.
    assert "1 herinnering kon niet op tijd vertrekken" in _text(clock.digests[-1])


def test_unsubscribe_stops_every_mail_to_that_person(config_path, imap, smtp_sink):
    clock = Clock(config_path, smtp_sink)
    imap.append("INBOX", registration(ANNA))
    imap.append("INBOX", registration(BART))
    clock.run("2026-03-01T12:00+01:00")
    imap.append("INBOX", unsubscription(BART))
    assert _kinds(clock.run("2026-03-20T12:00+01:00")) == [(BART[1], "reply")]
    sent = clock.run("2026-03-24T10:00+01:00") + clock.run("2026-03-30T10:00+02:00")
    assert _kinds(sent) == [(ANNA[1], "reminder"), (ANNA[1], "reminder")]


def test_a_full_meeting_puts_the_next_on_the_waiting_list_and_a_cancel_gives_the_place(
    imap, smtp_sink, database_url, make_config
):
    meetings = [{**MEETINGS[0], "capacity": 2}]
    config_path = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=meetings)
    clock = Clock(config_path, smtp_sink)
    for person in (ANNA, BART, CHLOE):
        imap.append("INBOX", registration(person))
        clock.run("2026-03-01T12:00+01:00")
    replies = {_to(m): m for m in _parsed(smtp_sink.messages)}
    assert "wachtlijst" in _text(replies[CHLOE[1]])
    assert "wachtlijst" not in _text(replies[BART[1]])

    # The waiting one gets no reminder while waiting.
    assert _kinds(clock.run("2026-03-24T10:00+01:00")) == [(ANNA[1], "reminder"), (BART[1], "reminder")]

    # Bart cancels: Chloé gets his place and a mail saying so, then the 1-day reminder; Bart gets none.
    imap.append("INBOX", cancellation(BART))
    assert _kinds(clock.run("2026-03-25T12:00+01:00")) == [(BART[1], "reply"), (CHLOE[1], "promoted")]
    assert _kinds(clock.run("2026-03-30T10:00+02:00")) == [(ANNA[1], "reminder"), (CHLOE[1], "reminder")]
    with database(database_url) as db:
        meeting = agenda.meeting_on(db, SPRING)
        assert meeting is not None
        assert sorted(m.email for m in agenda.registered_for(db, meeting)) == [ANNA[1], CHLOE[1]]
        assert agenda.waiting_for(db, meeting) == []


def test_the_digest_comes_once_a_day_with_the_sign_in_sheet(config_path, imap, smtp_sink, capsys):
    clock = Clock(config_path, smtp_sink)
    imap.append("INBOX", registration(ANNA))
    imap.append("INBOX", registration(BART))
    clock.run("2026-03-02T06:00+01:00")
    imap.append("INBOX", cancellation(BART))
    clock.run("2026-03-02T06:30+01:00")

    # Before 08:00 the day's digest is not due; the preview shows it without sending anything.
    assert clock.digests_of("2026-03-02T07:59+01:00") == []
    assert main(["digest", "--config", str(config_path), "--preview", "--now", "2026-03-02T07:59+01:00"]) == 0
    preview = capsys.readouterr().out
    assert "Anna Peeters" in preview and "aanwezigheden-2026-03-31.csv" in preview
    assert clock.digests_of("2026-03-02T07:59:30+01:00") == []

    (digest,) = clock.digests_of("2026-03-02T08:00+01:00")
    assert digest["Auto-Submitted"] == "auto-generated"
    text = _text(digest)
    assert "Anna Peeters (Vluchtelingenwerk Vlaanderen)" in text  # a new member, and expected
    assert "Bart Claes" in text.split("Afmeldingen", 1)[1]  # new, and his cancellation
    html = digest.get_body(("html",)).get_content()
    assert "Anna Peeters" in html
    (sheet,) = [a for a in digest.iter_attachments() if a.get_content_type() == "text/csv"]
    assert sheet.get_filename() == "aanwezigheden-2026-03-31.csv"
    rows = sheet.get_payload(decode=True).decode("utf-8-sig").splitlines()
    assert rows[0] == "Leernetwerk In-Gent;Intekenlijst"  # the meeting on top, then the columns
    header = rows.index("Nr.;Naam;Organisatie;E-mail;Aanwezig;Handtekening")
    people = [row for row in rows[header + 1 :] if row.strip(";")]
    assert [row.split(";")[1:4] for row in people] == [[ANNA[0], ANNA[2], ANNA[1]]]  # Bart is excused

    # Once a day, even across restarts; a quiet day sends nothing (send_when_empty = false).
    assert clock.digests_of("2026-03-02T08:01+01:00") == []
    assert clock.digests_of("2026-03-02T20:00+01:00") == []
    assert clock.digests_of("2026-03-03T08:00+01:00") == []
    # Something new the day after: the digest of that day lists only that.
    imap.append("INBOX", registration(CHLOE))
    clock.run("2026-03-03T12:00+01:00")
    (next_digest,) = clock.digests_of("2026-03-04T08:00+01:00")
    new_part = _text(next_digest).split("Nieuwe leden", 1)[1].split("\n\n", 1)[0]
    assert "Chloé Dubois" in new_part and "Anna Peeters" not in new_part


def test_a_reminder_the_server_would_not_take_expires_when_the_meeting_starts(
    config_path, imap, smtp_sink, database_url
):
    clock = Clock(config_path, smtp_sink)
    imap.append("INBOX", registration(ANNA))
    clock.run("2026-03-01T12:00+01:00")
    smtp_sink.mode = "4xx"  # the mail server refuses for now, for days
    for now in ("2026-03-30T10:00+02:00", "2026-03-30T14:00+02:00", "2026-03-31T12:00+02:00"):
        assert clock.run(now) == []
    smtp_sink.mode = None
    assert clock.run("2026-03-31T19:30+02:00") == []  # the meeting has started: too late to remind anyone
    with database(database_url) as db:
        reminder = db.scalars(
            sa.select(models.OutboxMessage).where(
                models.OutboxMessage.kind == "reminder", models.OutboxMessage.key.endswith(":1")
            )
        ).one()
    assert reminder.status == "expired" and reminder.attempts >= 2  # tried while refused, then given up


@pytest.mark.servers  # a `mailflow run` daemon
def test_the_daemon_sends_what_fell_due_while_it_was_stopped_as_it_starts(
    imap, smtp_sink, database_url, make_config
):
    config_path = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)
    imap.append("INBOX", registration(ANNA))
    Clock(config_path, smtp_sink).run("2026-03-01T12:00+01:00")
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mailflow",
            "run",
            "--config",
            str(config_path),
            "--now",
            "2026-03-24T10:05+01:00",
        ],
        env=os.environ.copy(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Before: the reply and that day's digest. Now: the reminder, due since 10:00 (the day's digest is
        # empty).
        arrived = smtp_sink.wait_for(3, timeout=30)
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
        daemon.stderr.close()
    assert _kinds(_parsed(arrived)) == [(ANNA[1], "reminder"), (ANNA[1], "reply"), (COORDINATOR, "digest")]


def test_mailflow_digest_queues_the_day_s_digest_once(config_path, imap, smtp_sink, capsys):
    clock = Clock(config_path, smtp_sink)
    imap.append("INBOX", registration(ANNA))
    clock.run("2026-03-02T06:00+01:00")
    capsys.readouterr()
    digest = ["digest", "--config", str(config_path), "--now"]
    assert main([*digest, "2026-03-02T07:00+01:00"]) == 0
    assert "its time of day has not come" in capsys.readouterr().out
    assert main([*digest, "2026-03-02T09:00+01:00"]) == 0
    assert "today's digest is queued" in capsys.readouterr().out
    assert main([*digest, "2026-03-02T09:01+01:00"]) == 0
    assert "made already" in capsys.readouterr().out
    (sent,) = clock.digests_of("2026-03-02T09:02+01:00")
    assert "Anna Peeters" in _text(sent)
