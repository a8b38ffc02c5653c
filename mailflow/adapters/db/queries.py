"""The queries mailflow makes, as functions of a Session passed in: no mail, no network, no business rules.

The use cases and the CLI add, get and delete single rows through the Session; every select, update and
delete by a condition is here, or, for retention and forgetting, in `erasure.py`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db.models import (
    Attendance,
    Event,
    InboundMessage,
    MailboxState,
    Meeting,
    Member,
    OutboxMember,
    OutboxMessage,
)
from mailflow.core.parsing.text import fold
from mailflow.core.vocabulary import (
    AttendanceStatus,
    EventKind,
    InboundStatus,
    MailKind,
    MemberStatus,
    OutboxKey,
    OutboxStatus,
)


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def name_key(name: str) -> str:
    """The same person however the name is written: casefolded, no accents or punctuation, tokens sorted."""
    tokens = "".join(c if c.isalnum() else " " for c in fold(name, every_mark=True)).split()
    return " ".join(sorted(tokens))


def mark_moved(session: Session, mailbox: str, uidvalidity: int, uids: Sequence[int]) -> None:
    session.execute(
        sa.update(InboundMessage)
        .where(
            InboundMessage.mailbox == mailbox,
            InboundMessage.uidvalidity == uidvalidity,
            InboundMessage.uid.in_(uids),
        )
        .values(moved=True)
    )


def get_mailbox_state(session: Session, mailbox: str) -> MailboxState | None:
    return session.scalar(sa.select(MailboxState).where(MailboxState.mailbox == mailbox))


def find_inbound(
    session: Session, mailbox: str, uidvalidity: int, uid: int, digest: str
) -> InboundMessage | None:
    """A mail seen before, by its place in the mailbox or by its exact bytes."""
    return session.scalar(
        sa.select(InboundMessage).where(
            sa.or_(
                sa.and_(
                    InboundMessage.mailbox == mailbox,
                    InboundMessage.uidvalidity == uidvalidity,
                    InboundMessage.uid == uid,
                ),
                InboundMessage.sha256 == digest,
            )
        )
    )


def sync_meetings(
    session: Session,
    meetings: Iterable[tuple[dt.date, dt.datetime, str, Sequence[str], str | None, int | None]],
) -> None:
    """Make the meetings table match the config's (date, starts_at, theme, speakers, place, capacity)."""
    existing = {m.date: m for m in session.scalars(sa.select(Meeting))}
    for date, starts_at, theme, speakers, place, capacity in meetings:
        row = existing.get(date) or Meeting(date=date)
        row.starts_at, row.theme, row.speakers = starts_at, theme, list(speakers)
        row.place, row.capacity = place, capacity
        session.add(row)


def meeting_on(session: Session, date: dt.date) -> Meeting | None:
    return session.scalar(sa.select(Meeting).where(Meeting.date == date))


def next_meeting(session: Session, now: dt.datetime, on_or_after: dt.date | None = None) -> Meeting | None:
    """The first meeting that has not started yet (and is not before `on_or_after`)."""
    query = sa.select(Meeting).where(Meeting.starts_at > now)
    if on_or_after is not None:
        query = query.where(Meeting.date >= on_or_after)
    return session.scalar(query.order_by(Meeting.starts_at).limit(1))


def members_at(session: Session, email: str) -> list[Member]:
    return list(session.scalars(sa.select(Member).where(Member.email == email).order_by(Member.id)))


def heard_from(session: Session, email: str, now: dt.datetime) -> None:
    """The members at an address wrote in: retention counts from now."""
    session.execute(sa.update(Member).where(Member.email == email.lower()).values(last_heard_at=now))


def set_attendance(
    session: Session, member: Member, meeting: Meeting, status: AttendanceStatus, now: dt.datetime
) -> None:
    row = session.scalar(
        sa.select(Attendance).where(Attendance.member_id == member.id, Attendance.meeting_id == meeting.id)
    )
    if row is None:
        row = Attendance(member=member, meeting=meeting)
        session.add(row)
    row.status, row.updated_at = status, now


def record_event(
    session: Session,
    kind: EventKind,
    now: dt.datetime,
    *,
    member: Member | None = None,
    inbound: InboundMessage | None = None,
    meeting: Meeting | None = None,
    outbox: OutboxMessage | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        Event(
            kind=kind, at=now, member=member, inbound=inbound, meeting=meeting, outbox=outbox, detail=detail
        )
    )


def queued(session: Session, key: OutboxKey | str) -> bool:
    """Whether a mail with this outbox key was ever queued."""
    return session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.key == str(key))) is not None


def enqueue(
    session: Session,
    *,
    key: OutboxKey | str,
    kind: MailKind,
    recipient: str,
    message_id: str,
    raw: bytes,
    now: dt.datetime,
    expires_at: dt.datetime | None,
    member: Member | None = None,
    status: OutboxStatus = OutboxStatus.PENDING,
    meeting: Meeting | None = None,
    about: Sequence[Member] = (),
) -> OutboxMessage | None:
    """Add a mail to the outbox unless one with the same key was ever queued. Returns the new row or None.

    mailflow passes an OutboxKey; a string is stored as given (the tests queue rows of their own). `meeting`
    and `about` (default: `member`) say what the mail is about, for reading an answer to it.
    """
    if queued(session, key):
        return None
    row = OutboxMessage(
        key=str(key),
        kind=kind,
        recipient=recipient,
        message_id=message_id,
        raw=raw,
        status=status,
        attempts=0,
        next_attempt_at=now,
        expires_at=expires_at,
        created_at=now,
        member_id=member.id if member else None,
        meeting_id=meeting.id if meeting else None,
    )
    people = list(about) or ([member] if member else [])
    row.about = [OutboxMember(member_id=m.id) for m in dict.fromkeys(people)]  # flushed: they have ids
    session.add(row)
    return row


def answered_mail(session: Session, message_ids: Sequence[str], kinds: Iterable[str]) -> OutboxMessage | None:
    """The newest of our mails of these kinds that a mail answers (its References or In-Reply-To)."""
    ids = [i for i in message_ids if i]
    if not ids:
        return None
    return session.scalar(
        sa.select(OutboxMessage)
        .where(OutboxMessage.message_id.in_(ids), OutboxMessage.kind.in_(list(kinds)))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )


def members_about(session: Session, mail: OutboxMessage) -> list[Member]:
    """The members a mail in the outbox was about, those that still exist."""
    return list(
        session.scalars(
            sa.select(Member)
            .join(OutboxMember, OutboxMember.member_id == Member.id)
            .where(OutboxMember.outbox_id == mail.id)
            .order_by(Member.id)
        )
    )


def holds_anything_of(session: Session, address: str, leaving_out_inbound: int | None = None) -> bool:
    """Whether mailflow keeps anything of this address: a member, a mail from it, or a mail to it."""
    address = address.lower()
    inbound = sa.select(InboundMessage.id).where(InboundMessage.sender == address)
    if leaving_out_inbound is not None:
        inbound = inbound.where(InboundMessage.id != leaving_out_inbound)
    found = (
        session.scalar(sa.select(Member.id).where(Member.email == address).limit(1))
        or session.scalar(inbound.limit(1))
        or session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.recipient == address).limit(1))
    )
    return found is not None


def count_replies(
    session: Session, kinds: Iterable[str], since: dt.datetime, recipient: str | None = None
) -> int:
    """Replies of these kinds queued since `since` (to `recipient`, else to anyone), leaving out held ones."""
    query = (
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.kind.in_(list(kinds)),
            OutboxMessage.created_at >= since,
            OutboxMessage.status != OutboxStatus.HELD,
        )
    )
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    return session.scalar(query) or 0


def latest_reply(
    session: Session, kinds: Iterable[str], recipient: str, since: dt.datetime
) -> OutboxMessage | None:
    """The newest reply of these kinds queued to `recipient` since `since`: sent, on its way, or held."""
    return session.scalar(
        sa.select(OutboxMessage)
        .where(
            OutboxMessage.kind.in_(list(kinds)),
            OutboxMessage.recipient == recipient,
            OutboxMessage.created_at >= since,
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENT, OutboxStatus.HELD)),
        )
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(1)
    )


def expected_at(session: Session, meeting: Meeting) -> list[Member]:
    """The members expected at a meeting: active, not excused or waiting, and already started by then."""
    return list(
        session.scalars(sa.select(Member).where(*_expected(meeting)).order_by(Member.name, Member.id))
    )


def expected_count(session: Session, meeting: Meeting, leaving_out: Iterable[int] = ()) -> int:
    """How many members are expected at a meeting, leaving out the ids given."""
    query = sa.select(sa.func.count()).select_from(Member).where(*_expected(meeting))
    left_out = list(leaving_out)
    if left_out:
        query = query.where(Member.id.not_in(left_out))
    return session.scalar(query) or 0


def _expected(meeting: Meeting) -> tuple[sa.ColumnElement[bool], ...]:
    absent = sa.select(Attendance.member_id).where(
        Attendance.meeting_id == meeting.id,
        Attendance.status.in_((AttendanceStatus.EXCUSED, AttendanceStatus.WAITING)),
    )
    return (
        Member.status == MemberStatus.ACTIVE,
        Member.id.not_in(absent),
        sa.or_(Member.active_from.is_(None), Member.active_from <= meeting.date),
    )


def waiting_for(session: Session, meeting: Meeting) -> list[Attendance]:
    """The waiting list of a meeting, first come first served (active members only)."""
    return list(
        session.scalars(
            sa.select(Attendance)
            .join(Member)
            .where(
                Attendance.meeting_id == meeting.id,
                Attendance.status == AttendanceStatus.WAITING,
                Member.status == MemberStatus.ACTIVE,
            )
            .order_by(Attendance.updated_at, Attendance.id)
        )
    )


def cancel_pending(session: Session, member: Member, kinds: Sequence[MailKind], key_like: str = "%") -> None:
    """Take a member's unsent mail of these kinds out of the outbox: it is no longer owed.

    `key_like` (a LIKE pattern, e.g. OutboxKey.reminders_like) narrows it to some keys.
    """
    session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.member_id == member.id,
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.HELD)),
            OutboxMessage.kind.in_(kinds),
            OutboxMessage.key.like(key_like),
        )
        .values(status=OutboxStatus.CANCELLED, last_error="no longer owed")
    )


def due_outbox(
    session: Session, now: dt.datetime, limit: int = 100, exclude: Iterable[int] = ()
) -> list[OutboxMessage]:
    """Pending rows whose time has come, oldest first, leaving out the ids in `exclude`."""
    query = sa.select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now
    )
    excluded = list(exclude)
    if excluded:
        query = query.where(OutboxMessage.id.not_in(excluded))
    return list(session.scalars(query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)))


# --- members and meetings -----------------------------------------------------------------------------------


def members_by_name(session: Session) -> list[Member]:
    return list(session.scalars(sa.select(Member).order_by(Member.name)))


def members_by_id(session: Session) -> list[Member]:
    return list(session.scalars(sa.select(Member).order_by(Member.id)))


def active_members(session: Session) -> list[Member]:
    return list(session.scalars(sa.select(Member).where(Member.status == MemberStatus.ACTIVE)))


def count_members(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Member)) or 0


def attendance_of(session: Session, meeting: Meeting, member_ids: Iterable[int]) -> list[str]:
    """The attendance statuses these members have for a meeting (none for those who said nothing about it)."""
    return list(
        session.scalars(
            sa.select(Attendance.status).where(
                Attendance.meeting_id == meeting.id, Attendance.member_id.in_(list(member_ids))
            )
        )
    )


def attendance_at(session: Session, meetings: Iterable[Meeting]) -> list[tuple[int, int, str]]:
    """(member id, meeting id, status) of every attendance row of these meetings."""
    rows = session.execute(
        sa.select(Attendance.member_id, Attendance.meeting_id, Attendance.status).where(
            Attendance.meeting_id.in_([m.id for m in meetings])
        )
    )
    return [(member_id, meeting_id, status) for member_id, meeting_id, status in rows]


def meetings_starting(session: Session, after: dt.datetime, until: dt.datetime) -> list[Meeting]:
    """The meetings that start after `after` and no later than `until`, first first."""
    return list(
        session.scalars(
            sa.select(Meeting)
            .where(Meeting.starts_at > after, Meeting.starts_at <= until)
            .order_by(Meeting.starts_at)
        )
    )


def coming_meetings_with_capacity(session: Session, now: dt.datetime) -> list[Meeting]:
    return list(
        session.scalars(sa.select(Meeting).where(Meeting.starts_at > now, Meeting.capacity.is_not(None)))
    )


# --- the outbox, by kind and key ----------------------------------------------------------------------------


def reminder_keys(session: Session, dates: Iterable[dt.date]) -> list[OutboxKey]:
    """The keys of the reminders ever queued for the meetings on these dates, whatever became of them."""
    patterns = [OutboxKey.reminders_like(day) for day in dates]
    keys = session.scalars(
        sa.select(OutboxMessage.key).where(sa.or_(*(OutboxMessage.key.like(p) for p in patterns)))
    )
    return [OutboxKey.parse(key) for key in keys]


def last_queued_at(session: Session, kind: MailKind, until: dt.datetime) -> dt.datetime | None:
    """When the newest mail of this kind queued no later than `until` was queued."""
    return session.scalar(
        sa.select(sa.func.max(OutboxMessage.created_at)).where(
            OutboxMessage.kind == kind, OutboxMessage.created_at <= until
        )
    )


def count_outbox(
    session: Session, kind: MailKind, status: OutboxStatus, since: dt.datetime, until: dt.datetime
) -> int:
    """Mails of this kind and status queued after `since` and no later than `until`."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.kind == kind,
                OutboxMessage.status == status,
                OutboxMessage.created_at > since,
                OutboxMessage.created_at <= until,
            )
        )
        or 0
    )


def outbox_in(session: Session, statuses: Iterable[OutboxStatus]) -> list[OutboxMessage]:
    return list(
        session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.status.in_(list(statuses)))
            .order_by(OutboxMessage.id)
        )
    )


# --- events and inbound mail --------------------------------------------------------------------------------


def events_between(
    session: Session, kinds: Iterable[EventKind], since: dt.datetime, until: dt.datetime
) -> list[Event]:
    """The events of these kinds after `since` and no later than `until`, oldest first."""
    return list(
        session.scalars(
            sa.select(Event)
            .where(Event.kind.in_(list(kinds)), Event.at > since, Event.at <= until)
            .order_by(Event.at)
        )
    )


def last_event_at(session: Session, kind: EventKind) -> dt.datetime | None:
    return session.scalar(sa.select(sa.func.max(Event.at)).where(Event.kind == kind))


def inbound_for_review(
    session: Session, statuses: Iterable[InboundStatus], since: dt.datetime, until: dt.datetime
) -> list[InboundMessage]:
    """Mail in these statuses processed after `since` and no later than `until`, in the order it arrived."""
    return list(
        session.scalars(
            sa.select(InboundMessage)
            .where(
                InboundMessage.status.in_(list(statuses)),
                InboundMessage.processed_at > since,
                InboundMessage.processed_at <= until,
            )
            .order_by(InboundMessage.received_at)
        )
    )


def inbound_by_message_id(session: Session, message_id: str) -> InboundMessage | None:
    """The mail read with this Message-ID, if any (the first one read, should it have come twice)."""
    query = sa.select(InboundMessage).where(InboundMessage.message_id == message_id)
    return session.scalars(query.order_by(InboundMessage.id)).first()


def inbound_not_processed(session: Session) -> list[InboundMessage]:
    return list(
        session.scalars(sa.select(InboundMessage).where(InboundMessage.status != InboundStatus.PROCESSED))
    )
