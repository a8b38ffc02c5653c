"""The daemon loop: our own schedule.Scheduler runs the periodic jobs until SIGTERM or SIGINT asks it to stop.

Signal handlers only set the stop event (as huey's consumer does); the job in progress finishes its current mail.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
from collections.abc import Callable

import schedule

from mailflow import jobs

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """A job that logs its failure and returns: `schedule` lets an exception escape run_pending and stop the loop."""

    def run() -> None:
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
            log.error("job %s failed: %s: %s; it runs again at its next slot", name, type(exc).__name__,
                      str(exc).splitlines()[0][:200] if str(exc) else "")
    return run


def run(app: jobs.App, clock: Clock) -> int:
    """Run until asked to stop. Returns the process exit status."""
    imap = app.config.imap
    assert imap is not None

    def request_stop(signum: int, _frame: object) -> None:
        log.info("%s received: stopping after the current mail", signal.Signals(signum).name)
        app.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    scheduler = schedule.Scheduler()
    scheduler.every(imap.poll_interval).seconds.do(guarded("pass", lambda: jobs.run_once(app, clock)))
    log.info("mailflow running: a pass every %s s", imap.poll_interval)
    scheduler.run_all()
    while not app.stop.is_set():
        scheduler.run_pending()
        app.stop.wait(max(0.2, min(1.0, scheduler.idle_seconds or 1.0)))
    log.info("mailflow stopped")
    return 0
