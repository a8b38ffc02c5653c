"""The counts behind the period report (`mailflow report`), as functions of a Session passed in.

Counts, organisations and dates only: no name or address leaves these queries. Members who left the network
still count for what they did; erased members are gone, and so are their registrations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db.models import Meeting, Member, Registration
from mailflow.core.vocabulary import MeetingStatus, RegistrationStatus


def registration_counts(session: Session, meeting_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per meeting id, how many registrations have each status ("registered", "waiting", "cancelled")."""
    rows = session.execute(
        sa.select(Registration.meeting_id, Registration.status, sa.func.count())
        .where(Registration.meeting_id.in_(list(meeting_ids)))
        .group_by(Registration.meeting_id, Registration.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for meeting_id, status, n in rows:
        counts.setdefault(meeting_id, {})[status] = n
    return counts


def attended_counts(session: Session, meeting_ids: Sequence[int]) -> dict[int, int]:
    """Per meeting id, how many registered people were recorded as having come (none: the id is absent)."""
    rows = session.execute(
        sa.select(Registration.meeting_id, sa.func.count())
        .where(Registration.meeting_id.in_(list(meeting_ids)), Registration.attended.is_(True))
        .group_by(Registration.meeting_id)
    )
    return {meeting_id: n for meeting_id, n in rows}


def organisations_taking_part(
    session: Session, first: dt.date, last: dt.date, now: dt.datetime
) -> list[str | None]:
    """The organisation (as stored) of each member who took part in a confirmed meeting from `first` to
    `last` that has started by `now`: one entry per member, however many meetings.

    Taking part is having come, where attendance was recorded, and having had a place where it was not.
    """
    took_part = sa.or_(
        Registration.attended.is_(True),
        sa.and_(
            Meeting.attendance_recorded_at.is_(None), Registration.status == RegistrationStatus.REGISTERED
        ),
    )
    rows = session.execute(
        sa.select(Member.id, Member.organisation)
        .join(Registration, Registration.member_id == Member.id)
        .join(Meeting, Registration.meeting_id == Meeting.id)
        .where(
            Meeting.date >= first,
            Meeting.date <= last,
            Meeting.status == MeetingStatus.CONFIRMED,
            Meeting.starts_at <= now,
            took_part,
        )
        .distinct()
    )
    return [organisation for _, organisation in rows]


def members_joined(session: Session, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """When each member still in the database joined, from `start` up to (not including) `end`."""
    return list(
        session.scalars(
            sa.select(Member.created_at).where(Member.created_at >= start, Member.created_at < end)
        )
    )
