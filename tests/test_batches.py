"""A batch of mails is read, acted on and committed together: what the batch keeps in memory answers as the
database would; a mail that fails is rolled back alone while the others are committed and answered; a batch
killed half-way is done again without a second reply; the limits hold across and within batches.

The first tests are on the store alone (SQLite in the fast lane, PostgreSQL with the servers); the others run
`mailflow run --once` against the test IMAP server and SMTP sink.
"""

from __future__ import annotations

import collections
import datetime as dt
import email
import email.policy
import os
import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from helpers import SIGNUP_ADDRESS, database, registration, replies

from mailflow.adapters.db import agenda, batch, models, queries
from mailflow.adapters.db.engine import close_database, open_database
from mailflow.cli import main
from mailflow.core.parsing import Intent
from mailflow.core.vocabulary import REPLY_KINDS, MailKind, MemberStatus, OutboxStatus, RegistrationStatus
from mailflow.testing.servers import free_port
from mailflow.usecases import actions

NOW = dt.datetime(2025, 12, 15, 8, 0, tzinfo=dt.UTC)
REGISTERED, WAITING, CANCELLED = (
    RegistrationStatus.REGISTERED,
    RegistrationStatus.WAITING,
    RegistrationStatus.CANCELLED,
)


@pytest.fixture
def sessions(database_url):
    sessions = open_database(database_url)
    yield sessions
    close_database(sessions)


def _member(db, email_address: str, name: str, status: str = MemberStatus.ACTIVE) -> models.Member:
    member = models.Member(
        email=email_address,
        name=name,
        name_key=queries.name_key(name),
        status=status,
        created_at=NOW,
        last_heard_at=NOW,
    )
    db.add(member)
    return member


def _counted(db, meeting: models.Meeting, status: str, leaving_out: list[models.Member]) -> int:
    """The count as the database gives it, the batch's changes written first."""
    db.flush()
    left_out = [m.id for m in leaving_out]
    query = (
        sa.select(sa.func.count())
        .select_from(models.Registration)
        .join(models.Member, models.Member.id == models.Registration.member_id)
        .where(
            models.Registration.meeting_id == meeting.id,
            models.Registration.status == status,
            models.Member.status == MemberStatus.ACTIVE,
            models.Registration.member_id.not_in(left_out),
        )
    )
    return db.scalar(query)


def test_a_batch_counts_a_meetings_places_as_the_database_does_through_every_kind_of_change(sessions):
    with sessions.begin() as db:
        meeting = models.Meeting(date=dt.date(2026, 1, 13), starts_at=NOW + dt.timedelta(days=29), theme="x")
        meeting.capacity = 3
        db.add(meeting)
        an, bart, carla = (_member(db, f"{n}@example.org", n.title()) for n in ("an", "bart", "carla"))
        gone = _member(db, "dirk@example.org", "Dirk", status=MemberStatus.LEFT)
        away = _member(db, "els@example.org", "Els")  # not at an address of the batch
        for member, status in ((an, REGISTERED), (bart, REGISTERED), (carla, WAITING), (gone, REGISTERED)):
            db.add(
                models.Registration(
                    member=member, meeting=meeting, status=status, created_at=NOW, updated_at=NOW
                )
            )
        db.add(
            models.Registration(member=away, meeting=meeting, status=WAITING, created_at=NOW, updated_at=NOW)
        )

    with sessions.begin() as db:
        batch.start(
            db, ["an@example.org", "bart@example.org", "carla@example.org", "dirk@example.org", "new@x.org"]
        )
        meeting = agenda.meeting_on(db, dt.date(2026, 1, 13))
        (an,), (bart,), (carla,), (gone,) = (
            queries.members_at(db, f"{n}@example.org") for n in ("an", "bart", "carla", "dirk")
        )
        checked = 0

        def same(*leaving_out: models.Member) -> None:
            nonlocal checked
            for status in (REGISTERED, WAITING):
                memory = agenda.places_taken if status == REGISTERED else agenda.waiting_count
                assert memory(db, meeting, list(leaving_out)) == _counted(
                    db, meeting, status, list(leaving_out)
                )
            assert batch.of(db) is not None  # still answering from memory
            checked += 1

        same()
        same(an, carla)
        newcomer = _member(db, "new@x.org", "Nieuw")  # written only at the commit
        agenda.set_registration(db, newcomer, meeting, WAITING, NOW)
        same(newcomer)
        same()
        (first,) = agenda.waiting_for(db, meeting, limit=1)  # a place freed: the first waiting gets it
        first.status = REGISTERED
        same()
        agenda.set_registration(db, an, meeting, CANCELLED, NOW)
        same(bart)
        gone.status = MemberStatus.ACTIVE  # back: their old place counts again
        same()
        bart.status = MemberStatus.LEFT
        same(gone)
        away = db.scalars(sa.select(models.Member).where(models.Member.email == "els@example.org")).one()
        away.status = MemberStatus.LEFT  # a member the batch never handed out
        same()
        stray = db.scalars(
            sa.select(models.Registration).where(models.Registration.member_id == carla.id)
        ).one()
        stray.status = CANCELLED  # a registration read past the agenda functions
        same(carla)
        assert checked == 10
        batch.stop(db)


def test_a_batch_knows_the_members_it_adds_the_replies_it_queues_and_the_keys_it_takes(sessions):
    with sessions.begin() as db:
        _member(db, "anna@example.org", "Anna Peeters")
        for i in range(3):  # earlier replies: two to Anna in the last day, one of them held
            queries.enqueue(
                db,
                key=f"earlier:{i}",
                kind=MailKind.REGISTER,
                recipient="anna@example.org" if i < 2 else "bart@example.org",
                message_id=f"<e{i}@in-gent.example>",
                raw=b"x",
                now=NOW - dt.timedelta(hours=3 - i),
                expires_at=None,
                status=OutboxStatus.HELD if i == 1 else OutboxStatus.PENDING,
            )

    with sessions.begin() as db:
        batch.start(db, ["anna@example.org", "Bart@Example.org"])
        (anna,) = queries.members_at(db, "anna@example.org")
        bart = _member(db, "bart@example.org", "Bart Claes")
        assert queries.members_at(db, "bart@example.org") == [bart]
        assert queries.members_at(db, "Bart@Example.org") == []  # an address is matched as written
        queries.heard_from(db, "ANNA@example.org", NOW)
        assert anna.last_heard_at == NOW

        day, hour = NOW - dt.timedelta(hours=24), NOW - dt.timedelta(hours=1)
        assert queries.count_replies(db, REPLY_KINDS, day, "anna@example.org") == 1  # the held one left out
        assert queries.count_replies(db, REPLY_KINDS, hour) == 1
        assert queries.latest_reply(db, REPLY_KINDS, "anna@example.org", day).key == "earlier:1"
        assert not queries.queued(db, "reply:1")
        queries.enqueue(
            db,
            key="reply:1",
            kind=MailKind.REGISTER,
            recipient="anna@example.org",
            message_id="<r1@in-gent.example>",
            raw=b"y",
            now=NOW,
            expires_at=None,
            member=anna,
        )
        assert queries.queued(db, "reply:1")
        assert queries.count_replies(db, REPLY_KINDS, day, "anna@example.org") == 2
        assert queries.count_replies(db, REPLY_KINDS, hour) == 2
        assert queries.latest_reply(db, REPLY_KINDS, "anna@example.org", day).key == "reply:1"
        assert queries.count_replies(db, REPLY_KINDS, day, "carla@example.org") == 0  # asked the database
        batch.stop(db)
        # The database says the same.
        assert queries.count_replies(db, REPLY_KINDS, day, "anna@example.org") == 2
        assert queries.count_replies(db, REPLY_KINDS, hour) == 2


# --- a pass over the inbox ----------------------------------------------------------------------------------


def _answers(sink) -> dict[str, list[str]]:
    """In-Reply-To -> the Message-IDs of the replies that answered it."""
    answers: dict[str, list[str]] = collections.defaultdict(list)
    for received in replies(sink):
        reply = email.message_from_bytes(received.data, policy=email.policy.default)
        answers[reply["In-Reply-To"]].append(reply["Message-ID"])
    return answers


def _sender(raw: bytes) -> str:
    return email.message_from_bytes(raw, policy=email.policy.default)["From"].addresses[0].addr_spec


@pytest.mark.servers
def test_a_mail_that_fails_in_the_middle_of_a_batch_is_rolled_back_alone(
    imap, smtp_sink, database_url, make_config, monkeypatch, caplog
):
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01", "batch_size": 10})
    mails = [registration(i, tag="middle") for i in range(7)]
    poison = _sender(mails[3])
    register = actions.ACTIONS[Intent.REGISTER]

    def register_or_fail(app, db, row, parsed, now, thread=None):  # type: ignore[no-untyped-def]
        done = register(app, db, row, parsed, now, thread)  # what it did must be undone with it
        if parsed.sender == poison:
            raise RuntimeError("a bug met this mail")
        return done

    monkeypatch.setitem(actions.ACTIONS, Intent.REGISTER, register_or_fail)
    imap.append_many("INBOX", mails)

    assert main(["run", "--config", str(config), "--once"]) == 0

    # The six others are registered, answered once and filed; the one that failed waits, recorded as failed.
    answers = _answers(smtp_sink)
    assert set(answers) == {f"<middle-{i}@example.org>" for i in range(7) if i != 3}
    assert all(len(ids) == 1 for ids in answers.values())
    assert imap.count("INBOX") == 1 and imap.count("mailflow/processed") == 6
    with database(database_url) as db:
        members = db.scalars(sa.select(models.Member.email)).all()
        assert sorted(members) == sorted(_sender(m) for m in mails if _sender(m) != poison)
        events = db.scalars(sa.select(models.Event.kind).where(models.Event.kind == "registered")).all()
        assert len(events) == 6  # nothing of the first try was kept
        failed = db.scalars(
            sa.select(models.InboundMessage).where(models.InboundMessage.status == "failed")
        ).one()
        assert failed.attempts == 1 and failed.reason == "processing failed: RuntimeError"
        keys = db.scalars(sa.select(models.OutboxMessage.key).where(models.OutboxMessage.key.like("reply:%")))
        assert len(keys.all()) == 6
    assert "the batch again, that mail on its own" in caplog.text
    assert "example.org" not in caplog.text


@pytest.mark.servers
def test_a_batch_that_fails_where_no_mail_can_be_blamed_is_done_again_each_mail_on_its_own(
    imap, smtp_sink, database_url, make_config, monkeypatch, caplog
):
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01", "batch_size": 10})
    imap.append_many("INBOX", [registration(i, tag="blameless") for i in range(5)])
    stop = batch.stop
    calls = []

    def stop_or_fail(db):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:  # after every mail was acted on, before the commit
            raise sa.exc.IntegrityError("INSERT ...", {}, Exception("a constraint no mail can be blamed for"))
        stop(db)

    monkeypatch.setattr(batch, "stop", stop_or_fail)

    assert main(["run", "--config", str(config), "--once"]) == 0

    answers = _answers(smtp_sink)
    assert set(answers) == {f"<blameless-{i}@example.org>" for i in range(5)}
    assert all(len(ids) == 1 for ids in answers.values())
    assert imap.count("INBOX") == 0
    with database(database_url) as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(models.Member)) == 5
    assert "again, each mail on its own" in caplog.text


@pytest.mark.servers
def test_a_pass_killed_in_the_middle_of_a_batch_does_it_again_and_answers_each_mail_once(
    imap, smtp_sink, database_url, make_config
):
    config = make_config(
        imap,
        smtp_sink,
        database_url,
        imap={"since": "2000-01-01", "batch_size": 50},
        limits={"replies_per_hour": 1000},
    )
    imap.append_many("INBOX", [registration(i, tag="halfway") for i in range(120)])

    env = {**os.environ, "MAILFLOW_CRASH_AT": "in_batch:75"}  # the 25th mail of the second batch
    command = [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--once"]
    killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert len(replies(smtp_sink)) == 50  # each batch's replies go once it is filed: the first batch's
    with database(database_url) as db:  # the first batch committed, nothing of the second
        assert db.scalar(sa.select(sa.func.count()).select_from(models.InboundMessage)) == 50
    env.pop("MAILFLOW_CRASH_AT")
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert again.returncode == 0, again.stderr[-3000:]

    answers = _answers(smtp_sink)
    assert set(answers) == {f"<halfway-{i}@example.org>" for i in range(120)}
    assert all(len(ids) == 1 for ids in answers.values())
    assert imap.count("INBOX") == 0 and imap.count("mailflow/processed") == 120
    with database(database_url) as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(models.Member)) == 120
        assert db.scalar(sa.select(sa.func.count()).select_from(models.Registration)) == 120
        assert db.scalar(sa.select(sa.func.count()).select_from(models.InboundMessage)) == 120


@pytest.mark.servers
def test_the_first_answers_of_a_backlog_go_before_its_last_mails_are_read(
    imap, smtp_sink, database_url, make_config
):
    config = make_config(
        imap,
        smtp_sink,
        database_url,
        imap={"since": "2000-01-01", "batch_size": 2},
        limits={"replies_per_hour": 100},
    )
    imap.append_many("INBOX", [registration(i, tag="early") for i in range(6)])
    smtp_sink.stall_after(2)  # the first batch's two replies go; the next one is held
    command = [
        sys.executable,
        "-m",
        "mailflow",
        "run",
        "--config",
        str(config),
        "--once",
        "--now",
        NOW.isoformat(),
    ]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as running:
        try:
            assert smtp_sink.stalled.wait(60), "no third reply was sent"
            # Two batches read, filed and being answered; the third is still in the inbox, unread.
            assert len(replies(smtp_sink)) == 2
            assert imap.count("INBOX") == 2 and imap.count("mailflow/processed") == 4
        finally:
            smtp_sink.release()  # the held reply gets 451 and is tried again later
        _, stderr = running.communicate(timeout=120)
    assert running.returncode == 0, stderr[-3000:]
    assert imap.count("INBOX") == 0 and len(replies(smtp_sink)) == 5
    later = (NOW + dt.timedelta(minutes=5)).isoformat()
    assert main(["run", "--config", str(config), "--once", "--now", later]) == 0
    answers = _answers(smtp_sink)
    assert set(answers) == {f"<early-{i}@example.org>" for i in range(6)}
    assert all(len(ids) == 1 for ids in answers.values())


@pytest.mark.servers
def test_with_the_smtp_server_down_a_backlog_is_read_whole_and_its_replies_wait(
    imap, database_url, make_config, caplog
):
    nowhere = SimpleNamespace(host="127.0.0.1", port=free_port())
    config = make_config(imap, nowhere, database_url, imap={"since": "2000-01-01", "batch_size": 2})
    imap.append_many("INBOX", [registration(i, tag="down") for i in range(6)])

    assert main(["run", "--config", str(config), "--once", "--now", NOW.isoformat()]) == 1

    assert imap.count("INBOX") == 0 and imap.count("mailflow/processed") == 6
    with database(database_url) as db:
        pending = db.scalars(
            sa.select(models.OutboxMessage.status).where(models.OutboxMessage.key.like("reply:%"))
        )
        assert pending.all() == [OutboxStatus.PENDING] * 6
    # Asked once while reading (not after each of the three batches), and once more by the outbox job.
    assert caplog.text.count("job outbox failed") == 2


def _from_shared_address(name: str, number: int) -> bytes:
    """A colleague's own registration, sent from the address their team shares."""
    return (
        f"From: {name} <onthaal@example.org>\r\nTo: {SIGNUP_ADDRESS}\r\nSubject: Inschrijving leernetwerk\r\n"
        f"Message-ID: <limits-shared-{number}@example.org>\r\nDate: Mon, 15 Dec 2025 09:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Dag,\r\n\r\nIk schrijf me graag in voor het leernetwerk.\r\n\r\nGroeten,\r\n{name}\r\n"
    ).encode()


@pytest.mark.servers
@pytest.mark.parametrize("batch_size", [3, 50], ids=["across-batches", "within-a-batch"])
def test_the_limits_hold_within_and_across_batches(imap, smtp_sink, database_url, make_config, batch_size):
    config = make_config(
        imap,
        smtp_sink,
        database_url,
        imap={"since": "2000-01-01", "batch_size": batch_size},
        limits={"replies_per_hour": 8, "replies_per_address_per_day": 3},
    )
    names = ["Anna Peeters", "Bart Claes", "Carla Janssens", "Dirk Maes", "Els Wouters"]
    shared = [_from_shared_address(name, i) for i, name in enumerate(names)]
    imap.append_many("INBOX", shared + [registration(i, tag="limits") for i in range(6)])

    assert main(["run", "--config", str(config), "--once"]) == 0

    with database(database_url) as db:
        rows = db.scalars(
            sa.select(models.OutboxMessage).where(models.OutboxMessage.key.like("reply:%"))
        ).all()
        statuses = collections.Counter((row.recipient == "onthaal@example.org", row.status) for row in rows)
        held = collections.Counter(
            db.scalars(sa.select(models.Event.detail).where(models.Event.kind == "held"))
        )
        notices = db.scalar(
            sa.select(sa.func.count())
            .select_from(models.OutboxMessage)
            .where(models.OutboxMessage.kind == "notice")
        )
    # Eleven replies in one hour: the shared address gets three, the hour allows eight in all.
    assert len(rows) == 11
    assert statuses == {(True, "sent"): 3, (True, "held"): 2, (False, "sent"): 5, (False, "held"): 1}
    assert held == {"replies_per_address_per_day": 2, "replies_per_hour": 1}
    assert notices == 2  # one a day per limit reached
