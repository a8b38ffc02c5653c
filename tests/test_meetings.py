"""The calendar: configured meetings first, the rhythm (every second month, second Tuesday) proposes the
rest."""

from __future__ import annotations

import datetime as dt

from mailflow.core.calendar.meetings import upcoming
from mailflow.settings import Meeting, Recurrence

RHYTHM = Recurrence(rule="FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TU", start=None)
MEETINGS = [
    Meeting(dt.date(2026, 1, 13), "Dringende medische hulp"),
    Meeting(dt.date(2026, 3, 10), "Onderwijs"),
]


def test_rhythm_proposes_the_dates_not_configured():
    entries = upcoming(MEETINGS, RHYTHM, today=dt.date(2026, 1, 1), horizon=dt.timedelta(days=250))
    assert [(e.date, e.confirmed) for e in entries] == [
        (dt.date(2026, 1, 13), True),
        (dt.date(2026, 3, 10), True),
        (dt.date(2026, 5, 12), False),
        (dt.date(2026, 7, 14), False),
        (dt.date(2026, 9, 8), False),
    ]
    assert all(e.date.weekday() == 1 for e in entries)  # Tuesdays


def test_past_meetings_are_not_listed():
    entries = upcoming(MEETINGS, RHYTHM, today=dt.date(2026, 2, 1), horizon=dt.timedelta(days=60))
    assert [e.date for e in entries] == [dt.date(2026, 3, 10)]


def test_a_moved_meeting_replaces_its_proposed_date():
    moved = [Meeting(dt.date(2026, 1, 13), "a"), Meeting(dt.date(2026, 5, 19), "moved a week")]
    entries = upcoming(moved, RHYTHM, today=dt.date(2026, 4, 1), horizon=dt.timedelta(days=60))
    assert [(e.date, e.confirmed) for e in entries] == [(dt.date(2026, 5, 19), True)]


def test_without_meetings_the_rhythm_starts_today():
    entries = upcoming([], RHYTHM, today=dt.date(2026, 11, 23), horizon=dt.timedelta(days=70))
    assert [(e.date, e.confirmed) for e in entries] == [(dt.date(2027, 1, 12), False)]
