"""`mailflow attendance`: record who came to a meeting, from the marked sign-in sheet or from names; without
either, show what was recorded.

Exit 0 when recorded (or shown), 1 when rows or names match nobody or several people (then nothing is
recorded), 2 for an unreadable file, an unknown meeting or one that has not begun.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mailflow.errors import MailflowError
from mailflow.usecases import attendance as attendance_usecase
from mailflow.usecases.context import App

Say = Callable[[str], object]

HELP = "record who came to a meeting: the marked sign-in sheet (--from FILE.csv) or their names"


def add_parser(commands: Any, config_help: str, handler: Callable[[argparse.Namespace], int]) -> None:
    """The `attendance` subcommand, on the `mailflow` command's subparsers."""
    p = commands.add_parser(
        "attendance",
        help=HELP,
        description=HELP
        + ". Recording again replaces the earlier record; without --from or names, shows it.",
    )
    p.add_argument("--config", metavar="FILE", help=config_help)
    p.add_argument("--meeting", metavar="DATE", required=True, help="the meeting's date, like 2027-01-12")
    p.add_argument(
        "--from",
        dest="sheet",
        metavar="FILE.csv",
        help="the sign-in sheet's CSV from the digest, with who came marked in the Present column "
        "(and people who came unregistered on the empty rows)",
    )
    p.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help='the people who came, each in quotes ("Anna Peeters"), or their number on the sign-in sheet',
    )
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(handler=handler)


def attendance(
    app: App, now: dt.datetime, day: dt.date, sheet: str | None, names: Sequence[str], say: Say
) -> int:
    """Record (or show) the attendance of the meeting on `day`; returns the exit status."""
    if sheet and names:
        raise MailflowError("give either --from FILE.csv or the names of those who came, not both")
    try:
        if sheet:
            result = attendance_usecase.record_from_sheet(app, day, _read(sheet), now)
        elif names:
            result = attendance_usecase.record_by_names(app, day, names, now)
        else:
            show(attendance_usecase.recorded(app, day), app.config.network.timezone, say)
            return 0
    except attendance_usecase.NotMatched as exc:
        for problem in exc.problems:
            print(f"mailflow attendance: {problem}", file=sys.stderr)
        print("mailflow attendance: nothing was recorded", file=sys.stderr)
        return 1
    for note in result.notes:
        print(f"mailflow attendance: note: {note}", file=sys.stderr)
    say(summary(result))
    return 0


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise MailflowError(f"{path}: {exc.strerror}; nothing was recorded") from None


def summary(result: attendance_usecase.Attendance) -> str:
    """One line: how many came (new members among them), did not come, came without an address."""
    parts = [f"{result.came} came" + (f" ({result.new_members} new member(s))" if result.new_members else "")]
    parts.append(f"{result.absent} registered did not come")
    if result.walk_ins:
        parts.append(f"{result.walk_ins} came unregistered, without an address (counted, not named)")
    return f"attendance of the meeting on {result.date.isoformat()} recorded: " + ", ".join(parts)


def show(record: attendance_usecase.Recorded, zone: dt.tzinfo, say: Say) -> None:
    if record.recorded_at is None:
        say(f"no attendance recorded yet for the meeting on {record.date.isoformat()}")
        return
    when = record.recorded_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    say(f"attendance of the meeting on {record.date.isoformat()}, recorded {when}:")
    for name, organisation, came in record.people:
        mark = {True: "came", False: "did not come", None: "-"}[came]
        say(f"  {mark:<12}  {name}" + (f" ({organisation})" if organisation else ""))
    if record.walk_ins:
        say(f"  and {record.walk_ins} who came unregistered, without an address")
