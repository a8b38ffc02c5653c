"""The queries about meetings and the registrations for them, as functions of a Session passed in.

A registration is one member's place at one meeting: registered, waiting or cancelled. A cancelled meeting
is kept (its registrations are what its cancellation mail goes to) but is never offered, reminded or counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db import batch
from mailflow.adapters.db.models import Meeting, Member, Registration
from mailflow.core.vocabulary import MeetingStatus, MemberStatus, RegistrationStatus

_CONFIRMED = Meeting.status == MeetingStatus.CONFIRMED


def _confirmed(meeting: Meeting) -> bool:
    return meeting.status == MeetingStatus.CONFIRMED


def all_meetings(session: Session) -> list[Meeting]:
    """Every meeting the database holds, cancelled ones included, by date."""
    return list(session.scalars(sa.select(Meeting).order_by(Meeting.date)))


def meeting_on(session: Session, date: dt.date) -> Meeting | None:
    """The confirmed meeting on a day."""
    if kept := batch.of(session):
        return next((m for m in kept.meetings(session) if m.date == date and _confirmed(m)), None)
    return session.scalar(sa.select(Meeting).where(Meeting.date == date, _CONFIRMED))


def next_meeting(session: Session, now: dt.datetime, on_or_after: dt.date | None = None) -> Meeting | None:
    """The first confirmed meeting that has not started yet (and is not before `on_or_after`)."""
    if kept := batch.of(session):
        coming = [
            m
            for m in kept.meetings(session)
            if m.starts_at > now and _confirmed(m) and (on_or_after is None or m.date >= on_or_after)
        ]
        return min(coming, key=lambda m: m.starts_at, default=None)
    query = sa.select(Meeting).where(Meeting.starts_at > now, _CONFIRMED)
    if on_or_after is not None:
        query = query.where(Meeting.date >= on_or_after)
    return session.scalar(query.order_by(Meeting.starts_at).limit(1))


def meetings_starting(session: Session, after: dt.datetime, until: dt.datetime) -> list[Meeting]:
    """The confirmed meetings that start after `after` and no later than `until`, first first."""
    if kept := batch.of(session):
        found = [m for m in kept.meetings(session) if after < m.starts_at <= until and _confirmed(m)]
        return sorted(found, key=lambda m: m.starts_at)
    return list(
        session.scalars(
            sa.select(Meeting)
            .where(Meeting.starts_at > after, Meeting.starts_at <= until, _CONFIRMED)
            .order_by(Meeting.starts_at)
        )
    )


def meetings_between(session: Session, first: dt.date, last: dt.date) -> list[Meeting]:
    """The meetings (cancelled ones too) from `first` to `last`, both included, by date."""
    return list(
        session.scalars(
            sa.select(Meeting).where(Meeting.date >= first, Meeting.date <= last).order_by(Meeting.date)
        )
    )


def coming_meetings_with_capacity(session: Session, now: dt.datetime) -> list[Meeting]:
    if kept := batch.of(session):
        found = [m for m in kept.meetings(session) if m.starts_at > now and m.capacity is not None]
        return sorted((m for m in found if _confirmed(m)), key=lambda m: m.starts_at)
    return list(
        session.scalars(
            sa.select(Meeting)
            .where(Meeting.starts_at > now, Meeting.capacity.is_not(None), _CONFIRMED)
            .order_by(Meeting.starts_at)
        )
    )


def registration(session: Session, member: Member, meeting: Meeting) -> Registration | None:
    kept = batch.of(session)
    if kept:
        known, found = kept.registration(member, meeting)
        if known:
            return found
    if batch.is_new(member):
        return None  # a member new in this session has no registration in the database
    found = session.scalar(
        sa.select(Registration).where(
            Registration.member_id == member.id, Registration.meeting_id == meeting.id
        )
    )
    if kept and found is not None:
        kept.track([found])
    return found


def set_registration(
    session: Session, member: Member, meeting: Meeting, status: RegistrationStatus, now: dt.datetime
) -> Registration:
    """Register, put on the waiting list or cancel one member for one meeting. A waiting person who asks
    again keeps their turn; every other change of status counts from now."""
    row = registration(session, member, meeting)
    if row is None:
        row = Registration(member=member, meeting=meeting, created_at=now, updated_at=now)
        session.add(row)
    elif row.status != status:
        row.updated_at = now
    row.status = status
    return row


def registered_for(session: Session, meeting: Meeting) -> list[Member]:
    """The members with a place at a meeting (active ones), by name."""
    return list(
        session.scalars(
            sa.select(Member)
            .join(Registration)
            .where(
                Registration.meeting_id == meeting.id,
                Registration.status == RegistrationStatus.REGISTERED,
                Member.status == MemberStatus.ACTIVE,
            )
            .order_by(Member.name, Member.id)
        )
    )


def places_taken(session: Session, meeting: Meeting, leaving_out: Sequence[Member] = ()) -> int:
    """How many places of a meeting are taken (by active members), leaving out the members given."""
    return _count(session, meeting, RegistrationStatus.REGISTERED, leaving_out)


def waiting_count(session: Session, meeting: Meeting, leaving_out: Sequence[Member] = ()) -> int:
    """How many active members wait for a place at a meeting, leaving out the members given."""
    return _count(session, meeting, RegistrationStatus.WAITING, leaving_out)


def _count(
    session: Session, meeting: Meeting, status: RegistrationStatus, leaving_out: Sequence[Member]
) -> int:
    if kept := batch.of(session):
        return kept.count(session, meeting, status, leaving_out)
    query = (
        sa.select(sa.func.count())
        .select_from(Registration)
        .join(Member)
        .where(
            Registration.meeting_id == meeting.id,
            Registration.status == status,
            Member.status == MemberStatus.ACTIVE,
        )
    )
    left_out = [m.id for m in leaving_out if not batch.is_new(m)]
    if left_out:
        query = query.where(Registration.member_id.not_in(left_out))
    return session.scalar(query) or 0


def waiting_for(session: Session, meeting: Meeting, limit: int | None = None) -> list[Registration]:
    """The waiting list of a meeting, first come first served (active members only); its first `limit`."""
    if limit is not None and limit <= 0:
        return []
    query = (
        sa.select(Registration)
        .join(Member)
        .where(
            Registration.meeting_id == meeting.id,
            Registration.status == RegistrationStatus.WAITING,
            Member.status == MemberStatus.ACTIVE,
        )
        .order_by(Registration.updated_at, Registration.id)
    )
    found = list(session.scalars(query if limit is None else query.limit(limit)))
    if kept := batch.of(session):
        kept.track(found)
    return found


def registrations_of(session: Session, meeting: Meeting) -> list[Registration]:
    """Every registration of a meeting, whatever its status, in the order they came."""
    found = list(
        session.scalars(
            sa.select(Registration)
            .where(Registration.meeting_id == meeting.id)
            .order_by(Registration.created_at, Registration.id)
        )
    )
    if kept := batch.of(session):
        kept.track(found)
    return found


def statuses_of(session: Session, meeting: Meeting, members: Iterable[Member]) -> list[str]:
    """The registration statuses these members have for a meeting (none for those who said nothing)."""
    found = (registration(session, member, meeting) for member in members)
    return [r.status for r in found if r is not None]


def registrations_at(session: Session, meetings: Iterable[Meeting]) -> list[tuple[int, int, str]]:
    """(member id, meeting id, status) of every registration for these meetings."""
    rows = session.execute(
        sa.select(Registration.member_id, Registration.meeting_id, Registration.status).where(
            Registration.meeting_id.in_([m.id for m in meetings])
        )
    )
    return [(member_id, meeting_id, status) for member_id, meeting_id, status in rows]


def meetings_by_date(session: Session) -> dict[dt.date, Meeting]:
    return {m.date: m for m in session.scalars(sa.select(Meeting))}
