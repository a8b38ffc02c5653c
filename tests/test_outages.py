"""Outages of the servers around mailflow, staged for real: Dovecot stopped, restarted or frozen (SIGSTOP)
under a running daemon, PostgreSQL stopped, an SMTP server answering 421/451 for hours or 550, and the signup
folder recreated with a new UIDVALIDITY.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import ImapBox, registration, replies, wait_for_replies
from servers import wait_until

from mailflow.adapters.db import models
from mailflow.adapters.db.engine import close_database, open_database
from mailflow.adapters.db.lock import InstanceLock
from mailflow.cli import main

pytestmark = pytest.mark.servers  # daemons, and servers the tests stop and restart under them

T0 = dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC)  # 02:00 in Gent: the stepped hours end before the digest


class Daemon:
    """`mailflow run` as a child process, its log in a file the test reads while it runs."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log_path = log
        self._log = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailflow", "run", "--config", str(config)],
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log()))

    def wait_for_log(self, pattern: str, count: int = 1, timeout: float = 30.0) -> None:
        if not wait_until(lambda: self.count(pattern) >= count or self.process.poll() is not None, timeout):
            raise AssertionError(
                f"no {pattern!r} in the daemon's log within {timeout} s:\n{self.log()[-3000:]}"
            )
        assert self.process.poll() is None, f"the daemon died:\n{self.log()[-3000:]}"

    def cpu_seconds(self) -> float:
        """User and system CPU time the daemon has used so far (/proc/PID/stat, fields 14 and 15)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


@contextlib.contextmanager
def daemon(config: Path, tmp_path: Path, database_url: str) -> Iterator[Daemon]:
    running = Daemon(config, tmp_path / "daemon.log")
    try:
        assert wait_until(lambda: _mailbox_read(database_url) or running.process.poll() is not None, 30), (
            running.log()[-3000:]
        )
        running.wait_for_log("waiting for mail")
        yield running
    finally:
        running.stop()


def _mailbox_read(database_url: str) -> bool:
    """Whether the daemon has read the mailbox once (which marks where new mail starts)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return bool(connection.scalar(sa.text("select count(*) from mailbox_state")))
    except sa.exc.SQLAlchemyError:
        return False  # the schema is still being made
    finally:
        engine.dispose()


def _sender(raw: bytes) -> str:
    return email.message_from_bytes(raw, policy=email.policy.default)["From"].addresses[0].addr_spec


def _answered(smtp_sink) -> list[str]:  # type: ignore[no-untyped-def]
    """The original Message-IDs the sink's replies answer, sorted (twice if answered twice)."""
    return sorted(
        email.message_from_bytes(r.data, policy=email.policy.default)["In-Reply-To"]
        for r in replies(smtp_sink)
    )


def _retry_delays(log: str) -> list[int]:
    return [int(n) for n in re.findall(r"trying again in (\d+) s", log)]


# --- IMAP ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("outage", [0, 12], ids=["restarted", "stopped-12s"])
def test_imap_server_stopped_or_restarted_under_the_daemon_reconnects_with_backoff_and_loses_nothing(
    outage, own_imap_server, smtp_sink, tmp_path, make_config
):
    box = ImapBox(own_imap_server)
    database_url = f"sqlite:///{tmp_path}/mailflow.db"
    config = make_config(own_imap_server, smtp_sink, database_url)
    try:
        with daemon(config, tmp_path, database_url) as running:
            box.append("INBOX", registration(1, tag="imap"))
            wait_for_replies(smtp_sink, 1, timeout=30)
            # A mail arrives as the server goes down: answered now or after the outage, but answered.
            box.append("INBOX", registration(2, tag="imap"))
            own_imap_server.stop()
            cpu_before = running.cpu_seconds()
            running.wait_for_log("trying again in")
            time.sleep(outage)
            retries = _retry_delays(running.log())
            cpu = running.cpu_seconds() - cpu_before
            own_imap_server.start()
            box.close()
            box.append("INBOX", registration(3, tag="imap"))
            wait_for_replies(smtp_sink, 3, timeout=45)
            time.sleep(1)  # a second reply, were there one, would come now
            assert running.process.poll() is None
            left_in_inbox = box.count("INBOX")
    finally:
        box.close()
    log = running.log()
    assert running.process.returncode == 0, log[-3000:]
    assert "Traceback" not in log
    assert _answered(smtp_sink) == [f"<imap-{n}@example.org>" for n in (1, 2, 3)]
    assert left_in_inbox == 0
    # Backoff, not a busy loop: the waits double, and the daemon hardly used the CPU while the server was
    # away.
    assert retries == [2**n for n in range(len(retries))]
    assert len(retries) <= 2 + outage.bit_length()
    assert cpu < 1.0
    print(f"\nIMAP {outage} s down: {len(retries)} reconnect attempt(s) waiting {retries} s, {cpu:.2f} s CPU")


SILENCE = (
    45  # seconds; the daemon leaves IDLE at its next outbox round (every 30 s) and then meets the silence
)


def test_imap_server_silent_the_daemon_times_out_reconnects_with_backoff_and_answers_after(
    own_imap_server, smtp_sink, tmp_path, make_config
):
    if own_imap_server.kind != "dovecot":
        pytest.skip("freezing the server needs Dovecot's process group")
    box = ImapBox(own_imap_server)
    database_url = f"sqlite:///{tmp_path}/mailflow.db"
    config = make_config(own_imap_server, smtp_sink, database_url, imap={"timeout": 3})
    try:
        with daemon(config, tmp_path, database_url) as running:
            box.append("INBOX", registration(1, tag="silent"))
            wait_for_replies(smtp_sink, 1, timeout=30)
            box.append("INBOX", registration(2, tag="silent"))
            own_imap_server.pause()
            try:
                cpu_before = running.cpu_seconds()
                started = time.monotonic()
                time.sleep(SILENCE)
                retries = _retry_delays(running.log())
                cpu = running.cpu_seconds() - cpu_before
                assert running.process.poll() is None, running.log()[-3000:]
            finally:
                own_imap_server.resume()
            silent_for = time.monotonic() - started
            box.close()
            box.append("INBOX", registration(3, tag="silent"))
            wait_for_replies(smtp_sink, 3, timeout=60)
            time.sleep(1)
            left_in_inbox = box.count("INBOX")
    finally:
        box.close()
    log = running.log()
    assert running.process.returncode == 0, log[-3000:]
    assert "Traceback" not in log
    assert _answered(smtp_sink) == [f"<silent-{n}@example.org>" for n in (1, 2, 3)]
    assert left_in_inbox == 0
    # It gave up on the silent server (the timeout), then tried again with doubling waits, at most once per
    # timeout.
    assert 1 <= len(retries) <= 6, log[-3000:]
    assert retries == [2**n for n in range(len(retries))]
    assert cpu < 1.0
    print(
        f"\nIMAP silent {silent_for:.0f} s: {len(retries)} reconnect attempt(s) "
        f"waiting {retries} s, {cpu:.2f} s CPU"
    )


# --- PostgreSQL ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _stopped(postgres_server) -> Iterator[None]:  # type: ignore[no-untyped-def]
    postgres_server.stop()
    try:
        yield
    finally:
        postgres_server.start()  # the cluster is shared by the session


def test_database_stopped_nothing_is_moved_and_a_pass_after_its_return_catches_up(
    postgres_server, imap, smtp_sink, make_config
):
    database_url = postgres_server.create_database()
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"})
    command = [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--once"]
    mails = [registration(i, tag="pg-once") for i in range(5)]
    imap.append_many("INBOX", mails)
    with _stopped(postgres_server):
        down = subprocess.run(
            command, env=os.environ.copy(), capture_output=True, text=True, timeout=120, check=False
        )
        assert down.returncode != 0
        assert "database" in down.stderr and "Traceback" not in down.stderr, down.stderr
        assert imap.count("INBOX") == 5 and replies(smtp_sink) == []
    up = subprocess.run(
        command, env=os.environ.copy(), capture_output=True, text=True, timeout=120, check=False
    )
    assert up.returncode == 0, up.stderr
    assert _answered(smtp_sink) == sorted(f"<pg-once-{i}@example.org>" for i in range(5))
    assert imap.count("INBOX") == 0


OUTAGE = 8  # seconds


def test_database_stopped_under_the_daemon_nothing_is_moved_and_it_catches_up_when_it_returns(
    postgres_server, imap, smtp_sink, tmp_path, make_config
):
    database_url = postgres_server.create_database()
    config = make_config(imap, smtp_sink, database_url)
    with daemon(config, tmp_path, database_url) as running:
        imap.append("INBOX", registration(0, tag="pg"))
        wait_for_replies(smtp_sink, 1, timeout=30)
        with _stopped(postgres_server):
            imap.append_many("INBOX", [registration(i, tag="pg") for i in range(1, 6)])
            running.wait_for_log("database")
            cpu_before = running.cpu_seconds()
            time.sleep(OUTAGE)  # time enough to move mail, were it to do so
            retries = _retry_delays(running.log())
            cpu = running.cpu_seconds() - cpu_before
            assert running.process.poll() is None, running.log()[-3000:]
            assert imap.count("INBOX") == 5
            assert len(replies(smtp_sink)) == 1
        wait_for_replies(smtp_sink, 6, timeout=60)
        time.sleep(1)
        assert imap.count("INBOX") == 0
    log = running.log()
    assert running.process.returncode == 0, log[-3000:]
    assert "Traceback" not in log
    assert _answered(smtp_sink) == sorted(f"<pg-{i}@example.org>" for i in range(6))
    # Backoff while the database is away, even though IMAP answers every time.
    assert retries == [2**n for n in range(len(retries))] and 2 <= len(retries) <= 5, log[-3000:]
    assert cpu < 1.0
    print(f"\nPostgreSQL down {OUTAGE} s: {len(retries)} attempt(s) waiting {retries} s, {cpu:.2f} s CPU")


def test_after_a_database_restart_the_daemon_takes_its_lock_again(
    postgres_server, imap, smtp_sink, tmp_path, make_config
):
    database_url = postgres_server.create_database()
    config = make_config(imap, smtp_sink, database_url)
    second = [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--once"]
    with daemon(config, tmp_path, database_url) as running:
        with _stopped(postgres_server):
            running.wait_for_log("database")
        imap.append("INBOX", registration(0, tag="pg-lock"))
        wait_for_replies(smtp_sink, 1, timeout=60)  # a pass after the restart: the lock is held again
        refused = subprocess.run(
            second, env=os.environ.copy(), capture_output=True, text=True, timeout=60, check=False
        )
        assert refused.returncode == 2
        assert "another mailflow is already running" in refused.stderr
    assert running.process.returncode == 0, running.log()[-3000:]


def test_a_daemon_whose_lock_was_taken_while_the_database_was_away_stops(
    postgres_server, imap, smtp_sink, tmp_path, make_config
):
    database_url = postgres_server.create_database()
    config = make_config(imap, smtp_sink, database_url)
    mailbox = f"{imap.host}:{imap.port}/{imap.username}/INBOX"
    with daemon(config, tmp_path, database_url) as running:
        with _stopped(postgres_server):
            running.wait_for_log("database")
        sessions = open_database(database_url)
        try:
            with InstanceLock(sessions, mailbox):  # another mailflow, first to the restarted database
                imap.append("INBOX", registration(0, tag="pg-lost"))
                assert wait_until(lambda: running.process.poll() is not None, 60), running.log()[-3000:]
        finally:
            close_database(sessions)
    assert running.process.returncode == 2
    assert "another mailflow took this mailbox and database while the database was away" in running.log()
    assert replies(smtp_sink) == []  # the mail is left for the one that holds the lock
    assert imap.count("INBOX") == 1


# --- SMTP ---------------------------------------------------------------------------------------------------


def _run_at(config: Path, at: dt.datetime) -> None:
    assert main(["run", "--config", str(config), "--once", "--now", at.isoformat()]) == 0


def _reply_row(database_url: str) -> models.OutboxMessage:
    sessions = open_database(database_url)
    try:
        with sessions() as db:
            return db.scalars(
                sa.select(models.OutboxMessage).where(models.OutboxMessage.kind == "register")
            ).one()
    finally:
        close_database(sessions)


def _events(database_url: str, kind: str) -> list[models.Event]:
    sessions = open_database(database_url)
    try:
        with sessions() as db:
            return list(db.scalars(sa.select(models.Event).where(models.Event.kind == kind)))
    finally:
        close_database(sessions)


def _attempts_to(smtp_sink, recipient: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [a.code for a in smtp_sink.attempts if a.recipient == recipient]


@pytest.mark.parametrize("mode", ["4xx", "421"], ids=["451", "421"])
def test_smtp_refusing_for_hours_is_retried_with_growing_delay_then_delivers_once(
    mode, imap, smtp_sink, tmp_path, make_config
):
    database_url = f"sqlite:///{tmp_path}/mailflow.db"
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"})
    mail = registration(0, tag="smtp")
    volunteer = _sender(mail)
    imap.append("INBOX", mail)
    smtp_sink.mode = mode
    code = 451 if mode == "4xx" else 421

    _run_at(config, T0)  # read, store, first attempt
    delays: list[int] = []
    attempted_at = T0
    while attempted_at < T0 + dt.timedelta(hours=5):
        row = _reply_row(database_url)
        assert row.status == "pending"
        delays.append(round((row.next_attempt_at - attempted_at).total_seconds() / 60))
        tried = len(_attempts_to(smtp_sink, volunteer))
        _run_at(
            config, row.next_attempt_at - dt.timedelta(seconds=30)
        )  # not due yet: the server is left alone
        assert len(_attempts_to(smtp_sink, volunteer)) == tried
        attempted_at = row.next_attempt_at
        _run_at(config, attempted_at)
        assert len(_attempts_to(smtp_sink, volunteer)) == tried + 1
    assert _attempts_to(smtp_sink, volunteer) == [code] * (len(delays) + 1)
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]  # minutes: doubling from 1, at most an hour
    assert replies(smtp_sink) == []

    smtp_sink.mode = None  # the server recovers
    _run_at(config, _reply_row(database_url).next_attempt_at)
    _run_at(config, attempted_at + dt.timedelta(hours=3))
    assert [r.rcpt_tos for r in replies(smtp_sink)] == [[volunteer]]
    row = _reply_row(database_url)
    assert (row.status, row.attempts) == ("sent", len(delays) + 2)
    print(
        f"\nSMTP {code} for {(attempted_at - T0).total_seconds() / 3600:.1f} h: {len(delays) + 1} refused "
        f"attempts {delays} min apart, then delivered once"
    )


def test_smtp_550_is_tried_once_marked_failed_and_reported(imap, smtp_sink, tmp_path, make_config):
    database_url = f"sqlite:///{tmp_path}/mailflow.db"
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"})
    mail = registration(0, tag="smtp550")
    mail = mail.replace(_sender(mail).encode(), b"reject5.ine@example.org")
    imap.append("INBOX", mail)

    for later in (dt.timedelta(0), dt.timedelta(hours=1), dt.timedelta(days=2)):
        _run_at(config, T0 + later)
    assert _attempts_to(smtp_sink, "reject5.ine@example.org") == [550]
    assert replies(smtp_sink) == []
    row = _reply_row(database_url)
    assert (row.status, row.attempts) == ("failed", 1)
    failed = _events(database_url, "delivery_failed")
    assert len(failed) == 1 and failed[0].member_id == row.member_id is not None  # listed in the digest
    assert imap.count("INBOX") == 0  # the registration itself was stored and filed


def test_a_reply_the_server_defers_for_five_days_expires_and_is_never_sent(
    imap, smtp_sink, tmp_path, make_config
):
    database_url = f"sqlite:///{tmp_path}/mailflow.db"
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"})
    mail = registration(0, tag="expiry")
    volunteer = _sender(mail)
    imap.append("INBOX", mail)
    smtp_sink.mode = "4xx"

    for later in (
        dt.timedelta(0),
        dt.timedelta(days=1),
        dt.timedelta(days=3),
        dt.timedelta(days=4, hours=23),
    ):
        _run_at(config, T0 + later)
    assert _attempts_to(smtp_sink, volunteer) == [451] * 4
    assert _reply_row(database_url).status == "pending"

    _run_at(config, T0 + dt.timedelta(days=5, minutes=1))
    smtp_sink.mode = None  # the server recovers, too late: a confirmation five days old is stale
    _run_at(config, T0 + dt.timedelta(days=5, hours=2))
    assert _attempts_to(smtp_sink, volunteer) == [451] * 4
    assert replies(smtp_sink) == []
    assert _reply_row(database_url).status == "expired"
    assert len(_events(database_url, "delivery_expired")) == 1


# --- UIDVALIDITY --------------------------------------------------------------------------------------------


def test_signup_folder_recreated_with_a_new_uidvalidity_only_new_mail_is_answered_and_told_once(
    imap, smtp_sink, tmp_path, make_config
):
    database_url = f"sqlite:///{tmp_path}/mailflow.db"
    config = make_config(imap, smtp_sink, database_url, imap={"folder": "signup"})

    def run() -> None:
        assert main(["run", "--config", str(config), "--once"]) == 0

    old = registration(0, tag="uv")  # there before mailflow's first start: never answered
    first, second = registration(1, tag="uv"), registration(2, tag="uv")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    imap.append("signup", old, msg_time=long_ago)
    run()
    imap.append_many("signup", [first, second])
    run()
    assert _answered(smtp_sink) == ["<uv-1@example.org>", "<uv-2@example.org>"]

    client = imap.client()
    before = client.folder_status("signup", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    # The folder recreated (a server migration, say) with the mail it had, the answered mail back in it, and
    # new mail.
    answered = imap.fetch_by_uid("mailflow/processed")
    arrived = {
        uid: data[b"INTERNALDATE"]
        for uid, data in _fetch(client, imap.name("mailflow/processed"), ["INTERNALDATE"]).items()
    }
    client.delete_folder("signup")
    client.create_folder("signup")
    imap.append("signup", old, msg_time=long_ago)
    for uid, raw in answered.items():
        imap.append("signup", raw, msg_time=arrived[uid])
    imap.append_many("signup", [registration(3, tag="uv"), registration(4, tag="uv")])
    assert client.folder_status("signup", ["UIDVALIDITY"])[b"UIDVALIDITY"] != before

    run()
    run()
    imap.append("signup", registration(5, tag="uv"))
    run()
    assert _answered(smtp_sink) == [f"<uv-{n}@example.org>" for n in range(1, 6)]
    assert len(_events(database_url, "uidvalidity_changed")) == 1
    assert imap.fetch_all("signup") == [old]  # left alone; the answered mail went back where it was filed


def _fetch(client, folder: str, items: list[str]) -> dict:  # type: ignore[no-untyped-def]
    client.select_folder(folder, readonly=True)
    try:
        return client.fetch(client.search("ALL"), items)
    finally:
        client.unselect_folder()
