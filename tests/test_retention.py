"""Retention: raw mail kept only while a human may need it and at most `raw_days`; members who left, or were
not heard from for `member_months`, deleted by a daily job. The rules as a table, then the job on a real
database after a real pass over Dovecot and aiosmtpd, with a fixed clock.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import COORDINATOR

from mailflow.adapters.config_file import load_config, parse_config
from mailflow.adapters.db import models
from mailflow.cli import main
from mailflow.core.retention import KnownMember, QueuedMail, StoredMail, mentions, plan_retention
from mailflow.errors import ConfigError
from mailflow.settings import Retention
from mailflow.usecases import privacy
from mailflow.usecases.context import build_app

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
DAY = dt.timedelta(days=1)
RULES = Retention(raw_days=30, member_months=12)


# --- the rules ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, age, has_raw, dropped",
    [
        ("review", 29 * DAY, True, False),  # a human may still need it
        ("quarantined", 29 * DAY, True, False),
        ("review", 30 * DAY, True, True),  # but not longer than raw_days
        ("quarantined", 400 * DAY, True, True),
        ("processed", DAY, True, True),  # answered: no one needs the bytes
        ("failed", DAY, True, True),
        ("processed", DAY, False, False),  # nothing to drop
    ],
)
def test_raw_mail_is_kept_only_while_waiting_for_a_human_and_at_most_raw_days(status, age, has_raw, dropped):
    mail = StoredMail(1, status, NOW - age, has_raw=has_raw, has_sender=False)
    assert plan_retention([mail], [], [], NOW, RULES).raw == ([1] if dropped else [])


@pytest.mark.parametrize(
    "age, erase_pending, dropped",
    [
        (29 * DAY, False, False),
        (30 * DAY, False, True),
        (300 * DAY, True, False),  # an erase request needs the address until its mailbox copies are gone
    ],
)
def test_a_stored_mail_loses_its_sender_after_raw_days(age, erase_pending, dropped):
    mail = StoredMail(1, "processed", NOW - age, has_raw=False, has_sender=True, erase_pending=erase_pending)
    assert plan_retention([mail], [], [], NOW, RULES).senders == ([1] if dropped else [])


@pytest.mark.parametrize(
    "status, last_heard, left, deleted",
    [
        ("active", dt.datetime(2025, 6, 2, tzinfo=UTC), None, False),  # 12 months less a day
        ("active", dt.datetime(2025, 6, 1, 3, 0, tzinfo=UTC), None, True),  # 12 calendar months exactly
        ("active", dt.datetime(2024, 1, 1, tzinfo=UTC), None, True),
        ("left", NOW - 6 * DAY, NOW - 6 * DAY, False),  # the digest names the leaver first
        ("left", NOW - 7 * DAY, NOW - 7 * DAY, True),
    ],
)
def test_members_not_heard_from_or_gone_are_deleted(status, last_heard, left, deleted):
    member = KnownMember(1, status, last_heard, left)
    assert plan_retention([], [member], [], NOW, RULES).members == ([1] if deleted else [])


def test_member_months_is_the_configured_number_of_calendar_months():
    member = KnownMember(1, "active", dt.datetime(2026, 3, 1, 3, 0, tzinfo=UTC), None)
    assert plan_retention([], [member], [], NOW, Retention(member_months=3)).members == [1]
    assert plan_retention([], [member], [], NOW, Retention(member_months=4)).members == []


@pytest.mark.parametrize(
    "status, age, emptied",
    [
        ("sent", 30 * DAY, True),
        ("expired", 31 * DAY, True),
        ("failed", 31 * DAY, True),
        ("missed", 31 * DAY, True),  # a reminder that never went out still names its member
        ("sent", 29 * DAY, False),
        ("pending", 90 * DAY, False),  # still owed: the outbox decides when it stops trying
    ],
)
def test_sent_mail_loses_its_text_and_recipient_after_raw_days(status, age, emptied):
    queued = QueuedMail(1, status, NOW - age, has_content=True)
    assert plan_retention([], [], [queued], NOW, RULES).sent == ([1] if emptied else [])


ADDRESS = "wannes.vercruysse@voorbeeld.example"


@pytest.mark.parametrize(
    "raw, named",
    [
        (f"From: Wannes <{ADDRESS}>\r\n\r\nHallo\r\n", True),
        (f"From: WANNES <{ADDRESS.upper()}>\r\n\r\nHallo\r\n", True),  # addresses are compared without case
        (f"From: x@y.example\r\n\r\nMijn collega {ADDRESS}, komt ook.\r\n", True),
        (
            "From: x@y.example\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + __import__("base64").b64encode(f"schrijf {ADDRESS} in".encode()).decode()
            + "\r\n",
            True,
        ),
        (
            (
                "From: x@y.example\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                "schrijf wannes.vercruysse=\r\n"
                "@voorbeeld.example in\r\n"
            ),
            True,
        ),
        (f"From: Jef <j.{ADDRESS}>\r\n\r\nHallo\r\n", False),  # another person's address ending in theirs
        (f"From: Jef <{ADDRESS}.org>\r\n\r\nHallo\r\n", False),  # a longer domain
        ("From: Wannes <wannes@voorbeeld.example>\r\n\r\nHallo\r\n", False),
    ],
)
def test_mentions_finds_the_exact_address_in_headers_and_decoded_text(raw, named):
    assert mentions(raw.encode(), ADDRESS) is named


def test_retention_config_defaults_and_errors():
    minimal = {
        "network": {"signup_address": "a@in-gent.example", "coordinator": "b@in-gent.example"},
        "venue": {"name": "x", "address": "y"},
    }
    assert parse_config(minimal, Path("/srv")).retention == Retention(raw_days=30, member_months=12)
    assert parse_config({**minimal, "retention": {"raw_days": 7}}, Path("/srv")).retention.raw_days == 7
    with pytest.raises(ConfigError, match="retention.raw_days must be >= 1, got 0"):
        parse_config({**minimal, "retention": {"raw_days": 0}}, Path("/srv"))
    with pytest.raises(ConfigError, match="unknown key retention.raw_dayz"):
        parse_config({**minimal, "retention": {"raw_dayz": 3}}, Path("/srv"))


# --- the job, on a real database after a real pass ----------------------------------------------------------

MEETINGS = [
    {"date": dt.date(2026, 1, 13), "theme": "Dringende medische hulp", "speakers": []},
    {"date": dt.date(2026, 3, 10), "theme": "Toegang tot onderwijs", "speakers": []},
]
PASS = dt.datetime(2025, 12, 15, 8, 0, tzinfo=UTC)


def _mail(sender: str, name: str, subject: str, body: str, n: int) -> bytes:
    return (
        f"From: {name} <{sender}>\r\nTo: leernetwerk@in-gent.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <r{n}-{time.time_ns()}@voorbeeld.example>\r\nDate: Mon, 15 Dec 2025 08:00:00 +0100\r\n"
        f"\r\nDag,\r\n\r\n{body}\r\n\r\n{name}\r\n"
    ).encode()


REGISTER = "Ik schrijf me graag in voor het leernetwerk."
QUESTION = "Is er parking in de buurt van de campus?"
LEAVE = "Ik wil me uitschrijven uit het leernetwerk."


@pytest.fixture
def config_path(imap, smtp_sink, database_url, make_config):
    return make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)


def _append(imap, raw: bytes, when: dt.datetime = PASS) -> None:
    imap.append("INBOX", raw, msg_time=when - dt.timedelta(hours=1))  # arrived just before the pass reads it


def _pass(config_path: Path, now: dt.datetime) -> None:
    assert main(["run", "--config", str(config_path), "--once", "--now", now.isoformat()]) == 0


def _facts(app) -> dict[str, object]:
    with app.sessions() as db:
        inbound, outbox = models.InboundMessage, models.OutboxMessage
        return {
            "members": sorted(db.scalars(sa.select(models.Member.email))),
            "attendance": db.scalar(sa.select(sa.func.count()).select_from(models.Registration)),
            "member events": db.scalar(sa.select(sa.func.count()).where(models.Event.member_id.is_not(None))),
            "raw": db.scalar(sa.select(sa.func.count()).where(inbound.raw.is_not(None))),
            "senders": sorted(db.scalars(sa.select(inbound.sender).where(inbound.sender.is_not(None)))),
            "sent with text": db.scalar(sa.select(sa.func.count()).where(outbox.recipient != "")),
            "naming Ine": sum(
                mentions(raw, "ine.maes@voorbeeld.example") for raw in db.scalars(sa.select(outbox.raw))
            ),
            "retention events": list(
                db.scalars(
                    sa.select(models.Event.detail)
                    .where(models.Event.kind == "retention")
                    .order_by(models.Event.id)
                )
            ),
        }


def test_the_daily_job_drops_what_retention_allows_no_longer(config_path, imap, smtp_sink):
    _append(imap, _mail("ine.maes@voorbeeld.example", "Ine Maes", "Inschrijving", REGISTER, 1))
    _append(imap, _mail("ine.maes@voorbeeld.example", "Ine Maes", "Vraag", QUESTION, 2))
    _append(imap, _mail("tom.claes@voorbeeld.example", "Tom Claes", "Inschrijving", REGISTER, 3))
    _pass(config_path, PASS)
    _append(imap, _mail("tom.claes@voorbeeld.example", "Tom Claes", "Uitschrijven", LEAVE, 4), PASS + DAY)
    _pass(
        config_path, PASS + DAY + dt.timedelta(hours=1)
    )  # more than a day after the first: retention runs again
    assert (
        len([m for m in smtp_sink.messages if m.rcpt_tos != [COORDINATOR]]) == 4
    )  # 2 confirmations, the question acknowledged, a goodbye

    with build_app(load_config(config_path)) as app:
        before = _facts(app)
        assert before["members"] == ["ine.maes@voorbeeld.example", "tom.claes@voorbeeld.example"]
        assert before["raw"] == 1  # only the question, waiting in review
        assert before["sent with text"] == 6  # and the coordinator's two digests
        assert (
            before["retention events"] == ["0 raw, 0 senders, 0 members, 0 sent"] * 2
        )  # each pass's daily run

        # Tom left over a week ago: gone, with his attendance and events. Ine stays; her question keeps its
        # bytes.
        privacy.apply_retention(app, PASS + 9 * DAY)
        week = _facts(app)
        assert week["members"] == ["ine.maes@voorbeeld.example"]
        assert (week["attendance"], week["member events"], week["raw"]) == (1, 1, 1)

        # 30 days after the last pass: the question's bytes go, and every stored or sent mail its address.
        privacy.apply_retention(app, PASS + 32 * DAY)
        month = _facts(app)
        assert (month["raw"], month["senders"], month["sent with text"]) == (0, [], 0)
        assert month["members"] == ["ine.maes@voorbeeld.example"]  # heard from a month ago: still a member

        # A year without a word from Ine: deleted.
        privacy.apply_retention(app, PASS + 366 * DAY)
        year = _facts(app)
        assert (year["members"], year["attendance"], year["member events"]) == ([], 0, 0)
        assert year["retention events"][2:] == [
            "0 raw, 0 senders, 1 members, 0 sent",
            "1 raw, 4 senders, 0 members, 4 sent",  # Tom's two went with him; Ine's two and the digests
            "0 raw, 0 senders, 1 members, 0 sent",
        ]


def test_any_mail_from_a_member_counts_as_hearing_from_them(config_path, imap):
    _append(imap, _mail("ine.maes@voorbeeld.example", "Ine Maes", "Inschrijving", REGISTER, 1))
    _pass(config_path, PASS)
    _append(imap, _mail("ine.maes@voorbeeld.example", "Ine Maes", "Vraag", QUESTION, 2), PASS + 200 * DAY)
    _pass(config_path, PASS + 200 * DAY)  # a question, not a registration: she is still there
    with build_app(load_config(config_path)) as app:
        privacy.apply_retention(app, PASS + 366 * DAY)
        assert _facts(app)["members"] == ["ine.maes@voorbeeld.example"]
        privacy.apply_retention(app, PASS + 200 * DAY + 366 * DAY)
        assert _facts(app)["members"] == []


def test_run_once_applies_retention_once_a_day(config_path, imap):
    _append(imap, _mail("ine.maes@voorbeeld.example", "Ine Maes", "Inschrijving", REGISTER, 1))
    _pass(config_path, PASS)
    _pass(config_path, PASS + dt.timedelta(hours=23))  # not a day later: not again
    with build_app(load_config(config_path)) as app:
        assert len(_facts(app)["retention events"]) == 1
    _pass(config_path, PASS + 400 * DAY)
    with build_app(load_config(config_path)) as app:
        facts = _facts(app)
        assert facts["members"] == []
        assert facts["retention events"][-1].startswith("0 raw, 1 senders, 1 members, ")
        assert facts["naming Ine"] == 0  # her confirmation, and the digests that named her


@pytest.mark.servers  # a `mailflow run` daemon
def test_the_daemon_applies_retention(tmp_path, imap, smtp_sink, make_config):
    db = f"sqlite:///{tmp_path}/mailflow.db"
    config = make_config(imap, smtp_sink, db, imap={"since": "2000-01-01"}, meetings=MEETINGS)
    _append(imap, _mail("ine.maes@voorbeeld.example", "Ine Maes", "Inschrijving", REGISTER, 1))
    _pass(config, PASS)
    later = (PASS + 400 * DAY).isoformat()
    daemon = subprocess.Popen(
        [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--now", later],
        env=os.environ.copy(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        engine = sa.create_engine(db)
        deadline, members = time.monotonic() + 30, 1
        while time.monotonic() < deadline and members:
            time.sleep(0.2)
            with engine.connect() as connection:
                members = connection.scalar(sa.text("select count(*) from members"))
        engine.dispose()
        assert members == 0
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=15)
        log = daemon.stderr.read()
        daemon.stderr.close()
    assert re.search(
        r"retention: 0 raw mail\(s\), 1 sender\(s\), 1 member\(s\), \d+ sent mail\(s\) dropped", log
    )
