"""The mails that wait for the coordinator, and what the web page does with them: a mail in the review folder
is acted on as mailflow read it, or as the coordinator corrected the reading, or only marked handled; a reply
held by a sending limit is released or dropped.

A mail the coordinator dealt with is filed as intake files one: the database first (one transaction, with the
event for the digest), then the move from the review folder to the processed folder over IMAP, then `moved`.
A mail whose move failed stays listed until a later try moves it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db import models, queries
from mailflow.adapters.imap import Inbox
from mailflow.core.parsing import Intent, ParsedMessage, Person, parse_message
from mailflow.core.parsing.mime import extract_body
from mailflow.core.retention import WAITING_FOR_A_HUMAN
from mailflow.core.vocabulary import EventKind, InboundStatus, OutboxKey, OutboxStatus, WebChange
from mailflow.errors import MailflowError
from mailflow.usecases.actions import ACTIONS, thread_of
from mailflow.usecases.context import App, Thread
from mailflow.usecases.outgoing import REPLY_LIFETIME
from mailflow.web.changes import Gone, record_change

log = logging.getLogger(__name__)

# What the coordinator may apply or choose: the requests mailflow acts on. Erasing is `forget` on a member.
ACTED_ON = (Intent.REGISTER, Intent.CANCEL, Intent.UNSUBSCRIBE)
TEXT_LIMIT = 100_000  # characters of a mail's text shown


class Filed(enum.StrEnum):
    """Where a handled mail ended up in the mailbox."""

    MOVED = "moved"  # from the review folder to the processed folder
    NOT_FOUND = "not_found"  # no longer in the review folder (moved by hand, or never there)
    UNREACHABLE = "unreachable"  # the mailbox could not be reached: it stays listed, to try again
    NO_MAILBOX = "no_mailbox"  # the config has no [imap]
    KEPT = "kept"  # still needs the coordinator: left in the review folder


@dataclass(frozen=True)
class StoredMail:
    """A mail waiting for the coordinator, as stored: its headers, mailflow's reading and reason, its text."""

    id: int
    status: str
    received_at: dt.datetime
    subject: str
    sender: str | None
    sender_name: str | None
    reason: str | None
    reading: ParsedMessage | None  # None: its bytes are no longer kept (retention), or it was too large
    text: str | None
    replied: bool  # mailflow queued a reply to it already
    handled: bool  # dealt with on the web page, but still in the review folder (the move failed)

    @property
    def can_apply(self) -> bool:
        reading = self.reading
        return reading is not None and reading.sender is not None and reading.intent in ACTED_ON


def waiting(app: App) -> list[StoredMail]:
    """The mails in review or quarantine, and those handled whose move failed; in the order they came."""
    with app.sessions() as db:
        rows = db.scalars(
            sa.select(models.InboundMessage)
            .where(_waiting())
            .order_by(models.InboundMessage.received_at, models.InboundMessage.id)
        )
        return [_stored(app, db, row, with_text=False) for row in rows]


def count_waiting(app: App) -> int:
    """How many mails and held replies wait for the coordinator (the menu shows it)."""
    with app.sessions() as db:
        mails = sa.select(sa.func.count()).select_from(models.InboundMessage).where(_waiting())
        replies = sa.select(sa.func.count()).select_from(models.OutboxMessage)
        return (db.scalar(mails) or 0) + (
            db.scalar(replies.where(models.OutboxMessage.status == OutboxStatus.HELD)) or 0
        )


def stored(app: App, inbound_id: int) -> StoredMail:
    """One mail of the review list, with its text. Raises Gone when it is not (or no longer) listed."""
    with app.sessions() as db:
        return _stored(app, db, _listed(db, inbound_id), with_text=True)


def _waiting() -> sa.ColumnElement[bool]:
    """In review or quarantine; or handled on the web page, but not moved out of the review folder yet."""
    row = models.InboundMessage
    handled = sa.select(models.Event.id).where(
        models.Event.inbound_id == row.id, models.Event.kind == EventKind.WEB_CHANGE
    )
    not_moved = sa.and_(row.status == InboundStatus.PROCESSED, row.moved.is_(False), handled.exists())
    return sa.or_(row.status.in_(WAITING_FOR_A_HUMAN), not_moved)


def _listed(db: Session, inbound_id: int) -> models.InboundMessage:
    row = db.scalar(
        sa.select(models.InboundMessage).where(models.InboundMessage.id == inbound_id, _waiting())
    )
    if row is None:
        raise Gone(f"no mail {inbound_id} waits for the coordinator")
    return row


def _stored(app: App, db: Session, row: models.InboundMessage, with_text: bool) -> StoredMail:
    reading = parse_message(row.raw, app.context) if row.raw else None
    return StoredMail(
        id=row.id,
        status=row.status,
        received_at=row.received_at,
        subject=reading.subject if reading else "",
        sender=(reading.sender if reading else None) or row.sender,
        sender_name=reading.sender_name if reading else None,
        reason=row.reason,
        reading=reading,
        text=_text(row.raw) if with_text and row.raw else None,
        replied=queries.queued(db, OutboxKey.reply(row.id)),
        handled=row.status == InboundStatus.PROCESSED,
    )


def _text(raw: bytes) -> str:
    """The mail's own text as the parser reads it (HTML made text), for a person to read."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        return extract_body(message).text[:TEXT_LIMIT]
    except Exception:  # noqa: BLE001 - a mail Python's parser gives up on shows no text, never an error page
        return ""


# --- acting on a mail ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    filed: Filed
    review: str | None = None  # why mailflow still needs the coordinator (never personal data)
    replies: int = 0


def apply_reading(app: App, inbound_id: int, now: dt.datetime) -> Outcome:
    """Act on the mail as mailflow read it (register, cancel, leave), as if it came in now; then file it.
    Raises Gone, or ValueError when mailflow's reading is nothing it acts on."""
    with app.sessions.begin() as db:
        row = _listed(db, inbound_id)
        reading = parse_message(row.raw, app.context) if row.raw else None
        if reading is None or reading.sender is None or reading.intent not in ACTED_ON:
            raise ValueError("mailflow's reading of this mail is nothing it acts on")
        thread = thread_of(db, reading)
        outcome = _act(app, db, row, reading, thread, now, WebChange.REVIEW_APPLIED)
    return _filed(app, inbound_id, outcome)


def apply_correction(
    app: App,
    inbound_id: int,
    intent: Intent,
    meeting_date: dt.date | None,
    people: Sequence[Person],
    now: dt.datetime,
) -> Outcome:
    """Act on the mail as the coordinator reads it: the request, the meeting (None: as mailflow would choose,
    the next one) and the people (none: the people at the sender's address). Then file it.

    The coordinator's reading is sure and about this network; the mail's thread no longer chooses for it.
    Raises Gone, or ValueError when the mail has no single sender address to act for.
    """
    if intent not in ACTED_ON:
        raise ValueError(f"{intent} is not acted on")
    with app.sessions.begin() as db:
        row = _listed(db, inbound_id)
        reading = parse_message(row.raw, app.context) if row.raw else None
        if reading is None or reading.sender is None:
            raise ValueError("the mail has no single sender address to act for")
        corrected = dataclasses.replace(
            reading,
            intent=intent,
            people=tuple(people),
            meeting_date=meeting_date,
            asked_date=None,
            confidence=1.0,
            has_question=False,
            addressed_to_us=True,
            reasons=(),
        )
        outcome = _act(app, db, row, corrected, None, now, WebChange.REVIEW_CORRECTED)
    return _filed(app, inbound_id, outcome)


def mark_handled(app: App, inbound_id: int, now: dt.datetime) -> Outcome:
    """The coordinator dealt with the mail themself: nothing changes but where it is filed. A mail handled
    before whose move failed is moved again."""
    with app.sessions.begin() as db:
        row = _listed(db, inbound_id)
        if row.status != InboundStatus.PROCESSED:
            _file(app, row, now)
            record_change(db, WebChange.REVIEW_HANDLED, now, inbound=row)
    return _filed(app, inbound_id, Outcome(Filed.MOVED))


def _act(
    app: App,
    db: Session,
    row: models.InboundMessage,
    reading: ParsedMessage,
    thread: Thread | None,
    now: dt.datetime,
    change: WebChange,
) -> Outcome:
    """Run the request's action in this transaction. When the action still needs the coordinator, the mail
    stays in review with the action's reason; else it is filed as processed."""
    assert reading.sender is not None
    db.flush()
    done = ACTIONS[reading.intent](app, db, row, reading, now, thread)
    row.intent = str(reading.intent)
    record_change(db, change, now, fields=(str(reading.intent),), inbound=row)
    if done.review:
        row.reason = done.review[:500]
        return Outcome(Filed.KEPT, done.review, done.replies)
    _file(app, row, now)
    if done.ignored:
        row.reason = done.ignored[:500]
    return Outcome(Filed.MOVED, None, done.replies)


def _file(app: App, row: models.InboundMessage, now: dt.datetime) -> None:
    row.status, row.processed_at, row.moved = InboundStatus.PROCESSED, now, False
    row.destination = app.config.imap.processed_folder if app.config.imap else None


def _filed(app: App, inbound_id: int, outcome: Outcome) -> Outcome:
    """After the commit: move a mail filed as processed from the review folder to the processed folder."""
    if outcome.filed is Filed.KEPT:
        return outcome
    imap = app.config.imap
    if imap is None:
        return dataclasses.replace(outcome, filed=Filed.NO_MAILBOX)
    with app.sessions() as db:
        row = db.get(models.InboundMessage, inbound_id)
        if row is None or row.moved:
            return outcome
        needle = (row.message_id or "").strip().strip("<>") or row.sender or ""
        digest = row.sha256
    try:
        with Inbox(imap) as inbox:
            found = inbox.find(imap.review_folder, needle) if needle else {}
            uids = [uid for uid, raw in found.items() if queries.sha256(raw) == digest]
            if uids:
                inbox.move(uids, imap.processed_folder)
    except MailflowError as exc:
        log.warning("review: mail id=%s not moved: %s", inbound_id, type(exc).__name__)
        return dataclasses.replace(outcome, filed=Filed.UNREACHABLE)
    with app.sessions.begin() as db:
        row = db.get(models.InboundMessage, inbound_id)
        if row is not None:
            row.moved = True
    log.info("review: mail id=%s %s", inbound_id, "moved to the processed folder" if uids else "not found")
    return dataclasses.replace(outcome, filed=Filed.MOVED if uids else Filed.NOT_FOUND)


# --- replies held by a limit --------------------------------------------------------------------------------


def held(app: App) -> list[models.OutboxMessage]:
    with app.sessions() as db:
        return list(queries.outbox_in(db, (OutboxStatus.HELD,)))


def release(app: App, outbox_id: int, now: dt.datetime) -> bool:
    """A held reply goes out with the next pass after all (as `mailflow outbox retry`); one that went stale
    while held gets a new lifetime. Returns False when it is no longer held."""
    with app.sessions.begin() as db:
        row = db.get(models.OutboxMessage, outbox_id)
        if row is None or row.status != OutboxStatus.HELD or not row.raw:
            return False
        row.status, row.next_attempt_at = OutboxStatus.PENDING, now
        if row.expires_at is not None and row.expires_at <= now:
            row.expires_at = now + REPLY_LIFETIME
        record_change(db, WebChange.REPLY_RELEASED, now, outbox=row)
        return True


def drop(app: App, outbox_id: int, now: dt.datetime) -> bool:
    """A held reply is never sent. Returns False when it is no longer held."""
    with app.sessions.begin() as db:
        row = db.get(models.OutboxMessage, outbox_id)
        if row is None or row.status != OutboxStatus.HELD:
            return False
        row.status, row.last_error = OutboxStatus.CANCELLED, "dropped by the coordinator"
        record_change(db, WebChange.REPLY_DROPPED, now, outbox=row)
        return True
