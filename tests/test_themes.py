"""End to end: the group sets the agenda. A member's theme proposal is kept and thanked once, listed by
`mailflow themes` and in the digest; a stranger's waits in review unanswered; a registration that also
proposes is answered once and the theme kept; forgetting the member leaves no proposal behind.

Each pass is `mailflow run --once --now ...` against the real test servers (Dovecot or pymap, aiosmtpd,
SQLite and PostgreSQL); `mailflow themes` runs as a child process, as the coordinator runs it.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import COORDINATOR, SIGNUP_ADDRESS, database

from mailflow.adapters.db import erasure, models
from mailflow.cli import main

pytestmark = pytest.mark.servers

TZ = dt.timezone(dt.timedelta(hours=1))
MEETINGS = [
    {"date": dt.date(2026, 1, 13), "theme": "Dringende medische hulp", "speakers": []},
    {"date": dt.date(2026, 3, 10), "theme": "Toegang tot onderwijs", "speakers": []},
]
ANNA = ("Anna Peeters", "anna.peeters@example.org")
BART = ("Bart Claeys", "bart.claeys@example.org")
ZED = ("Zed Vandamme", "zed@example.org")
PROCESSED, REVIEW = "mailflow/processed", "mailflow/review"
HOUSING = "huisvesting voor gezinnen zonder papieren"
WORK = "arbeidsuitbuiting in de schoonmaak"
SCHOOL = "de rechten van kinderen op school"


def _mail(sender: tuple[str, str], body: str, subject: str = "Leernetwerk") -> bytes:
    message = EmailMessage()
    message["From"] = email.utils.formataddr(sender)
    message["To"] = SIGNUP_ADDRESS
    message["Subject"] = subject
    message["Date"] = "Mon, 15 Dec 2025 06:00:00 +0100"
    message["Message-ID"] = email.utils.make_msgid(domain="example.org")
    message.set_content(body)
    return bytes(message)


class Mailflow:
    """Passes of `mailflow run --once`, a minute apart; each returns the mail the SMTP server received."""

    def __init__(self, config: Path, imap, sink) -> None:
        self.config, self.imap, self.sink, self.seen = config, imap, sink, 0
        self.now = dt.datetime(2025, 12, 15, 7, 0, tzinfo=TZ)

    def send(self, raw: bytes) -> list[EmailMessage]:
        self.imap.append("INBOX", raw)
        return self.run()

    def run(self, at: dt.datetime | None = None) -> list[EmailMessage]:
        self.now = at or self.now + dt.timedelta(minutes=1)
        assert main(["run", "--config", str(self.config), "--once", "--now", self.now.isoformat()]) == 0
        received = [
            email.message_from_bytes(m.data, policy=email.policy.default)
            for m in self.sink.messages[self.seen :]
        ]
        self.seen = len(self.sink.messages)
        return received

    def themes(self, *options: str) -> bytes:
        done = subprocess.run(
            [sys.executable, "-m", "mailflow", "themes", "--config", str(self.config), *options],
            capture_output=True,
            timeout=60,
            check=True,
        )
        return done.stdout


def _answers(received: list[EmailMessage], raw: bytes) -> list[EmailMessage]:
    """The mails that answer this one (In-Reply-To names its Message-ID)."""
    message_id = email.message_from_bytes(raw)["Message-ID"]
    return [m for m in received if m["In-Reply-To"] == message_id]


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def _proposals(database_url: str) -> list[tuple[str | None, str]]:
    with database(database_url) as db:
        rows = db.scalars(sa.select(models.ThemeProposal).order_by(models.ThemeProposal.id)).all()
        return [(p.member.name if p.member else None, p.text) for p in rows]


def _traces(database_url: str, text: str) -> int:
    """Rows that still hold `text`: stored mail, mail sent or queued (the thanks, the digest), proposals."""
    with database(database_url) as db:
        raws = [
            *db.scalars(sa.select(models.InboundMessage.raw)),
            *db.scalars(sa.select(models.OutboxMessage.raw)),
        ]
        texts = list(db.scalars(sa.select(models.ThemeProposal.text)))
    for raw in raws:
        if raw:
            mail = email.message_from_bytes(raw, policy=email.policy.default)
            texts += [part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"]
    return sum(text in t for t in texts)


def _reason_of(database_url: str, raw: bytes) -> str | None:
    message_id = email.message_from_bytes(raw)["Message-ID"]
    with database(database_url) as db:
        row = db.scalars(
            sa.select(models.InboundMessage).where(models.InboundMessage.message_id == message_id)
        )
        return row.one().reason


@pytest.fixture
def mailflow(imap, smtp_sink, database_url, make_config) -> Mailflow:
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)
    return Mailflow(config, imap, smtp_sink)


def test_a_members_proposal_is_kept_thanked_once_listed_and_in_the_digest(mailflow, imap, database_url):
    registration = _mail(
        ANNA, "Dag,\n\nIk schrijf me graag in voor 13 januari.\n\nAnna Peeters\nCAW Oost-Vlaanderen"
    )
    assert len(_answers(mailflow.send(registration), registration)) == 1

    proposal = _mail(
        ANNA,
        f"Dag Hilde,\n\nVoorstel voor een thema: {HOUSING}. Gezinnen vinden geen woning.\n\nGroetjes,\nAnna",
        subject="Idee",
    )
    received = mailflow.send(proposal)
    [thanks] = _answers(received, proposal)
    assert thanks["To"].addresses[0].addr_spec == ANNA[1]
    assert f'"{HOUSING}"' in _text(thanks) and "Bedankt voor je voorstel" in _text(thanks)
    assert thanks["Auto-Submitted"] == "auto-replied"  # a reply like every reply: never answered by robots
    assert _proposals(database_url) == [("Anna Peeters", HOUSING)]
    assert imap.count(PROCESSED) == 2 and imap.count(REVIEW) == 0

    # Thanked once: passes after it, and the same mail seen again, send nothing.
    assert mailflow.run() == []
    imap.append("INBOX", proposal)
    assert _answers(mailflow.run(), proposal) == []
    assert _proposals(database_url) == [("Anna Peeters", HOUSING)]

    # A second proposal, phrased as a question, the next day.
    second = _mail(ANNA, f"Hoi,\n\nKunnen we het eens hebben over {WORK}?\n\nAnna")
    received = mailflow.send(second)
    assert len(_answers(received, second)) == 1
    assert imap.count(REVIEW) == 0  # its question mark asks the coordinator nothing

    listing = mailflow.themes().decode()
    lines = listing.splitlines()
    assert lines[0].split() == ["date", "name", "organisation", "theme"]
    assert WORK in lines[1] and HOUSING in lines[2]  # newest first
    assert "Anna Peeters" in lines[1] and "CAW Oost-Vlaanderen" in lines[1] and "2025-12-15" in lines[1]

    csv = mailflow.themes("--csv")
    assert csv.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, as Excel wants it
    rows = csv[3:].decode("utf-8").split("\r\n")
    assert rows[0] == "date;name;organisation;theme"
    assert rows[1] == f"2025-12-15;Anna Peeters;CAW Oost-Vlaanderen;{WORK}"
    assert rows[2] == f"2025-12-15;Anna Peeters;CAW Oost-Vlaanderen;{HOUSING}"
    assert mailflow.themes("--since", "2025-12-16") == b""  # nothing proposed since then

    # The digest of 08:00 lists both, with who proposed them.
    digests = [
        m
        for m in mailflow.run(dt.datetime(2025, 12, 15, 8, 1, tzinfo=TZ))
        if m["To"].addresses[0].addr_spec == COORDINATOR
    ]
    [digest] = digests
    text = _text(digest)
    assert "Voorgestelde thema's voor volgende bijeenkomsten (2)" in text
    assert f'- Anna Peeters (CAW Oost-Vlaanderen), {ANNA[1]}: "{HOUSING}"' in text
    assert f'"{WORK}"' in text

    # Forgetting Anna leaves no proposal, nor its words in any mail kept, and nothing for `themes` to list.
    assert _traces(database_url, HOUSING) == 5  # the proposal; the thanks and the digest, text and HTML
    assert main(["forget", "--config", str(mailflow.config), ANNA[1]]) == 0
    assert _proposals(database_url) == []
    assert _traces(database_url, HOUSING) == 0
    assert mailflow.themes() == b""


def test_a_strangers_proposal_waits_in_review_unanswered(mailflow, imap, database_url):
    proposal = _mail(ZED, f"Hello,\n\nCould a meeting be about {SCHOOL}?\n\nZed", subject="Idea")
    received = mailflow.send(proposal)
    assert _answers(received, proposal) == []
    assert _proposals(database_url) == []
    assert imap.count(REVIEW) == 1 and imap.count(PROCESSED) == 0
    assert _reason_of(database_url, proposal) == "a theme proposed from an address we hold nobody at: " + (
        "nothing kept, not answered"
    )
    assert mailflow.run() == []

    # The coordinator sees it in the digest, among the mail to review; no proposal is listed.
    [digest] = [
        m
        for m in mailflow.run(dt.datetime(2025, 12, 15, 8, 1, tzinfo=TZ))
        if m["To"].addresses[0].addr_spec == COORDINATOR
    ]
    assert "Idea" in _text(digest) and "Voorgestelde thema's" not in _text(digest)


def test_a_registration_that_also_proposes_is_answered_once_and_keeps_the_theme(mailflow, imap, database_url):
    raw = _mail(
        BART,
        "Beste,\n\nIk schrijf me graag in voor 10 maart. Ik stel ook voor om het eens te hebben over "
        f"{SCHOOL}.\n\nBart Claeys\nVluchtelingenwerk Vlaanderen",
    )
    [confirmation] = _answers(mailflow.send(raw), raw)
    assert "dinsdag 10 maart 2026" in _text(confirmation)  # the registration's answer is the one reply
    assert _proposals(database_url) == [("Bart Claeys", SCHOOL)]
    assert imap.count(PROCESSED) == 1
    assert "Bart Claeys" in mailflow.themes().decode()


def test_deleting_a_member_deletes_their_proposals(database_url):
    """ON DELETE CASCADE, as retention deletes members who left (no ORM relationship involved)."""
    now = dt.datetime(2025, 12, 15, 8, 0, tzinfo=dt.UTC)
    with database(database_url) as db:
        member = models.Member(
            email="an@example.org", name="An", name_key="an", created_at=now, last_heard_at=now
        )
        db.add(member)
        db.add(models.ThemeProposal(member=member, text=HOUSING, proposed_at=now))
        db.commit()
        erasure.delete_members(db, [member.id])
        db.commit()
        assert db.scalar(sa.select(sa.func.count()).select_from(models.ThemeProposal)) == 0
