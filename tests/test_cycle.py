"""End to end: membership and registration per meeting. Invitations to the members not registered, a reply
to an invitation registering for that meeting, a capacity that counts that meeting's registrations only, a
cancel giving the place to the first waiting, reminders to the registered, one mail per shared address, and
the digest's places and waiting lists.

Each step is `mailflow run --once --now ...` in a fresh App (a restart between every step) against the real
test servers, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from helpers import database
from passes import Mailflow, mail, plain_text

from mailflow.adapters.db import models

pytestmark = pytest.mark.servers

JANUARY, MARCH, MAY = dt.date(2026, 1, 13), dt.date(2026, 3, 10), dt.date(2026, 5, 12)
MEETINGS = [
    {"date": JANUARY, "theme": "Dringende medische hulp", "speakers": []},
    {"date": MARCH, "theme": "Toegang tot onderwijs", "speakers": [], "capacity": 3},
    {"date": MAY, "theme": "Juridische bijstand", "speakers": []},
]
ANNA = ("Anna Peeters", "anna.peeters@example.org")
BART = ("Bart Claes", "bart.claes@example.org")
CHLOE = ("Chloé Dubois", "chloe.dubois@example.org")
DIRK = ("Dirk Maes", "dirk.maes@example.org")
EVA = ("Eva Janssens", "eva.janssens@example.org")
SHARED = "fam.peeters@example.org"  # Gert and Hanne Peeters share one mailbox
BRUSSELS = dt.timezone(dt.timedelta(hours=1))  # winter time


def _registrations(database_url: str) -> dict[tuple[str, dt.date], str]:
    with database(database_url) as db:
        rows = db.scalars(sa.select(models.Registration)).all()
        return {(r.member.name, r.meeting.date): r.status for r in rows}


def _to(messages: list) -> list[str]:
    return sorted(m["To"].addresses[0].addr_spec for m in messages)


def _kind_of(message) -> str:
    return str(message["Subject"]).split(":")[0]


def _signup(person: tuple[str, str], body: str) -> bytes:
    return mail(person, f"Beste,\n\n{body}\n\nGroeten,\n{person[0]}\nCAW Oost-Vlaanderen\n")


@pytest.fixture
def mailflow(imap, smtp_sink, database_url, make_config) -> Mailflow:
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)
    return Mailflow(config, imap, smtp_sink)


def test_a_registration_is_for_one_meeting_and_capacity_counts_that_meetings_registrations(
    mailflow, database_url
):
    # Anna names no meeting: the next one. She is a member, registered for January only.
    [reply] = mailflow.send(_signup(ANNA, "Ik schrijf me graag in voor het leernetwerk."))
    assert "dinsdag 13 januari 2026" in plain_text(reply)
    # Four people ask for March, which has three places: the fourth waits. Anna's January place takes none.
    for person in (BART, CHLOE, DIRK):
        [reply] = mailflow.send(_signup(person, "Ik kom graag naar de bijeenkomst van 10 maart."))
        assert "dinsdag 10 maart 2026" in plain_text(reply) and "wachtlijst" not in plain_text(reply)
    [waiting] = mailflow.send(_signup(EVA, "Ik kom graag naar de bijeenkomst van 10 maart."))
    assert "wachtlijst" in plain_text(waiting)
    assert _registrations(database_url) == {
        ("Anna Peeters", JANUARY): "registered",
        ("Bart Claes", MARCH): "registered",
        ("Chloé Dubois", MARCH): "registered",
        ("Dirk Maes", MARCH): "registered",
        ("Eva Janssens", MARCH): "waiting",
    }

    # Three weeks before January, 10:00 in Brussels: an invitation to each member who said nothing about it.
    assert mailflow.run(at=dt.datetime(2025, 12, 23, 9, 59, tzinfo=BRUSSELS)) == []
    invitations = mailflow.run(at=dt.datetime(2025, 12, 23, 10, 0, tzinfo=BRUSSELS))
    assert _to(invitations) == sorted(p[1] for p in (BART, CHLOE, DIRK, EVA))
    assert all(_kind_of(m) == "Uitnodiging" for m in invitations)
    assert mailflow.run() == []  # once ever
    # "ik kom graag" in answer to the invitation registers for January, not for the next or a named meeting.
    [for_chloe] = [m for m in invitations if m["To"].addresses[0].addr_spec == CHLOE[1]]
    assert "ik kom graag" in plain_text(for_chloe)
    [confirmation] = mailflow.send(mail(CHLOE, "Ik kom graag!\n\nChloé\n", answers=for_chloe))
    assert "dinsdag 13 januari 2026" in plain_text(confirmation)
    assert _registrations(database_url)[("Chloé Dubois", JANUARY)] == "registered"
    assert _registrations(database_url)[("Chloé Dubois", MARCH)] == "registered"

    # The March digest line: places taken of the capacity, and the waiting list in order.
    mailflow.run(at=dt.datetime(2025, 12, 24, 8, 0, tzinfo=BRUSSELS))
    digest = plain_text(mailflow.digests[-1])
    assert "3 van de 3 plaatsen bezet, 1 op de wachtlijst" in digest
    assert "1. Eva Janssens (CAW Oost-Vlaanderen)" in digest
    assert "4 leden kregen een uitnodiging voor een bijeenkomst." in digest

    # Bart cannot come in March after all: his place goes to Eva, with a mail and the calendar event.
    sent = mailflow.send(_signup(BART, "Ik kan toch niet komen op 10 maart."))
    assert _to(sent) == sorted([BART[1], EVA[1]])
    [promotion] = [m for m in sent if m["To"].addresses[0].addr_spec == EVA[1]]
    assert "dinsdag 10 maart 2026" in plain_text(promotion)
    assert any(p.get_content_type() == "text/calendar" for p in promotion.iter_attachments())
    assert _registrations(database_url)[("Eva Janssens", MARCH)] == "registered"
    assert _registrations(database_url)[("Bart Claes", MARCH)] == "cancelled"

    # The March invitation goes to Anna only: Bart told us already, the others are registered.
    assert _to(mailflow.run(at=dt.datetime(2026, 2, 17, 10, 0, tzinfo=BRUSSELS))) == [ANNA[1]]
    # A week before March, reminders go to the three registered, and to nobody else.
    reminders = mailflow.run(at=dt.datetime(2026, 3, 3, 10, 0, tzinfo=BRUSSELS))
    assert _to(reminders) == sorted(p[1] for p in (CHLOE, DIRK, EVA))
    assert all(_kind_of(m) == "Herinnering" for m in reminders)
    assert mailflow.run() == []


def test_two_people_sharing_an_address_get_one_mail_naming_both_and_an_answer_acts_for_its_writer(
    mailflow, database_url
):
    for name in ("Gert Peeters", "Hanne Peeters"):
        mailflow.send(mail(("", SHARED), f"Ik kom graag op 13 januari.\n\n{name}\nCAW Oost-Vlaanderen\n"))
    # A week before January: one reminder to the shared address, naming both.
    [reminder] = mailflow.run(at=dt.datetime(2026, 1, 6, 10, 0, tzinfo=BRUSSELS))
    assert reminder["To"].addresses[0].display_name == "Gert Peeters en Hanne Peeters"
    assert "Dag Gert en Hanne," in plain_text(reminder)  # greeted by first name, spoken to as "jullie"
    assert "We kijken ernaar uit jullie te zien" in plain_text(reminder)

    # Hanne answers from the shared mailbox with her own name: only she cancels.
    [cancelled] = mailflow.send(
        mail(("Hanne Peeters", SHARED), "Ik kan toch niet komen.\n", answers=reminder)
    )
    assert "Hanne Peeters" in plain_text(cancelled) and "Gert Peeters" not in plain_text(cancelled)
    assert _registrations(database_url) == {
        ("Gert Peeters", JANUARY): "registered",
        ("Hanne Peeters", JANUARY): "cancelled",
    }
    # The day before, Gert alone is reminded.
    [last] = mailflow.run(at=dt.datetime(2026, 1, 12, 10, 0, tzinfo=BRUSSELS))
    assert last["To"].addresses[0].display_name == "Gert Peeters"

    # May's invitation falls on 21 April, 10:00 summer time (08:00 UTC): one mail for both of them.
    assert mailflow.run(at=dt.datetime(2026, 4, 21, 7, 59, tzinfo=dt.UTC)) == []
    [invitation] = mailflow.run(at=dt.datetime(2026, 4, 21, 8, 0, tzinfo=dt.UTC))
    assert invitation["To"].addresses[0].display_name == "Gert Peeters en Hanne Peeters"
    assert "we komen graag" in plain_text(invitation)
    # "we komen allebei" answers for both.
    mailflow.send(mail(("Gert Peeters", SHARED), "We komen allebei graag!\n", answers=invitation))
    registrations = _registrations(database_url)
    assert registrations[("Gert Peeters", MAY)] == registrations[("Hanne Peeters", MAY)] == "registered"


def test_the_digest_lists_what_waits_in_the_review_folder_until_the_coordinator_moves_it(mailflow, imap):
    mailflow.send(mail(ANNA, "Is er parking in de buurt van de campus?\n\nAnna\n", subject="Parking"))
    mailflow.send(mail(BART, "Wie betaalt de zaalhuur eigenlijk?\n\nBart\n", subject="Zaalhuur"))
    assert imap.count("mailflow/review") == 2
    mailflow.run(at=dt.datetime(2025, 12, 16, 8, 0, tzinfo=BRUSSELS))
    first = plain_text(mailflow.digests[-1])
    assert (
        "2 mails wachten in de map voor nazicht" in first and '"Parking"' in first and '"Zaalhuur"' in first
    )

    # The coordinator answers the parking question and moves it to another folder in their mail program.
    client = imap.client()
    client.select_folder(imap.name("mailflow/review"))
    [parking] = [uid for uid, data in client.fetch(client.search("ALL"), ["BODY.PEEK[]"]).items()
                 if b"Subject: Parking" in data[b"BODY[]"]]  # fmt: skip
    client.create_folder(imap.name("Beantwoord"))
    client.move([parking], imap.name("Beantwoord"))
    client.logout()

    # The next day nothing new happened, but the rent question still waits: the digest goes, and says so.
    mailflow.run(at=dt.datetime(2025, 12, 17, 8, 0, tzinfo=BRUSSELS))
    second = plain_text(mailflow.digests[-1])
    assert "1 mail wacht in de map voor nazicht" in second
    assert '"Zaalhuur"' in second and '"Parking"' not in second


def test_a_place_that_frees_goes_to_the_first_waiting_never_to_a_newcomer(
    imap, smtp_sink, database_url, make_config
):
    small = [{**m, "capacity": 1} if m["date"] == MARCH else m for m in MEETINGS]
    config = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=small)
    mailflow = Mailflow(config, imap, smtp_sink)
    for person in (BART, EVA):
        mailflow.send(_signup(person, "Ik kom graag naar de bijeenkomst van 10 maart."))
    assert _registrations(database_url)[("Eva Janssens", MARCH)] == "waiting"
    # The coordinator makes room for one more; Dirk's mail arrives before mailflow's next pass.
    more = [{**m, "capacity": 2} if m["date"] == MARCH else m for m in MEETINGS]
    make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=more)
    sent = mailflow.send(_signup(DIRK, "Ik kom graag naar de bijeenkomst van 10 maart."))
    assert _to(sent) == sorted([DIRK[1], EVA[1]])
    registrations = _registrations(database_url)
    assert registrations[("Eva Janssens", MARCH)] == "registered"  # her turn came first
    assert registrations[("Dirk Maes", MARCH)] == "waiting"
