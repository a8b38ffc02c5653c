"""Sending the outbox to a real SMTP server that answers 250, 4xx or 5xx: sent once, retried later, or given
up."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import models, queries
from mailflow.adapters.smtp import SmtpOutbox
from mailflow.usecases.context import App, build_app
from mailflow.usecases.outgoing import REPLY_LIFETIME
from mailflow.usecases.sending import send_outbox

NOW = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def app(imap, smtp_sink, database_url, make_config):
    with build_app(load_config(make_config(imap, smtp_sink, database_url))) as app:
        yield app


def _queue(app: App, recipient: str = "ine.verbeke@example.org", key: str = "reply:1") -> int:
    raw = (
        f"From: leernetwerk@in-gent.example\r\nTo: {recipient}\r\nSubject: test\r\n"
        "Message-ID: <m1@in-gent.example>\r\n\r\nHallo\r\n"
    ).encode()
    with app.sessions.begin() as db:
        row = queries.enqueue(
            db,
            key=key,
            kind="register",
            recipient=recipient,
            message_id="<m1@in-gent.example>",
            raw=raw,
            now=NOW,
            expires_at=NOW + REPLY_LIFETIME,
        )
        db.flush()
        return row.id


def _send(app: App, now: dt.datetime) -> dict[str, int]:
    with SmtpOutbox(app.config.smtp) as smtp:
        return send_outbox(app, smtp, now)


def _row(app: App, row_id: int) -> models.OutboxMessage:
    with app.sessions() as db:
        return db.get(models.OutboxMessage, row_id)


def test_sent_once_and_never_again(app, smtp_sink):
    row_id = _queue(app)
    assert _send(app, NOW) == {"sent": 1}
    assert _send(app, NOW + dt.timedelta(hours=1)) == {}
    assert len(smtp_sink.messages) == 1
    row = _row(app, row_id)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, NOW)


def test_temporary_failure_is_retried_with_growing_delay_then_delivered_once(app, smtp_sink):
    row_id = _queue(app)
    smtp_sink.mode = "4xx"
    now = NOW
    delays = []
    for _ in range(4):
        assert _send(app, now) == {"deferred": 1}
        row = _row(app, row_id)
        delays.append(row.next_attempt_at - now)
        assert _send(app, row.next_attempt_at - dt.timedelta(seconds=1)) == {}  # not due yet: not tried
        now = row.next_attempt_at
    assert delays == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert smtp_sink.messages == []

    smtp_sink.mode = None
    assert _send(app, now) == {"sent": 1}
    assert len(smtp_sink.messages) == 1
    assert _row(app, row_id).attempts == 5


def test_server_closing_with_421_is_retried(app, smtp_sink):
    row_id = _queue(app)
    smtp_sink.mode = "421"
    assert _send(app, NOW) == {"deferred": 1}
    smtp_sink.mode = None
    assert _send(app, _row(app, row_id).next_attempt_at) == {"sent": 1}


@pytest.mark.parametrize("how", ["data-5xx", "recipient-550"])
def test_permanent_failure_is_tried_once_and_reported(app, smtp_sink, how):
    if how == "data-5xx":
        smtp_sink.mode = "5xx"
        row_id = _queue(app)
    else:
        row_id = _queue(app, recipient="reject5@example.org")
    assert _send(app, NOW) == {"failed": 1}
    assert _send(app, NOW + dt.timedelta(days=1)) == {}
    row = _row(app, row_id)
    assert (row.status, row.attempts) == ("failed", 1)
    with app.sessions() as db:
        assert db.scalar(sa.select(sa.func.count()).where(models.Event.kind == "delivery_failed")) == 1


def test_a_reply_expires_after_five_days(app, smtp_sink):
    row_id = _queue(app)
    smtp_sink.mode = "4xx"
    assert _send(app, NOW) == {"deferred": 1}
    smtp_sink.mode = None
    assert _send(app, NOW + dt.timedelta(days=5, seconds=1)) == {"expired": 1}
    assert smtp_sink.messages == []
    assert _row(app, row_id).status == "expired"


def test_unreachable_server_leaves_rows_untouched(app, smtp_sink):
    row_id = _queue(app)
    smtp_sink.stop()
    with pytest.raises(Exception, match="cannot connect"):
        _send(app, NOW)
    row = _row(app, row_id)
    assert (row.status, row.attempts) == ("pending", 0)
