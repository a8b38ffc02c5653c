"""What the ingest, idle and plans benchmarks share: the mails, the servers, the config, a database filled
with members, and running `mailflow run` as a child whose peak memory is measured.

Not a benchmark itself. The workload is fixed, whatever the day it runs on: the clock is set to
2025-12-15 07:00 in Brussels (before the digest's hour, with no invitation or reminder due yet), and the
mails register for the meeting of 2026-01-13, which has 40 places, so that the places count and the waiting
list are on the path of every mail.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imapclient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import write_config
from servers import Dovecot, Postgres

__all__ = ["Dovecot", "Postgres"]

MAIL = ROOT / "tests" / "mail"
BATCH = 200  # [imap] batch_size, its default: mails fetched, processed and committed together
NOW = "2025-12-15T07:00:00+01:00"
MEETINGS = [
    {
        "date": dt.date(2026, 1, 13),
        "theme": "Dringende medische hulp",
        "speakers": ["Nora Jacobs"],
        "capacity": 40,
    },
    {"date": dt.date(2026, 3, 10), "theme": "Toegang tot onderwijs", "speakers": []},
]


def registrations() -> list[bytes]:
    """The registrations among the sample mails (four name 13 January 2026, one names no day)."""
    labels = json.loads((MAIL / "labels.json").read_text(encoding="utf-8"))
    return [
        (MAIL / name).read_bytes() for name, label in sorted(labels.items()) if label["intent"] == "register"
    ]


def varied(templates: list[bytes], count: int, tag: str = "bench") -> list[bytes]:
    """`count` distinct mails: each template with its own sender and Message-ID, as if from `count`
    volunteers."""
    mails = []
    for i in range(count):
        raw = templates[i % len(templates)]
        raw = re.sub(rb"(?im)^(Message-ID:\s*<)", rb"\g<1>%s%d." % (tag.encode(), i), raw, count=1)
        raw = re.sub(rb"(?im)^(From:.*<)([^@>]+)@", rb"\g<1>\g<2>.%s%d@" % (tag.encode(), i), raw, count=1)
        mails.append(raw)
    return mails


def load(server: Dovecot, folder: str, mails: list[bytes]) -> None:
    """APPEND the mails to a (new) folder."""
    with imapclient.IMAPClient(server.host, port=server.port, ssl=False) as client:
        client.login(server.username, server.password)
        if not client.folder_exists(folder):
            client.create_folder(folder)
        for start in range(0, len(mails), BATCH):
            client.multiappend(folder, mails[start : start + BATCH])


def floor(server: Dovecot, folder: str) -> float:
    """Seconds for the least any reader must do: a bare UID FETCH BODY.PEEK[] of the folder in batches, and
    the standard library's parse of each mail."""
    started = time.perf_counter()
    with imapclient.IMAPClient(server.host, port=server.port, ssl=False) as client:
        client.login(server.username, server.password)
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        for start in range(0, len(uids), BATCH):
            for data in client.fetch(uids[start : start + BATCH], ["BODY.PEEK[]"]).values():
                email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
    return time.perf_counter() - started


class DurablePostgres(Postgres):
    """The test cluster, but with fsync and synchronous commits on, as a production server runs."""

    def start(self) -> DurablePostgres:
        if not self._initialised:
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
            self._initialised = True
        options = f"-p {self.port} -k {self.dir} -c listen_addresses={self.host}"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start", "-o", options
        )
        return self


def bench_config(workdir: Path, server: Dovecot, sink: Any, url: str, folder: str) -> Path:
    return write_config(
        workdir,
        server,
        sink,
        url,
        imap={"folder": folder, "since": "2000-01-01", "batch_size": BATCH},
        # Every mail answered, as the rate is about: the hourly cap would hold all but 60.
        limits={"replies_per_hour": 1_000_000},
        meetings=MEETINGS,
    )


@dataclass
class Run:
    """One child process: wall time, CPU time (user + system) and peak memory."""

    seconds: float
    cpu_seconds: float
    peak_mb: float
    returncode: int


def run_child(command: list[str], *, timeout: float | None = None, env: dict[str, str] | None = None) -> Run:
    """Run a command to its end: wall time, CPU time and peak memory.

    The peak is the child's VmHWM, read from /proc while it runs: the rusage's ru_maxrss would count the
    memory of this process too, which a child starts out sharing before it execs (Linux keeps the higher
    figure across execve)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env or os.environ.copy(), stderr=subprocess.DEVNULL)
    deadline = None if timeout is None else started + timeout
    peak_kb = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        peak_kb = max(peak_kb, _high_water_kb(process.pid))
        if deadline is not None and time.perf_counter() > deadline:
            process.kill()
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(elapsed, usage.ru_utime + usage.ru_stime, peak_kb / 1024, process.returncode)


def _high_water_kb(pid: int) -> int:
    """A running process's peak resident memory (VmHWM), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def mailflow_once(config: Path, python: str = sys.executable) -> Run:
    """`mailflow run --once` at the bench's moment: read and answer the folder, then every job once. `python`
    is the interpreter whose mailflow runs (another venv's, to compare versions); -P keeps the current folder
    off its path, so that it runs its installed mailflow."""
    command = [python, "-P", "-m", "mailflow", "run", "--config", str(config), "--once", "--now", NOW]
    run = run_child(command)
    if run.returncode != 0:
        raise SystemExit(f"mailflow run --once failed with {run.returncode}")
    return run


def fill_members(url: str, count: int) -> None:
    """A database that has served `count` members: each with a registration (the first meeting's 40 places
    taken and 200 waiting, the others registered for the second), their mail recorded, and a reply of ~6 KB
    sent in the last day.
    A first pass must have written the meetings down."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from mailflow.adapters.db import models

    now = dt.datetime.fromisoformat(NOW).astimezone(dt.UTC)
    # Not open_database: it would migrate, and a release compared with (--python) keeps its own schema.
    engine = sa.create_engine(url)
    try:
        with Session(engine) as db, db.begin():
            first, second = (
                db.scalar(sa.select(models.Meeting.id).where(models.Meeting.date == meeting["date"]))
                for meeting in MEETINGS
            )
            assert first and second, "run a first pass, which writes the meetings down, before filling"
            members = [
                {
                    "email": f"lid.{i}@members.example.org",
                    "name": f"Lid {i}",
                    "name_key": f"{i} lid",
                    "language": "nl",
                    "status": "active",
                    "unsure": False,
                    "undeliverable": False,
                    "created_at": now - dt.timedelta(days=30),
                    "last_heard_at": now - dt.timedelta(hours=20),
                }
                for i in range(count)
            ]
            db.execute(sa.insert(models.Member), members)
            ids = list(db.scalars(sa.select(models.Member.id).order_by(models.Member.id)))[-count:]
            db.execute(
                sa.insert(models.Registration),
                [
                    {
                        "member_id": member_id,
                        "meeting_id": first if i < 240 else second,
                        "status": "registered" if i < 40 or i >= 240 else "waiting",
                        "created_at": now - dt.timedelta(hours=20),
                        "updated_at": now - dt.timedelta(hours=20, seconds=-i),
                    }
                    for i, member_id in enumerate(ids)
                ],
            )
            body = b"x" * 6000  # the size of a reply with its HTML and .ics
            db.execute(
                sa.insert(models.InboundMessage),
                [
                    {
                        "mailbox": "earlier",
                        "uidvalidity": 1,
                        "uid": i + 1,
                        "sha256": f"{i:064d}",
                        "size": 3000,
                        "status": "processed",
                        "intent": "register",
                        "attempts": 0,
                        "moved": True,
                        "received_at": now - dt.timedelta(hours=20),
                        "processed_at": now - dt.timedelta(hours=20),
                        "sender": f"lid.{i}@members.example.org",
                    }
                    for i in range(count)
                ],
            )
            db.execute(
                sa.insert(models.OutboxMessage),
                [
                    {
                        "key": f"earlier:{i}",
                        "kind": "register",
                        "recipient": f"lid.{i}@members.example.org",
                        "message_id": f"<earlier.{i}@in-gent.example>",
                        "raw": body,
                        "status": "sent",
                        "attempts": 1,
                        "next_attempt_at": now - dt.timedelta(hours=20),
                        "created_at": now - dt.timedelta(hours=20, seconds=-i),
                        "sent_at": now - dt.timedelta(hours=20),
                        "member_id": member_id,
                        "meeting_id": first if i < 240 else second,
                    }
                    for i, member_id in enumerate(ids)
                ],
            )
    finally:
        engine.dispose()
    # As a database that has served them a while: SQLite's log copied into the file (else the pass measured
    # would do it), PostgreSQL's statistics gathered (as autovacuum would have).
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
