"""Which reminders are due: 7 and 1 days before at 10:00 Brussels, across DST, after downtime, never twice or
late."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from mailflow.core.reminders import (
    MeetingSlot,
    MemberState,
    ReminderDue,
    ReminderSettings,
    due_reminders,
    expected_members,
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
LOTTE = MemberState(id=1, status="active", active_from=None, undeliverable=False)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def due(
    now: dt.datetime,
    meetings: tuple[MeetingSlot, ...] = (MARCH,),
    members: tuple[MemberState, ...] = (LOTTE,),
    attendance: dict[tuple[int, dt.date], str] | None = None,
    done: frozenset[tuple[int, dt.date, int]] = frozenset(),
    settings: ReminderSettings = SETTINGS,
) -> list[tuple[int, dt.date, int, str]]:
    found = due_reminders(meetings, members, attendance or {}, done, now, settings, BRUSSELS)
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
    (item,) = due_reminders((MARCH,), (LOTTE,), {}, frozenset(), utc(2026, 3, 24, 9, 0), SETTINGS, BRUSSELS)
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
    LOTTE,
    MemberState(id=2, status="active", active_from=None, undeliverable=False),  # excused
    MemberState(id=3, status="active", active_from=None, undeliverable=False),  # waiting list
    MemberState(id=4, status="left", active_from=None, undeliverable=False),
    MemberState(id=5, status="active", active_from=dt.date(2026, 5, 26), undeliverable=False),  # from May on
    MemberState(
        id=6, status="active", active_from=dt.date(2026, 3, 31), undeliverable=False
    ),  # from this one
    MemberState(id=7, status="active", active_from=None, undeliverable=True),
    MemberState(id=8, status="active", active_from=None, undeliverable=False),  # registered for it
)
ATTENDANCE = {(2, MARCH.date): "excused", (3, MARCH.date): "waiting", (8, MARCH.date): "registered"}


def test_expected_members_leave_out_the_excused_the_waiting_the_leavers_and_the_not_yet_started() -> None:
    assert expected_members(MEMBERS, MARCH, ATTENDANCE) == [1, 6, 7, 8]
    # An excuse for March says nothing about May.
    may = meeting_on(dt.date(2026, 5, 26))
    assert expected_members(MEMBERS, may, ATTENDANCE) == [1, 2, 3, 5, 6, 7, 8]


def test_reminders_go_to_the_expected_members_whose_address_works() -> None:
    found = due(utc(2026, 3, 24, 9, 0), members=MEMBERS, attendance=ATTENDANCE)
    assert found == [(1, MARCH.date, 7, "send"), (6, MARCH.date, 7, "send"), (8, MARCH.date, 7, "send")]


def test_a_reminder_that_fell_due_before_someone_registered_is_not_owed() -> None:
    newcomer = MemberState(id=9, status="active", active_from=None, undeliverable=False,
                           joined_at=utc(2026, 3, 26, 15, 0))  # fmt: skip
    assert due(utc(2026, 3, 27, 9, 0), members=(newcomer,)) == []  # not even "missed"
    assert due(utc(2026, 3, 30, 8, 0), members=(newcomer,)) == [(9, MARCH.date, 1, "send")]


def test_several_meetings_and_members_come_in_due_order() -> None:
    may = meeting_on(dt.date(2026, 5, 26))
    members = (LOTTE, MemberState(id=2, status="active", active_from=None, undeliverable=False))
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
