"""The shell of the privacy rules: the daily retention job, and deleting a forgotten person's mail from the mailbox.

What to drop is decided in retention.py (pure); forgetting a person in the database is jobs.forget. Logs carry
counts only, never the address being forgotten.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mailflow import retention, store
from mailflow.errors import MailflowError
from mailflow.inbox import Inbox

if TYPE_CHECKING:
    from mailflow.jobs import App

log = logging.getLogger(__name__)

RETENTION_EVERY = dt.timedelta(days=1)


# --- retention ------------------------------------------------------------------------------------------------------


def retention_if_due(app: App, now: dt.datetime) -> bool:
    """Apply the retention rules once a day (the last run is an Event "retention"). Returns False when it failed."""
    try:
        with app.sessions() as db:
            last = db.scalar(sa.select(sa.func.max(store.Event.at)).where(store.Event.kind == "retention"))
        if last is None or last <= now - RETENTION_EVERY:
            apply_retention(app, now)
        return True
    except (MailflowError, SQLAlchemyError) as exc:
        log.error("retention not applied: %s", store.short_error(exc))
        return False


def apply_retention(app: App, now: dt.datetime) -> dict[str, int]:
    """Drop what the retention rules no longer allow to keep; record an Event "retention" with the counts."""
    with app.sessions.begin() as db:
        plan = retention.plan_retention(_stored_mails(db), _members(db), _queued_mails(db), now, app.config.retention)
        _drop(db, plan)
        counts = plan.counts()
        store.record_event(db, "retention", now, detail=", ".join(f"{n} {what}" for what, n in counts.items()))
    if any(counts.values()):
        store.scrub(app.sessions)
    log.info("retention: %s raw mail(s), %s sender(s), %s member(s), %s sent mail(s) dropped",
             counts["raw"], counts["senders"], counts["members"], counts["sent"])
    return counts


def _stored_mails(db: Session) -> list[retention.StoredMail]:
    m = store.InboundMessage
    has_sender = sa.or_(m.sender.is_not(None), m.message_id.is_not(None))
    rows = db.execute(
        sa.select(m.id, m.status, m.received_at, m.raw.is_not(None), has_sender,
                  sa.and_(m.intent == "erase", m.sender.is_not(None)))
        .where(sa.or_(m.raw.is_not(None), has_sender))
    )
    return [retention.StoredMail(id, status, received_at, bool(raw), bool(sender), bool(erase))
            for id, status, received_at, raw, sender, erase in rows]


def _members(db: Session) -> list[retention.KnownMember]:
    m = store.Member
    return [retention.KnownMember(*row) for row in db.execute(sa.select(m.id, m.status, m.last_heard_at, m.left_at))]


def _queued_mails(db: Session) -> list[retention.QueuedMail]:
    o = store.OutboxMessage
    rows = db.execute(sa.select(o.id, o.status, o.created_at).where(o.recipient != ""))
    return [retention.QueuedMail(id, status, created_at, True) for id, status, created_at in rows]


def _drop(db: Session, plan: retention.Plan) -> None:
    inbound, outbox = store.InboundMessage, store.OutboxMessage
    if plan.raw:
        db.execute(sa.update(inbound).where(inbound.id.in_(plan.raw)).values(raw=None))
    if plan.senders:
        db.execute(sa.update(inbound).where(inbound.id.in_(plan.senders)).values(sender=None, message_id=None))
    if plan.members:
        # Their mail not sent yet goes too; attendance and events follow the member (ON DELETE CASCADE).
        db.execute(sa.delete(outbox).where(outbox.member_id.in_(plan.members)))
        db.execute(sa.delete(store.Member).where(store.Member.id.in_(plan.members)))
    if plan.sent:
        db.execute(sa.update(outbox).where(outbox.id.in_(plan.sent)).values(raw=b"", recipient=""))


# --- forgetting ------------------------------------------------------------------------------------------------------


def forget_in_outbox(db: Session, address: str) -> int:
    """Mail to others that names the address (the coordinator's digest, a colleague's confirmation): a sent one
    loses its text, an unsent one is dropped (the digest job makes a dropped digest again). Returns how many.

    The erase confirmation to the person is left alone; it empties itself once sent.
    """
    o = store.OutboxMessage
    rows = db.scalars(sa.select(o).where(o.raw != b"", o.recipient != address, o.kind != "erase"))
    named = [row for row in rows if retention.mentions(row.raw, address)]
    for row in named:
        if row.status == "pending":
            db.delete(row)
        else:
            row.raw = b""
    return len(named)


# --- forgetting in the mailbox --------------------------------------------------------------------------------------


def forget_copies(inbox: Inbox, address: str) -> int:
    """Delete from the processed and review folders every mail that names `address`. Returns how many.

    The server's SEARCH TEXT finds candidates by substring; retention.mentions keeps only the exact address, so
    that forgetting an.peeters@ never deletes jan.peeters@'s mail.
    """
    settings = inbox.settings
    deleted = 0
    for folder in (settings.processed_folder, settings.review_folder):
        about = [uid for uid, raw in inbox.find(folder, address).items() if retention.mentions(raw, address)]
        inbox.delete(about)
        deleted += len(about)
    return deleted


def forget_erased(app: App, inbox: Inbox) -> int:
    """Finish the erase requests read so far: delete the copies of the person's mail in the mailbox, and the erase
    mail itself, which is filed nowhere. Returns how many mails were deleted.

    The request keeps the address until this is done, so that a crash in between only postpones it.
    """
    m = store.InboundMessage
    with app.sessions() as db:
        pending = db.execute(sa.select(m.id, m.sender, m.mailbox, m.uidvalidity, m.uid)
                             .where(m.intent == "erase", m.sender.is_not(None))).all()
    if not pending:
        return 0
    deleted = 0
    for row_id, address, mailbox, uidvalidity, uid in pending:
        deleted += forget_copies(inbox, address)
        if mailbox == inbox.settings.folder and inbox.select()[0] == uidvalidity:
            inbox.delete([uid])
            deleted += 1
        with app.sessions.begin() as db:
            db.execute(sa.update(m).where(m.id == row_id).values(sender=None, moved=True))
    inbox.select()  # back to the signup folder, where reading and IDLE go on
    store.scrub(app.sessions)
    log.info("erase: %s request(s) finished, %s mail(s) deleted from the mailbox", len(pending), deleted)
    return deleted
