"""Which invitations and reminders fall due at `now`, and which reminders were missed while mailflow was down.

Pure: no network, no database, no clock — the shell passes in the meetings, members, registrations, what was
already sent or recorded, and `now`. It records every result under its key (member, meeting, offset), so
each is final. Invitations go to the members not registered for a meeting, reminders to those registered;
`by_address` makes one mail of what is due to several members sharing one address.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from mailflow.core.vocabulary import MemberStatus, RegistrationStatus

__all__ = [
    "ACTIONS",
    "InvitationDue",
    "MeetingSlot",
    "MemberState",
    "ReminderDue",
    "ReminderSettings",
    "by_address",
    "due_invitations",
    "due_reminders",
    "invitation_time",
    "registered_members",
    "reminder_time",
]

ACTIONS = ("send", "missed")


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


def registered_members(
    members: Sequence[MemberState], meeting: MeetingSlot, registrations: Mapping[tuple[int, dt.date], str]
) -> list[int]:
    """The ids of the active members with a place at a meeting."""
    return [
        member.id
        for member in members
        if member.status == MemberStatus.ACTIVE
        and registrations.get((member.id, meeting.date)) == RegistrationStatus.REGISTERED
    ]


def due_reminders(
    meetings: Sequence[MeetingSlot],
    members: Sequence[MemberState],
    registrations: Mapping[tuple[int, dt.date], str],
    done: AbstractSet[tuple[int, dt.date, int]],
    now: dt.datetime,
    settings: ReminderSettings,
    tz: ZoneInfo,
) -> list[ReminderDue]:
    """Every reminder whose time has come and that is not in `done`, each marked "send" or "missed".

    The rules, per member registered for a meeting:
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
        for member_id in registered_members(members, meeting, registrations):
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


@dataclass(frozen=True)
class InvitationDue:
    member_id: int
    meeting_date: dt.date
    due_at: dt.datetime  # UTC


def invitation_time(meeting: MeetingSlot, days_before: int, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """When a meeting's invitations go, in UTC: `at` local time, `days_before` calendar days before it."""
    local = dt.datetime.combine(meeting.date - dt.timedelta(days=days_before), at, tzinfo=tz)
    return local.astimezone(dt.UTC)


def due_invitations(
    meetings: Sequence[MeetingSlot],
    members: Sequence[MemberState],
    registrations: Mapping[tuple[int, dt.date], str],
    done: AbstractSet[tuple[int, dt.date]],
    now: dt.datetime,
    days_before: int,
    at: dt.time,
    tz: ZoneInfo,
) -> list[InvitationDue]:
    """Every invitation owed at `now` and not in `done` (the (member, meeting date) pairs already invited).

    An invitation goes once to each active member whose address takes mail and who has said nothing about
    the meeting yet (a registration of any status, cancelled included, is their answer). It is owed from its
    time until the meeting's day begins: a member who joins in between, or mailflow back after downtime,
    still invites; on the day itself an invitation would only be noise.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    due: list[InvitationDue] = []
    for meeting in meetings:
        at_utc = invitation_time(meeting, days_before, at, tz)
        day_begins = dt.datetime.combine(meeting.date, dt.time(0), tzinfo=tz)
        if not at_utc <= now < day_begins or now >= meeting.starts_at:
            continue
        for member in members:
            if (
                member.status == MemberStatus.ACTIVE
                and not member.undeliverable
                and (member.id, meeting.date) not in registrations
                and (member.id, meeting.date) not in done
            ):
                due.append(InvitationDue(member.id, meeting.date, at_utc))
    due.sort(key=lambda item: (item.meeting_date, item.member_id))
    return due


class _ForAMember(Protocol):
    @property
    def member_id(self) -> int: ...


Due = TypeVar("Due", bound=_ForAMember)


def by_address(
    items: Sequence[Due], address_of: Mapping[int, str], group: Callable[[Due], object]
) -> list[list[Due]]:
    """The items as one mail per address: items with the same `group(item)` (meeting, offset, action) whose
    members share an address go together, in the order of their first item."""
    mails: dict[tuple[object, str], list[Due]] = {}
    for item in items:
        mails.setdefault((group(item), address_of[item.member_id].lower()), []).append(item)
    return list(mails.values())
