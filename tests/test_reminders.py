"""Which reminders are due: 7 and 1 days before at 10:00 Brussels, across DST, after downtime, never twice or
late, to the people registered; which invitations are due, to the members who said nothing yet; and one mail
per address."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from mailflow.core.reminders import (
    MeetingSlot,
    MemberState,
    ReminderDue,
    ReminderSettings,
    by_address,
    due_invitations,
    due_reminders,
    invitation_time,
    registered_members,
    reminder_time,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
SETTINGS = ReminderSettings()  # 7 and 1 days before, 10:00, 24 h grace
UTC = dt.UTC


def meeting_on(day: dt.date) -> MeetingSlot:
    return MeetingSlot(day, dt.datetime.combine(day, dt.time(19, 30), tzinfo=BRUSSELS))


MARCH = meeting_on(dt.date(2026, 3, 31))  # summer time starts Sunday 29 March 2026
OCTOBER = meeting_on(dt.date(2026, 10, 27))  # summer time ends Sunday 25 October 2026
JANUARY = meeting_on(dt.date(2026, 1, 13))
LOTTE = MemberState(id=1, status="active", undeliverable=False)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def due(
    now: dt.datetime,
    meetings: tuple[MeetingSlot, ...] = (MARCH,),
    members: tuple[MemberState, ...] = (LOTTE,),
    registrations: dict[tuple[int, dt.date], str] | None = None,
    done: frozenset[tuple[int, dt.date, int]] = frozenset(),
    settings: ReminderSettings = SETTINGS,
) -> list[tuple[int, dt.date, int, str]]:
    """The reminders due; without `registrations`, every member is registered for every meeting."""
    if registrations is None:
        registrations = {
            (member.id, meeting.date): "registered" for member in members for meeting in meetings
        }
    found = due_reminders(meetings, members, registrations, done, now, settings, BRUSSELS)
    return [(item.member_id, item.meeting_date, item.days_before, item.action) for item in found]


# --- when a reminder falls due ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meeting", "days_before", "expected_utc", "local_offset_hours"),
    [
        (MARCH, 7, utc(2026, 3, 24, 9, 0), 1),  # Tuesday 24 March, 10:00 CET
        (MARCH, 1, utc(2026, 3, 30, 8, 0), 2),  # Monday 30 March, 10:00 CEST
        (OCTOBER, 7, utc(2026, 10, 20, 8, 0), 2),  # Tuesday 20 October, 10:00 CEST
        (OCTOBER, 1, utc(2026, 10, 26, 9, 0), 1),  # Monday 26 October, 10:00 CET
        (JANUARY, 7, utc(2026, 1, 6, 9, 0), 1),
    ],
)
def test_reminders_go_at_ten_local_on_both_sides_of_a_clock_change(
    meeting: MeetingSlot, days_before: int, expected_utc: dt.datetime, local_offset_hours: int
) -> None:
    at = reminder_time(meeting, days_before, SETTINGS, BRUSSELS)
    assert at == expected_utc
    local = at.astimezone(BRUSSELS)
    assert local.time() == dt.time(10, 0)
    assert local.date() == meeting.date - dt.timedelta(days=days_before)
    assert local.utcoffset() == dt.timedelta(hours=local_offset_hours)


def test_a_reminder_across_the_change_is_not_24_hours_times_the_days() -> None:
    # 7 x 24 h before 10:00 CEST on the 30th would be 11:00 CET on the 23rd: calendar days it is.
    seven = reminder_time(MARCH, 7, SETTINGS, BRUSSELS)
    one = reminder_time(MARCH, 1, SETTINGS, BRUSSELS)
    assert one - seven == dt.timedelta(days=6) - dt.timedelta(hours=1)


# --- due, not yet due, too late -----------------------------------------------------------------------------


def test_nothing_before_the_first_reminder_is_due() -> None:
    assert due(utc(2026, 3, 24, 8, 59, 59)) == []


def test_the_seven_day_reminder_is_due_at_its_minute() -> None:
    assert due(utc(2026, 3, 24, 9, 0)) == [(1, MARCH.date, 7, "send")]
    registered = {(1, MARCH.date): "registered"}
    (item,) = due_reminders(
        (MARCH,), (LOTTE,), registered, frozenset(), utc(2026, 3, 24, 9, 0), SETTINGS, BRUSSELS
    )
    assert item == ReminderDue(1, MARCH.date, 7, utc(2026, 3, 24, 9, 0), "send")
    assert item.key == (1, MARCH.date, 7)


def test_the_one_day_reminder_is_due_in_summer_time() -> None:
    done = frozenset({(1, MARCH.date, 7)})
    assert due(utc(2026, 3, 30, 7, 59), done=done) == []
    assert due(utc(2026, 3, 30, 8, 0), done=done) == [(1, MARCH.date, 1, "send")]


def test_october_reminders_follow_the_change_back() -> None:
    assert due(utc(2026, 10, 20, 7, 59), meetings=(OCTOBER,)) == []
    assert due(utc(2026, 10, 20, 8, 0), meetings=(OCTOBER,)) == [(1, OCTOBER.date, 7, "send")]
    done = frozenset({(1, OCTOBER.date, 7)})
    assert due(utc(2026, 10, 26, 8, 59), meetings=(OCTOBER,), done=done) == []
    assert due(utc(2026, 10, 26, 9, 0), meetings=(OCTOBER,), done=done) == [(1, OCTOBER.date, 1, "send")]


def test_a_sent_or_missed_reminder_never_comes_back() -> None:
    now = utc(2026, 3, 30, 8, 30)
    assert due(now, done=frozenset({(1, MARCH.date, 7), (1, MARCH.date, 1)})) == []


def test_a_restart_inside_the_grace_window_still_sends() -> None:
    # Down from 08:50 on the 24th, back at 08:59 on the 25th: 23 h 59 after the due time.
    assert due(utc(2026, 3, 25, 8, 59)) == [(1, MARCH.date, 7, "send")]
    assert due(utc(2026, 3, 25, 9, 0)) == [(1, MARCH.date, 7, "send")]  # exactly the grace: still on time


def test_after_the_grace_window_a_reminder_is_missed() -> None:
    assert due(utc(2026, 3, 25, 9, 0, 1)) == [(1, MARCH.date, 7, "missed")]


def test_a_shorter_grace_is_honoured() -> None:
    settings = ReminderSettings(grace=dt.timedelta(hours=2))
    assert due(utc(2026, 3, 24, 11, 0), settings=settings) == [(1, MARCH.date, 7, "send")]
    assert due(utc(2026, 3, 24, 11, 1), settings=settings) == [(1, MARCH.date, 7, "missed")]


def test_after_downtime_only_the_newest_reminder_is_sent() -> None:
    # Down for a week: the 7-day one is long past its grace, the 1-day one has just fallen due.
    assert due(utc(2026, 3, 30, 12, 0)) == [(1, MARCH.date, 7, "missed"), (1, MARCH.date, 1, "send")]


def test_two_reminders_within_grace_give_one_mail() -> None:
    settings = ReminderSettings(days_before=(2, 1), grace=dt.timedelta(hours=48))
    assert due(utc(2026, 3, 30, 9, 0), settings=settings) == [
        (1, MARCH.date, 2, "missed"),
        (1, MARCH.date, 1, "send"),
    ]


def test_an_older_reminder_never_goes_after_a_newer_one() -> None:
    settings = ReminderSettings(days_before=(2, 1), grace=dt.timedelta(hours=48))
    done = frozenset({(1, MARCH.date, 1)})
    assert due(utc(2026, 3, 30, 9, 0), settings=settings, done=done) == [(1, MARCH.date, 2, "missed")]


@pytest.mark.parametrize(
    "now",
    [utc(2026, 3, 31, 17, 30), utc(2026, 3, 31, 18, 0), utc(2026, 4, 2, 9, 0)],
    ids=["at-the-start", "during", "days-later"],
)
def test_nothing_once_the_meeting_has_started(now: dt.datetime) -> None:
    assert due(now) == []


def test_a_minute_before_the_start_a_reminder_within_grace_still_goes() -> None:
    settings = ReminderSettings(
        grace=dt.timedelta(hours=36)
    )  # the 1-day one fell due 33.5 h before the start
    done = frozenset({(1, MARCH.date, 7)})
    assert due(utc(2026, 3, 31, 17, 29), done=done, settings=settings) == [(1, MARCH.date, 1, "send")]
    assert due(utc(2026, 3, 31, 17, 30), done=done, settings=settings) == []


def test_a_meeting_day_reminder_after_the_start_time_is_never_due() -> None:
    evening = MeetingSlot(MARCH.date, dt.datetime(2026, 3, 31, 9, 0, tzinfo=BRUSSELS))  # a morning meeting
    settings = ReminderSettings(days_before=(0,))
    assert due(utc(2026, 3, 31, 8, 30), meetings=(evening,), settings=settings) == []


# --- who gets one -------------------------------------------------------------------------------------------

MEMBERS = (
    LOTTE,  # registered
    MemberState(id=2, status="active", undeliverable=False),  # cancelled
    MemberState(id=3, status="active", undeliverable=False),  # waiting list
    MemberState(id=4, status="left", undeliverable=False),  # registered, then left the network
    MemberState(id=5, status="active", undeliverable=False),  # registered for May only
    MemberState(id=7, status="active", undeliverable=True),  # registered, address bounced
    MemberState(id=8, status="active", undeliverable=False),  # a member who said nothing about March
)
MAY = meeting_on(dt.date(2026, 5, 26))
REGISTRATIONS = {
    (1, MARCH.date): "registered",
    (2, MARCH.date): "cancelled",
    (3, MARCH.date): "waiting",
    (4, MARCH.date): "registered",
    (5, MAY.date): "registered",
    (7, MARCH.date): "registered",
}


def test_registered_members_are_the_active_ones_with_a_place_at_that_meeting() -> None:
    assert registered_members(MEMBERS, MARCH, REGISTRATIONS) == [1, 7]
    # A registration for May says nothing about March, and a cancel for March nothing about May.
    assert registered_members(MEMBERS, MAY, REGISTRATIONS) == [5]


def test_reminders_go_to_the_registered_members_whose_address_works() -> None:
    found = due(utc(2026, 3, 24, 9, 0), members=MEMBERS, registrations=REGISTRATIONS)
    assert found == [(1, MARCH.date, 7, "send")]


def test_a_reminder_that_fell_due_before_someone_registered_is_not_owed() -> None:
    newcomer = MemberState(id=9, status="active", undeliverable=False,
                           joined_at=utc(2026, 3, 26, 15, 0))  # fmt: skip
    assert due(utc(2026, 3, 27, 9, 0), members=(newcomer,)) == []  # not even "missed"
    assert due(utc(2026, 3, 30, 8, 0), members=(newcomer,)) == [(9, MARCH.date, 1, "send")]


def test_several_meetings_and_members_come_in_due_order() -> None:
    may = MAY
    members = (LOTTE, MemberState(id=2, status="active", undeliverable=False))
    settings = ReminderSettings(days_before=(70, 1))  # 70 days: 20 January for March, 17 March for May
    found = due(utc(2026, 3, 30, 8, 0), meetings=(may, MARCH), members=members, settings=settings)
    assert found == [
        (1, MARCH.date, 70, "missed"),
        (2, MARCH.date, 70, "missed"),
        (1, may.date, 70, "missed"),
        (2, may.date, 70, "missed"),
        (1, MARCH.date, 1, "send"),
        (2, MARCH.date, 1, "send"),
    ]


# --- contract -----------------------------------------------------------------------------------------------


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_reminders((MARCH,), (LOTTE,), {}, frozenset(), dt.datetime(2026, 3, 24, 9, 0), SETTINGS, BRUSSELS)


@pytest.mark.parametrize(
    "changes",
    [{"days_before": ()}, {"days_before": (7, -1)}, {"grace": dt.timedelta(hours=-1)},
     {"at": dt.time(10, 0, tzinfo=dt.UTC)}],
)  # fmt: skip
def test_settings_that_make_no_sense_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="reminders"):
        ReminderSettings(**changes)  # type: ignore[arg-type]


# --- invitations --------------------------------------------------------------------------------------------


def invited(
    now: dt.datetime,
    members: tuple[MemberState, ...] = MEMBERS,
    registrations: dict[tuple[int, dt.date], str] = REGISTRATIONS,
    done: frozenset[tuple[int, dt.date]] = frozenset(),
    meetings: tuple[MeetingSlot, ...] = (MARCH,),
) -> list[tuple[int, dt.date]]:
    found = due_invitations(meetings, members, registrations, done, now, 21, dt.time(10, 0), BRUSSELS)
    return [(item.member_id, item.meeting_date) for item in found]


def test_invitations_go_at_ten_local_three_weeks_before_on_both_sides_of_a_clock_change() -> None:
    # 31 March (summer time) is invited on 10 March (winter time): 10:00 CET is 09:00 UTC.
    assert invitation_time(MARCH, 21, dt.time(10, 0), BRUSSELS) == utc(2026, 3, 10, 9, 0)
    # 10 November (winter time) is invited on 20 October (summer time): 10:00 CEST is 08:00 UTC.
    november = meeting_on(dt.date(2026, 11, 10))
    assert invitation_time(november, 21, dt.time(10, 0), BRUSSELS) == utc(2026, 10, 20, 8, 0)
    assert invited(utc(2026, 10, 20, 7, 59), meetings=(november,)) == []
    assert invited(utc(2026, 10, 20, 8, 0), meetings=(november,)) != []


def test_an_invitation_goes_to_each_active_member_who_said_nothing_about_the_meeting() -> None:
    # Not 1 and 7 (registered), 2 (cancelled), 3 (waiting), 4 (left); 5 is registered for May only.
    assert invited(utc(2026, 3, 10, 9, 0)) == [(5, MARCH.date), (8, MARCH.date)]


def test_an_invitation_is_owed_once_until_the_meeting_day_and_never_to_a_bouncing_address() -> None:
    assert invited(utc(2026, 3, 10, 9, 0), done=frozenset({(5, MARCH.date)})) == [(8, MARCH.date)]
    assert invited(utc(2026, 3, 30, 21, 59)) == [(5, MARCH.date), (8, MARCH.date)]  # late, still news
    assert invited(utc(2026, 3, 30, 22, 0)) == []  # midnight in Brussels: the meeting's own day
    bouncing = (MemberState(id=9, status="active", undeliverable=True),)
    assert invited(utc(2026, 3, 10, 9, 0), members=bouncing) == []


def test_one_mail_per_address_names_everyone_there() -> None:
    found = due_invitations(
        (MARCH, MAY), MEMBERS, {}, frozenset(), utc(2026, 5, 5, 8, 0), 21, dt.time(10, 0), BRUSSELS
    )
    addresses = {1: "anna@example.org", 2: "Anna@example.org", 3: "bart@example.org", 5: "bart@example.org",
                 7: "x@example.org", 8: "y@example.org"}  # fmt: skip
    mails = by_address(found, addresses, group=lambda item: item.meeting_date)
    assert [[(i.member_id, i.meeting_date) for i in mail] for mail in mails] == [
        [(1, MAY.date), (2, MAY.date)],
        [(3, MAY.date), (5, MAY.date)],
        [(8, MAY.date)],
    ]
