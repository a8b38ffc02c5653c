"""`mailflow report`: the period report for the funder and the group, written as files into a folder
(report.html and a CSV file per table). The command line is read in cli/__init__.py."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path

from mailflow.errors import MailflowError
from mailflow.usecases.context import App
from mailflow.usecases.report import make_report

Say = Callable[[str], object]


def check_period(first: dt.date, last: dt.date) -> None:
    """Raises MailflowError when the period ends before it starts."""
    if first > last:
        raise MailflowError(
            f"--from {first.isoformat()} is after --to {last.isoformat()}: "
            "give the first day of the period, then the last (both are included)"
        )


def prepare_folder(out: Path) -> None:
    """Create the output folder if missing and make sure files can be written in it, before any work.
    Raises MailflowError saying why not."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise MailflowError(
            f"--out {out}: cannot write the report there ({exc.strerror or exc}); "
            "give a folder you may write in (it is created if missing)"
        ) from None


def write_report(app: App, first: dt.date, last: dt.date, out: Path, now: dt.datetime, say: Say) -> None:
    """Make the report and write its files into `out`, replacing earlier ones; says each path written."""
    files = make_report(app, first, last, now).files
    for name in sorted(files, key=lambda name: (name != "report.html", name)):
        path = out / name
        try:
            path.write_bytes(files[name])
        except OSError as exc:
            raise MailflowError(f"--out {out}: cannot write {name} ({exc.strerror or exc})") from None
        say(str(path))
