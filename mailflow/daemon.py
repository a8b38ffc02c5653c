"""The daemon loop: answer new mail within seconds (IMAP IDLE, or polling where the server has no IDLE), and
run the periodic jobs on our own schedule.Scheduler, until SIGTERM or SIGINT asks it to stop. SIGHUP
(systemd's ExecReload) reads the config file again.

Signal handlers only set events (as huey's consumer does); the mail in hand is finished first, and the loop
does what was asked between passes.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import gc
import logging
import signal
import threading
from collections.abc import Callable

import schedule

from mailflow.adapters.config_file import load_config
from mailflow.adapters.imap import Inbox
from mailflow.errors import MailboxError, MailflowError, StoreError
from mailflow.usecases import preview
from mailflow.usecases.context import App, parse_context
from mailflow.usecases.intake import read_inbox
from mailflow.usecases.meeting_changes import sync_meetings
from mailflow.usecases.passes import JOBS, Clock, answer_each_batch, guarded
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
    asked = Asked()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("%s received: stopping after the current mail", signal.Signals(signum).name)
        app.stop.set()
        asked.wake.set()

    def request_reload(_signum: int, _frame: object) -> None:
        asked.reload.set()
        asked.wake.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGHUP, request_reload)

    scheduler = schedule.Scheduler()
    for job in JOBS:
        scheduler.every(job.every).seconds.do(guarded, job.name, functools.partial(job.run, app, clock))
    sync_meetings(app, clock())
    scheduler.run_all()  # in order: what fell due while mailflow was stopped is queued, then sent, now
    log.info("mailflow running")
    backoff = BACKOFF_FIRST

    def recovered() -> None:  # after a good pass, not on connect: a database outage must back off too
        nonlocal backoff
        backoff = BACKOFF_FIRST

    while not app.stop.is_set():
        try:
            reload_if_asked(app, clock, asked)
            imap = app.config.imap
            assert imap is not None
            with Inbox(imap) as inbox:
                serve(app, inbox, scheduler, clock, recovered, hold_lock, asked)
        except (MailboxError, StoreError) as exc:
            log.warning("%s; trying again in %.0f s", exc, backoff)
            guarded("pending jobs", scheduler.run_pending)
            asked.sleep(app, backoff)
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
    asked: Asked,
) -> None:
    """On one connection: read new mail, answer it at once, run what is due, then wait for the next mail.

    `recovered` is called after each pass that read the inbox; `asked` holds what the signals asked for.
    """
    imap = app.config.imap
    assert imap is not None
    mode = "IDLE" if inbox.can_idle else f"polling every {imap.poll_interval} s"
    log.info("waiting for mail by %s", mode)
    while asked.awake(app):
        reload_if_asked(app, clock, asked)
        hold_lock()
        answered = read_inbox(app, inbox, clock, answer_each_batch(app, clock))  # answered within seconds
        recovered()
        scheduler.run_pending()
        if answered:
            give_memory_back()
        until_next_job = max(1.0, scheduler.idle_seconds or 1.0)
        if inbox.can_idle:
            inbox.wait_for_mail(min(until_next_job, IDLE_AT_MOST), asked.wake)
        else:
            asked.wake.wait(min(until_next_job, imap.poll_interval))


@dataclasses.dataclass
class Asked:
    """What the signal handlers asked for: `reload` the config; `wake` ends any wait so it happens now (a
    stop sets it too)."""

    reload: threading.Event = dataclasses.field(default_factory=threading.Event)
    wake: threading.Event = dataclasses.field(default_factory=threading.Event)

    def awake(self, app: App) -> bool:
        """Ready `wake` for the next wait; False once a stop is asked. A handler sets its own event before
        `wake`, so a signal is either seen here or ends the wait that follows."""
        self.wake.clear()
        return not app.stop.is_set()

    def sleep(self, app: App, seconds: float) -> None:
        """Wait `seconds`, or until a signal asks for something."""
        if self.awake(app) and not self.reload.is_set():
            self.wake.wait(seconds)


def reload_if_asked(app: App, clock: Clock, asked: Asked) -> None:
    """After SIGHUP: read the config file again. When it is good the running App takes it, the meetings are
    synced (people hear what changed) and those mails go at once; a broken file is one error line, and the
    config read before stays. The database and the mailbox are what this process holds: a change of
    `[database]` or `[imap]` waits for a restart."""
    if not asked.reload.is_set():
        return
    asked.reload.clear()
    path = app.config.path
    if path is None:
        log.error("SIGHUP: no config file to read again; the running config stays")
        return
    try:
        config = load_config(path)
        config.require_servers()
        environment = preview.environment(config)  # the coordinator's templates, checked again
    except MailflowError as exc:
        log.error("SIGHUP: config %s not taken, the running config stays: %s", path, exc)
        return
    held = {
        "[database]": config.database_url != app.config.database_url,
        "[imap]": config.imap != app.config.imap,
    }
    if any(held.values()):
        log.warning("SIGHUP: %s changed; that takes a restart", " and ".join(k for k, v in held.items() if v))
        config = dataclasses.replace(config, database_url=app.config.database_url, imap=app.config.imap)
    app.config, app.context, app.templates = config, parse_context(config), environment
    log.info("SIGHUP: config %s read again (%s meetings)", path, len(config.meetings))
    if guarded("meetings", lambda: sync_meetings(app, clock())):
        guarded("outbox", lambda: send_due(app, clock))


def give_memory_back() -> None:
    """After a pass that answered mail, before waiting for the next: hand the memory its batches freed back to
    the system, so that a daemon waiting in IDLE does not keep the size of its busiest pass (glibc keeps
    freed memory for reuse; malloc_trim returns it). Elsewhere (no glibc) nothing happens."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
