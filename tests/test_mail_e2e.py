"""End to end, with the real test servers: a question is acknowledged and waits for the coordinator, whose
digest tells why in Dutch; a registration that also asks says so; and the List-Unsubscribe of a reminder, as
a mail client sends it, takes the member out of the network.

Each step is `mailflow run --once --now ...`, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import urllib.parse
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from helpers import SIGNUP_ADDRESS, database
from passes import Mailflow, mail, plain_text

from mailflow.adapters.db import models
from mailflow.core.vocabulary import InboundStatus, MemberStatus

pytestmark = pytest.mark.servers

JANUARY = dt.date(2026, 1, 13)
MEETINGS = [{"date": JANUARY, "theme": "Dringende medische hulp", "speakers": []}]
ANNA = ("Anna Peeters", "anna.peeters@example.org")
BART = ("Bart Claes", "bart.claes@example.org")
BRUSSELS = dt.timezone(dt.timedelta(hours=1))  # winter time


@pytest.fixture
def mailflow(imap, smtp_sink, database_url, make_config) -> Mailflow:
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)
    return Mailflow(config, imap, smtp_sink)


def _inbound(database_url: str) -> list[tuple[str | None, str, str | None]]:
    with database(database_url) as db:
        rows = db.scalars(sa.select(models.InboundMessage).order_by(models.InboundMessage.id)).all()
        return [(row.intent, row.status, row.reason) for row in rows]


def test_a_question_is_acknowledged_once_and_waits_for_the_coordinator(mailflow, database_url):
    [confirmation] = mailflow.send(
        mail(ANNA, "Ik schrijf me graag in voor het leernetwerk.\n\nAnna Peeters\n")
    )
    assert confirmation["Subject"] == "Ingeschreven: di 13 januari - Leernetwerk"

    question = mail(ANNA, "Is er parking aan de campus?\n\nAnna\n", subject="Parking")
    [acknowledgement] = mailflow.send(question)
    assert acknowledgement["Subject"] == "Vraag doorgegeven - Leernetwerk"
    assert acknowledgement["Auto-Submitted"] == "auto-replied"
    assert acknowledgement["In-Reply-To"] == email.message_from_bytes(question)["Message-ID"]
    text = plain_text(acknowledgement)
    assert text.startswith("Dag Anna,") and "We hebben je vraag doorgegeven aan de coördinator" in text
    assert _inbound(database_url)[-1][:2] == ("question", InboundStatus.REVIEW)

    # A robot asking the same again within a day gets no second acknowledgement (the repeat rule).
    assert mailflow.send(mail(ANNA, "Is er parking aan de campus?\n\nAnna\n", subject="Parking")) == []

    # The next morning's digest lists it, with the reason in the coordinator's language.
    mailflow.run(at=dt.datetime(2025, 12, 16, 8, 0, tzinfo=BRUSSELS))
    digest = plain_text(mailflow.digests[-1])
    assert '"Parking"' in digest and "Een vraag voor jou: beantwoord ze zelf." in digest
    assert "question:" not in digest and "reason:" not in digest


def test_a_registration_that_also_asks_says_the_question_was_passed_on(mailflow, database_url):
    [confirmation] = mailflow.send(
        mail(
            BART, "Ik schrijf me graag in voor de bijeenkomst van januari. Is er ook parking?\n\nBart Claes\n"
        )
    )
    assert confirmation["Subject"] == "Ingeschreven: di 13 januari - Leernetwerk"
    assert "Je mail stelt ook een vraag: die hebben we doorgegeven aan de coördinator" in plain_text(
        confirmation
    )
    intent, status, reason = _inbound(database_url)[-1]
    assert (intent, status, reason) == ("register", InboundStatus.REVIEW, "also asks a question")
    mailflow.run(at=dt.datetime(2025, 12, 16, 8, 0, tzinfo=BRUSSELS))
    assert "Gedaan zoals gevraagd, maar de mail stelt ook een vraag" in plain_text(mailflow.digests[-1])


def test_the_list_unsubscribe_of_a_reminder_takes_the_member_out(mailflow, database_url):
    mailflow.send(mail(ANNA, "Ik schrijf me graag in voor het leernetwerk.\n\nAnna Peeters\n"))
    # A week before the meeting, 10:00: her reminder, with a List-Unsubscribe (RFC 2369) to our address.
    [reminder] = mailflow.run(at=dt.datetime(2026, 1, 6, 10, 0, tzinfo=BRUSSELS))
    assert reminder["Subject"] == "Herinnering: di 13 januari 19:30 - Leernetwerk"
    url = urllib.parse.urlsplit(str(reminder["List-Unsubscribe"]).strip("<>"))
    assert (url.scheme, url.path) == ("mailto", SIGNUP_ADDRESS)

    # Her mail client's "unsubscribe": a new mail to that address, with that subject and no text.
    leaving = EmailMessage()
    leaving["From"] = email.utils.formataddr(ANNA)
    leaving["To"] = url.path
    leaving["Subject"] = urllib.parse.parse_qs(url.query)["subject"][0]
    leaving["Date"] = "Tue, 06 Jan 2026 10:05:00 +0100"
    leaving["Message-ID"] = email.utils.make_msgid(domain="example.org")
    leaving.set_content("")
    assert leaving["Subject"] == "ik stap uit het leernetwerk"
    [goodbye] = mailflow.send(bytes(leaving))
    assert goodbye["Subject"] == "Uitgeschreven uit het netwerk - Leernetwerk"
    assert goodbye.get_all("List-Unsubscribe") is None
    with database(database_url) as db:
        (member,) = db.scalars(sa.select(models.Member)).all()
        assert member.status == MemberStatus.LEFT
    # Read as sure: it needs no human, so it is filed, not put in review.
    assert _inbound(database_url)[-1][:2] == ("unsubscribe", InboundStatus.PROCESSED)
    # And the day before the meeting nothing more goes to her.
    assert mailflow.run(at=dt.datetime(2026, 1, 12, 10, 0, tzinfo=BRUSSELS)) == []
