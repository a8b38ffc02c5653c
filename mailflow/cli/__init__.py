"""The `mailflow` command: reads the config once, wires the parts together,
and turns errors into one clear line."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from mailflow import __version__, daemon
from mailflow.adapters.config_file import load_config
from mailflow.adapters.db.engine import scrub
from mailflow.adapters.db.lock import InstanceLock
from mailflow.cli import admin, attendance
from mailflow.cli import preview as preview_command
from mailflow.core.parsing import parse_message
from mailflow.core.parsing.headers import valid_address
from mailflow.errors import MailflowError
from mailflow.settings import Config
from mailflow.usecases.context import App, build_app, parse_context
from mailflow.usecases.meeting_changes import sync_meetings
from mailflow.usecases.passes import Clock, run_once

log = logging.getLogger("mailflow")

EXIT_CODES = """\
exit status:
  0    done
  1    a step failed: a pass step (`run --once`), a part `check` tested, the mailbox during `forget`,
       a file `parse` could not read, the demo's pass, a name or row `attendance` could not match
  2    nothing was done: a usage or config error, a refused request (a non-address to `forget`, a retry of a
       sent mail, an unknown meeting), the database unreachable or held by another mailflow
  130  interrupted (Ctrl-C)
  141  standard output was closed early (`mailflow digest --preview | head`); what was printed is complete
       up to there

the config file: --config FILE, else $MAILFLOW_CONFIG, else /etc/mailflow/config.toml, else ./config.toml
times are shown in the config's time zone ([network] timezone), with the zone's abbreviation
"""

CONFIG_ENV = "MAILFLOW_CONFIG"
# Where a config is looked for when neither --config nor $MAILFLOW_CONFIG names one: the service's, then
# the one in the current folder (the README's `cp config.example.toml config.toml`).
STANDARD_CONFIGS = (Path("/etc/mailflow/config.toml"), Path("config.toml"))


CONFIG_HELP = "the TOML config file (default: $MAILFLOW_CONFIG, /etc/mailflow/config.toml, ./config.toml)"


class UsageError(MailflowError):
    """A command line mailflow refuses before doing anything (exit status 2)."""


def config_path(args: argparse.Namespace, required: bool = True) -> Path | None:
    """--config, else $MAILFLOW_CONFIG, else the first standard path that exists. Records on `args` where
    the file came from when --config did not name it, so that an error can say which file was read."""
    if args.config:
        return Path(args.config)
    if os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
        args.config_from, args.config_used = f"${CONFIG_ENV}", path
        return path
    for path in STANDARD_CONFIGS:
        if path.is_file():
            args.config_from, args.config_used = "the standard path", path.resolve()
            return path
    if not required:
        return None
    raise UsageError(
        f"no config file: give --config FILE, set {CONFIG_ENV}=FILE, or put it at "
        + " or ".join(str(p) if p.is_absolute() else f"./{p}" for p in STANDARD_CONFIGS)
        + " (start from config.example.toml)"
    )


def _config_note(args: argparse.Namespace) -> str:
    source = getattr(args, "config_from", None)
    if source is None:
        return ""
    return f"(config {args.config_used}, found by {source}; --config FILE reads another)"


def clock_from(now: str | None) -> Clock:
    """The real clock, or one that reads `now` at start and runs on from there (`--now`)."""
    if now is None:
        return lambda: dt.datetime.now(dt.UTC)
    try:
        start = dt.datetime.fromisoformat(now)
    except ValueError:
        raise UsageError(f"--now must be an ISO date-time like 2026-01-06T10:00+01:00, got {now!r}") from None
    if start.tzinfo is None:
        raise UsageError("--now needs a UTC offset, like 2026-01-06T10:00+01:00")
    offset = start - dt.datetime.now(dt.UTC)
    return lambda: dt.datetime.now(dt.UTC) + offset


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    clock = clock_from(args.now)
    imap = config.require_servers()[0]
    mailbox = f"{imap.host}:{imap.port}/{imap.username}/{imap.folder}"
    with build_app(config) as app, InstanceLock(app.sessions, mailbox) as lock:
        if args.once:
            return 0 if run_once(app, clock) else 1
        return daemon.run(app, clock, lock.hold)


def cmd_check(args: argparse.Namespace) -> int:
    from mailflow.usecases.check import check

    ok = check(str(config_path(args)), print)
    if not ok and _config_note(args):
        print(f"mailflow check: {_config_note(args)}", file=sys.stderr)
    return 0 if ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from mailflow.cli.demo import demo

    return demo(print, keep=args.keep)


def _load(args: argparse.Namespace) -> Config:
    path = config_path(args)
    assert path is not None  # required=True raises instead
    return load_config(path)


def _admin(args: argparse.Namespace, work: Callable[[App, dt.datetime], object]) -> int:
    config = _load(args)
    with build_app(config) as app:
        now = clock_from(getattr(args, "now", None))()
        sync_meetings(app, now)
        work(app, now)
    return 0


def cmd_meetings(args: argparse.Namespace) -> int:
    config = _load(args)
    admin.meetings(config, clock_from(args.now)(), print)
    return 0


def cmd_members(args: argparse.Namespace) -> int:
    meeting = _date_argument(args.meeting, "--meeting") if args.meeting else None

    def work(app: App, now: dt.datetime) -> None:
        with app.sessions() as db:
            if meeting is not None and args.csv and _write_sheet(app, db, meeting):
                return
            admin.members(db, meeting, args.csv, print, app.config, now)

    return _admin(args, work)


def _write_sheet(app: App, db: Session, day: dt.date) -> bool:
    """The meeting's sign-in sheet on standard output, as the digest attaches it (";", UTF-8 with a byte
    order mark, the meeting on top); False when no meeting is held that day."""
    from mailflow.adapters.db import agenda
    from mailflow.core.sheet import sheet_csv
    from mailflow.usecases.calendar_jobs import meeting_sheet

    row = agenda.meeting_on(db, day)
    if row is None:
        return False
    data = sheet_csv(meeting_sheet(app, db, row))
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return True


def cmd_outbox(args: argparse.Namespace) -> int:
    def work(app: App, now: dt.datetime) -> None:
        if args.action == "retry":
            with app.sessions.begin() as db:
                admin.outbox_retry(db, args.id, now, print, app.config.network.timezone)
        else:
            with app.sessions() as db:
                admin.outbox(db, print, app.config.network.timezone)

    if args.action == "retry" and args.id is None:
        raise UsageError("outbox retry needs the ID of a message (see `mailflow outbox`)")
    return _admin(args, work)


def cmd_digest(args: argparse.Namespace) -> int:
    from mailflow.usecases import calendar_jobs

    def work(app: App, now: dt.datetime) -> None:
        if args.preview:
            print(calendar_jobs.preview_digest(app, now))
            return
        outcome = calendar_jobs.queue_digest(app, now)
        print(
            {
                "queued": "today's digest is queued; `mailflow run --once` sends it",
                "skipped": "nothing new today; no digest ([digest] send_when_empty = false)",
            }.get(outcome or "", "today's digest was made already (or its time of day has not come)")
        )

    return _admin(args, work)


def cmd_attendance(args: argparse.Namespace) -> int:
    day = _date_argument(args.meeting, "--meeting")
    status: list[int] = []

    def work(app: App, now: dt.datetime) -> None:
        status.append(attendance.attendance(app, now, day, args.sheet, args.names, print))

    _admin(args, work)
    return status[0]


def forget_address(value: str) -> str:
    """The one plain address `forget` acts on. A name or an organisation would match the text of other
    people's mail (the mailbox copies are found by what they name), so only an address is taken."""
    address = value.strip().lower()
    if not valid_address(address):
        raise UsageError(
            f"forget takes one email address, like an.peeters@example.org, not {value!r}; "
            "nothing was deleted. "
            "`mailflow members` lists the addresses mailflow keeps (e.g. `mailflow members | grep -i NAME`)"
        )
    return address


def cmd_forget(args: argparse.Namespace) -> int:
    address = forget_address(args.address)  # before the config is read: a refusal touches nothing
    done = []

    def work(app: App, now: dt.datetime) -> None:
        with app.sessions.begin() as db:
            admin.forget(db, address, now, print)
        scrub(app.sessions)
        done.append(admin.forget_in_mailbox(app.config.imap, address, print))

    _admin(args, work)
    return 0 if all(done) else 1


def cmd_themes(args: argparse.Namespace) -> int:
    from mailflow.cli.themes import proposed_themes

    since = _date_argument(args.since, "--since") if args.since else None

    def work(app: App, now: dt.datetime) -> None:
        with app.sessions() as db:
            proposed_themes(db, since, args.csv, print, app.config.network.timezone, now)

    return _admin(args, work)


def _date_argument(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{name} must be a date like 2026-01-13, got {value!r}") from None


def cmd_report(args: argparse.Namespace) -> int:
    from mailflow.cli import report

    first, last = _date_argument(args.first, "--from"), _date_argument(args.last, "--to")
    report.check_period(first, last)
    out = Path(args.out)
    report.prepare_folder(out)  # before the database: a refusal does no work

    def work(app: App, now: dt.datetime) -> None:
        report.write_report(app, first, last, out, now, print)

    return _admin(args, work)


def cmd_web(args: argparse.Namespace) -> int:
    """The coordinator's web page: meetings, members, the review folder, the outbox, the report."""
    from mailflow.web.server import serve

    config = _load(args)
    if config.web is None:
        raise UsageError(
            "the config has no [web] section: add one with password_env or password_command "
            "(see config.example.toml)"
        )
    clock = clock_from(args.now)
    with build_app(config) as app:
        sync_meetings(app, clock())
        return serve(app, config.web, clock)


def cmd_preview(args: argparse.Namespace) -> int:
    config = _load(args)
    today = clock_from(args.now)().astimezone(config.network.timezone).date()
    return preview_command.preview(config, Path(args.out), today, print)


def cmd_parse(args: argparse.Namespace) -> int:
    path = config_path(args, required=False)
    config = load_config(path) if path is not None else None
    context = parse_context(config)
    for name in args.files:
        try:
            raw = Path(name).read_bytes()
        except OSError as exc:
            print(f"mailflow parse: {name}: {exc.strerror}", file=sys.stderr)
            return 1
        parsed = parse_message(raw, context)
        row = {
            "file": name,
            "intent": str(parsed.intent),
            "people": [{"name": p.name, "organisation": p.organisation} for p in parsed.people],
            "meeting_date": parsed.meeting_date.isoformat() if parsed.meeting_date else None,
            "language": parsed.language,
            "has_question": parsed.has_question,
            "confidence": round(parsed.confidence, 2),
            "theme": parsed.extra.get("theme"),  # a theme the mail proposes for a coming meeting
        }
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            people = "; ".join(f"{p['name']} ({p['organisation'] or '-'})" for p in row["people"]) or "-"
            print(f"{name}: {row['intent']} {row['language']} {row['meeting_date'] or '-'} {people}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailflow",
        description=__doc__,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mailflow {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log debug details (never personal data)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("parse", help="show how mailflow reads .eml files (nothing is stored or sent)")
    p.add_argument("--json", action="store_true", help="one JSON object per file and line")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="config file; its meetings resolve dates named by month or theme (default: as the other "
        "commands, when one is found)",
    )
    p.add_argument("files", nargs="+", metavar="FILE.eml")
    p.set_defaults(handler=cmd_parse)

    p = commands.add_parser("run", help="read, answer and send: the daemon, or one pass with --once")
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument("--once", action="store_true", help="one pass of every job that is due, then exit (cron)")
    p.add_argument("--now", help="pretend the clock reads this ISO date-time (with a UTC offset)")
    p.set_defaults(handler=cmd_run)

    p = commands.add_parser("check", help="validate the config and reach IMAP, SMTP and the database")
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.set_defaults(handler=cmd_check)

    p = commands.add_parser("meetings", help="the coming meetings: confirmed, and proposed by the rhythm")
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_meetings)

    p = commands.add_parser("members", help="the members, or who is registered for a meeting")
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument("--meeting", metavar="DATE", help="only who is registered for the meeting on DATE")
    p.add_argument(
        "--csv", action="store_true", help="CSV on standard output (a sign-in sheet with --meeting)"
    )
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_members)

    p = commands.add_parser(
        "outbox", help="mail that is pending, failed or expired; `outbox retry ID` sends it again"
    )
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    p.add_argument("id", nargs="?", type=int, help="with retry: the message ID")
    p.set_defaults(handler=cmd_outbox)

    p = commands.add_parser(
        "digest", help="the coordinator's daily digest: --preview prints it without sending"
    )
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument(
        "--preview", action="store_true", help="print the digest as it would go out now; send nothing"
    )
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_digest)

    p = commands.add_parser(
        "forget",
        help="delete everything mailflow keeps about an address, in the database "
        "and in the mailbox's processed and review folders",
    )
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument("address", help="the email address")
    p.set_defaults(handler=cmd_forget)

    p = commands.add_parser(
        "report",
        help="the period report for the funder and the group: a page with charts, and the figures as CSV",
    )
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument("--from", dest="first", required=True, metavar="DATE", help="the period's first day")
    p.add_argument("--to", dest="last", required=True, metavar="DATE", help="the period's last day")
    p.add_argument("--out", required=True, metavar="DIR", help="the folder to write into (made if missing)")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_report)
    attendance.add_parser(commands, CONFIG_HELP, cmd_attendance)
    p = commands.add_parser("themes", help="the themes members proposed for coming meetings, newest first")
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument("--since", metavar="DATE", help="only those proposed on or after DATE")
    p.add_argument("--csv", action="store_true", help="CSV on standard output (';', UTF-8 with a BOM)")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_themes)

    p = commands.add_parser(
        "web", help="the coordinator's web page: meetings, members, the review folder, the outbox"
    )
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_web)

    preview_command.add_parser(commands, CONFIG_HELP, cmd_preview)

    p = commands.add_parser("demo", help="run the real pipeline on sample mails with throwaway local servers")
    p.add_argument("--keep", metavar="DIR", help="keep the demo's config and database in DIR")
    p.set_defaults(handler=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Libraries' chatter (aiosmtpd logs every peer; Alembic every plugin) says nothing to the admin.
    for noisy in ("mail.log", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # imapclient's protocol trace (DEBUG) carries search terms, headers and subjects:
    # personal data, never logged.
    logging.getLogger("imapclient").setLevel(logging.INFO)
    handler: Callable[[argparse.Namespace], int] = args.handler  # set by each subcommand's parser
    try:
        status = handler(args)
        sys.stdout.flush()  # here, not at exit: a closed pipe must be met inside this try
        return status
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as a Unix tool killed by SIGPIPE would. Python
        # flushes stdout again at exit, so it is pointed at /dev/null first (the recipe in the signal docs).
        _stdout_to_devnull()
        return 141
    except MailflowError as exc:
        note = _config_note(args)
        print(f"mailflow {args.command}: {exc}" + (f" {note}" if note else ""), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _stdout_to_devnull() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (output captured in a test)
        pass
