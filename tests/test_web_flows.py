"""The changes the coordinator makes on the web page, through the real server (`mailflow web`) and a plain
HTTP client, on SQLite and on PostgreSQL: mails in the review folder handled, applied and corrected (with real
Dovecot: the mail moves to the processed folder), held replies released and dropped, members added,
corrected, moved, cancelled and forgotten, and who came recorded. Each change is checked in the database, in
the mailbox and in the mail that goes out afterwards."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from helpers import database, registration
from passes import Mailflow, mail
from test_web_pages import write_config
from test_web_server import Http, WebServer, free_port, web_section

from mailflow.adapters.db import models, queries
from mailflow.core.vocabulary import EventKind, MailKind, OutboxStatus

pytestmark = pytest.mark.servers

BRUSSELS = dt.timezone(dt.timedelta(hours=1))
NOW = dt.datetime(2025, 12, 15, 7, 0, tzinfo=BRUSSELS)  # passes.Mailflow's clock
NOVEMBER, JANUARY, MARCH = dt.date(2025, 11, 18), dt.date(2026, 1, 13), dt.date(2026, 3, 10)
MEETINGS = [
    {"date": NOVEMBER, "theme": "Vrijwilligers vinden en houden"},
    {"date": JANUARY, "theme": "Dringende medische hulp", "capacity": 2},
    {"date": MARCH, "theme": "Toegang tot onderwijs"},
]
ANNA = ("Anna Peeters", "anna.peeters@example.org")
BART = ("Bart Claes", "bart.claes@example.org")
QUESTION = mail(
    ("Lies Maes", "lies.maes@example.org"),
    "Dag,\n\nIs er parking in de buurt van de campus?\n\nLies\n",
    "Parking",
)
# We were Bcc'd on a mail to a list: a registration that names nothing of the network, from a stranger.
BCC = mail(
    ("Mo Jansen", "mo.jansen@example.org"),
    "Dag,\n\nGraag schrijf ik me in.\n\nGroeten,\nMo Jansen\n",
    "Hallo",
    to="vrijwilligers@lijst.example",
)


def later(minutes: int) -> str:
    return (NOW + dt.timedelta(minutes=minutes)).isoformat()


def review_ids(page: str) -> dict[str, int]:
    """Subject -> id of the mails listed on the review page."""
    return {subject: int(i) for i, subject in re.findall(r'href="/review/(\d+)">([^<]*)</a>', page)}


def events(database_url: str) -> list[str]:
    with database(database_url) as db:
        return [
            e.detail
            for e in db.scalars(
                sa.select(models.Event)
                .where(models.Event.kind == EventKind.WEB_CHANGE)
                .order_by(models.Event.id)
            )
        ]


def test_mails_in_review_are_handled_applied_and_corrected(make_config, imap, smtp_sink, database_url):
    config = make_config(
        imap,
        smtp_sink,
        database_url,
        imap={"since": "2000-01-01"},
        meetings=MEETINGS,
        web=web_section(free_port()),
    )
    flow = Mailflow(config, imap, smtp_sink)
    flow.send(QUESTION)
    flow.send(registration(1, question=True))  # registered and answered, and listed for the question
    flow.send(BCC)
    assert imap.count("mailflow/review") == 3
    replies_before = len(smtp_sink.messages)

    with WebServer(config, now=later(10)) as server:
        client = Http(server.url)
        client.log_in()
        page = client.get("/review")[2]
        ids = review_ids(page)
        assert set(ids) == {"Parking", "Inschrijving leernetwerk", "Hallo"}, page
        question = client.get(f"/review/{ids['Parking']}")[2]
        assert "Is er parking in de buurt van de campus?" in question and "lies.maes@example.org" in question

        # A question the coordinator answered by phone: handled, moved out of the review folder.
        status, headers, _, _ = client.post(f"/review/{ids['Parking']}/handled", {})
        assert (status, headers["Location"]) == (302, "/review")
        # The registration that asked something: mailflow's reading applied (it was registered already).
        assert client.post(f"/review/{ids['Inschrijving leernetwerk']}/apply", {})[0] == 302
        # The stranger's mail: as read, mailflow still cannot act; corrected, it registers Mo for March.
        status, headers, _, _ = client.post(f"/review/{ids['Hallo']}/apply", {})
        assert headers["Location"] == f"/review/{ids['Hallo']}"
        assert "names nothing of the network" in client.get(headers["Location"])[2]
        with database(database_url) as db:
            march = queries.members_by_name(db)  # nothing registered Mo yet
            assert "Mo Jansen" not in {m.name for m in march}
            march_id = db.scalar(sa.select(models.Meeting.id).where(models.Meeting.date == MARCH))
        corrected = {
            "intent": "register",
            "meeting": march_id,
            "name_0": "Mo Jansen",
            "organisation_0": "Buurtwerk Zwijnaarde",
        }
        status, headers, _, _ = client.post(f"/review/{ids['Hallo']}/correct", corrected)
        assert (status, headers["Location"]) == (302, "/review")
        assert 'href="/review/' not in client.get("/review")[2]  # nothing listed any more

    assert imap.count("mailflow/review") == 0
    assert imap.count("mailflow/processed") == 3  # the three that waited in review, filed
    with database(database_url) as db:
        (mo,) = queries.members_at(db, "mo.jansen@example.org")
        assert (mo.name, mo.organisation) == ("Mo Jansen", "Buurtwerk Zwijnaarde")
        assert [(r.meeting.date, r.status) for r in mo.registrations] == [(MARCH, "registered")]
        rows = db.scalars(sa.select(models.InboundMessage)).all()
        assert {r.status for r in rows} == {"processed"} and all(r.moved for r in rows)
    assert events(database_url) == [
        "review_handled",
        "review_applied: register",
        "review_applied: register",
        "review_corrected: register",
    ]
    # The reply to Mo goes out with the next pass, in the thread of his mail, for March.
    (reply,) = flow.run(at=NOW + dt.timedelta(minutes=30))
    assert (
        reply["To"].addresses[0].addr_spec == "mo.jansen@example.org"
        and len(smtp_sink.messages) > replies_before
    )
    assert "10 maart" in reply.get_body(("plain",)).get_content()


def test_held_replies_are_released_or_dropped(tmp_path, database_url):
    config = write_config(tmp_path, database_url, web=web_section(free_port()))
    with WebServer(config, now=later(0)) as server:
        with database(database_url) as db:
            for n, address in enumerate(("held.one@example.org", "held.two@example.org")):
                queries.enqueue(
                    db,
                    key=f"reply:held-{n}",
                    kind=MailKind.REGISTER,
                    recipient=address,
                    message_id=f"<h{n}@in-gent.example>",
                    raw=b"Subject: Inschrijving bevestigd\r\n\r\nDag\r\n",
                    now=NOW - dt.timedelta(days=6),
                    expires_at=NOW - dt.timedelta(days=1),
                    status=OutboxStatus.HELD,
                )
            db.commit()
            one, two = db.scalars(sa.select(models.OutboxMessage.id).order_by(models.OutboxMessage.id)).all()
        client = Http(server.url)
        client.log_in()
        page = client.get("/review")[2]
        assert "held.one@example.org" in page and "Inschrijving bevestigd" in page
        assert client.post(f"/held/{one}/release", {})[0] == 302
        assert client.post(f"/held/{two}/drop", {})[0] == 302
        assert client.post(f"/held/{two}/release", {})[0] == 302  # no longer held: nothing happens
    with database(database_url) as db:
        released, dropped = db.scalars(
            sa.select(models.OutboxMessage).order_by(models.OutboxMessage.id)
        ).all()
        assert released.status == "pending" and released.expires_at > NOW  # stale while held: a new lifetime
        assert dropped.status == "cancelled"
    assert events(database_url) == ["reply_released", "reply_dropped"]


def test_members_added_corrected_moved_cancelled_and_forgotten(make_config, imap, smtp_sink, database_url):
    config = make_config(
        imap,
        smtp_sink,
        database_url,
        imap={"since": "2000-01-01"},
        meetings=MEETINGS,
        web=web_section(free_port()),
    )
    flow = Mailflow(config, imap, smtp_sink)
    for name, address in (ANNA, BART):
        flow.send(
            mail((name, address), f"Dag,\n\nIk kom graag naar de bijeenkomst van 13 januari.\n\n{name}\n")
        )
    with database(database_url) as db:
        anna, bart = (queries.members_at(db, a)[0].id for _, a in (ANNA, BART))
        meetings = {m.date: m.id for m in db.scalars(sa.select(models.Meeting))}
        registrations = {r.member_id: r.id for r in db.scalars(sa.select(models.Registration))}
    with WebServer(config, now=later(10)) as server:
        client = Http(server.url)
        client.log_in()
        # Chloé phoned: January is full (capacity 2), so she waits.
        status, headers, _, _ = client.post(
            "/members/new",
            {
                "name": "Chloé Dubois",
                "organisation": "Croix-Rouge",
                "email": "chloe.dubois@example.org",
                "language": "fr",
                "meeting": meetings[JANUARY],
            },
        )
        assert status == 302
        chloe = int(headers["Location"].rsplit("/", 1)[1])
        assert "wachtlijst" in client.get(headers["Location"])[2]  # the note: January is full
        # Anna's organisation corrected.
        client.post(
            f"/members/{anna}/edit",
            {"name": "Anna Peeters", "organisation": "CAW Oost-Vlaanderen", "language": "nl"},
        )
        # Bart cannot come after all: his place goes to Chloé, who gets a mail saying so.
        client.post(f"/members/{bart}/registrations/{registrations[bart]}/cancel", {})
        # Anna moves to March.
        client.post(f"/members/{anna}/registrations/{registrations[anna]}/move", {"meeting": meetings[MARCH]})
        # Bart asks to be forgotten; the page asks first.
        status, _, page, _ = client.post(f"/members/{bart}/forget", {})
        assert status == 200 and "bart.claes@example.org" in page
        with database(database_url) as db:
            assert queries.members_at(db, BART[1])  # not yet
        status, headers, _, _ = client.post(f"/members/{bart}/forget", {"confirmed": "yes"})
        assert (status, headers["Location"]) == (302, "/members")
        assert client.get(f"/members/{bart}")[0] == 404
    with database(database_url) as db:
        statuses = {
            (r.member.name, r.meeting.date): r.status for r in db.scalars(sa.select(models.Registration))
        }
        assert statuses == {("Anna Peeters", MARCH): "registered", ("Chloé Dubois", JANUARY): "registered"}
        assert db.get(models.Member, anna).organisation == "CAW Oost-Vlaanderen"
        assert db.get(models.Member, chloe).language == "fr"
        assert not queries.members_at(db, BART[1])
        kinds = [e.kind for e in db.scalars(sa.select(models.Event).order_by(models.Event.id))]
        # Bart's cancel event went with him; Chloé's place and the erasure (a count) stay for the digest.
        assert {EventKind.PROMOTED, EventKind.ERASED} <= set(kinds) and EventKind.CANCEL not in kinds
    # The changes about Bart (his cancel) went with him; the forgetting itself stays, naming no one.
    assert events(database_url) == [
        "member_added",
        "member_edited: organisation",
        "registration_moved",
        "member_forgotten",
    ]
    assert not any(b"bart.claes" in raw for raw in imap.fetch_all("mailflow/processed"))
    sent = flow.run(at=NOW + dt.timedelta(minutes=30))
    assert [m["To"].addresses[0].addr_spec for m in sent] == ["chloe.dubois@example.org"]  # her place


def test_who_came_is_recorded_with_walk_ins(tmp_path, database_url):
    config = write_config(tmp_path, database_url, meetings=MEETINGS, web=web_section(free_port()))
    with WebServer(config, now="2025-11-19T10:00+01:00") as server:  # the day after November's meeting
        with database(database_url) as db:
            november = db.scalar(sa.select(models.Meeting).where(models.Meeting.date == NOVEMBER))
            people = []
            for name, address in (ANNA, BART):
                member = models.Member(
                    email=address,
                    name=name,
                    name_key=queries.name_key(name),
                    language="nl",
                    status="active",
                    unsure=False,
                    undeliverable=False,
                    created_at=NOW - dt.timedelta(days=60),
                    last_heard_at=NOW,
                )
                db.add(member)
                db.add(
                    models.Registration(
                        member=member,
                        meeting=november,
                        status="registered",
                        created_at=NOW - dt.timedelta(days=60),
                        updated_at=NOW - dt.timedelta(days=60),
                    )
                )
                people.append(member)
            db.commit()
            anna, bart, meeting = people[0].id, people[1].id, november.id
        client = Http(server.url)
        client.log_in()
        page = client.get(f"/meetings/{meeting}")[2]
        assert f'name="came" value="{anna}"' in page and 'name="walk_ins"' in page
        status, headers, _, _ = client.post(
            f"/meetings/{meeting}/attendance", {"came": [anna], "walk_ins": 3}
        )
        assert (status, headers["Location"]) == (302, f"/meetings/{meeting}")
        assert "3" in client.get(f"/meetings/{meeting}")[2]
    with database(database_url) as db:
        attended = {r.member_id: r.attended for r in db.scalars(sa.select(models.Registration))}
        assert attended == {anna: True, bart: False}
        assert db.get(models.Meeting, meeting).walk_ins == 3
        kinds = [e.kind for e in db.scalars(sa.select(models.Event).order_by(models.Event.id))]
        assert kinds == [EventKind.ATTENDANCE, EventKind.WEB_CHANGE]
    assert events(database_url) == ["attendance_recorded"]
