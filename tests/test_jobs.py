"""End to end: mails APPENDed to a real IMAP server, one pass of mailflow, replies caught by a real SMTP
server.

Runs on SQLite and PostgreSQL, against Dovecot (or pymap where Dovecot is not installed).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import database

from mailflow.adapters.db import models
from mailflow.cli import main

MAIL = Path(__file__).parent / "mail"
LABELS = json.loads((MAIL / "labels.json").read_text(encoding="utf-8"))
REGISTRATIONS = sorted(name for name, label in LABELS.items() if label["intent"] == "register")
UNANSWERED = sorted(name for name, label in LABELS.items() if label["intent"] in ("auto_reply", "bounce"))

# The calendar the sample mails know (they were written in the winter of 2025-26).
MEETINGS = [
    {"date": dt.date(2026, 1, 13), "theme": "Dringende medische hulp", "speakers": ["Nora Jacobs"]},
    {"date": dt.date(2026, 3, 10), "theme": "Toegang tot onderwijs", "speakers": []},
    {"date": dt.date(2026, 5, 12), "theme": "Juridische bijstand", "speakers": []},
]
NOW = "2025-12-15T07:00:00+01:00"  # before the digest's 08:00: a pass sends replies only
LATER = "2025-12-15T07:10:00+01:00"


def _raw(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def _header(raw: bytes, name: str) -> str:
    """A header exactly as it stands in the bytes, unfolded but not decoded."""
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    for line in head.split(b"\r\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode("ascii")
    raise AssertionError(f"no {name} header")


@pytest.fixture
def config_path(imap, smtp_sink, database_url, make_config) -> Path:
    return make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)


def _run_once(config_path: Path, now: str = NOW) -> int:
    return main(["run", "--config", str(config_path), "--once", "--now", now])


def test_one_pass_registers_answers_and_files_every_mail(config_path, imap, smtp_sink, database_url):
    for name in REGISTRATIONS + UNANSWERED:
        imap.append("INBOX", _raw(name))

    assert _run_once(config_path) == 0

    # Every registration stored, with the name the mail gives.
    with database(database_url) as db:
        members = db.scalars(sa.select(models.Member)).all()
        names = sorted(m.name for m in members)
        expected = sorted(p["name"] for name in REGISTRATIONS for p in LABELS[name]["people"])
        assert names == expected
        assert all(m.status == "active" for m in members)
        # The next meeting after NOW is 13 January: everyone is expected there.
        attendance = db.scalars(sa.select(models.Registration)).all()
        assert {a.meeting.date for a in attendance} == {dt.date(2026, 1, 13)}
        assert len(attendance) == len(members)

    # One reply per registration, none to auto-replies and bounces.
    replies = smtp_sink.messages
    assert len(replies) == len(REGISTRATIONS)
    by_recipient = {r.rcpt_tos[0]: r for r in replies}
    assert all(len(r.rcpt_tos) == 1 for r in replies)
    for name in REGISTRATIONS:
        original = _raw(name)
        sender = (
            email.message_from_bytes(original, policy=email.policy.default)["From"].addresses[0].addr_spec
        )
        received = by_recipient[sender]
        reply = email.message_from_bytes(received.data, policy=email.policy.default)
        assert received.mail_from == "leernetwerk@in-gent.example"
        assert reply["To"].addresses[0].addr_spec == sender
        assert reply["Auto-Submitted"] == "auto-replied"
        assert reply["Subject"].endswith(" - Leernetwerk")  # the outcome first, then the network
        # Threading: the Message-ID we answer appears byte for byte (never folded into an encoded-word).
        original_id = _header(original, "Message-ID")
        assert _header(received.data, "In-Reply-To") == original_id
        assert original_id in _header(received.data, "References").split()
        assert reply["Message-ID"].endswith("@in-gent.example>")
        text = reply.get_body(preferencelist=("plain",)).get_content()
        for person in LABELS[name]["people"]:
            assert person["name"] in text
        language = LABELS[name]["language"]
        long_date = {
            "nl": "dinsdag 13 januari 2026",
            "fr": "mardi 13 janvier 2026",
            "en": "Tuesday 13 January 2026",
        }
        assert long_date[language] in text
        assert {"nl": "19:30", "fr": "19h30", "en": "19:30"}[language] in text
        ics = [part for part in reply.iter_attachments() if part.get_content_type() == "text/calendar"]
        assert len(ics) == 1

    # Every mail left the inbox for the processed folder.
    assert imap.count("INBOX") == 0
    assert imap.count("mailflow/processed") == len(REGISTRATIONS) + len(UNANSWERED)

    # A second pass finds nothing new and sends nothing.
    smtp_sink.clear()
    assert _run_once(config_path) == 0
    assert smtp_sink.messages == []


def test_the_same_mail_appended_twice_is_answered_once(config_path, imap, smtp_sink):
    name = REGISTRATIONS[0]
    imap.append("INBOX", _raw(name))
    assert _run_once(config_path) == 0
    imap.append("INBOX", _raw(name))  # a new UID, the same bytes
    assert _run_once(config_path) == 0
    assert len(smtp_sink.messages) == 1
    assert imap.count("INBOX") == 0


def test_first_start_leaves_old_mail_alone(imap, smtp_sink, database_url, make_config):
    config_path = make_config(imap, smtp_sink, database_url, meetings=MEETINGS)
    old = REGISTRATIONS[0]
    imap.append("INBOX", _raw(old))  # was there before mailflow started
    assert _run_once(config_path) == 0
    assert smtp_sink.messages == []
    assert imap.count("INBOX") == 1

    new = REGISTRATIONS[1]
    imap.append("INBOX", _raw(new))
    assert _run_once(config_path) == 0
    assert len(smtp_sink.messages) == 1
    assert imap.count("INBOX") == 1  # the old mail is still where it was


def _black_hole() -> socket.socket:
    """A port that accepts TCP connections but never says a word: an SMTP client waits there for the
    greeting."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener


@pytest.mark.servers  # a `mailflow run` process
def test_killed_between_commit_and_send_answers_exactly_once(
    tmp_path, imap, smtp_sink, database_url, make_config
):
    names = REGISTRATIONS[:2]
    for name in names:
        imap.append("INBOX", _raw(name))
    hole = _black_hole()
    (tmp_path / "stuck").mkdir()
    stuck = make_config(
        imap,
        smtp_sink,
        database_url,
        directory=tmp_path / "stuck",
        imap={"since": "2000-01-01"},
        smtp={"port": hole.getsockname()[1]},
        meetings=MEETINGS,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "mailflow", "run", "--config", str(stuck), "--once", "--now", NOW],
        env=os.environ.copy(),
        stderr=subprocess.PIPE,
    )
    try:
        # Wait until the replies are committed in the outbox; the process is then stuck waiting for SMTP.
        deadline = time.monotonic() + 60
        pending = 0
        while time.monotonic() < deadline and pending < len(names):
            time.sleep(0.2)
            try:
                with database(database_url) as db:
                    pending = db.scalar(sa.select(sa.func.count()).select_from(models.OutboxMessage)) or 0
            except Exception:  # noqa: BLE001 - the schema may not exist yet
                pending = 0
        assert pending == len(names), "the replies were never committed"
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()
        hole.close()
    assert smtp_sink.messages == []

    # Restarted with a working SMTP server: every reply goes out, once.
    working = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)
    assert _run_once(working, LATER) == 0
    assert _run_once(working, LATER) == 0
    assert sorted(r.rcpt_tos[0] for r in smtp_sink.messages) == sorted(
        email.message_from_bytes(_raw(n), policy=email.policy.default)["From"].addresses[0].addr_spec
        for n in names
    )
    assert imap.count("INBOX") == 0
