"""The coordinator's and admin's commands: meetings, members, outbox, forget.
Output fits a terminal and pipes cleanly.

Tables are plain columns separated by two spaces (no colours, no borders), CSV is RFC 4180 on standard output.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from mailflow.adapters.db import agenda, models, queries
from mailflow.adapters.imap import Inbox
from mailflow.core.calendar.meetings import upcoming
from mailflow.core.vocabulary import MailKind, OutboxStatus
from mailflow.errors import MailflowError
from mailflow.settings import Config, Imap
from mailflow.usecases import privacy
from mailflow.usecases.outgoing import REPLY_LIFETIME

Say = Callable[[str], object]


def table(rows: Sequence[Sequence[object]], header: Sequence[str], say: Say) -> None:
    """Columns as wide as their widest cell; the last column is not padded, so lines carry no trailing
    spaces."""
    cells = [[str(c) for c in header]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        say(
            "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False))
            + ("  " if len(row) > 1 else "")
            + row[-1]
        )


def meetings(config: Config, now: dt.datetime, say: Say) -> None:
    today = now.astimezone(config.network.timezone).date()
    entries = upcoming(config.meetings, config.recurrence, today)
    rows = [
        (
            e.date.isoformat(),
            "confirmed" if e.confirmed else "proposed",
            e.meeting.capacity if e.meeting else None,
            e.meeting.theme if e.meeting else "(not planned yet)",
        )
        for e in entries
    ]
    table(rows, ("date", "status", "capacity", "theme"), say)


def local(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """A stored (UTC) time as the admin reads it: local, with the zone ("2026-01-06 10:00 CET")."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def members(
    db: Session,
    meeting_date: dt.date | None,
    as_csv: bool,
    say: Say,
    config: Config | None = None,
    now: dt.datetime | None = None,
) -> None:
    zone = config.network.timezone if config is not None else dt.UTC
    if meeting_date is not None:
        meeting = agenda.meeting_on(db, meeting_date)
        if meeting is not None:
            people = agenda.registered_for(db, meeting)
        elif config is not None and now is not None and _proposed(config, meeting_date, now):
            # Nobody can register for a date the rhythm only proposes: an empty list is the true answer.
            print(
                f"the meeting on {meeting_date.isoformat()} is proposed by [recurrence], not confirmed yet: "
                "nobody can register until it is listed under [[meetings]]",
                file=sys.stderr,
            )
            people = []
        else:
            raise MailflowError(f"no meeting on {meeting_date.isoformat()} (see `mailflow meetings`)")
    else:
        people = queries.members_by_name(db)
    header = ("name", "organisation", "email", "status", "since")
    rows = [
        (
            m.name,
            m.organisation,
            m.email,
            m.status + (" (unsure)" if m.unsure else ""),
            m.created_at.astimezone(zone).date().isoformat(),
        )
        for m in people
    ]
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([["" if c is None else c for c in row] for row in rows])
    else:
        table(rows, header, say)


# The outbox rows an admin may act on; sent, cancelled, missed and skipped ones are history.
ATTENTION = (OutboxStatus.PENDING, OutboxStatus.HELD, OutboxStatus.FAILED, OutboxStatus.EXPIRED)


def _proposed(config: Config, day: dt.date, now: dt.datetime) -> bool:
    today = now.astimezone(config.network.timezone).date()
    return any(e.date == day and not e.confirmed for e in upcoming(config.meetings, config.recurrence, today))


def outbox(db: Session, say: Say, zone: dt.tzinfo = dt.UTC) -> None:
    rows = queries.outbox_in(db, ATTENTION)
    table(
        [
            (
                r.id,
                r.kind,
                r.status,
                r.attempts,
                local(r.next_attempt_at, zone) if r.status == OutboxStatus.PENDING else None,
                r.recipient,
                r.last_error,
            )
            for r in rows
        ],
        ("id", "kind", "status", "tries", "next try", "to", "last error"),
        say,
    )


# Why a row in these states is not sent again, in the admin's words.
NOT_RESENT = {
    OutboxStatus.CANCELLED: "was cancelled: it is no longer owed (a reminder after a cancel)",
    OutboxStatus.MISSED: "is a reminder that fell due while mailflow was stopped; a later one replaces it",
    OutboxStatus.SKIPPED: "is an empty digest that was never written",
}


def outbox_retry(db: Session, row_id: int, now: dt.datetime, say: Say, zone: dt.tzinfo = dt.UTC) -> None:
    row = db.get(models.OutboxMessage, row_id)
    if row is None:
        raise MailflowError(
            f"there is no outbox message {row_id} in this database (`mailflow outbox` lists those waiting)"
        )
    what = f"outbox message {row_id} ({row.kind} to {row.recipient})"
    if row.status == OutboxStatus.SENT:
        when = f" on {local(row.sent_at, zone)}" if row.sent_at is not None else ""
        raise MailflowError(f"{what} was sent already{when}; it is not sent twice")
    if row.status in NOT_RESENT:
        raise MailflowError(f"{what} {NOT_RESENT[OutboxStatus(row.status)]}; nothing is sent")
    if not row.raw:
        raise MailflowError(
            f"{what} is {row.status} and its text was deleted by [retention]; nothing to send"
        )
    if row.status == OutboxStatus.EXPIRED and row.kind == MailKind.REMINDER:
        raise MailflowError(
            f"{what} expired: its meeting began before it could be delivered, so it is not sent any more"
        )
    if row.status == OutboxStatus.PENDING and row.next_attempt_at <= now:
        say(f"{what} is already waiting to go out with the next pass")
        return
    expired = row.expires_at is not None and row.expires_at <= now
    row.status, row.next_attempt_at = OutboxStatus.PENDING, now
    if expired:
        row.expires_at = now + REPLY_LIFETIME
    say(
        f"{what} goes out with the next pass"
        + (" (it had expired; it gets a new lifetime)" if expired else "")
    )


def forget(db: Session, address: str, now: dt.datetime, say: Say) -> None:
    count = privacy.forget(db, address, now)
    say(f"forgot {count} member(s) and everything mailflow kept about them in the database")


def forget_in_mailbox(imap: Imap | None, address: str, say: Say) -> bool:
    """Delete the copies of their mail in the processed and review folders.
    Returns False when that was not done."""
    if imap is None:
        say("no [imap] in the config: copies of their mail in the mailbox were not looked for")
        return False
    folders = f"{imap.processed_folder} and {imap.review_folder}"
    try:
        with Inbox(imap) as inbox:
            deleted = privacy.forget_copies(inbox, address)
    except MailflowError as exc:
        say(
            f"the mailbox could not be reached ({exc}): copies of their mail in {folders} remain; "
            "run `mailflow forget` again when it can be reached"
        )
        return False
    say(f"deleted {deleted} mail(s) naming them from {folders}")
    return True
