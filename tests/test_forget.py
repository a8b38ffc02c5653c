"""Forgetting a person: `mailflow forget ADDRESS` and the erase intent leave nothing of them in the database
(rows, and the SQLite file's bytes), in the mailbox's folders, or in the log of the whole run (at DEBUG
level).

Real Dovecot, aiosmtpd, SQLite and PostgreSQL; mailflow runs as a child process, as the admin runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import ImapBox, wait_for_first_pass

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import models
from mailflow.adapters.imap import Inbox
from mailflow.usecases import privacy

NOW = "2025-12-15T09:00:00+01:00"
LATER = "2025-12-16T09:00:00+01:00"
MEETINGS = [{"date": "2026-01-13", "theme": "Dringende medische hulp", "speakers": []}]
FOLDERS = ("INBOX", "mailflow/processed", "mailflow/review")

ADDRESS = "wannes.vercruysse@voorbeeld.example"
TRACES = re.compile(rb"vercruysse|wannes", re.IGNORECASE)  # name and address, in any case


def _mail(sender: str, name: str, subject: str, body: str) -> bytes:
    return (
        f"From: {name} <{sender}>\r\nTo: leernetwerk@in-gent.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{time.time_ns()}@voorbeeld.example>\r\nDate: Mon, 15 Dec 2025 08:00:00 +0100\r\n"
        f"\r\nDag,\r\n\r\n{body}\r\n\r\n{name}\r\n"
    ).encode()


REGISTRATION = _mail(
    ADDRESS,
    "Wannes Vercruysse",
    "Inschrijving",
    "Ik schrijf me graag in voor het leernetwerk.\r\n\r\nWannes Vercruysse\r\nVluchtelingenwerk Kortrijk",
)
QUESTION = _mail(ADDRESS, "Wannes Vercruysse", "Vraag", "Is er parking in de buurt van de campus?")
ERASE = _mail(ADDRESS, "Wannes Vercruysse", "Mijn gegevens", "Gelieve al mijn gegevens te verwijderen.")
SOMEONE_ELSE = _mail(
    "lies.maes@voorbeeld.example", "Lies Maes", "Inschrijving", "Ik schrijf me graag in voor het leernetwerk."
)


def _mailflow(*args: str) -> subprocess.CompletedProcess[str]:
    """`mailflow -v ...` as the admin runs it, at DEBUG level."""
    return subprocess.run(
        [sys.executable, "-m", "mailflow", "-v", *args],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _run(config: Path, now: str, log: list[str]) -> None:
    done = _mailflow("run", "--config", str(config), "--once", "--now", now)
    log.append(done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr


def _traces_in_database(database_url: str) -> list[str]:
    """Every row of every table that still names the person; for SQLite also the file's (and log's) bytes."""
    found = []
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        for table in models.Base.metadata.sorted_tables:
            found += [
                f"{table.name}: {row!r}"
                for row in connection.execute(sa.select(table))
                if TRACES.search(repr(row).encode())
            ]
    engine.dispose()
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for file in (path, Path(f"{path}-wal")):
            if file.exists() and (match := TRACES.search(file.read_bytes())):
                found.append(f"{file.name} bytes: ...{match.group()!r}...")
    return found


def _traces_in_log(log: list[str]) -> list[str]:
    return [line for text in log for line in text.splitlines() if TRACES.search(line.encode())]


def _traces_in_mailbox(imap: ImapBox) -> list[str]:
    return [
        f"{folder} uid {uid}"
        for folder in FOLDERS
        for uid, raw in imap.fetch_by_uid(folder).items()
        if TRACES.search(raw)
    ]


@pytest.fixture
def config(imap, smtp_sink, database_url, make_config) -> Path:
    return make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)


def test_forget_leaves_nothing_in_the_database_the_mailbox_or_the_log(config, imap, smtp_sink, database_url):
    log: list[str] = []
    for raw in (REGISTRATION, QUESTION, SOMEONE_ELSE):
        imap.append("INBOX", raw)
    _run(config, NOW, log)
    assert {m.rcpt_tos[0] for m in smtp_sink.wait_for(2)} >= {ADDRESS, "lies.maes@voorbeeld.example"}
    assert (
        _traces_in_database(database_url) and len(_traces_in_mailbox(imap)) == 2
    )  # there was something to find

    done = _mailflow("forget", "--config", str(config), ADDRESS)
    log.append(done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr
    assert "forgot 1 member(s)" in done.stdout
    assert "deleted 2 mail(s) naming them from mailflow/processed and mailflow/review" in done.stdout

    assert _traces_in_database(database_url) == []
    assert _traces_in_mailbox(imap) == []
    assert imap.count("mailflow/processed") == 1  # Lies's registration is still there
    assert _traces_in_log(log) == []
    _run(config, LATER, log)  # and nothing of them comes back on the next pass
    assert _traces_in_database(database_url) == []


def test_an_erase_request_leaves_nothing_but_a_count(config, imap, smtp_sink, database_url):
    log: list[str] = []
    imap.append("INBOX", REGISTRATION)
    imap.append("INBOX", SOMEONE_ELSE)
    _run(config, NOW, log)
    imap.append("INBOX", ERASE)
    _run(config, LATER, log)

    assert [m.rcpt_tos for m in smtp_sink.messages].count(
        [ADDRESS]
    ) == 2  # welcome, then the erase confirmation
    assert _traces_in_database(database_url) == []
    # Not even the erase mail itself is filed: the inbox is empty and only Lies's mail is in the processed
    # folder.
    assert _traces_in_mailbox(imap) == []
    assert [imap.count(folder) for folder in FOLDERS] == [0, 1, 0]
    assert _traces_in_log(log) == []
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(
            sa.text("select detail from events where kind = 'erased'")
        ).scalars().all() == ["1 member(s)"]
    engine.dispose()


def test_forget_says_what_remains_when_the_mailbox_is_unreachable(
    tmp_path, own_imap_server, smtp_sink, make_config
):
    box = ImapBox(own_imap_server)
    database_url = f"sqlite:///{tmp_path}/mailflow.db"
    config = make_config(
        own_imap_server, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS
    )
    try:
        box.append("INBOX", REGISTRATION)
        _run(config, NOW, [])
        own_imap_server.stop()
        done = _mailflow("forget", "--config", str(config), ADDRESS)
        assert done.returncode == 1
        assert "forgot 1 member(s)" in done.stdout  # the database part is done all the same
        assert "copies of their mail in mailflow/processed and mailflow/review remain" in done.stdout
        assert "run `mailflow forget` again" in done.stdout
        assert _traces_in_database(database_url) == []

        own_imap_server.start()
        again = _mailflow("forget", "--config", str(config), ADDRESS)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "deleted 1 mail(s) naming them" in again.stdout
        assert _traces_in_mailbox(box) == []
    finally:
        box.close()


def test_only_mail_naming_exactly_that_address_is_deleted(tmp_path, imap, smtp_sink, make_config):
    config = load_config(make_config(imap, smtp_sink, f"sqlite:///{tmp_path}/m.db"))
    imap.append("mailflow/processed", REGISTRATION)
    imap.append(
        "mailflow/processed",
        _mail(
            "lies.maes@voorbeeld.example",
            "Lies Maes",
            "Inschrijving",
            f"Mijn collega ({ADDRESS}) en ik schrijven ons in.",
        ),
    )
    neighbour = imap.append(
        "mailflow/processed", _mail(f"j.{ADDRESS}", "Jef Claes", "Inschrijving", "Ik schrijf me in.")
    )
    with Inbox(config.imap) as inbox:
        assert privacy.forget_copies(inbox, ADDRESS) == 2
    assert sorted(imap.fetch_by_uid("mailflow/processed")) == [
        neighbour
    ]  # theirs and the colleague's are gone


@pytest.mark.servers  # a `mailflow run` daemon
def test_forget_while_the_daemon_runs_leaves_no_copy_in_the_write_ahead_log(
    tmp_path, imap, smtp_sink, make_config
):
    # The daemon keeps the SQLite file open, so its -wal file, which holds earlier versions of changed pages,
    # is not removed when `forget` exits: forget must empty it itself.
    database_url = f"sqlite:///{tmp_path}/mailflow.db"
    config = make_config(imap, smtp_sink, database_url, imap={"poll_interval": 1}, meetings=MEETINGS)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--now", NOW],
        env=os.environ.copy(),
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_first_pass(database_url)  # past its first look at the mailbox: what arrives now is new mail
        imap.append("INBOX", REGISTRATION)
        smtp_sink.wait_for(1, timeout=30)
        assert _traces_in_database(database_url)
        done = _mailflow("forget", "--config", str(config), ADDRESS)
        assert done.returncode == 0, done.stderr
        assert daemon.poll() is None
        assert _traces_in_database(database_url) == []
    finally:
        daemon.terminate()
        daemon.wait(timeout=15)
