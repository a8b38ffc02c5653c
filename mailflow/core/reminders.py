"""Which meeting reminders fall due at `now`, and which were missed while mailflow was down.

Pure: no network, no database, no clock — the shell passes in the meetings, members, attendance, what was
already sent or recorded, and `now`. It records every result under its key (member, meeting date, offset),
so each is final.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from mailflow.core.vocabulary import AttendanceStatus, MemberStatus

__all__ = [
    "ACTIONS",
    "MeetingSlot",
    "MemberState",
    "ReminderDue",
    "ReminderSettings",
    "due_reminders",
    "expected_members",
    "reminder_time",
]

ACTIONS = ("send", "missed")
# The attendance words that take a member off a meeting's list.
NOT_EXPECTED = frozenset({AttendanceStatus.EXCUSED, AttendanceStatus.WAITING})


@dataclass(frozen=True)
class ReminderSettings:
    """`[reminders]`: offsets in days before the meeting, the local time of day,
    how late a reminder may still go."""

    days_before: tuple[int, ...] = (7, 1)
    at: dt.time = dt.time(10, 0)  # local time in the network's zone
    grace: dt.timedelta = dt.timedelta(hours=24)

    def __post_init__(self) -> None:
        if not self.days_before or any(days < 0 for days in self.days_before):
            raise ValueError(f"reminders.days_before must be days >= 0, got {list(self.days_before)}")
        if self.grace < dt.timedelta(0):
            raise ValueError(f"reminders.grace must not be negative, got {self.grace}")
        if self.at.tzinfo is not None:
            raise ValueError("reminders.at is a local time of day, without a zone")


@dataclass(frozen=True)
class MeetingSlot:
    date: dt.date
    starts_at: dt.datetime  # aware


@dataclass(frozen=True)
class MemberState:
    """What the reminder rules need to know of a member; `joined_at` (when they registered) is optional."""

    id: int
    status: str  # "active" | "left"
    active_from: dt.date | None  # first meeting they come to; None: every meeting
    undeliverable: bool  # a bounce said their address does not take mail
    # A reminder that fell due before someone registered was never owed to them:
    # their confirmation came after it.
    joined_at: dt.datetime | None = None


@dataclass(frozen=True)
class ReminderDue:
    member_id: int
    meeting_date: dt.date
    days_before: int
    due_at: dt.datetime  # UTC
    action: str  # "send" | "missed"

    @property
    def key(self) -> tuple[int, dt.date, int]:
        """The (member, meeting date, offset) the shell records, so this reminder never comes up again."""
        return (self.member_id, self.meeting_date, self.days_before)


def reminder_time(
    meeting: MeetingSlot, days_before: int, settings: ReminderSettings, tz: ZoneInfo
) -> dt.datetime:
    """When a reminder falls due, in UTC: `settings.at` local time, `days_before` calendar days before the
    meeting.

    Calendar days, not 24-hour periods, so a reminder across a daylight-saving change still goes at 10:00
    local (Europe/Brussels: 09:00 UTC in winter, 08:00 UTC in summer).
    """
    local = dt.datetime.combine(meeting.date - dt.timedelta(days=days_before), settings.at, tzinfo=tz)
    return local.astimezone(dt.UTC)


def expected_members(
    members: Sequence[MemberState], meeting: MeetingSlot, attendance: Mapping[tuple[int, dt.date], str]
) -> list[int]:
    """The ids of members expected at a meeting: active, not excused or waiting, and already started then."""
    return [
        member.id
        for member in members
        if member.status == MemberStatus.ACTIVE
        and attendance.get((member.id, meeting.date)) not in NOT_EXPECTED
        and (member.active_from is None or member.active_from <= meeting.date)
    ]


def due_reminders(
    meetings: Sequence[MeetingSlot],
    members: Sequence[MemberState],
    attendance: Mapping[tuple[int, dt.date], str],
    done: AbstractSet[tuple[int, dt.date, int]],
    now: dt.datetime,
    settings: ReminderSettings,
    tz: ZoneInfo,
) -> list[ReminderDue]:
    """Every reminder whose time has come and that is not in `done`, each marked "send" or "missed".

    The rules, per member and meeting:
    - nothing once the meeting has started (`now >= starts_at`), whatever is pending;
    - an offset counts from its due time on; `done` holds the keys already sent *or* recorded missed;
    - only the newest offset that has fallen due may be sent, and only within `settings.grace` of its due
      time; an older one still pending is "missed" (after downtime one reminder is enough, and a "7 days
      before" must not arrive after the "1 day before"), and so is the newest once its grace has passed;
    - members whose address bounced get nothing (the mail would bounce again), and a reminder that fell due
      before the member registered is not owed at all; neither is recorded, so both are simply left out.

    Returns them ordered by due time, meeting, member and offset. Raises ValueError for a naive `now`.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    offsets = sorted(set(settings.days_before), reverse=True)  # oldest due time first
    by_id = {member.id: member for member in members}
    due: list[ReminderDue] = []
    for meeting in meetings:
        if now >= meeting.starts_at:
            continue
        fallen_due = [
            (days, at) for days in offsets if (at := reminder_time(meeting, days, settings, tz)) <= now
        ]
        if not fallen_due:
            continue
        newest_days, newest_at = fallen_due[-1]
        for member_id in expected_members(members, meeting, attendance):
            member = by_id[member_id]
            if member.undeliverable:
                continue
            for days, at in fallen_due:
                if (member_id, meeting.date, days) in done:
                    continue
                if member.joined_at is not None and member.joined_at > at:
                    continue
                on_time = days == newest_days and now - newest_at <= settings.grace
                due.append(ReminderDue(member_id, meeting.date, days, at, "send" if on_time else "missed"))
    due.sort(key=lambda item: (item.due_at, item.meeting_date, item.member_id, -item.days_before))
    return due
