"""Crashes: `mailflow run --once` SIGKILLed at each step of a pass over a backlog of 200 mails, then restarted
until a pass ends cleanly; and a mail that makes processing fail, retried and then quarantined while the rest
goes on.

The kills land exactly between two steps through the MAILFLOW_CRASH_AT checkpoints (mailflow/faults.py); the
kill during SMTP DATA is staged for real, with a sink that holds DATA unanswered while the test kills the
process.
"""

from __future__ import annotations

import collections
import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import registration, replies

from mailflow.adapters.db import models
from mailflow.adapters.db.engine import close_database, open_database
from mailflow.cli import main
from mailflow.usecases import intake

pytestmark = pytest.mark.servers  # `mailflow run` processes killed mid-pass

BACKLOG = 200
BATCH = 50
MAX_RUNS = 20


def _backlog() -> list[bytes]:
    # Every tenth mail also asks a question: answered, then filed for review, so a batch moves to two folders.
    return [registration(i, question=i % 10 == 9, tag="crash") for i in range(BACKLOG)]


def _start(config: Path, crash_at: str | None) -> subprocess.Popen[str]:
    env = os.environ.copy()
    env.pop("MAILFLOW_CRASH_AT", None)
    if crash_at:
        env["MAILFLOW_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--once"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
        raise AssertionError(f"mailflow did not finish a pass in 120 s:\n{err[-3000:]}") from None
    return process.returncode, err


def _run_killed_at_checkpoint(config: Path, point: str) -> int:
    """Run passes with MAILFLOW_CRASH_AT=point until one ends cleanly; returns how many were killed."""
    for kills in range(MAX_RUNS):
        code, err = _finish(_start(config, point))
        if code == 0:
            return kills
        assert code == -signal.SIGKILL, f"exit {code}, not the crash asked for:\n{err[-3000:]}"
        assert "Traceback" not in err, err[-3000:]
    raise AssertionError(f"no clean pass after {MAX_RUNS} runs killed at {point}")


def _run_killed_during_data(config: Path, smtp_sink, accepted_per_run: int) -> int:
    """Run passes, each killed (SIGKILL from here) while the sink holds a DATA unanswered, until one ends
    cleanly."""
    for kills in range(MAX_RUNS):
        smtp_sink.stall_after(accepted_per_run)
        process = _start(config, None)
        while process.poll() is None and not smtp_sink.stalled.wait(0.05):
            pass
        if not smtp_sink.stalled.is_set():
            code, err = _finish(process)
            assert code == 0, err[-3000:]
            return kills
        assert process.poll() is None, "the process ended while its DATA was unanswered"
        process.send_signal(signal.SIGKILL)
        code, err = _finish(process)
        smtp_sink.release()  # only now: the dead client must never see an answer
        assert code == -signal.SIGKILL, err[-3000:]
    raise AssertionError(f"no clean pass after {MAX_RUNS} runs killed during DATA")


# point -> MAILFLOW_CRASH_AT (None: killed by the test while DATA hangs). The N in name:N lets each run get a
# bit further than the last, so the restarts end; each batch moves mail to two folders, so before_move:2 falls
# between them.
POINTS = {
    "after_fetch": "after_fetch:2",
    "after_commit": "after_commit:2",
    "before_move": "before_move:2",
    "during_data": None,
    "after_250": "after_250:60",
}


@pytest.mark.parametrize("point", list(POINTS))
def test_killed_at_each_step_of_a_pass_every_mail_is_stored_once_and_answered(
    point, imap, smtp_sink, database_url, make_config
):
    # A backlog of 200 volunteers in one pass: the hourly reply cap (tested in test_floods.py) is lifted here.
    config = make_config(
        imap,
        smtp_sink,
        database_url,
        imap={"since": "2000-01-01", "batch_size": BATCH},
        limits={"replies_per_hour": 1000},
    )
    backlog = _backlog()
    imap.append_many("INBOX", backlog)
    started = time.monotonic()

    if POINTS[point] is None:
        kills = _run_killed_during_data(config, smtp_sink, accepted_per_run=60)
    else:
        kills = _run_killed_at_checkpoint(config, POINTS[point])
    # A clean pass more finds nothing left to do.
    code, err = _finish(_start(config, None))
    assert code == 0, err[-3000:]
    elapsed = time.monotonic() - started

    # Each registration stored once.
    sessions = open_database(database_url)
    try:
        with sessions() as db:
            members = db.scalars(sa.select(models.Member)).all()
            inbound = db.scalars(sa.select(models.InboundMessage)).all()
            outbox = db.scalars(
                sa.select(models.OutboxMessage).where(models.OutboxMessage.key.like("reply:%"))
            ).all()
            attendance = db.scalar(sa.select(sa.func.count()).select_from(models.Registration))
    finally:
        close_database(sessions)
    assert len(members) == len({m.email for m in members}) == BACKLOG
    assert len(inbound) == BACKLOG and {m.uid for m in inbound} == set(
        range(min(m.uid for m in inbound), min(m.uid for m in inbound) + BACKLOG)
    )
    assert collections.Counter(m.status for m in inbound) == {"processed": 180, "review": 20}
    assert attendance == BACKLOG
    assert len(outbox) == BACKLOG and {row.status for row in outbox} == {"sent"}

    # Each mail answered at least once; twice only when the kill fell after the server's 250, with the same
    # Message-ID.
    answers: dict[str, list[str]] = collections.defaultdict(list)
    for received in replies(smtp_sink):
        reply = email.message_from_bytes(received.data, policy=email.policy.default)
        answers[reply["In-Reply-To"]].append(reply["Message-ID"])
    assert set(answers) == {f"<crash-{i}@example.org>" for i in range(BACKLOG)}
    twice = {original: ids for original, ids in answers.items() if len(ids) > 1}
    assert all(len(ids) <= 2 and len(set(ids)) == 1 for ids in answers.values()), twice
    assert kills >= 1
    if point == "after_250":
        assert len(twice) == kills  # each kill fell after exactly one 250
    else:
        assert twice == {}

    # Every mail left the inbox once, to the folder it belongs in.
    assert imap.count("INBOX") == 0
    assert (imap.count("mailflow/processed"), imap.count("mailflow/review")) == (180, 20)
    print(
        f"\n{point} ({database_url.split(':')[0]}): {kills} kill(s), "
        f"{len(replies(smtp_sink))} replies for {BACKLOG} mails "
        f"({len(twice)} sent twice), {elapsed:.1f} s"
    )


def test_a_mail_that_makes_processing_fail_is_retried_then_quarantined_while_the_batch_goes_on(
    imap, smtp_sink, database_url, make_config, monkeypatch, caplog
):
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"})
    mails = [registration(i, tag="poison") for i in range(5)]
    poison = mails[2]
    real_parse = intake.parse_message

    def parse_or_fail(raw: bytes, context):  # type: ignore[no-untyped-def]
        if raw == poison:
            raise RuntimeError("parser tripped over this mail")  # what a parser bug looks like from outside
        return real_parse(raw, context)

    monkeypatch.setattr(intake, "parse_message", parse_or_fail)
    imap.append_many("INBOX", mails)

    def run() -> None:
        assert main(["run", "--config", str(config), "--once"]) == 0

    def poison_row() -> models.InboundMessage:
        sessions = open_database(database_url)
        try:
            with sessions() as db:
                return db.scalars(
                    sa.select(models.InboundMessage).where(models.InboundMessage.uid == poison_uid)
                ).one()
        finally:
            close_database(sessions)

    poison_uid = sorted(imap.fetch_by_uid("INBOX"))[2]
    run()
    # The good mails of the batch are answered and filed in the first pass; the failing one waits in the
    # inbox.
    assert sorted(r.rcpt_tos[0] for r in replies(smtp_sink)) == sorted(
        email.message_from_bytes(m, policy=email.policy.default)["From"].addresses[0].addr_spec
        for m in mails
        if m != poison
    )
    assert list(imap.fetch_by_uid("INBOX")) == [poison_uid]
    assert (poison_row().status, poison_row().attempts) == ("failed", 1)

    run()
    assert (poison_row().status, poison_row().attempts) == ("failed", 2)
    assert imap.count("INBOX") == 1

    run()
    row = poison_row()
    assert (row.status, row.attempts) == ("quarantined", 3)
    assert row.reason == "processing failed: RuntimeError 3 times"
    assert row.raw == poison  # kept for the human who looks at it
    assert imap.count("INBOX") == 0
    assert imap.fetch_all("mailflow/review") == [poison]
    sessions = open_database(database_url)
    try:
        with sessions() as db:
            events = db.scalars(sa.select(models.Event).where(models.Event.kind == "quarantined")).all()
            assert [(e.inbound_id, e.detail) for e in events] == [(row.id, row.reason)]
    finally:
        close_database(sessions)

    run()
    assert len(replies(smtp_sink)) == 4  # the quarantined mail is never answered
    # The log names the mail by UID only, never its sender.
    assert f"uid={poison_uid} processing failed: RuntimeError" in caplog.text
    assert "example.org" not in caplog.text
