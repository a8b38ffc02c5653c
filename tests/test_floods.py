"""Loops and floods (RFC 3834): automatic mail is never answered, a robot cannot keep a ping-pong going, and a
flood gets a handful of replies at most.

Staged for real: mails APPENDed to the test IMAP server, mailflow passes with a simulated clock, replies
counted at the aiosmtpd sink, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import email.utils
import gc
import logging
import re
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import COORDINATOR, SIGNUP_ADDRESS, database

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import models
from mailflow.cli import admin, main
from mailflow.core import limits
from mailflow.usecases.context import App, build_app
from mailflow.usecases.passes import run_once

MEETINGS = [
    {"date": dt.date(2026, 1, 13), "theme": "Dringende medische hulp", "speakers": ["Nora Jacobs"]},
    {"date": dt.date(2026, 3, 10), "theme": "Toegang tot onderwijs", "speakers": []},
]
START = dt.datetime(2025, 12, 15, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
REGISTER = "Dag,\r\n\r\nIk schrijf me graag in voor de volgende bijeenkomst.\r\n\r\nGroeten,\r\n{name}\r\n"
CANCEL = "Dag,\r\n\r\nIk kan helaas niet komen naar de volgende bijeenkomst.\r\n\r\nGroeten,\r\n{name}\r\n"


def _mail(
    sender: str,
    body: str,
    *,
    subject: str = "Inschrijving leernetwerk",
    name: str = "Anna Peeters",
    headers: tuple[str, ...] = (),
    message_id: str | None = None,
    when: dt.datetime = START,
) -> bytes:
    """A plain-text mail to the signup address, with extra header lines as given."""
    lines = [
        f"From: {name} <{sender}>",
        f"To: {SIGNUP_ADDRESS}",
        f"Subject: {subject}",
        f"Date: {email.utils.format_datetime(when)}",
        f"Message-ID: {message_id or f'<{uuid.uuid4().hex}@example.org>'}",
        *headers,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        body.format(name=name),
    ]
    return "\r\n".join(lines).encode("utf-8")


def _parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


@pytest.fixture
def config_path(imap, smtp_sink, database_url, make_config) -> Path:
    return make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)


@pytest.fixture
def app(config_path) -> Iterator[App]:
    with build_app(load_config(config_path)) as app:
        yield app


def _pass(app: App, now: dt.datetime) -> None:
    assert run_once(app, lambda: now)


def _to(sink, address: str) -> list:
    return [m for m in sink.messages if address in m.rcpt_tos]


def _notices(sink) -> list:
    """The coordinator's notices of held replies (the daily digest goes to the coordinator too)."""
    return [
        m
        for m in _to(sink, COORDINATOR)
        if re.search(r"tegengehouden|replies held", _parsed(m.data)["Subject"], re.IGNORECASE)
    ]


# --- mail that is never answered ----------------------------------------------------------------------------

# Each form, on a mail that would otherwise be answered as a registration: (name, sender, extra headers).
NEVER_ANSWERED = [
    ("auto-submitted-auto-generated", "a1@example.org", ("Auto-Submitted: auto-generated",)),
    ("auto-submitted-auto-replied", "a2@example.org", ("Auto-Submitted: auto-replied",)),
    ("auto-submitted-auto-notified", "a3@example.org", ("Auto-Submitted: auto-notified",)),
    ("auto-submitted-odd-value", "a4@example.org", ("Auto-Submitted: nonstandard (robot)",)),
    ("return-path-null", "rp@example.org", ("Return-Path: <>",)),
    ("precedence-bulk", "p1@example.org", ("Precedence: bulk",)),
    ("precedence-junk", "p2@example.org", ("Precedence: junk",)),
    ("precedence-list", "p3@example.org", ("Precedence: list",)),
    ("list-id", "l1@example.org", ("List-Id: Vrijwilligers <vrijwilligers.lists.example.org>",)),
    ("list-unsubscribe", "l2@example.org", ("List-Unsubscribe: <mailto:leave@lists.example.org>",)),
    ("x-autoreply", "x1@example.org", ("X-Autoreply: yes",)),
    ("x-autorespond", "x2@example.org", ("X-Autorespond: Thank you",)),
    ("x-auto-response-suppress", "x3@example.org", ("X-Auto-Response-Suppress: OOF, AutoReply",)),
    ("mailer-daemon", "MAILER-DAEMON@mail.example.org", ()),
    ("postmaster", "postmaster@example.org", ()),
    ("no-reply", "no-reply@example.org", ()),
    ("noreply", "noreply@notifications.example.org", ()),
    ("donotreply", "do-not-reply@example.org", ()),
    ("our-message-id", "m1@example.org", ()),
    ("our-loop-header", "loop@example.org", (f"X-Loop: {SIGNUP_ADDRESS}",)),
    (
        "our-loop-header-below-another",
        "loop2@example.org",
        ("X-Loop: lijst@lists.example.org", f"X-Loop: {SIGNUP_ADDRESS}"),
    ),
    ("our-own-address", SIGNUP_ADDRESS, ()),
]


def _report(sender: str) -> bytes:
    """A multipart/report that is no delivery report (an abuse feedback report, RFC 5965), with a person's
    text."""
    return "\r\n".join(
        [
            f"From: Anna Peeters <{sender}>",
            f"To: {SIGNUP_ADDRESS}",
            "Subject: Inschrijving leernetwerk",
            f"Date: {email.utils.format_datetime(START)}",
            f"Message-ID: <{uuid.uuid4().hex}@example.org>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/report; report-type=feedback-report; boundary="b"',
            "",
            "--b",
            "Content-Type: text/plain; charset=utf-8",
            "",
            REGISTER.format(name="Anna Peeters"),
            "--b",
            "Content-Type: message/feedback-report",
            "",
            "Feedback-Type: abuse",
            "Version: 1",
            "",
            "--b--",
            "",
        ]
    ).encode()


def test_automatic_and_own_mail_is_never_answered(config_path, imap, smtp_sink, database_url):
    control = "control@example.org"
    imap.append("INBOX", _mail(control, REGISTER))  # the same mail without the mark: answered
    for form, sender, headers in NEVER_ANSWERED:
        message_id = f"<{uuid.uuid4().hex}@in-gent.example>" if form == "our-message-id" else None
        imap.append("INBOX", _mail(sender, REGISTER, headers=headers, message_id=message_id))
    imap.append("INBOX", _report("report@example.org"))

    assert main(["run", "--config", str(config_path), "--once", "--now", START.isoformat()]) == 0

    answered = {r for m in smtp_sink.messages for r in m.rcpt_tos} - {COORDINATOR}  # the digest goes there
    assert [form for form, sender, _ in NEVER_ANSWERED if sender.lower() in answered] == []
    assert answered == {control}
    assert imap.count("INBOX") == 0
    with database(database_url) as db:
        replies = db.scalars(
            sa.select(models.OutboxMessage.recipient).where(models.OutboxMessage.kind != "digest")
        )
        assert list(replies) == [control]
        rows = db.scalars(sa.select(models.InboundMessage)).all()
        assert len(rows) == len(NEVER_ANSWERED) + 2
        assert all(row.status in ("processed", "review") for row in rows)


def test_every_mail_we_send_is_marked_automatic_and_comes_back_unanswered(app, imap, smtp_sink, database_url):
    anna = "anna@example.org"
    imap.append("INBOX", _mail(anna, REGISTER))
    _pass(app, START)  # her reply, and the day's digest
    _pass(app, dt.datetime(2026, 1, 6, 10, 0, tzinfo=START.tzinfo))  # a week before the meeting: her reminder
    sent = [_parsed(m.data) for m in smtp_sink.messages]
    kinds = {m["Subject"].split(":")[0]: m for m in sent if anna in m["To"]}
    assert set(kinds) == {"Ingeschreven", "Herinnering"} and any(COORDINATOR in m["To"] for m in sent)
    for message in sent:
        expected = "auto-replied" if message is kinds["Ingeschreven"] else "auto-generated"
        assert message["Auto-Submitted"] == expected, message["Subject"]
        assert message["X-Auto-Response-Suppress"] == "All" and message["X-Loop"] == SIGNUP_ADDRESS

    # Our reply and reminder back in the inbox as they are (copies), and the reply redirected by a robot that
    # rewrote From and Message-ID and dropped the automatic headers but kept X-Loop: none is answered.
    reply, reminder = (m for m in smtp_sink.messages if anna in m.rcpt_tos)
    redirected = reply.data.replace(
        f"From: Leernetwerk In-Gent <{SIGNUP_ADDRESS}>".encode(), b"From: Robot <robot@example.org>"
    )
    redirected = redirected.replace(
        kinds["Ingeschreven"]["Message-ID"].encode(), b"<redirected-1@example.org>"
    )
    redirected = redirected.replace(b"Auto-Submitted: auto-replied\r\n", b"")
    redirected = redirected.replace(b"X-Auto-Response-Suppress: All\r\n", b"")
    assert b"robot@example.org" in redirected and b"Auto-Submitted" not in redirected
    for raw in (reply.data, reminder.data, redirected):
        imap.append("INBOX", raw)
    before = len(smtp_sink.messages)
    _pass(app, dt.datetime(2026, 1, 6, 10, 5, tzinfo=START.tzinfo))
    assert len(smtp_sink.messages) == before
    with database(database_url) as db:
        reasons = [
            r.reason for r in db.scalars(sa.select(models.InboundMessage).order_by(models.InboundMessage.id))
        ]
    assert reasons[1:] == ["our own mail", "our own mail", "auto_reply: our own X-Loop header"]


# --- limits -------------------------------------------------------------------------------------------------


def test_replies_to_one_address_stop_at_the_daily_limit(
    app, config_path, imap, smtp_sink, database_url, capsys
):
    # Eight mails that each deserve a different answer (register and cancel in turn) within an hour.
    sender = "griet@example.org"
    for i in range(8):
        imap.append("INBOX", _mail(sender, REGISTER if i % 2 == 0 else CANCEL, name="Griet Bauwens"))
        _pass(app, START + dt.timedelta(minutes=5 * i))
    assert len(_to(smtp_sink, sender)) == 5

    # Three held, each with an event naming the limit (not the address); one notice to the coordinator.
    with database(database_url) as db:
        held = db.scalars(sa.select(models.OutboxMessage).where(models.OutboxMessage.status == "held")).all()
        assert len(held) == 3 and {r.recipient for r in held} == {sender}
        events = db.scalars(sa.select(models.Event).where(models.Event.kind == "held")).all()
        assert [e.detail for e in events] == [limits.PER_ADDRESS] * 3
    (notice,) = _notices(smtp_sink)
    message = _parsed(notice.data)
    assert message["Auto-Submitted"] == "auto-generated" and message["X-Loop"] == SIGNUP_ADDRESS
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "tegengehouden" in text and f"mailflow outbox retry {held[0].id}" in text
    assert sender not in notice.data.decode() and "Griet" not in text

    # The admin sees them and releases one: it goes out with the next pass, the others stay held.
    assert main(["outbox", "--config", str(config_path)]) == 0
    listing = capsys.readouterr().out
    assert listing.count(" held ") == 3
    released = START + dt.timedelta(minutes=45)
    with app.sessions.begin() as db:  # `mailflow outbox retry ID`, at the simulated time
        admin.outbox_retry(db, held[0].id, released, print)
    _pass(app, released)
    assert len(_to(smtp_sink, sender)) == 6
    assert len(_notices(smtp_sink)) == 1

    # A day later the address has its allowance again.
    imap.append("INBOX", _mail(sender, REGISTER, name="Griet Bauwens"))
    _pass(app, START + dt.timedelta(hours=25))
    assert len(_to(smtp_sink, sender)) == 7


def test_replies_to_everyone_stop_at_the_hourly_limit(imap, smtp_sink, database_url, make_config):
    config_path = make_config(
        imap,
        smtp_sink,
        database_url,
        imap={"since": "2000-01-01"},
        meetings=MEETINGS,
        limits={"replies_per_hour": 4},
        network={"language": "en"},
    )
    with build_app(load_config(config_path)) as app:
        for i in range(7):
            imap.append(
                "INBOX", _mail(f"volunteer{i}@example.org", REGISTER, name=f"Vrijwilliger {chr(65 + i)}")
            )
        _pass(app, START)
        _pass(app, START + dt.timedelta(minutes=30))
        replies = [m for m in smtp_sink.messages if COORDINATOR not in m.rcpt_tos]
        assert len(replies) == 4
        assert len(_notices(smtp_sink)) == 1

        # An hour later replies flow again; what was held stays held until released.
        imap.append("INBOX", _mail("late@example.org", REGISTER, name="Laura Laat"))
        _pass(app, START + dt.timedelta(minutes=61))
        assert len(_to(smtp_sink, "late@example.org")) == 1
    with database(database_url) as db:
        events = db.scalars(sa.select(models.Event).where(models.Event.kind == "held")).all()
        assert [e.detail for e in events] == [limits.PER_HOUR] * 3


# --- a robot that answers every mail ------------------------------------------------------------------------

ROBOT = "onthaal@vrijwilligerspunt.example"
ROBOT_TEXT = (
    "Dank je voor je bericht!\r\n\r\nWij schrijven ons graag in voor de volgende bijeenkomst.\r\n\r\n"
    "Het onthaal van het Vrijwilligerspunt\r\n"
)


@pytest.mark.parametrize("threads", [False, True], ids=["bare", "quotes-subject-and-threads"])
def test_a_naive_autoresponder_gets_one_mail_in_an_hour(app, imap, smtp_sink, threads):
    """The robot answers each mail it gets with the same text and no automatic headers; we poll every 2
    minutes."""
    answered: set[int] = set()
    imap.append("INBOX", _mail(ROBOT, ROBOT_TEXT, name="Vrijwilligerspunt", subject="Welkom"))
    now = START
    while now < START + dt.timedelta(hours=1):
        _pass(app, now)
        for index, received in enumerate(smtp_sink.messages):
            if ROBOT in received.rcpt_tos and index not in answered:
                answered.add(index)
                ours = _parsed(received.data)
                headers = (f"In-Reply-To: {ours['Message-ID']}",) if threads else ()
                subject = f"Re: {ours['Subject']}" if threads else "Welkom"
                imap.append(
                    "INBOX",
                    _mail(
                        ROBOT,
                        ROBOT_TEXT,
                        name="Vrijwilligerspunt",
                        subject=subject,
                        headers=headers,
                        when=now,
                    ),
                )
        now += dt.timedelta(minutes=2)
    assert len(_to(smtp_sink, ROBOT)) == 1
    assert len(answered) == 1
    assert imap.count("INBOX") == 0  # its answers were read and filed, not left behind


# --- a flood from one address -------------------------------------------------------------------------------


FLOODERS = ["Griet Bauwens", "Koen Maes", "Sofie Wouters", "Bram Jacobs", "Ilse Claes", "Wim Goossens"]


def _flood(app: App, imap, sender: str, count: int, start: dt.datetime) -> tuple[int, int]:
    """`count` mails from one address, 50 a minute with a pass every minute: a few people registered and
    excused in turn, so that no reply repeats the one before and only the limits stop them.

    Returns (the most traced memory one pass took on top of what it found, what the passes left behind), in
    bytes.
    """
    gc.collect()  # count what is kept, not garbage that the cycle collector has yet to free
    before = tracemalloc.get_traced_memory()[0]
    transient = 0
    for minute in range(count // 50):
        now = start + dt.timedelta(minutes=minute)
        imap.append_many(
            "INBOX",
            [
                _mail(sender, CANCEL if i % 2 else REGISTER, name=FLOODERS[i // 2 % len(FLOODERS)], when=now)
                for i in range(50)
            ],
        )
        at_start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        _pass(app, now)
        transient = max(transient, tracemalloc.get_traced_memory()[1] - at_start)
        gc.collect()
    return transient, tracemalloc.get_traced_memory()[0] - before


@contextlib.contextmanager
def _log_records_not_kept() -> Iterator[None]:
    """pytest keeps every log record for its report, which a daemon does not: measure mailflow without
    that."""
    root = logging.getLogger()
    handlers = root.handlers[:]
    root.handlers = [logging.NullHandler()]
    try:
        yield
    finally:
        root.handlers = handlers


def test_a_flood_from_one_address_gets_five_replies_and_memory_stays_flat(app, imap, smtp_sink, database_url):
    tracemalloc.start()
    try:
        with _log_records_not_kept():
            _flood(
                app, imap, "warm-up@example.org", 50, START
            )  # connections, templates, compiled queries, caches
            small = _flood(app, imap, "small@example.org", 100, START + dt.timedelta(minutes=10))
            large = _flood(
                app, imap, "flood@example.org", 500, START + dt.timedelta(minutes=20)
            )  # 10 minutes
    finally:
        tracemalloc.stop()
    assert len(_to(smtp_sink, "small@example.org")) == 5
    assert len(_to(smtp_sink, "flood@example.org")) == 5
    assert imap.count("INBOX") == 0
    with database(database_url) as db:
        held = db.scalar(
            sa.select(sa.func.count())
            .select_from(models.OutboxMessage)
            .where(
                models.OutboxMessage.status == "held", models.OutboxMessage.recipient == "flood@example.org"
            )
        )
    assert held == 495
    # Five times the mail, the same memory: a pass holds one batch at a time and nothing is kept per mail.
    figures = (
        f"100 mails: {small[0]} bytes a pass, {small[1]} kept; "
        f"500 mails: {large[0]} bytes a pass, {large[1]} kept"
    )
    print(figures)
    assert large[0] < small[0] * 1.25 + 250_000, figures
    assert large[1] < small[1] * 1.5 + 100_000, figures
