"""Sending the outbox over SMTP: 250 marks a mail sent, 5xx failed, 4xx and lost connections retry later."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db import delivery, models, queries
from mailflow.adapters.smtp import SmtpOutbox
from mailflow.core.vocabulary import EventKind, MailKind, OutboxStatus
from mailflow.errors import MailflowError
from mailflow.usecases import faults, privacy
from mailflow.usecases.context import App, _counts

log = logging.getLogger(__name__)


RETRY_FIRST, RETRY_MAX = dt.timedelta(minutes=1), dt.timedelta(hours=1)


def send_outbox(app: App, smtp: SmtpOutbox, now: dt.datetime) -> dict[str, int]:
    """Send the outbox rows that are due: 250 marks sent, 5xx failed, 4xx and lost connections retry later.

    Each row is committed on its own, so a crash re-sends at most the one mail in flight, with the same
    Message-ID. Those commits do not wait for the disk (delivery.commits_not_awaited): a mark lost to a power
    cut costs a mail sent twice, never one lost, and waiting would cost more than the send.
    """
    sender = smtp.settings.sender
    counts: dict[str, int] = {}
    with delivery.commits_not_awaited(app.sessions) as connection:
        for due in _due_rows(connection, now):
            if app.stop.is_set():
                break
            if due.expires_at is not None and due.expires_at <= now:
                with app.sessions(bind=connection) as db:
                    row = _stored(db, due.id)
                    row.status, row.last_error = OutboxStatus.EXPIRED, "not delivered before it expired"
                    queries.record_event(
                        db, EventKind.DELIVERY_EXPIRED, now, member=_member(db, row.member_id), outbox=row
                    )
                    db.commit()
                counts[OutboxStatus.EXPIRED] = counts.get(OutboxStatus.EXPIRED, 0) + 1
                continue
            if smtp.connection is None:
                smtp.connect()  # a refused connection or login leaves every row as it was
            try:
                smtp.send(due.raw, sender, due.recipient)
            except MailflowError as exc:
                permanent = getattr(exc, "permanent", False)
                with app.sessions(bind=connection) as db:
                    row = _stored(db, due.id)
                    row.attempts += 1
                    row.last_error = str(exc)[:500]
                    if permanent:
                        row.status = OutboxStatus.FAILED
                        queries.record_event(
                            db,
                            EventKind.DELIVERY_FAILED,
                            now,
                            member=_member(db, row.member_id),
                            outbox=row,
                            detail=row.last_error,
                        )
                    else:
                        row.next_attempt_at = now + min(RETRY_FIRST * 2 ** (row.attempts - 1), RETRY_MAX)
                    db.commit()
                status = OutboxStatus.FAILED if permanent else "deferred"  # deferred: still pending, a count
                counts[status] = counts.get(status, 0) + 1
                log.warning("outbox id=%s %s: %s", due.id, status, str(exc)[:500])
                if not permanent:
                    break  # the server is in trouble: leave the rest for the next round
                continue
            faults.checkpoint("after_250")
            if due.kind == MailKind.ERASE:
                # The erase confirmation is the last trace of the erased person: privacy empties it once sent.
                with app.sessions(bind=connection) as db:
                    row = _stored(db, due.id)
                    row.attempts, row.status, row.sent_at = due.attempts + 1, OutboxStatus.SENT, now
                    privacy.forget_sent_confirmation(row)
                    db.commit()
            else:
                delivery.mark_sent(connection, due.id, now, due.attempts + 1)
            counts[OutboxStatus.SENT] = counts.get(OutboxStatus.SENT, 0) + 1
            log.info("outbox id=%s sent %s", due.id, due.message_id)
    return counts


def _due_rows(connection: sa.Connection, now: dt.datetime) -> Iterator[delivery.Due]:
    """Every due row, a page at a time; a row that stays pending (deferred) is not offered twice in one
    pass. The page's read ends before its rows are sent, so that each mark is a transaction of its own."""
    last: tuple[dt.datetime, int] | None = None
    while True:
        page = delivery.due_outbox(connection, now, after=last)
        connection.rollback()
        if not page:
            return
        last = (page[-1].next_attempt_at, page[-1].id)
        yield from page


def _stored(db: Session, outbox_id: int) -> models.OutboxMessage:
    row = db.get(models.OutboxMessage, outbox_id)
    assert row is not None  # only mailflow deletes outbox rows, and not while it sends them
    return row


def _member(db: Session, member_id: int | None) -> models.Member | None:
    return db.get(models.Member, member_id) if member_id is not None else None


def send_due(app: App, clock: Callable[[], dt.datetime]) -> None:
    """Open an SMTP session only when the outbox has something due, and send it."""
    now = clock()
    with app.sessions() as db:
        if not delivery.due_outbox(db, now, limit=1):
            return
    with SmtpOutbox(app.config.require_servers()[1]) as smtp:
        log.info("outbox: %s", _counts(send_outbox(app, smtp, now)))
