"""The shell of the privacy rules: the daily retention job, and deleting a forgotten person's mail from the mailbox.

What to drop is decided in retention.py (pure); forgetting a person is `forget` below. Logs carry
counts only, never the address being forgotten.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db import models, queries
from mailflow.adapters.db.engine import scrub
from mailflow.adapters.imap import Inbox
from mailflow.core import retention

if TYPE_CHECKING:
    from mailflow.usecases.context import App

log = logging.getLogger(__name__)

RETENTION_EVERY = dt.timedelta(days=1)


# --- retention ------------------------------------------------------------------------------------------------------


def retention_if_due(app: App, now: dt.datetime) -> None:
    """Apply the retention rules once a day (the last run is an Event "retention")."""
    with app.sessions() as db:
        last = db.scalar(sa.select(sa.func.max(models.Event.at)).where(models.Event.kind == "retention"))
    if last is None or last <= now - RETENTION_EVERY:
        apply_retention(app, now)


def apply_retention(app: App, now: dt.datetime) -> dict[str, int]:
    """Drop what the retention rules no longer allow to keep; record an Event "retention" with the counts."""
    with app.sessions.begin() as db:
        plan = retention.plan_retention(_stored_mails(db), _members(db), _queued_mails(db), now, app.config.retention)
        _drop(db, plan)
        counts = plan.counts()
        queries.record_event(db, "retention", now, detail=", ".join(f"{n} {what}" for what, n in counts.items()))
    if any(counts.values()):
        scrub(app.sessions)
    log.info("retention: %s raw mail(s), %s sender(s), %s member(s), %s sent mail(s) dropped",
             counts["raw"], counts["senders"], counts["members"], counts["sent"])
    return counts


def _stored_mails(db: Session) -> list[retention.StoredMail]:
    m = models.InboundMessage
    has_sender = sa.or_(m.sender.is_not(None), m.message_id.is_not(None))
    rows = db.execute(
        sa.select(m.id, m.status, m.received_at, m.raw.is_not(None), has_sender,
                  sa.and_(m.intent == "erase", m.sender.is_not(None)))
        .where(sa.or_(m.raw.is_not(None), has_sender))
    )
    return [retention.StoredMail(id, status, received_at, bool(raw), bool(sender), bool(erase))
            for id, status, received_at, raw, sender, erase in rows]


def _members(db: Session) -> list[retention.KnownMember]:
    m = models.Member
    return [retention.KnownMember(*row) for row in db.execute(sa.select(m.id, m.status, m.last_heard_at, m.left_at))]


def _queued_mails(db: Session) -> list[retention.QueuedMail]:
    o = models.OutboxMessage
    rows = db.execute(sa.select(o.id, o.status, o.created_at).where(o.recipient != ""))
    return [retention.QueuedMail(id, status, created_at, True) for id, status, created_at in rows]


def _drop(db: Session, plan: retention.Plan) -> None:
    inbound, outbox = models.InboundMessage, models.OutboxMessage
    if plan.raw:
        db.execute(sa.update(inbound).where(inbound.id.in_(plan.raw)).values(raw=None))
    if plan.senders:
        db.execute(sa.update(inbound).where(inbound.id.in_(plan.senders)).values(sender=None, message_id=None))
    if plan.members:
        # Their mail not sent yet goes too; attendance and events follow the member (ON DELETE CASCADE).
        db.execute(sa.delete(outbox).where(outbox.member_id.in_(plan.members)))
        db.execute(sa.delete(models.Member).where(models.Member.id.in_(plan.members)))
    if plan.sent:
        db.execute(sa.update(outbox).where(outbox.id.in_(plan.sent)).values(raw=b"", recipient=""))


# --- forgetting ------------------------------------------------------------------------------------------------------


def forget(db: Session, address: str, now: dt.datetime, keep_inbound_id: int | None = None) -> int:
    """Delete the members at an address with their attendance, events, stored mail and unsent mail.

    Returns how many members were deleted. Shared by the erase intent and `mailflow forget`.
    """
    address = address.lower()
    members = queries.members_at(db, address)
    for member in members:
        db.delete(member)
    db.execute(sa.delete(models.OutboxMessage).where(
        models.OutboxMessage.recipient == address, models.OutboxMessage.kind != "erase"))
    forget_in_outbox(db, address)
    inbound = sa.select(models.InboundMessage.id).where(models.InboundMessage.sender == address)
    if keep_inbound_id is not None:
        inbound = inbound.where(models.InboundMessage.id != keep_inbound_id)
    db.execute(sa.delete(models.Event).where(models.Event.inbound_id.in_(inbound)))
    db.execute(sa.delete(models.InboundMessage).where(models.InboundMessage.id.in_(inbound)))
    queries.record_event(db, "erased", now, detail=f"{len(members)} member(s)")
    return len(members)



def forget_in_outbox(db: Session, address: str) -> int:
    """Mail to others that names the address (the coordinator's digest, a colleague's confirmation): a sent one
    loses its text, an unsent one is dropped (the digest job makes a dropped digest again). Returns how many.

    The erase confirmation to the person is left alone; it empties itself once sent.
    """
    o = models.OutboxMessage
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
    m = models.InboundMessage
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
    scrub(app.sessions)
    log.info("erase: %s request(s) finished, %s mail(s) deleted from the mailbox", len(pending), deleted)
    return deleted
