"""Sending benchmark: what each way of sending the outbox costs per mail.

    python bench/sending.py [--count 1000] [--databases sqlite,postgresql]

The "sent" mark, on N outbox rows of ~6 KB, each committed on its own (the crash rule: a kill re-sends at
most the one mail in flight): (1) the Session's flush and a commit that waits for the disk, as mailflow 0.1
did; (2) one UPDATE on a connection and a commit that waits; (3) one UPDATE and a commit that does not wait
(delivery.commits_not_awaited, what mailflow does now: safe from mailflow's own crash; a power cut may cost a
mail sent twice). SQLite in WAL mode, PostgreSQL with fsync on. Then the SMTP side, against an aiosmtpd sink
in a process of its own: N mails on one connection (what a round does), and a connection per mail.
Prints wall-clock and CPU milliseconds per mail.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import sqlalchemy as sa
from servers import postgres_bindir
from workload import DurablePostgres

from mailflow.adapters.db import delivery, models
from mailflow.adapters.db.engine import close_database, open_database
from mailflow.testing.servers import HOST, free_port

NOW = dt.datetime(2025, 12, 15, 6, 0, tzinfo=dt.UTC)
# About the size of a reply with its HTML and .ics, in lines as a mail has them.
RAW = b"Subject: Re: Inschrijving\r\nMIME-Version: 1.0\r\n\r\n" + b"".join(
    b"x" * 74 + b"\r\n" for _ in range(80)
)


def timed(work: Callable[[], object], count: int) -> tuple[float, float]:
    started, started_cpu = time.perf_counter(), time.process_time()
    work()
    return 1000 * (time.perf_counter() - started) / count, 1000 * (time.process_time() - started_cpu) / count


def fill(url: str, count: int) -> None:
    sessions = open_database(url)
    try:
        with sessions.begin() as db:
            db.execute(
                sa.insert(models.OutboxMessage),
                [
                    {
                        "key": f"bench:{i}",
                        "kind": "register",
                        "recipient": f"volunteer{i}@example.org",
                        "message_id": f"<bench{i}@in-gent.example>",
                        "raw": RAW,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": NOW,
                        "created_at": NOW,
                    }
                    for i in range(count)
                ],
            )
    finally:
        close_database(sessions)


def orm_synced(url: str, count: int) -> tuple[float, float]:
    sessions = open_database(url)
    try:
        with sessions() as db:
            rows = list(db.scalars(sa.select(models.OutboxMessage)))
            db.commit()

            def mark() -> None:
                for row in rows:
                    row.attempts += 1
                    row.status, row.sent_at = "sent", NOW
                    db.commit()

            return timed(mark, count)
    finally:
        close_database(sessions)


def update_synced(url: str, count: int) -> tuple[float, float]:
    sessions = open_database(url)
    try:
        with sessions.kw["bind"].connect() as connection:
            ids = list(connection.scalars(sa.select(models.OutboxMessage.id)))
            connection.rollback()
            return timed(lambda: [delivery.mark_sent(connection, i, NOW, 1) for i in ids], count)
    finally:
        close_database(sessions)


def update_not_awaited(url: str, count: int) -> tuple[float, float]:
    sessions = open_database(url)
    try:
        with delivery.commits_not_awaited(sessions) as connection:
            ids = list(connection.scalars(sa.select(models.OutboxMessage.id)))
            connection.rollback()
            return timed(lambda: [delivery.mark_sent(connection, i, NOW, 1) for i in ids], count)
    finally:
        close_database(sessions)


@contextlib.contextmanager
def sink_process() -> Iterator[int]:
    """An aiosmtpd sink in a process of its own (in this one it would share the interpreter's lock)."""
    port = free_port()
    code = (
        "import time; from mailflow.testing.servers import SmtpSink\n"
        f"sink = SmtpSink(port={port}).start()\n"
        "while True: time.sleep(60); sink.clear()\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                smtplib.SMTP(HOST, port, timeout=5).quit()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        process.kill()
        process.wait()


def smtp_one_connection(port: int, count: int) -> tuple[float, float]:
    def send() -> None:
        with smtplib.SMTP(HOST, port, timeout=30) as smtp:
            for i in range(count):
                smtp.sendmail("leernetwerk@in-gent.example", [f"volunteer{i}@example.org"], RAW)

    return timed(send, count)


def smtp_connection_per_mail(port: int, count: int) -> tuple[float, float]:
    def send() -> None:
        for i in range(count):
            with smtplib.SMTP(HOST, port, timeout=30) as smtp:
                smtp.sendmail("leernetwerk@in-gent.example", [f"volunteer{i}@example.org"], RAW)

    return timed(send, count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    databases = [d for d in args.databases.split(",") if d]
    if "postgresql" in databases and postgres_bindir() is None:
        databases.remove("postgresql")
    marks = [
        ("Session flush, commit waits for the disk", orm_synced),
        ("one UPDATE, commit waits for the disk", update_synced),
        ("one UPDATE, commit not awaited (now)", update_not_awaited),
    ]
    print(f"{'':<52}{'wall ms':>9}{'CPU ms':>9}  per mail")
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        pg = stack.enter_context(DurablePostgres()) if "postgresql" in databases else None
        for database in databases:
            for number, (title, mark) in enumerate(marks):
                if database == "sqlite":
                    url = f"sqlite:///{workdir}/marks{number}.db"
                else:
                    assert pg is not None
                    url = pg.create_database()
                fill(url, args.count)
                wall, cpu = mark(url, args.count)
                print(f"{database + ': ' + title:<52}{wall:>9.3f}{cpu:>9.3f}", flush=True)
        port = stack.enter_context(sink_process())
        for title, send in (
            ("SMTP: one connection for the round (now)", smtp_one_connection),
            ("SMTP: a connection per mail", smtp_connection_per_mail),
        ):
            wall, cpu = send(port, args.count)
            print(f"{title:<52}{wall:>9.3f}{cpu:>9.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
