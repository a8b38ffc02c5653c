"""The shell of the privacy rules: the daily retention job, and deleting a forgotten person's mail from the
mailbox.

What to drop is decided in core/retention.py (pure); forgetting a person in the database is `forget` here,
for the erase intent and `mailflow forget` alike. Logs carry counts only, never the address being forgotten.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailflow.adapters.db import erasure, models, queries, themes
from mailflow.adapters.db.engine import scrub
from mailflow.adapters.imap import Inbox
from mailflow.core import retention
from mailflow.core.parsing import clear_caches
from mailflow.core.vocabulary import EventKind, MailKind, OutboxStatus

if TYPE_CHECKING:
    from mailflow.usecases.context import App

log = logging.getLogger(__name__)

RETENTION_EVERY = dt.timedelta(days=1)


# --- retention ----------------------------------------------------------------------------------------------


def retention_if_due(app: App, now: dt.datetime) -> None:
    """Apply the retention rules once a day (the last run is an Event "retention")."""
    with app.sessions() as db:
        last = queries.last_event_at(db, EventKind.RETENTION)
    if last is None or last <= now - RETENTION_EVERY:
        apply_retention(app, now)


def apply_retention(app: App, now: dt.datetime) -> dict[str, int]:
    """Drop what the retention rules no longer allow to keep; record an Event "retention" with the counts."""
    with app.sessions.begin() as db:
        plan = retention.plan_retention(
            _stored_mails(db), _members(db), _queued_mails(db), now, app.config.retention
        )
        _drop(db, plan)
        counts = plan.counts()
        queries.record_event(
            db, EventKind.RETENTION, now, detail=", ".join(f"{n} {what}" for what, n in counts.items())
        )
    if any(counts.values()):
        scrub(app.sessions)
    log.info(
        "retention: %s raw mail(s), %s sender(s), %s member(s), %s sent mail(s) dropped",
        counts["raw"],
        counts["senders"],
        counts["members"],
        counts["sent"],
    )
    return counts


def _stored_mails(db: Session) -> list[retention.StoredMail]:
    return [retention.StoredMail(*row) for row in erasure.stored_mail_facts(db)]


def _members(db: Session) -> list[retention.KnownMember]:
    return [retention.KnownMember(*row) for row in erasure.member_facts(db)]


def _queued_mails(db: Session) -> list[retention.QueuedMail]:
    return [
        retention.QueuedMail(id, status, created_at, True)
        for id, status, created_at in erasure.outbox_facts(db)
    ]


def _drop(db: Session, plan: retention.Plan) -> None:
    if plan.raw:
        erasure.drop_raw(db, plan.raw)
    if plan.senders:
        erasure.drop_senders(db, plan.senders)
    if plan.members:
        erasure.delete_members(db, plan.members)
    if plan.sent:
        erasure.blank_sent(db, plan.sent)


# --- forgetting ---------------------------------------------------------------------------------------------


def forget(db: Session, address: str, now: dt.datetime, keep_inbound_id: int | None = None) -> int:
    """Delete the members at an address with their attendance, theme proposals, events, stored mail and
    unsent mail.

    Returns how many members were deleted. Shared by the erase intent and `mailflow forget`. The parsing
    caches are emptied too: they may hold the person's words.
    """
    address = address.lower()
    themes.delete_proposals_from(db, address)  # their members' (the cascade would too) and any they wrote
    members = queries.members_at(db, address)
    for member in members:
        db.delete(member)
    erasure.delete_outbox_to(db, address)
    forget_in_outbox(db, address)
    erasure.delete_inbound_from(db, address, keep_id=keep_inbound_id)
    queries.record_event(db, EventKind.ERASED, now, detail=f"{len(members)} member(s)")
    clear_caches()
    return len(members)


def forget_in_outbox(db: Session, address: str) -> int:
    """Mail to others that names the address (the coordinator's digest, a colleague's confirmation): a sent
    one loses its text, an unsent one is dropped (the digest job makes a dropped digest again).
    Returns how many.

    The erase confirmation to the person is left alone; it empties itself once sent.
    """
    named = [
        row for row in erasure.outbox_with_text_to_others(db, address) if retention.mentions(row.raw, address)
    ]
    for row in named:
        if row.status == OutboxStatus.PENDING:
            db.delete(row)
        else:
            row.raw = b""
    return len(named)


def forget_sent_confirmation(row: models.OutboxMessage) -> None:
    """The erase confirmation, once sent, is the last trace of the erased person: its text and address go."""
    if row.kind == MailKind.ERASE:
        row.raw, row.recipient = b"", ""


# --- forgetting in the mailbox ------------------------------------------------------------------------------


def forget_copies(inbox: Inbox, address: str) -> int:
    """Delete from the processed and review folders every mail that names `address`. Returns how many.

    The server's SEARCH TEXT finds candidates by substring; retention.mentions keeps only the exact address,
    so that forgetting an.peeters@ never deletes jan.peeters@'s mail.
    """
    settings = inbox.settings
    deleted = 0
    for folder in (settings.processed_folder, settings.review_folder):
        about = [uid for uid, raw in inbox.find(folder, address).items() if retention.mentions(raw, address)]
        inbox.delete(about)
        deleted += len(about)
    return deleted


def forget_erased(app: App, inbox: Inbox) -> int:
    """Finish the erase requests read so far: delete the copies of the person's mail in the mailbox, and the
    erase mail itself, which is filed nowhere. Returns how many mails were deleted.

    The request keeps the address until this is done, so that a crash in between only postpones it.
    """
    with app.sessions() as db:
        pending = erasure.erase_requests(db)
    if not pending:
        return 0
    deleted = 0
    for row_id, address, mailbox, uidvalidity, uid in pending:
        deleted += forget_copies(inbox, address)
        if mailbox == inbox.settings.folder and inbox.select()[0] == uidvalidity:
            inbox.delete([uid])
            deleted += 1
        with app.sessions.begin() as db:
            erasure.erase_request_done(db, row_id)
    inbox.select()  # back to the signup folder, where reading and IDLE go on
    scrub(app.sessions)
    log.info("erase: %s request(s) finished, %s mail(s) deleted from the mailbox", len(pending), deleted)
    return deleted
