"""The follow-up the day after a meeting: the meeting's product (a text or link and a file) and the next
meeting, once to each address of those who came (once recorded), else of those registered.

End to end with `mailflow run --once --now ...` against Dovecot (or pymap), aiosmtpd, SQLite and PostgreSQL;
the rules at their edges in-process on SQLite (one mail per address, who gets none, the week it may go).
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import email.utils
import io
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import COORDINATOR, EXAMPLE_CONFIG, database

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import agenda, models, queries
from mailflow.cli import main
from mailflow.core.vocabulary import EventKind, MailKind, MemberStatus, OutboxStatus, RegistrationStatus
from mailflow.usecases import followups
from mailflow.usecases.context import build_app
from mailflow.usecases.meeting_changes import sync_meetings

MARCH = dt.date(2026, 3, 10)  # a Tuesday; the follow-up falls due on Wednesday 11 March at 10:00 (CET)
MAY = dt.date(2026, 5, 12)
LINK = "https://in-gent.example/leernetwerk/verslag-maart"
PDF = b"%PDF-1.4\n% het verslag van maart\n" + bytes(range(256)) * 40

ANNA = ("Anna Peeters", "anna.peeters@example.org", "Vluchtelingenwerk Vlaanderen")
BART = ("Bart Claes", "bart.claes@example.org", "CAW Oost-Vlaanderen")
CHLOE = ("Chloé Dubois", "chloe.dubois@example.org", "Caritas International")


def meetings(**followup: str) -> list[dict[str, object]]:
    return [
        {"date": MARCH, "theme": "Toegang tot onderwijs", "speakers": [], **followup},
        {"date": MAY, "theme": "Juridische bijstand", "speakers": []},
    ]


def _mail(person: tuple[str, str, str], subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"] = email.utils.formataddr((person[0], person[1]))
    message["To"] = "leernetwerk@in-gent.example"
    message["Subject"] = subject
    message["Date"] = "Sun, 01 Mar 2026 10:00:00 +0100"
    message["Message-ID"] = email.utils.make_msgid(domain="example.org")
    message.set_content(body)
    return bytes(message)


def registration(person: tuple[str, str, str]) -> bytes:
    return _mail(
        person,
        "Inschrijving",
        "Beste,\n\nGraag schrijf ik me in voor de volgende bijeenkomst van het leernetwerk.\n\n"
        f"Met vriendelijke groeten,\n{person[0]}\n{person[2]}\n",
    )


def cancellation(person: tuple[str, str, str]) -> bytes:
    return _mail(
        person,
        "Afmelding",
        f"Beste,\n\nIk kan helaas niet komen naar de volgende bijeenkomst.\n\n{person[0]}\n",
    )


class Passes:
    """`mailflow run --once` at chosen moments; each returns the mail that pass sent, to volunteers and to
    the coordinator."""

    def __init__(self, config: Path, sink) -> None:
        self.config, self.sink, self.seen = config, sink, 0

    def run(self, now: str) -> tuple[list[EmailMessage], list[EmailMessage]]:
        assert main(["run", "--config", str(self.config), "--once", "--now", now]) == 0
        return self._new()

    def _new(self) -> tuple[list[EmailMessage], list[EmailMessage]]:
        received = [
            email.message_from_bytes(r.data, policy=email.policy.default)
            for r in self.sink.messages[self.seen :]
        ]
        self.seen = len(self.sink.messages)
        to_volunteers = [m for m in received if _to(m) != COORDINATOR]
        return to_volunteers, [m for m in received if _to(m) == COORDINATOR]

    def followups(self, now: str) -> list[EmailMessage]:
        return [m for m in self.run(now)[0] if _is_followup(m)]


def _to(message: EmailMessage) -> str:
    return message["To"].addresses[0].addr_spec


def _is_followup(message: EmailMessage) -> bool:
    return str(message["Subject"]).startswith("Na de bijeenkomst")


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_the_day_after_those_who_came_get_the_product_and_the_next_meeting_once(
    imap, smtp_sink, database_url, make_config, tmp_path
):
    (tmp_path / "verslag maart.pdf").write_bytes(PDF)
    config = make_config(
        imap,
        smtp_sink,
        database_url,
        imap={"since": "2000-01-01"},
        meetings=meetings(followup=LINK, followup_attachment="verslag maart.pdf"),
    )
    passes = Passes(config, smtp_sink)
    for person in (ANNA, BART, CHLOE):
        imap.append("INBOX", registration(person))
    passes.run("2026-03-01T12:00+01:00")

    # The meeting's morning: the digest with the sign-in sheet. Anna came, and Dirk, who had not registered;
    # Bart and Chloé did not.
    _, (digest,) = passes.run("2026-03-10T08:00+01:00")
    (sheet,) = [a for a in digest.iter_attachments() if a.get_filename() == "aanwezigheden-2026-03-10.csv"]
    rows = list(csv.reader(io.StringIO(sheet.get_payload(decode=True).decode("utf-8-sig")), delimiter=";"))
    header = next(i for i, row in enumerate(rows) if "Naam" in row)  # under the meeting's lines
    for row in rows[header:]:
        if row[1] == "Anna Peeters":
            row[4] = "x"
    rows[header + 4][1:5] = ["Dirk Nieuw", "Buurtwerk", "dirk.nieuw@example.org", ""]  # the first empty row
    marked = tmp_path / "aanwezigheden-2026-03-10.csv"
    marked.write_text("".join(";".join(row) + "\r\n" for row in rows), encoding="utf-8-sig")
    assert (
        main(
            [
                "attendance",
                "--config",
                str(config),
                "--meeting",
                "2026-03-10",
                "--from",
                str(marked),
                "--now",
                "2026-03-10T22:15+01:00",
            ]
        )
        == 0
    )

    assert passes.followups("2026-03-11T09:59+01:00") == []
    sent = passes.followups("2026-03-11T10:00+01:00")
    assert sorted(_to(m) for m in sent) == ["anna.peeters@example.org", "dirk.nieuw@example.org"]
    anna = next(m for m in sent if _to(m) == ANNA[1])
    assert str(anna["Subject"]) == "Na de bijeenkomst van di 10 maart - Leernetwerk"
    assert anna["Auto-Submitted"] == "auto-generated"
    text = _text(anna)
    for expected in (
        "Dag Anna,",
        'dinsdag 10 maart 2026 over "Toegang tot onderwijs"',
        LINK,
        "verslag-maart.pdf",
        'De volgende bijeenkomst is op dinsdag 12 mei 2026, over "Juridische bijstand".',
        "ik stap uit het leernetwerk",
    ):
        assert expected in text, expected
    assert f'<a href="{LINK}">' in anna.get_body(("html",)).get_content()
    (attached,) = anna.iter_attachments()  # the file, and no calendar event for a meeting that is over
    assert attached.get_filename() == "verslag-maart.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_payload(decode=True) == PDF

    # Once: not on a later pass, nor after a restart in a new process.
    assert passes.followups("2026-03-11T10:05+01:00") == []
    restart = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailflow",
            "run",
            "--config",
            str(config),
            "--once",
            "--now",
            "2026-03-12T10:00+01:00",
        ],
        env=os.environ.copy(),
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert restart.returncode == 0, restart.stderr
    assert [m for m in passes._new()[0] if _is_followup(m)] == []
    with database(database_url) as db:
        rows_sent = db.execute(
            sa.select(models.OutboxMessage.recipient, models.OutboxMessage.status).where(
                models.OutboxMessage.kind == MailKind.FOLLOWUP
            )
        ).all()
    assert sorted(rows_sent) == [("anna.peeters@example.org", "sent"), ("dirk.nieuw@example.org", "sent")]


def test_without_a_record_the_registered_get_it_and_a_missing_file_is_told_not_fatal(
    imap, smtp_sink, database_url, make_config
):
    config = make_config(
        imap,
        smtp_sink,
        database_url,
        imap={"since": "2000-01-01"},
        meetings=meetings(
            followup="Bedankt voor jullie komst!\nHet verslag volgt.", followup_attachment="weg.pdf"
        ),
    )
    passes = Passes(config, smtp_sink)
    for person in (ANNA, BART, CHLOE):
        imap.append("INBOX", registration(person))
    passes.run("2026-03-01T12:00+01:00")
    imap.append("INBOX", cancellation(CHLOE))
    passes.run("2026-03-02T12:00+01:00")

    to_volunteers, (digest,) = passes.run("2026-03-11T10:30+01:00")
    sent = [m for m in to_volunteers if _is_followup(m)]
    assert sorted(_to(m) for m in sent) == [ANNA[1], BART[1]]  # Chloé had cancelled
    text = _text(sent[0])
    assert "Bedankt voor jullie komst!\nHet verslag volgt." in text
    assert list(sent[0].iter_attachments()) == []  # no file, and the mail went all the same

    # The coordinator hears of it in the day's digest (made after the follow-ups in this pass).
    assert "De opvolgmail van de bijeenkomst van dinsdag 10 maart 2026 is zonder bijlage vertrokken" in _text(
        digest
    )
    assert "weg.pdf kan niet gelezen worden" in _text(digest)  # the reason in the coordinator's language


def test_a_follow_up_more_than_a_week_late_is_not_sent(imap, smtp_sink, make_config, tmp_path):
    config = make_config(imap, smtp_sink, imap={"since": "2000-01-01"}, meetings=meetings(followup=LINK))
    passes = Passes(config, smtp_sink)
    imap.append("INBOX", registration(ANNA))
    passes.run("2026-03-01T12:00+01:00")
    # mailflow was down from the meeting until more than a week after the follow-up fell due.
    assert passes.followups("2026-03-18T10:01+01:00") == []
    with database(f"sqlite:///{tmp_path}/mailflow.db") as db:
        assert (
            db.scalars(
                sa.select(models.OutboxMessage).where(models.OutboxMessage.kind == MailKind.FOLLOWUP)
            ).all()
            == []
        )


# --- the rules at their edges, in-process -------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The example config with SQLite; its first meeting (2027-01-12) has a follow-up, its second none."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
        '# url = "sqlite:////var/lib/mailflow/mailflow.db"', f'url = "sqlite:///{tmp_path}/mailflow.db"'
    )
    text = text.replace(
        "date = 2027-01-12\n", 'date = 2027-01-12\nfollowup = "https://in-gent.example/verslag"\n'
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


JANUARY = dt.date(2027, 1, 12)
DUE = dt.datetime(2027, 1, 13, 9, 0, tzinfo=dt.UTC)  # 10:00 in Ghent the day after
SEEDED_AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def seed(config: Path, people: list[tuple[str, str, str, str, bool]]) -> None:
    """(name, address, registration status, member status, undeliverable) for the January meeting."""
    with build_app(load_config(config)) as app:
        sync_meetings(app, SEEDED_AT)
        with app.sessions.begin() as db:
            meeting = agenda.meetings_by_date(db)[JANUARY]  # cancelled ones too
            for name, address, status, member_status, undeliverable in people:
                member = models.Member(
                    email=address,
                    name=name,
                    name_key=queries.name_key(name),
                    organisation=None,
                    language="nl",
                    status=member_status,
                    unsure=False,
                    undeliverable=undeliverable,
                    created_at=SEEDED_AT,
                    last_heard_at=SEEDED_AT,
                )
                db.add(member)
                agenda.set_registration(db, member, meeting, RegistrationStatus(status), SEEDED_AT)


def queue(config: Path, now: dt.datetime) -> list[tuple[str, list[str]]]:
    """Run the job at `now`; every follow-up in the outbox: its recipient and the members it names."""
    with build_app(load_config(config)) as app:
        followups.queue_due_followups(app, now)
        with app.sessions() as db:
            rows = db.scalars(
                sa.select(models.OutboxMessage)
                .where(models.OutboxMessage.kind == MailKind.FOLLOWUP)
                .order_by(models.OutboxMessage.id)
            ).all()
            return [(row.recipient, sorted(m.name for m in queries.members_about(db, row))) for row in rows]


def test_two_members_at_one_address_get_one_mail_and_who_left_or_bounces_gets_none(config):
    seed(
        config,
        [
            ("Anna Peeters", "thuis@example.org", "registered", MemberStatus.ACTIVE, False),
            ("Bart Peeters", "thuis@example.org", "registered", MemberStatus.ACTIVE, False),
            ("Carla Weg", "carla@example.org", "registered", MemberStatus.LEFT, False),
            ("Dirk Bounce", "dirk@example.org", "registered", MemberStatus.ACTIVE, True),
            ("Eva Wacht", "eva@example.org", "waiting", MemberStatus.ACTIVE, False),
        ],
    )
    assert queue(config, DUE - dt.timedelta(seconds=1)) == []
    assert queue(config, DUE) == [("thuis@example.org", ["Anna Peeters", "Bart Peeters"])]
    assert len(queue(config, DUE + dt.timedelta(hours=2))) == 1  # once


@pytest.mark.parametrize(
    ("late", "sent"),
    [(dt.timedelta(days=7) - dt.timedelta(minutes=1), True), (dt.timedelta(days=7), False)],
)
def test_it_may_go_for_a_week_after_it_fell_due(config, late: dt.timedelta, sent: bool):
    seed(config, [("Anna Peeters", "anna@example.org", "registered", MemberStatus.ACTIVE, False)])
    assert bool(queue(config, DUE + late)) is sent


def test_a_meeting_without_a_followup_or_cancelled_sends_none(config):
    text = config.read_text(encoding="utf-8").replace(
        'followup = "https://in-gent.example/verslag"\n',
        'followup = "https://in-gent.example/verslag"\nstatus = "cancelled"\n',
    )
    config.write_text(text, encoding="utf-8")
    seed(config, [("Anna Peeters", "anna@example.org", "registered", MemberStatus.ACTIVE, False)])
    assert queue(config, DUE) == []
    assert queue(config, dt.datetime(2027, 3, 10, 9, 0, tzinfo=dt.UTC)) == []  # March has no follow-up


def test_someone_recorded_later_that_week_still_gets_it(config, capsys):
    seed(
        config,
        [
            ("Anna Peeters", "anna@example.org", "registered", MemberStatus.ACTIVE, False),
            ("Bart Claes", "bart@example.org", "registered", MemberStatus.ACTIVE, False),
            ("Chloé Dubois", "chloe@example.org", "cancelled", MemberStatus.ACTIVE, False),
        ],
    )
    assert [to for to, _ in queue(config, DUE)] == ["anna@example.org", "bart@example.org"]
    # Recorded two days later: Chloé came after all; Anna did not. Mail that went stays sent; Chloé gets hers.
    assert (
        main(
            [
                "attendance",
                "--config",
                str(config),
                "--meeting",
                "2027-01-12",
                "Bart Claes",
                "Chloé Dubois",
                "--now",
                "2027-01-15T12:00+01:00",
            ]
        )
        == 0
    )
    later = queue(config, dt.datetime(2027, 1, 15, 12, 0, tzinfo=dt.UTC))
    assert [to for to, _ in later] == ["anna@example.org", "bart@example.org", "chloe@example.org"]


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("Verslag maart é.PDF", "verslag-maart-e.pdf"),
        ("slides.pptx", "slides.pptx"),
        ("..hidden", "attachment.hidden"),
        ("README", "readme"),
        ("ééé.txt", "eee.txt"),
        ("!!!.pdf", "attachment.pdf"),
    ],
)
def test_the_attachment_gets_a_name_every_mail_client_takes(name: str, filename: str) -> None:
    assert followups.attachment_filename(name) == filename


def test_an_unreadable_or_huge_file_is_left_out_with_the_reason(tmp_path: Path) -> None:
    assert followups.read_attachment(None) == (None, None)
    attachment, problem = followups.read_attachment(tmp_path / "nope.pdf")
    assert attachment is None and problem is not None and "nope.pdf cannot be read" in problem
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as file:
        file.truncate(followups.ATTACHMENT_LIMIT + 1)
    attachment, problem = followups.read_attachment(huge)
    assert attachment is None and problem is not None and "more than mail can carry" in problem
    text = tmp_path / "notities.txt"
    text.write_text("Één verslag\n", encoding="utf-8")
    attachment, problem = followups.read_attachment(text)
    assert problem is None and attachment is not None
    assert attachment.content_type == 'text/plain; charset="utf-8"' and attachment.filename == "notities.txt"


def test_the_event_for_the_digest_names_no_one(config, tmp_path):
    text = config.read_text(encoding="utf-8").replace(
        'followup = "https://in-gent.example/verslag"\n',
        'followup = "https://in-gent.example/verslag"\nfollowup_attachment = "weg.pdf"\n',
    )
    config.write_text(text, encoding="utf-8")
    seed(config, [("Anna Peeters", "anna@example.org", "registered", MemberStatus.ACTIVE, False)])
    assert len(queue(config, DUE)) == 1
    with database(f"sqlite:///{tmp_path}/mailflow.db") as db:
        (event,) = db.scalars(
            sa.select(models.Event).where(models.Event.kind == EventKind.FOLLOWUP_WITHOUT_ATTACHMENT)
        ).all()
        assert event.member_id is None and "anna" not in (event.detail or "").lower()
        assert "weg.pdf cannot be read" in (event.detail or "")
        row = db.scalars(sa.select(models.OutboxMessage)).one()
        assert row.status == OutboxStatus.PENDING
