"""The calendar: configured meetings, and the dates the network's rhythm proposes beyond them.
Pure: no clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from dateutil.rrule import rrulestr

from mailflow.settings import Meeting, Recurrence


@dataclass(frozen=True)
class CalendarEntry:
    date: dt.date
    meeting: Meeting | None  # None: only proposed by the rhythm, not confirmed in the config

    @property
    def confirmed(self) -> bool:
        return self.meeting is not None


def upcoming(
    meetings: Sequence[Meeting],
    recurrence: Recurrence,
    today: dt.date,
    horizon: dt.timedelta = dt.timedelta(days=366),
) -> list[CalendarEntry]:
    """Meetings from `today` on within the horizon:
    the configured ones, and the rule's dates not configured yet.

    A configured meeting within two weeks of a proposed date stands in for it (a meeting moved a week is not
    proposed again on its old date).
    """
    confirmed = sorted((m for m in meetings if m.date >= today), key=lambda m: m.date)
    start = recurrence.start or min((m.date for m in meetings), default=today)
    rule = rrulestr(recurrence.rule, dtstart=dt.datetime.combine(start, dt.time(0)))
    until = dt.datetime.combine(today + horizon, dt.time(0))
    proposed = [d.date() for d in rule.between(dt.datetime.combine(today, dt.time(0)), until, inc=True)]
    near = dt.timedelta(days=14)
    entries = [CalendarEntry(m.date, m) for m in confirmed if m.date <= today + horizon]
    entries += [CalendarEntry(d, None) for d in proposed if not any(abs(m.date - d) < near for m in meetings)]
    return sorted(entries, key=lambda e: e.date)
