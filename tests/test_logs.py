"""A whole run's log, at DEBUG level, carries UIDs, Message-IDs and counts, and never a name, an address, a
subject or a line of a mail: every sample mail read and answered, a question sent to review, an erase request,
`forget`, and the retention job a year later, against Dovecot, aiosmtpd and SQLite.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import json
import os
import re
import subprocess
import sys
from pathlib import Path

MAIL = Path(__file__).parent / "mail"
LABELS = json.loads((MAIL / "labels.json").read_text(encoding="utf-8"))
CORPUS = {name: (MAIL / name).read_bytes() for name in sorted(LABELS)}
OURS = "in-gent.example"
MEETINGS = [{"date": "2026-01-13", "theme": "Dringende medische hulp", "speakers": []}]


def _invented(sender: str, name: str, subject: str, body: str) -> bytes:
    return (
        f"From: {name} <{sender}>\r\nTo: leernetwerk@{OURS}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-').lower()}-1@voorbeeld.example>\r\n"
        f"Date: Tue, 16 Dec 2025 08:00:00 +0100\r\n\r\nDag,\r\n\r\n{body}\r\n\r\n{name}\r\n"
    ).encode()


QUESTION = _invented(
    "hanne.wuyts@voorbeeld.example",
    "Hanne Wuyts",
    "Parking aan de campus",
    "Is er parking in de buurt van de campus Sint-Annaplein?",
)
ERASE = _invented(
    "griet.bauwens@gmail.com",
    "Griet Bauwens",
    "Mijn gegevens",
    "Gelieve al mijn gegevens uit jullie bestanden te verwijderen.",
)
FORGOTTEN = "dawit.haile88@gmail.com"


def personal_data(raw: bytes, names: list[str]) -> set[str]:
    """What a log must never show of one mail: its addresses (not Message-IDs, not ours), the people's names,
    the subject and every line of its text."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    ids = " ".join(str(message.get(h, "")) for h in ("Message-ID", "In-Reply-To", "References")).lower()
    found = {a.lower() for a in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", raw.decode("utf-8", "replace"))}
    secret = {a for a in found if not a.endswith("@" + OURS) and a not in ids}
    for header in ("From", "To", "Cc", "Reply-To"):
        secret |= {name for name, _ in email.utils.getaddresses(message.get_all(header, [])) if name}
    secret |= set(names)
    if message["Subject"]:
        secret.add(str(message["Subject"]).strip())
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            secret |= {line.strip() for line in part.get_content().splitlines() if len(line.strip()) >= 20}
    return {s for s in secret if len(s) >= 4}


def _mailflow(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mailflow", "-v", *args],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_a_whole_run_logs_no_personal_data(tmp_path, imap, smtp_sink, make_config):
    config = str(
        make_config(
            imap,
            smtp_sink,
            f"sqlite:///{tmp_path}/mailflow.db",
            imap={"since": "2000-01-01"},
            meetings=MEETINGS,
        )
    )
    for raw in [*CORPUS.values(), QUESTION]:
        imap.append("INBOX", raw)
    log = _mailflow("run", "--config", config, "--once", "--now", "2025-12-15T09:00:00+01:00")
    imap.append("INBOX", ERASE)
    log += _mailflow("run", "--config", config, "--once", "--now", "2025-12-16T09:00:00+01:00")
    log += _mailflow("forget", "--config", config, FORGOTTEN)
    log += _mailflow("run", "--config", config, "--once", "--now", "2027-01-16T09:00:00+01:00")

    # The run did its work, and said so in UIDs and counts...
    registrations = sum(label["intent"] == "register" for label in LABELS.values())
    to_people = [m for m in smtp_sink.messages if m.rcpt_tos != [f"coordinator@{OURS}"]]
    subjects = [
        str(email.message_from_bytes(m.data, policy=email.policy.default)["Subject"]) for m in to_people
    ]
    acknowledged = sum(subject.startswith("Vraag doorgegeven") for subject in subjects)
    assert acknowledged >= 1  # the question, passed on to the coordinator
    assert len(to_people) == registrations + acknowledged + 1  # and the erase confirmation
    assert "uid=" in log and "inbox: " in log and "outbox id=" in log
    assert "erase: 1 request(s) finished" in log and "retention: " in log and "forgot 1 member(s)" in log
    # ...and never in anything of the mails.
    never = set().union(
        *(personal_data(raw, [p["name"] for p in LABELS[name]["people"]]) for name, raw in CORPUS.items()),
        personal_data(QUESTION, []),
        personal_data(ERASE, []),
    )
    assert len(never) > 50
    shown = sorted(s for s in never if s.lower() in log.lower())
    assert shown == [], "\n".join(
        line for line in log.splitlines() if any(s.lower() in line.lower() for s in shown)
    )
