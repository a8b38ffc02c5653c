"""`mailflow check`: everything a first pass needs, done for real, sending nothing. It validates the config,
logs in to IMAP, selects the signup folder, finds or creates the processed and review folders, logs in to
SMTP, and writes and reads the database (in a transaction it rolls back).

One line per part, "ok ..." or "FAIL ... what to fix", and "WARN ..." lines for what works but looks wrong.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import models, queries
from mailflow.adapters.db.engine import close_database, open_database, short_error
from mailflow.adapters.imap import Inbox
from mailflow.adapters.smtp import SmtpOutbox
from mailflow.core.mail.templates import make_environment
from mailflow.errors import MailflowError
from mailflow.settings import Config
from mailflow.usecases import preview
from mailflow.usecases.meeting_changes import unlisted_warnings

Say = Callable[[str], object]

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # RFC 5545 BYDAY codes, Monday first as date.weekday()
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def check(config_path: str, say: Say, today: dt.date | None = None) -> bool:
    """Print one line per part, and WARN lines. Returns True when no part failed."""
    try:
        config = load_config(config_path)
        config.require_servers()
    except MailflowError as exc:
        say(f"FAIL config: {exc}")
        return False
    say(f"ok   config: {config_path} ({len(config.meetings)} meetings)")
    for warning in meeting_warnings(config, today or dt.datetime.now(config.network.timezone).date()):
        say(f"WARN meetings: {warning}")
    tz = config.network.timezone
    now = dt.datetime.combine(today, dt.time(), tzinfo=tz) if today else dt.datetime.now(dt.UTC)
    results = [
        _check_templates(config, say, now.astimezone(tz).date()),
        _check_imap(config, say),
        _check_smtp(config, say),
        _check_database(config, say, now),
    ]
    return all(results)


# --- templates ----------------------------------------------------------------------------------------------


def _check_templates(config: Config, say: Say, today: dt.date) -> bool:
    """The coordinator's own templates: every mail kind rendered in every language with them."""
    folder = config.templates_dir
    if folder is None:
        say("ok   templates: mailflow's own")
        return True
    env = make_environment(overrides=folder)
    problems = preview.template_problems(config, env, today)
    for problem in problems:
        say(f"FAIL templates: {problem}")
    if not problems:
        count = len([p for p in folder.iterdir() if p.suffix in (".txt", ".html")])
        say(f"ok   templates: {count} of your own in {folder}; every mail renders in nl, fr and en with them")
    return not problems


# --- meetings -----------------------------------------------------------------------------------------------


def meeting_warnings(config: Config, today: dt.date) -> list[str]:
    """Meetings in the past, and meetings not on the rhythm's weekday (or, with no weekday in the rule, not
    on the weekday most meetings are on). Numbered as people count: the first meeting in the file is
    meeting 1."""
    warnings = []
    meetings = list(enumerate(config.meetings, start=1))
    first = min((m.date for _n, m in meetings), default=None)
    for number, meeting in meetings:
        if meeting.date < today:
            rhythm = (
                ", and it is where the proposed rhythm starts (recurrence.start is not set)"
                if meeting.date == first and config.recurrence.start is None
                else ""
            )
            warnings.append(
                f"meeting {number} ({meeting.date}) is in the past: nobody can register for it{rhythm}; "
                "remove it from [[meetings]]"
            )
    days = rule_weekdays(config.recurrence.rule)
    where = f"recurrence.rule ({config.recurrence.rule})"
    if not days and len(meetings) >= 3:
        (day, count), *_ = Counter(m.date.weekday() for _n, m in meetings).most_common(1)
        if count * 2 > len(meetings):  # a clear majority, else there is no "usual" day to speak of
            days, where = {day}, f"{count} of the {len(meetings)} meetings"
    expected = " or ".join(_DAY_NAMES[d] for d in sorted(days))
    for number, meeting in meetings:
        if days and meeting.date.weekday() not in days:
            warnings.append(
                f"meeting {number} ({meeting.date}) is on a {_DAY_NAMES[meeting.date.weekday()]}, "
                f"but {where} says {expected}: check the date"
            )
    return warnings


def rule_weekdays(rule: str) -> set[int]:
    """The weekdays (0 = Monday) an RRULE's BYDAY names, e.g. {1} for "BYDAY=+2TU"; empty without BYDAY."""
    match = re.search(r"(?:^|;)BYDAY=([^;]*)", rule.upper())
    if not match:
        return set()
    return {_WEEKDAYS.index(code[-2:]) for code in match.group(1).split(",") if code[-2:] in _WEEKDAYS}


# --- servers ------------------------------------------------------------------------------------------------


def _check_imap(config: Config, say: Say) -> bool:
    imap = config.imap
    assert imap is not None
    try:
        with Inbox(imap) as inbox:
            inbox.select()
            # For real, as the first pass would: a name the server cannot hold fails here, not in the daemon.
            created = inbox.ensure_folders()
            hierarchy = inbox.hierarchy
            names = {f: inbox.server_name(f) for f in (imap.processed_folder, imap.review_folder)}
    except MailflowError as exc:
        say(f"FAIL imap: {exc}")
        return False
    folders = []
    for folder, name in names.items():
        on_server = f" (on the server {name!r})" if name != folder else ""
        folders.append(f"{folder}{on_server} {'created' if folder in created else 'found'}")
    say(
        f"ok   imap: logged in to {imap.host}:{imap.port} ({imap.tls}), {imap.folder} selected "
        f"({inbox.exists} mails); {', '.join(folders)}; folder separator {hierarchy.separator!r}"
    )
    return True


def _check_smtp(config: Config, say: Say) -> bool:
    smtp = config.smtp
    assert smtp is not None
    try:
        with SmtpOutbox(smtp) as outbox:
            outbox.connect()
    except MailflowError as exc:
        say(f"FAIL smtp: {exc}")
        return False
    login = "logged in" if smtp.username else "connected (no login configured)"
    say(f"ok   smtp: {login} to {smtp.host}:{smtp.port} ({smtp.tls}); nothing sent")
    return True


# --- database -----------------------------------------------------------------------------------------------


def _check_database(config: Config, say: Say, now: dt.datetime) -> bool:
    problem = unwritable_database_directory(config.database_url)
    if problem:
        say(f"WARN database: {problem}")
    try:
        sessions = open_database(config.database_url)
        try:
            with sessions() as db:
                members = queries.count_members(db)
                _write_and_read(db)
                unlisted = unlisted_warnings(db, config, now)
        finally:
            close_database(sessions)
    except MailflowError as exc:
        say(f"FAIL database: {exc}")
        return False
    except SQLAlchemyError as exc:
        say(f"FAIL database: cannot write ({short_error(exc)})")
        return False
    except OSError as exc:  # creating the SQLite file's directory
        say(f"FAIL database: {exc.strerror or exc} ({exc.filename})")
        return False
    say(f"ok   database: schema up to date, written and read back, {members} members")
    for warning in unlisted:
        say(f"WARN meetings: {warning}")
    return True


def _write_and_read(db: sa.orm.Session) -> None:
    """A throwaway row, written, read back and rolled back: a read-only file or a user without INSERT rights
    fails here rather than at the first mail."""
    now = dt.datetime.now(dt.UTC)
    probe = models.MailboxState(
        mailbox="mailflow check (rolled back)", uidvalidity=1, first_uid=1, started_at=now
    )
    try:
        db.add(probe)
        db.flush()
        found = db.scalar(
            sa.select(models.MailboxState.id).where(models.MailboxState.mailbox == probe.mailbox)
        )
        if found != probe.id:
            raise SQLAlchemyError("the row written was not read back")
    finally:
        db.rollback()


def unwritable_database_directory(url: str) -> str | None:
    """Why this process cannot write a SQLite database's directory (SQLite writes its journal beside the
    file), or None. Other databases answer for themselves."""
    if not url.startswith("sqlite:///") or url.removeprefix("sqlite:///") in ("", ":memory:"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    directory = path.parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent  # the SQLite file's directory is created on the first run, here
    if os.access(directory, os.W_OK | os.X_OK) and (not path.exists() or os.access(path, os.W_OK)):
        return None
    where = path if os.access(directory, os.W_OK | os.X_OK) else directory
    user = _user()
    if os.statvfs(directory).f_flag & os.ST_RDONLY:
        why = (
            "it is on a read-only file system; systemd's ProtectSystem=strict makes everything read-only but "
            "the ReadWritePaths= of the unit"
        )
    else:
        why = (
            f"user {user} may not write it (owner {_owner(where)}, mode {oct(where.stat().st_mode & 0o777)})"
        )
    return (
        f"{where} cannot be written by this process ({user}): {why}. Put the database where the service may "
        'write, e.g. url = "sqlite:////var/lib/mailflow/mailflow.db" (StateDirectory=mailflow), or make '
        f"{where} writable"
    )


def _user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def _owner(path: Path) -> str:
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except KeyError:
        return f"uid {path.stat().st_uid}"
