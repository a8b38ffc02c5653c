"""The daemon loop: answer new mail within seconds (IMAP IDLE, or polling where the server has no IDLE), and
run the periodic jobs on our own schedule.Scheduler, until SIGTERM or SIGINT asks it to stop.

Signal handlers only set the stop event (as huey's consumer does); the mail in hand is finished first.
"""

from __future__ import annotations

import functools
import logging
import signal
from collections.abc import Callable

import schedule

from mailflow.adapters.imap import Inbox
from mailflow.errors import MailboxError, StoreError
from mailflow.usecases.context import App, sync_meetings
from mailflow.usecases.intake import read_inbox
from mailflow.usecases.passes import JOBS, Clock, guarded
from mailflow.usecases.sending import send_due

log = logging.getLogger(__name__)

IDLE_AT_MOST = 10 * 60  # RFC 2177: re-issue IDLE well within the 29 minutes a server may wait
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 300.0  # seconds between reconnects after the IMAP server went away


def run(app: App, clock: Clock, hold_lock: Callable[[], None] = lambda: None) -> int:
    """Run until asked to stop. Returns the process exit status.

    `hold_lock` makes sure this is still the one mailflow on the mailbox before each pass (see
    adapters.db.lock.InstanceLock); it raises StoreError while the database is away and LockLost, which ends
    the run, if another took over.
    """
    imap = app.config.imap
    assert imap is not None

    def request_stop(signum: int, _frame: object) -> None:
        log.info("%s received: stopping after the current mail", signal.Signals(signum).name)
        app.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    scheduler = schedule.Scheduler()
    for job in JOBS:
        scheduler.every(job.every).seconds.do(guarded, job.name, functools.partial(job.run, app, clock))
    sync_meetings(app)
    scheduler.run_all()  # in order: what fell due while mailflow was stopped is queued, then sent, now
    log.info("mailflow running")
    backoff = BACKOFF_FIRST

    def recovered() -> None:  # after a good pass, not on connect: a database outage must back off too
        nonlocal backoff
        backoff = BACKOFF_FIRST

    while not app.stop.is_set():
        try:
            with Inbox(imap) as inbox:
                serve(app, inbox, scheduler, clock, recovered, hold_lock)
        except (MailboxError, StoreError) as exc:
            log.warning("%s; trying again in %.0f s", exc, backoff)
            guarded("pending jobs", scheduler.run_pending)
            app.stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
    log.info("mailflow stopped")
    return 0


def serve(
    app: App,
    inbox: Inbox,
    scheduler: schedule.Scheduler,
    clock: Clock,
    recovered: Callable[[], None],
    hold_lock: Callable[[], None],
) -> None:
    """On one connection: read new mail, answer it at once, run what is due, then wait for the next mail.

    `recovered` is called after each pass that read the inbox.
    """
    imap = app.config.imap
    assert imap is not None
    mode = "IDLE" if inbox.can_idle else f"polling every {imap.poll_interval} s"
    log.info("waiting for mail by %s", mode)
    while not app.stop.is_set():
        hold_lock()
        answered = read_inbox(app, inbox, clock)
        recovered()
        if answered:
            guarded("outbox", lambda: send_due(app, clock))  # answered within seconds, not at the next round
        scheduler.run_pending()
        until_next_job = max(1.0, scheduler.idle_seconds or 1.0)
        if inbox.can_idle:
            inbox.wait_for_mail(min(until_next_job, IDLE_AT_MOST), app.stop)
        else:
            app.stop.wait(min(until_next_job, imap.poll_interval))
