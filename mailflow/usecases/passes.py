"""The jobs mailflow runs, in one table with one guard:
`run --once` runs each once, the daemon on its schedule.

A job that fails is logged (its first line only: a database driver's message goes on with the statement and
its parameters, which may hold personal data) and the others run all the same.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from mailflow.adapters.db.engine import short_error
from mailflow.adapters.imap import Inbox
from mailflow.usecases import actions, calendar_jobs, followups, meeting_mails, privacy
from mailflow.usecases.context import App
from mailflow.usecases.intake import read_inbox
from mailflow.usecases.meeting_changes import sync_meetings
from mailflow.usecases.sending import send_due

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Job:
    """A job the clock runs: `every` seconds in the daemon, once per pass in `run --once`."""

    name: str
    every: int  # seconds
    run: Callable[[App, Clock], object]


# In this order: what fell due is queued first, then sent in the same pass. Invitations, reminders, follow-ups
# and the digest look each minute whether their time of day has come; the outbox keys make each mail happen
# once, however often they look.
JOBS = (
    Job("places", 60, lambda app, clock: actions.fill_free_places(app, clock())),
    Job("invitations", 60, lambda app, clock: meeting_mails.queue_due_invitations(app, clock())),
    Job("reminders", 60, lambda app, clock: meeting_mails.queue_due_reminders(app, clock())),
    Job("followups", 60, lambda app, clock: followups.queue_due_followups(app, clock())),
    Job("digest", 60, lambda app, clock: calendar_jobs.queue_digest(app, clock())),
    Job("outbox", 30, send_due),
    Job(
        "retention", 60 * 60, lambda app, clock: privacy.retention_if_due(app, clock())
    ),  # applies once a day
)


def guarded(name: str, job: Callable[[], object]) -> bool:
    """Run a job; log its failure instead of raising. Returns False when it failed.

    `schedule` lets an exception escape run_pending and would stop the daemon;
    a cron pass goes on with the next job.
    """
    try:
        job()
    except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
        log.error(
            "job %s failed: %s: %s; it runs again at its next slot",
            name,
            type(exc).__name__,
            short_error(exc),
        )
        return False
    return True


def read_inbox_once(app: App, clock: Clock) -> None:
    """Write down the meetings as the config lists them (telling people what changed), then open the inbox,
    read and answer its new mail, and close it again."""
    sync_meetings(app, clock())
    with Inbox(app.config.require_servers()[0]) as inbox:
        read_inbox(app, inbox, clock, answer_each_batch(app, clock))


def answer_each_batch(app: App, clock: Clock) -> Callable[[], None]:
    """What reading the inbox does after each batch: send the replies it queued, so that the first answers
    of a backlog go out within seconds rather than after its last mail is read. Once sending fails, the rest
    of the pass reads on without asking the SMTP server again; the outbox job tries at its time."""
    failed = False

    def send() -> None:
        nonlocal failed
        if not failed:
            failed = not guarded("outbox", lambda: send_due(app, clock))

    return send


def run_once(app: App, clock: Clock) -> bool:
    """One pass: read and answer the inbox, then every job once. Returns False when a step failed."""
    results = [guarded("inbox", lambda: read_inbox_once(app, clock))]
    results += [guarded(job.name, lambda job=job: job.run(app, clock)) for job in JOBS]  # type: ignore[misc]
    return all(results)
