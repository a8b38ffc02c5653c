"""Hostile and broken mail end to end: APPENDed to a real Dovecot, one pass of `run_once`, then the folders,
the database and the aiosmtpd sink are read. Nothing may crash the pass, every mail ends processed or in
review within a time budget, and every reply that goes out has one recipient and no header a mail could
inject.

Runs on SQLite and PostgreSQL (PostgreSQL also enforces the column lengths SQLite ignores).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import itertools
import logging
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from helpers import COORDINATOR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import models, queries
from mailflow.adapters.imap import Fetched
from mailflow.usecases import intake
from mailflow.usecases.context import App, build_app
from mailflow.usecases.intake import Outcome, handle
from mailflow.usecases.passes import run_once

BROKEN = Path(__file__).parent / "mail" / "broken"
BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = dt.datetime(2025, 12, 15, 9, 0, tzinfo=BRUSSELS)
MEETINGS = [
    {"date": dt.date(2026, 1, 13), "theme": "Dringende medische hulp", "speakers": ["Nora Jacobs"]},
    {"date": dt.date(2026, 3, 10), "theme": "Toegang tot onderwijs", "speakers": []},
]
BUDGET = 2.0  # seconds one mail may take, from parsing to the queued reply
REGISTRATION = "Dag,\r\n\r\nIk schrijf me graag in voor het leernetwerk.\r\n\r\nGroeten,\r\nAnna Peeters\r\n"
SETTLED = {"processed", "review", "quarantined"}  # "failed" would mean an exception was caught and retried


# --- building mails -----------------------------------------------------------------------------------------


def mail(
    sender: str = "Anna Peeters <anna.peeters@example.org>",
    subject: str = "Inschrijving",
    body: str = REGISTRATION,
    extra: str = "",
    message_id: str | None = None,
) -> bytes:
    """A plain registration; `extra` is inserted as header lines ("Name: value\\r\\n")."""
    message_id = message_id or f"<{time.monotonic_ns()}@example.org>"
    return (
        f"From: {sender}\r\nTo: leernetwerk@in-gent.example\r\nSubject: {subject}\r\n"
        f"Date: Mon, 17 Nov 2025 20:14:05 +0100\r\nMessage-ID: {message_id}\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    ).encode()


def deeply_nested(levels: int) -> bytes:
    """A multipart nested `levels` deep, each level with its own boundary: Python's parser recurses per
    level."""
    opening = b"".join(
        b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i - 1, i)
        for i in range(1, levels)
    )
    closing = b"".join(b"--b%d--\r\n" % i for i in reversed(range(levels)))
    head = mail(subject="Diep genest", body="").split(b"Content-Type:")[0]
    return (
        head
        + b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n'
        + opening
        + b"--b%d\r\nContent-Type: text/plain\r\n\r\n" % (levels - 1)
        + REGISTRATION.encode()
        + closing
    )


def many_recipients(count: int, header: str) -> bytes:
    """A registration whose `header` ("To", "Cc" or "From") lists `count` addresses."""
    addresses = ", ".join(f"Persoon {i} <persoon{i}@example.org>" for i in range(count))
    if header == "From":
        return mail(sender=addresses, subject=f"{count} afzenders")
    return mail(subject=f"{count} ontvangers in {header}", extra=f"{header}: {addresses}\r\n")


def vcard_mail(name: str, organisation: str) -> bytes:
    """A registration that says nothing of its sender but a vCard (RFC 6350) with this FN and ORG."""
    return (
        "From: <mo@example.org>\r\nSubject: Inschrijving\r\nMIME-Version: 1.0\r\n"
        f"Message-ID: <{time.monotonic_ns()}@example.org>\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nIk schrijf me in voor het leernetwerk.\r\n"
        f"--b\r\nContent-Type: text/vcard\r\n\r\nBEGIN:VCARD\r\nFN:{name}\r\nORG:{organisation}\r\n"
        "END:VCARD\r\n"
        "--b--\r\n"
    ).encode()


# --- running mailflow on them -------------------------------------------------------------------------------


@pytest.fixture
def make_app(imap: Any, smtp_sink: Any, database_url: str, make_config: pytest.MonkeyPatch) -> Iterator[Any]:
    """`make_app(**imap_settings)`: mailflow wired to the test Dovecot, sink and database, as `mailflow run`
    does."""
    apps: list[App] = []

    def make(**imap_settings: object) -> App:
        path = make_config(
            imap, smtp_sink, database_url, imap={"since": "2000-01-01", **imap_settings}, meetings=MEETINGS
        )
        apps.append(build_app(load_config(path)))
        return apps[-1]

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def timed_handle(monkeypatch: pytest.MonkeyPatch) -> dict[int, float]:
    """Seconds the work on each mail took during the test, per UID: its parsing and `ingest` (a batch parses
    its mails first, then acts on each; both are looked up at call time, so this sees every mail)."""
    durations: dict[int, float] = {}
    parsing: dict[bytes, float] = {}
    parse, ingest = intake.parse_message, intake.ingest

    def timed_parse(raw: bytes, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return parse(raw, context)
        finally:
            parsing[raw] = parsing.get(raw, 0.0) + time.perf_counter() - start

    def timed_ingest(
        app: App, db: Any, row: Any, fetched: Fetched, now: dt.datetime, parsed: Any = None
    ) -> Outcome:
        start = time.perf_counter()
        try:
            return ingest(app, db, row, fetched, now, parsed)
        finally:
            spent = time.perf_counter() - start + parsing.pop(fetched.raw or b"", 0.0)
            durations[fetched.uid] = durations.get(fetched.uid, 0.0) + spent

    monkeypatch.setattr(intake, "parse_message", timed_parse)
    monkeypatch.setattr(intake, "ingest", timed_ingest)
    return durations


def one_pass(app: App) -> None:
    assert run_once(app, lambda: NOW), "the pass reported a failed step"


def inbound_rows(app: App) -> dict[int, models.InboundMessage]:
    with app.sessions() as db:
        rows = db.scalars(sa.select(models.InboundMessage)).all()
        db.expunge_all()
    return {row.uid: row for row in rows}


def members(app: App) -> list[models.Member]:
    with app.sessions() as db:
        found = list(db.scalars(sa.select(models.Member)).all())
        db.expunge_all()
    return found


def assert_one_safe_recipient(data: bytes, envelope: list[str]) -> EmailMessage:
    """The reply as a mail client reads it: one recipient, the one it is sent to; no CR or LF in any header
    value."""
    reply = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(reply, EmailMessage)
    assert len(envelope) == 1
    assert [a.addr_spec for a in reply["To"].addresses] == envelope
    assert reply["Cc"] is None and reply["Bcc"] is None
    for name, value in reply.items():
        assert "\r" not in str(value) and "\n" not in str(value), f"{name} holds a line break"
    assert not re.search(rb"^X-Injected:", data.split(b"\r\n\r\n", 1)[0], re.MULTILINE | re.IGNORECASE)
    assert reply["X-Injected"] is None
    return reply


def replies(sink: Any) -> list[Any]:
    """What the SMTP sink received, every mail checked, without the coordinator's digest (the pass sends it
    too)."""
    for received in sink.messages:
        assert_one_safe_recipient(received.data, received.rcpt_tos)
    return [received for received in sink.messages if received.rcpt_tos != [COORDINATOR]]


def report(title: str, durations: dict[int, float], names: dict[int, str]) -> None:
    print(f"\n{title}: seconds per mail in handle")
    for uid, name in names.items():
        print(f"  {durations[uid]:7.3f}  {name}")


# --- broken MIME --------------------------------------------------------------------------------------------


def test_broken_mime_is_processed_or_in_review_within_the_budget(make_app, imap, smtp_sink, timed_handle):
    app = make_app()
    hostile = {path.name: path.read_bytes() for path in sorted(BROKEN.glob("*.eml"))}
    hostile |= {
        "deeply nested multipart (3000 levels)": deeply_nested(3000),
        "10,000 addresses in To": many_recipients(10_000, "To"),
        "10,000 addresses in Cc": many_recipients(10_000, "Cc"),
        "10,000 addresses in From": many_recipients(10_000, "From"),
        "a 200,000-character Subject": mail(subject="Inschrijving " + "x" * 200_000),
        # Longer than the database columns (PostgreSQL refuses what SQLite would store).
        "a 2000-character Message-ID": mail(message_id=f"<{'m' * 2000}@example.org>"),
        "a 400-character address": mail(sender=f"Anna <{'a' * 400}@example.org>"),
        "a 1000-character From name": mail(
            sender=f'"{"Anna Peeters " * 80}" <anna.peeters@example.org>',
            body="Ik schrijf me in voor het leernetwerk.",
        ),
        "a 900-character organisation": mail(body=REGISTRATION + "Vzw " + "Buurtwerk" * 100 + "\r\n"),
        "a 1300-character vCard name": vcard_mail("Anna Peeters " * 100, "Buurtwerk " * 90),
    }
    names = {imap.append("INBOX", raw): name for name, raw in hostile.items()}

    one_pass(app)

    report("broken MIME", timed_handle, names)
    rows = inbound_rows(app)
    assert sorted(rows) == sorted(names), "every mail was handled in the one pass"
    for uid, name in names.items():
        assert rows[uid].status in SETTLED, f"{name}: {rows[uid].status} ({rows[uid].reason})"
        assert rows[uid].moved, name
        assert timed_handle[uid] < BUDGET, f"{name} took {timed_handle[uid]:.2f} s"
    assert imap.count("INBOX") == 0
    assert imap.count("mailflow/processed") + imap.count("mailflow/review") == len(names)

    by_name = {name: rows[uid] for uid, name in names.items()}
    # Python's parser recurses once per level and gives up: a quarantine with the reason, never a crash.
    deep = by_name["deeply nested multipart (3000 levels)"]
    assert (deep.status, deep.reason, deep.destination) == (
        "review",
        "unreadable: RecursionError",
        "mailflow/review",
    )
    assert deep.raw is not None  # kept for the human who looks at it
    assert by_name["10,000 addresses in From"].status == "review"
    assert by_name["10,000 addresses in From"].reason.startswith("ambiguous From")
    assert by_name["09-no-headers-at-all.eml"].reason.startswith("no From address")

    # Whatever was answered went to its one sender, never to the 10,000 others.
    sent = replies(smtp_sink)
    assert sent, "the readable registrations among them were answered"
    assert {r.rcpt_tos[0] for r in sent} <= {
        "anna.peeters@example.org",
        "zoe.muller@example.org",
        "mo@example.org",
    }


def test_nul_bytes_are_handled_as_they_come(make_app, imap):
    """Dovecot turns NUL into 0x80 on APPEND (so the pass above never sees one): the bytes go to handle() as
    they are.

    PostgreSQL refuses NUL in text, so a NUL in a name or organisation would fail the mail on every attempt.
    """
    app = make_app()
    raw = (BROKEN / "06-nul-bytes.eml").read_bytes()
    assert b"Organisatie: Buurtwerk\x00Muide" in raw
    with app.sessions.begin() as db:
        outcome = handle(app, db, Fetched("INBOX", 1, 1, len(raw), NOW, raw), NOW)
    assert (outcome.status, outcome.replies) == ("review", 1)  # answered; the odd name is listed for a human
    (member,) = members(app)
    assert (member.name, member.organisation) == ("Anna Peeters", "Buurtwerk Muide")


# --- over the size limit ------------------------------------------------------------------------------------


def test_a_mail_over_the_size_limit_is_never_downloaded(make_app, imap, smtp_sink, caplog):
    app = make_app(max_message_bytes=4096)
    marker = "grootteproef"
    big = mail(subject="Inschrijving met bijlage", body=(marker + " ") * 2000 + REGISTRATION)
    small = mail(
        sender="Bart Claes <bart.claes@example.org>", body=REGISTRATION.replace("Anna Peeters", "Bart Claes")
    )
    assert len(big) > 4096 >= len(small)
    big_uid, small_uid = imap.append("INBOX", big), imap.append("INBOX", small)
    caplog.set_level(logging.DEBUG, logger="imapclient")  # every IMAP command and response mailflow exchanges

    one_pass(app)

    rows = inbound_rows(app)
    assert rows[big_uid].status == "quarantined"
    assert rows[big_uid].reason == "larger than 4096 bytes; not downloaded"
    assert rows[big_uid].raw is None and rows[big_uid].size == len(big)
    assert rows[big_uid].sha256 != queries.sha256(big)
    # Sizes were asked for both; a body only for the small one.
    fetches = [line for line in caplog.messages if re.search(r"UID FETCH", line)]
    assert any("RFC822.SIZE" in line for line in fetches)
    bodies = [line for line in fetches if "BODY.PEEK[]" in line]
    assert bodies and all(re.search(rf"UID FETCH {small_uid} \(BODY", line) for line in bodies), bodies
    assert marker not in caplog.text
    assert imap.fetch_all("mailflow/review") == [big]
    assert rows[small_uid].status == "processed"
    assert [r.rcpt_tos for r in replies(smtp_sink)] == [["bart.claes@example.org"]]


# --- ambiguous From (CVE-2023-27043) ------------------------------------------------------------------------

AMBIGUOUS_FROM = [
    "alice@example.org<bob@example.org>",
    "alice@example.org <bob@example.org>",
    '"alice@example.org" <bob@example.org>',
    '"alice@example.org"<bob@example.org>',
    '"Alice \\" <alice@example.org>" <bob@example.org>',
    "Alice (bob@example.org) <alice@example.org>",
    "=?utf-8?q?alice=40example.org?= <bob@example.org>",
    "<alice@example.org> <bob@example.org>",
    "alice@example.org, bob@example.org",
    "Alice <alice@example.org>, Bob <bob@example.org>",
    "team: alice@example.org;",
    "friends: alice@example.org, bob@example.org;",
    "alice@example.org\r\nFrom: bob@example.org",  # two From headers
]


def test_an_ambiguous_from_is_never_answered(make_app, imap, smtp_sink):
    app = make_app()
    uids = [imap.append("INBOX", mail(sender=sender)) for sender in AMBIGUOUS_FROM]
    control = imap.append(
        "INBOX",
        mail(
            sender="Carla Jacobs <carla.jacobs@example.org>",
            body=REGISTRATION.replace("Anna Peeters", "Carla Jacobs"),
        ),
    )

    one_pass(app)

    rows = inbound_rows(app)
    for uid, sender in zip(uids, AMBIGUOUS_FROM, strict=True):
        assert rows[uid].status == "review", sender
        assert rows[uid].reason.startswith("ambiguous From:"), (sender, rows[uid].reason)
        assert rows[uid].sender is None, sender
    assert imap.count("mailflow/review") == len(AMBIGUOUS_FROM)
    # Only the control mail was answered, and only its sender registered.
    assert [r.rcpt_tos for r in replies(smtp_sink)] == [["carla.jacobs@example.org"]]
    assert rows[control].status == "processed"
    assert [m.email for m in members(app)] == ["carla.jacobs@example.org"]
    with app.sessions() as db:
        reasons = db.scalars(sa.select(models.Event.detail).where(models.Event.kind == "review")).all()
    assert len(reasons) == len(AMBIGUOUS_FROM) and all(r.startswith("ambiguous From:") for r in reasons)


# --- header injection ---------------------------------------------------------------------------------------

INJECTED = "=?utf-8?q?=0D=0AX-Injected:_yes?="  # decodes to a line break and a header of its own
TWICE = "=?utf-8?q?=3D=3Futf-8=3Fq=3F=3D0D=3D0AX-Injected=3A=5Fyes=3F=3D?="  # decodes to INJECTED


@pytest.mark.parametrize(
    "sender, subject, extra",
    [
        ("=?utf-8?q?Eve=0D=0AX-Injected:_yes?= <eve@example.org>", "Inschrijving", ""),
        ("=?utf-8?b?RXZlDQpYLUluamVjdGVkOiB5ZXM=?= <eve@example.org>", "Inschrijving", ""),
        (f"{TWICE} <eve@example.org>", "Inschrijving", ""),
        (f'"{INJECTED}" <eve@example.org>', "Inschrijving", ""),
        ("Eve <eve@example.org>", f"Inschrijving {INJECTED}", ""),
        ("Eve <eve@example.org>", f"Inschrijving {TWICE}", ""),
        ("Eve <eve@example.org>", "=?utf-8?b?SW5zY2hyaWp2aW5nDQpYLUluamVjdGVkOiB5ZXM=?=", ""),
        (
            "Eve <eve@example.org>",
            "Inschrijving",
            (
                f"In-Reply-To: <{INJECTED}@example.org>\r\n"
                f"References: <a@example.org> <{INJECTED}@example.org>\r\n"
            ),
        ),
    ],
    ids=[
        "name-q",
        "name-b",
        "name-twice",
        "name-quoted",
        "subject-q",
        "subject-twice",
        "subject-b",
        "references",
    ],
)
def test_encoded_line_breaks_never_reach_a_reply_header(make_app, imap, smtp_sink, sender, subject, extra):
    app = make_app()
    imap.append(
        "INBOX",
        mail(
            sender=sender,
            subject=subject,
            extra=extra,
            body=REGISTRATION.replace("Anna Peeters", "Eve Jansen"),
        ),
    )

    one_pass(app)

    (received,) = replies(smtp_sink)
    assert received.rcpt_tos == ["eve@example.org"]
    reply = assert_one_safe_recipient(received.data, received.rcpt_tos)
    assert reply["Subject"] == "Ingeschreven: di 13 januari - Leernetwerk"  # ours: nothing of the mail's
    for name in ("In-Reply-To", "References"):
        assert "=?" not in (reply[name] or "")


def test_hostile_names_from_the_mail_stay_text(make_app, imap, smtp_sink):
    """The From name and a form's organisation reach the reply verbatim: escaped in HTML, inert as template
    syntax."""
    app = make_app()
    raw = mail(
        sender="=?utf-8?q?=3Cscript=3Ealert(1)=3C/script=3E_{{_7*7_}}_{%_raw_%}?= <mo@example.org>",
        body="Ik schrijf me graag in voor het leernetwerk.\r\n\r\nNaam: Mo Jansen\r\n"
        "Organisatie: <b>Buurtwerk</b> {{ 7*7 }}\r\n",
    )
    imap.append("INBOX", raw)

    one_pass(app)

    (received,) = replies(smtp_sink)
    reply = assert_one_safe_recipient(received.data, received.rcpt_tos)
    assert reply["To"].addresses[0].display_name == "<script>alert(1)</script> {{ 7*7 }} {% raw %}"
    text = reply.get_body(("plain",)).get_content()
    html = reply.get_body(("html",)).get_content()
    (member,) = members(app)
    assert "<b>" in member.organisation.lower() and "{{ 7*7 }}" in member.organisation  # as the mail wrote it
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>" not in html.lower() and "&lt;b&gt;" in html.lower()
    assert "49" not in text and "49" not in html
    assert (
        "<script>alert(1)</script> {{ 7*7 }} {% raw %}" in text
        and "<b>buurtwerk</b> {{ 7*7 }}" in text.lower()
    )
    (ics,) = [part for part in reply.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert "script" not in ics.get_content() and "7*7" not in ics.get_content()


# --- any mail at all, through handle() ----------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "\r\n",
        "\n",
        "\r",
        "\x00",
        "\x85",
        "\u2028",
        "\u202e",
        " ",
        "\t",
        '"',
        "\\",
        "<",
        ">",
        ",",
        ";",
        ":",
        "@",
        "(",
        ")",
        "=?",
        "?=",
        "é",
        "Zoë",
        "{{ 7*7 }}",
        "{% raw %}",
        "<script>",
        "a@example.org",
    ]
)
# Whole values known to be dangerous: encoded line breaks, once and twice encoded, and header lines of their
# own.
_HOSTILE = st.sampled_from(
    [
        INJECTED,
        TWICE,
        "=?utf-8?b?DQpYLUluamVjdGVkOiB5ZXM=?=",
        "=?x-unknown?q?a=0Ab?=",
        "Eve\r\nX-Injected: yes",
        "Eve\nX-Injected: yes",
        "=?utf-8?q?Eve?= =?utf-8?q?=0A?=X-Injected: yes",
        "=?utf-8?q?=0D=0A?=",
        "Anna Peeters " * 80,
        "Zoë: ü× \\x " + "y" * 30,
        "a" * 300 + "@example.org",  # longer than any column
    ]
)
_TEXT = st.one_of(
    _HOSTILE,
    st.tuples(st.text(max_size=6), _HOSTILE, st.text(max_size=6)).map("".join),
    st.lists(st.one_of(_PIECES, _HOSTILE, st.text(max_size=6)), max_size=10).map("".join),
)
_ADDRESS = st.sampled_from(["anna@example.org", "Bob.Claes@example.org", "x+y@sub.example.org", "a@b"])


@st.composite
def _from_header(draw: st.DrawFn) -> str:
    name, address = draw(_TEXT), draw(_ADDRESS)
    form = draw(st.sampled_from(["plain", "quoted", "bare", "comment", "two", "group", "text"]))
    return {
        "plain": f"{name} <{address}>",
        "quoted": f'"{name}" <{address}>',
        "bare": address,
        "comment": f"{address} ({name})",
        "two": f"{name} <{address}>, b@example.org",
        "group": f"{name}: {address};",
        "text": name,
    }[form]


@st.composite
def hostile_mail(draw: st.DrawFn) -> bytes:
    """A registration with hostile headers, names, parts and encodings."""
    headers = [f"From: {draw(_from_header())}", f"Subject: {draw(_TEXT)}"]
    for name in draw(
        st.lists(
            st.sampled_from(
                [
                    "Message-ID",
                    "In-Reply-To",
                    "References",
                    "Cc",
                    "Reply-To",
                    "From",
                    "Content-Type",
                    "X-Whatever",
                ]
            ),
            max_size=4,
        )
    ):
        headers.append(f"{name}: {draw(st.sampled_from(['<', '<a@b> <']))}{draw(_TEXT)}>")
    charset = draw(st.sampled_from(["utf-8", "x-unknown", "iso-8859-1", ""]))
    name, organisation = draw(_TEXT), draw(_TEXT)
    body = (
        f"Dag,\r\n\r\nIk schrijf me graag in voor het leernetwerk.\r\n\r\n"
        f"Naam: {name}\r\nOrganisatie: {organisation}\r\n"
    )
    vcard = f"BEGIN:VCARD\r\nFN:{name}\r\nORG:{organisation}\r\nEND:VCARD\r\n"
    encoding = draw(st.sampled_from(["8bit", "base64", "quoted-printable"]))
    parts = [
        f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n{body}"
    ]
    if draw(st.booleans()):
        parts.append(f"Content-Type: text/vcard\r\n\r\n{vcard}")
    if draw(st.booleans()):
        parts.append(f"Content-Type: text/html\r\n\r\n<p>{draw(_TEXT)}</p>")
    boundary = draw(st.sampled_from(["; boundary=b", "", '; boundary="b']))  # right, missing, unterminated
    mime = (
        f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed{boundary}\r\n\r\n"
        + "".join(f"--b\r\n{part}" for part in parts)
        + draw(st.sampled_from(["--b--\r\n", ""]))
    )
    return ("\r\n".join(headers) + "\r\n" + mime).encode("utf-8", "surrogatepass")


def test_any_mail_is_settled_and_every_reply_has_one_clean_recipient(make_app):
    app = make_app()
    uids = itertools.count(1)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mail=hostile_mail())
    def check(mail: bytes) -> None:
        uid = next(uids)
        # A header of its own makes every call a new mail: hypothesis replays examples, and the same bytes
        # would (rightly) be skipped as seen before.
        raw = b"X-Example: %d\r\n" % uid + mail
        with app.sessions.begin() as db:
            outcome = handle(app, db, Fetched("INBOX", 1, uid, len(raw), NOW, raw), NOW)
        assert outcome.status in SETTLED
        with app.sessions() as db:
            row = db.scalars(sa.select(models.InboundMessage).where(models.InboundMessage.uid == uid)).one()
            assert row.status == outcome.status, row.reason
            key = f"reply:{row.id}"
            replies = db.scalars(sa.select(models.OutboxMessage).where(models.OutboxMessage.key == key)).all()
            assert len(replies) == outcome.replies <= 1
            for reply in replies:
                assert_one_safe_recipient(reply.raw, [reply.recipient])

    check()
