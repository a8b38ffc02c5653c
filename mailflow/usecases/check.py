"""`mailflow check`: validate the config, then reach IMAP, SMTP and the database,
one line each on what works."""

from __future__ import annotations

from collections.abc import Callable

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import queries
from mailflow.adapters.db.engine import close_database, open_database
from mailflow.adapters.imap import Inbox
from mailflow.adapters.smtp import SmtpOutbox
from mailflow.errors import MailflowError
from mailflow.settings import Config

Say = Callable[[str], object]


def check(config_path: str, say: Say) -> bool:
    """Print one line per part ("ok ..." or "FAIL ... what to fix"). Returns True when every part works."""
    try:
        config = load_config(config_path)
        config.require_servers()
    except MailflowError as exc:
        say(f"FAIL config: {exc}")
        return False
    say(f"ok   config: {config_path} ({len(config.meetings)} meetings)")
    results = [_check_imap(config, say), _check_smtp(config, say), _check_database(config, say)]
    return all(results)


def _check_imap(config: Config, say: Say) -> bool:
    imap = config.imap
    assert imap is not None
    try:
        with Inbox(imap) as inbox:
            client = inbox.client
            assert client is not None
            missing = [
                f
                for f in (imap.folder, imap.processed_folder, imap.review_folder)
                if not client.folder_exists(f)
            ]
            status = client.folder_status(imap.folder, ["MESSAGES"]) if imap.folder not in missing else {}
    except MailflowError as exc:
        say(f"FAIL imap: {exc}")
        return False
    if imap.folder in missing:
        say(f"FAIL imap: logged in to {imap.host}, but folder {imap.folder!r} does not exist")
        return False
    created = f"; {', '.join(missing)} will be created on the first run" if missing else ""
    say(
        f"ok   imap: logged in to {imap.host}:{imap.port} ({imap.tls}), {imap.folder} holds "
        f"{status.get(b'MESSAGES', 0)} mails{created}"
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
    say(f"ok   smtp: {login} to {smtp.host}:{smtp.port} ({smtp.tls})")
    return True


def _check_database(config: Config, say: Say) -> bool:
    try:
        sessions = open_database(config.database_url)
        try:
            with sessions() as db:
                members = queries.count_members(db)
        finally:
            close_database(sessions)
    except MailflowError as exc:
        say(f"FAIL database: {exc}")
        return False
    say(f"ok   database: schema up to date, {members} members")
    return True
