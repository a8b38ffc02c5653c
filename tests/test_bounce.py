"""Bounces: which address failed (RFC 3464), and what mailflow does about it (no more reminders; the digest
says so)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import database
from test_periodic import ANNA, BART, MEETINGS, Clock, _kinds, _text, registration

from mailflow.adapters.db import models
from mailflow.core.parsing.bounce import failed_recipients

MAIL = Path(__file__).parent / "mail"


def delivery_report(address: str, action: str = "failed") -> bytes:
    """A Postfix-style RFC 3464 report saying mail to `address` failed (or was only delayed)."""
    return (
        "From: MAILER-DAEMON@mail.in-gent.example (Mail Delivery System)\r\n"
        "To: leernetwerk@in-gent.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Tue, 24 Mar 2026 10:01:00 +0100\r\n"
        "Message-ID: <report.1@mail.in-gent.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "Your message could not be delivered.\r\n"
        "--b1\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mail.in-gent.example\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {address}\r\n"
        f"Action: {action}\r\n"
        "Status: 5.1.1\r\n"
        "--b1--\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("003-postfix-user-unknown.eml", "geert.fransen@deoverkant.example"),
        ("022-exchange-ndr-nl.eml", "an.lagae@welzijnshuis-tielt.example"),
    ],
)
def test_the_failed_address_of_real_reports(name, address):
    assert failed_recipients((MAIL / name).read_bytes()) == (address,)


def test_failed_recipients_reads_exim_headers_and_ignores_delays_and_garbage():
    assert failed_recipients(b"X-Failed-Recipients: a@example.org, B@Example.org\r\n\r\nbody") == (
        "a@example.org",
        "b@example.org",
    )
    assert failed_recipients(delivery_report("anna@example.org", action="delayed")) == ()
    assert failed_recipients(delivery_report("Anna@Example.org")) == ("anna@example.org",)
    assert failed_recipients(b"\x00\xff garbage") == ()
    assert failed_recipients(b"") == ()


def test_a_bounced_address_gets_no_more_reminders_and_the_digest_names_it(
    imap, smtp_sink, database_url, make_config
):
    config_path = make_config(imap, smtp_sink, database_url, imap={"since": "2000-01-01"}, meetings=MEETINGS)
    clock = Clock(config_path, smtp_sink)
    imap.append("INBOX", registration(ANNA))
    imap.append("INBOX", registration(BART))
    clock.run("2026-03-02T07:00+01:00")
    imap.append("INBOX", delivery_report(ANNA[1]))
    assert clock.run("2026-03-02T07:30+01:00") == []  # a bounce is never answered
    with database(database_url) as db:
        assert db.scalar(sa.select(models.Member.undeliverable).where(models.Member.email == ANNA[1])) is True

    (digest,) = clock.digests_of("2026-03-02T08:00+01:00")
    not_delivered = _text(digest).split("NIET AANGEKOMEN", 1)[1].split("\n\n", 1)[0]
    assert ANNA[1] in not_delivered and BART[1] not in not_delivered
    assert _kinds(clock.run("2026-03-24T10:00+01:00")) == [(BART[1], "reminder")]
