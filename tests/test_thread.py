"""End to end: a mail read in the thread it answers, relevance before action, what we hold kept, the day no
meeting is confirmed on, and the language of a short answer.

Each pass is `mailflow run --once --now ...` against the real test servers (Dovecot or pymap, aiosmtpd,
SQLite and PostgreSQL). Answers name our mails by the Message-ID the SMTP server received.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from helpers import database
from passes import Mailflow, plain_text
from passes import mail as _mail

from mailflow.adapters.db import models

pytestmark = pytest.mark.servers

JANUARY, MARCH, MAY = dt.date(2026, 1, 13), dt.date(2026, 3, 10), dt.date(2026, 5, 12)
MEETINGS = [
    {"date": JANUARY, "theme": "Dringende medische hulp", "speakers": []},
    {"date": MARCH, "theme": "Toegang tot onderwijs", "speakers": []},
    {"date": MAY, "theme": "Juridische bijstand", "speakers": []},
]
ANNA = ("Anna Peeters", "anna.peeters@example.org")
SHARED = ("", "fam.peeters@example.org")  # Anna and Bart Peeters share one mailbox
ZED = ("Zed Vandamme", "zed@example.org")
PROCESSED, REVIEW = "mailflow/processed", "mailflow/review"


def _attendance(database_url: str) -> dict[tuple[str, dt.date], str]:
    with database(database_url) as db:
        rows = db.scalars(sa.select(models.Registration)).all()
        return {(a.member.name, a.meeting.date): a.status for a in rows}


def _members(database_url: str) -> dict[str, tuple[str | None, str, str]]:
    with database(database_url) as db:
        return {m.name: (m.organisation, m.language, m.email) for m in db.scalars(sa.select(models.Member))}


def _reasons(database_url: str) -> list[str | None]:
    with database(database_url) as db:
        return list(db.scalars(sa.select(models.InboundMessage.reason).order_by(models.InboundMessage.id)))


@pytest.fixture
def mailflow(imap, smtp_sink, database_url, make_config) -> Mailflow:
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)
    return Mailflow(config, imap, smtp_sink)


def test_an_answer_is_read_in_the_thread_of_the_mail_it_answers(mailflow, imap, database_url):
    [confirmation] = mailflow.send(
        _mail(
            ANNA, "Beste,\n\nIk schrijf me graag in voor de bijeenkomst van 10 maart.\n\nAnna Peeters\nCAW\n"
        )
    )
    assert _attendance(database_url) == {("Anna Peeters", MARCH): "registered"}

    # A colleague added in an answer, no date named: the answered mail's meeting, not the next one.
    [added] = mailflow.send(_mail(ANNA, "Mijn collega Tom Baker komt ook.\n\nAnna\n", answers=confirmation))
    assert "Tom Baker" in plain_text(added) and "dinsdag 10 maart 2026" in plain_text(added)
    assert _attendance(database_url)[("Tom Baker", MARCH)] == "registered"

    # "kan toch niet" to the March confirmation: March, for the people of that confirmation only.
    [cancelled] = mailflow.send(_mail(ANNA, "Sorry, ik kan toch niet.\n", answers=confirmation))
    assert "dinsdag 10 maart 2026" in plain_text(cancelled)
    assert _attendance(database_url) == {
        ("Anna Peeters", MARCH): "cancelled",
        ("Tom Baker", MARCH): "registered",
    }

    # Registering again in answer to that cancel confirmation: the meeting it was about.
    [again] = mailflow.send(
        _mail(ANNA, "Ik kan toch komen, schrijf me opnieuw in.\n\nAnna\n", answers=cancelled)
    )
    assert "dinsdag 10 maart 2026" in plain_text(again)
    assert _attendance(database_url)[("Anna Peeters", MARCH)] == "registered"
    assert ("Anna Peeters", JANUARY) not in _attendance(database_url)

    # "Bedankt!" asks nothing: nothing changes, no reply, filed (not a task for the coordinator).
    before = _attendance(database_url)
    assert mailflow.send(_mail(ANNA, "Bedankt!\n\nAnna\n", answers=again)) == []
    assert _attendance(database_url) == before
    assert imap.count(REVIEW) == 0
    assert imap.count(PROCESSED) == 5
    assert _reasons(database_url)[-1] == "thanks for our mail: nothing asked"


def test_two_people_sharing_an_address_are_told_apart_by_the_mail_they_answer(mailflow, database_url):
    body = "Beste,\n\nIk schrijf me graag in voor de bijeenkomst van 10 maart.\n\nGroeten,\n{}\n"
    [for_anna] = mailflow.send(_mail(SHARED, body.format("Anna Peeters\nCAW Oost-Vlaanderen")))
    [for_bart] = mailflow.send(_mail(SHARED, body.format("Bart Peeters\nVluchtelingenwerk Vlaanderen")))
    assert "Bart Peeters" in plain_text(for_bart) and "Anna Peeters" not in plain_text(for_bart)

    [cancelled] = mailflow.send(_mail(SHARED, "Sorry, ik kan toch niet.\n", answers=for_bart))
    assert "Bart Peeters" in plain_text(cancelled) and "Anna Peeters" not in plain_text(cancelled)
    assert _attendance(database_url) == {
        ("Anna Peeters", MARCH): "registered",
        ("Bart Peeters", MARCH): "cancelled",
    }
    assert for_anna["Message-ID"] != for_bart["Message-ID"]


def test_a_day_with_no_confirmed_meeting_is_said_in_the_reply_and_listed_in_the_digest(
    mailflow, imap, database_url
):
    [reply] = mailflow.send(
        _mail(
            ANNA,
            "Beste,\n\nIk wil me graag inschrijven voor de bijeenkomst van 11 mei.\n\n"
            "Groeten,\nAnna Peeters\nCAW\n",
        )
    )
    text = plain_text(reply)
    assert "Op maandag 11 mei 2026 is er geen bevestigde bijeenkomst." in text
    for day in ("dinsdag 13 januari 2026", "dinsdag 10 maart 2026", "dinsdag 12 mei 2026"):
        assert f"- {day}" in text
    assert not [p for p in reply.iter_attachments() if p.get_content_type() == "text/calendar"]
    # A member of the network, registered for no meeting they did not ask for.
    assert _members(database_url) == {"Anna Peeters": ("CAW", "nl", ANNA[1])}
    assert _attendance(database_url) == {}
    assert imap.count(REVIEW) == 1

    mailflow.run(at=mailflow.now.replace(hour=8, minute=30))
    [digest] = mailflow.digests
    assert "Vraagt naar maandag 11 mei 2026, maar die dag is er geen bevestigde bijeenkomst." in plain_text(
        digest
    )


def test_strangers_get_no_reply_and_nothing_is_done(mailflow, imap, database_url):
    # An erase from an address we hold nothing of: nothing to erase and no mail to a stranger; the request
    # itself is kept nowhere, as every erase request.
    assert mailflow.send(_mail(ZED, "Please delete all my personal data.\n", subject="GDPR")) == []
    assert imap.count("INBOX") == imap.count(PROCESSED) == imap.count(REVIEW) == 0
    assert mailflow.send(_mail(ZED, "Please unsubscribe me from this list.\n", subject="Unsubscribe")) == []
    assert mailflow.send(_mail(ZED, "Sorry, I can't make it after all.\n", subject="Tuesday")) == []
    assert imap.count(PROCESSED) == 2 and imap.count(REVIEW) == 0
    # A registration not written to us (a list, a Bcc) that names nothing of the network: for a human.
    spam = _mail(ZED, "Hello, please register me.\n", subject="Webinar", to="list@example.org")
    assert mailflow.send(spam) == []
    assert imap.count(REVIEW) == 1
    assert _members(database_url) == {}
    assert _reasons(database_url) == [
        "not answered: erase, from an address we hold nothing of",
        "not answered: leaving, from an address we hold nobody at",
        "not answered: a cancel from an address we hold nobody at",
        "a registration from an unknown address that names nothing of the network",
    ]


def test_what_we_hold_is_never_replaced_by_nothing_nor_by_an_unsure_reading(mailflow, imap, database_url):
    mailflow.send(_mail(ANNA, "Beste,\n\nIk schrijf me graag in voor januari.\n\nAnna Peeters\nCAW\n"))
    # A second mail without an organisation keeps the one stored.
    mailflow.send(_mail(ANNA, "Beste,\n\nIk schrijf me ook in voor 10 maart.\n\nAnna Peeters\n"))
    assert _members(database_url) == {"Anna Peeters": ("CAW", "nl", ANNA[1])}
    assert imap.count(REVIEW) == 0
    # Another organisation, on a reading we are unsure of (the request is in the subject only): what we
    # hold stays, the reply says what we hold, and the coordinator looks.
    unsure = "Ook voor mei graag.\n\nAnna Peeters\nVluchtelingenwerk Vlaanderen\n"
    [reply] = mailflow.send(_mail(ANNA, unsure, subject="Inschrijving"))
    assert "Anna Peeters (CAW)" in plain_text(reply)
    assert _members(database_url) == {"Anna Peeters": ("CAW", "nl", ANNA[1])}
    assert imap.count(REVIEW) == 1
    assert "kept what we hold" in (_reasons(database_url)[-1] or "")


def test_a_short_answer_is_answered_in_the_members_language(mailflow, database_url):
    [first] = mailflow.send(
        _mail(
            ANNA,
            "Bonjour,\n\nJe souhaiterais m'inscrire pour la séance du 10 mars.\n\nCordialement,\n"
            "Anna Peeters\nCAW\n",
        )
    )
    assert "mardi 10 mars 2026" in plain_text(first)
    # Too short to tell a language (two little words): the language she wrote in before. ("Count me in for
    # May!" is not: four English words tell it, and she is answered in English.)
    [short] = mailflow.send(_mail(ANNA, "Ik kom in mei!\n", subject="mai"))
    assert "mardi 12 mai 2026" in plain_text(short)
    assert _members(database_url)["Anna Peeters"][1] == "fr"
    # Long enough to tell: the language of the text.
    [english] = mailflow.send(
        _mail(ANNA, "Hello, I am sorry but I will not be able to come to the session in May.\n", "May")
    )
    assert "Tuesday 12 May 2026" in plain_text(english)
