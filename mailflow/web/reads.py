"""What the web page shows, read from the database: the meetings with their numbers, members found by a
search, and a person's history (mail sent and received, bounces). Reads only.

The few selects the pages need beyond adapters/db are here, each for one page; they return rows, never text
that leaves the page.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db import agenda, models, queries, reporting
from mailflow.core.mail.compose import clean_text
from mailflow.core.parsing.text import fold
from mailflow.core.vocabulary import EventKind, MeetingStatus, OutboxStatus, RegistrationStatus

RECENT_SENT = 50  # sent mails the outbox page lists
# The outbox rows that need attention; sent, cancelled, missed and skipped ones are history.
ATTENTION = (OutboxStatus.PENDING, OutboxStatus.HELD, OutboxStatus.FAILED, OutboxStatus.EXPIRED)


@dataclass(frozen=True)
class MeetingLine:
    """A meeting in the list: its numbers as the digest and the report count them."""

    meeting: models.Meeting
    taken: int  # places taken (active members registered)
    waiting: int
    cancelled: int
    attended: int | None  # None: not recorded
    coming: bool

    @property
    def cancelled_meeting(self) -> bool:
        return self.meeting.status == MeetingStatus.CANCELLED


def meeting_lines(db: Session, now: dt.datetime) -> tuple[list[MeetingLine], list[MeetingLine]]:
    """The coming meetings (first first) and the past ones (latest first)."""
    meetings = agenda.all_meetings(db)
    counts = reporting.registration_counts(db, [m.id for m in meetings])
    attended = reporting.attended_counts(db, [m.id for m in meetings])
    lines = [
        MeetingLine(
            meeting=m,
            taken=agenda.places_taken(db, m),
            waiting=len(agenda.waiting_for(db, m)),
            cancelled=counts.get(m.id, {}).get(RegistrationStatus.CANCELLED, 0),
            attended=attended.get(m.id, 0) + m.walk_ins if m.attendance_recorded_at is not None else None,
            coming=m.starts_at > now,
        )
        for m in meetings
    ]
    return [line for line in lines if line.coming], [line for line in reversed(lines) if not line.coming]


def coming_meetings(db: Session, now: dt.datetime) -> list[models.Meeting]:
    """The meetings one can still register for or move to."""
    return agenda.meetings_starting(db, now, now + dt.timedelta(days=3650))


def find_members(db: Session, text: str) -> list[models.Member]:
    """The members whose name, organisation or address holds every word of `text` (case and accents
    aside), by name; every member for no text."""
    words = fold(text, every_mark=True).split()
    members = queries.members_by_name(db)
    if not words:
        return members
    return [
        m
        for m in members
        if all(word in fold(f"{m.name} {m.organisation or ''} {m.email}", every_mark=True) for word in words)
    ]


# --- a person's history -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentLine:
    """A mail in the outbox: to whom, what, when, and how it went. The subject is read from its stored
    text, which retention empties after a while (then None)."""

    row: models.OutboxMessage
    subject: str | None


_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)


def subject(raw: bytes) -> str | None:
    """The Subject of a stored mail, on one line; None when its text is no longer kept."""
    if not raw:
        return None
    try:
        return clean_text(str(_HEADERS.parsebytes(raw).get("Subject", "")), limit=300) or None
    except Exception:  # noqa: BLE001 - a header the email package cannot read leaves the subject out
        return None


def mails_to(db: Session, member: models.Member) -> list[SentLine]:
    """The mails sent or to send to a member's address or about them, newest first."""
    about = sa.select(models.OutboxMember.outbox_id).where(models.OutboxMember.member_id == member.id)
    rows = db.scalars(
        sa.select(models.OutboxMessage)
        .where(sa.or_(models.OutboxMessage.recipient == member.email, models.OutboxMessage.id.in_(about)))
        .order_by(models.OutboxMessage.created_at.desc(), models.OutboxMessage.id.desc())
    )
    return [SentLine(row, subject(row.raw)) for row in rows]


def mails_from(db: Session, member: models.Member) -> list[models.InboundMessage]:
    """The mails read from a member's address, newest first (their sender goes with retention)."""
    return list(
        db.scalars(
            sa.select(models.InboundMessage)
            .where(models.InboundMessage.sender == member.email)
            .order_by(models.InboundMessage.received_at.desc())
        )
    )


def bounces(db: Session, member: models.Member) -> list[models.Event]:
    """When a bounce said the member's address refuses mail, newest first."""
    return list(
        db.scalars(
            sa.select(models.Event)
            .where(models.Event.kind == EventKind.BOUNCE, models.Event.member_id == member.id)
            .order_by(models.Event.at.desc())
        )
    )


def outbox_lines(db: Session) -> tuple[list[SentLine], list[SentLine]]:
    """The mails that need attention (waiting, held, failed, expired), and the latest sent."""
    attention = [SentLine(row, subject(row.raw)) for row in queries.outbox_in(db, ATTENTION)]
    sent = db.scalars(
        sa.select(models.OutboxMessage)
        .where(models.OutboxMessage.status == OutboxStatus.SENT)
        .order_by(models.OutboxMessage.sent_at.desc(), models.OutboxMessage.id.desc())
        .limit(RECENT_SENT)
    )
    return attention, [SentLine(row, subject(row.raw)) for row in sent]
