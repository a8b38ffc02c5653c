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

from mailflow.adapters.db import models, queries
from mailflow.adapters.imap import Inbox
from mailflow.core.calendar.meetings import upcoming
from mailflow.core.vocabulary import OutboxStatus
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


def members(db: Session, meeting_date: dt.date | None, as_csv: bool, say: Say) -> None:
    if meeting_date is not None:
        meeting = queries.meeting_on(db, meeting_date)
        if meeting is None:
            raise MailflowError(f"no meeting on {meeting_date.isoformat()} (see `mailflow meetings`)")
        people = queries.expected_at(db, meeting)
    else:
        people = queries.members_by_name(db)
    header = ("name", "organisation", "email", "status", "since")
    rows = [
        (
            m.name,
            m.organisation,
            m.email,
            m.status + (" (unsure)" if m.unsure else ""),
            m.created_at.date().isoformat(),
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


def outbox(db: Session, say: Say) -> None:
    rows = queries.outbox_in(db, ATTENTION)
    table(
        [
            (
                r.id,
                r.kind,
                r.status,
                r.attempts,
                r.next_attempt_at.strftime("%Y-%m-%d %H:%M") if r.status == OutboxStatus.PENDING else None,
                r.recipient,
                r.last_error,
            )
            for r in rows
        ],
        ("id", "kind", "status", "tries", "next try (UTC)", "to", "last error"),
        say,
    )


def outbox_retry(db: Session, row_id: int, now: dt.datetime, say: Say) -> None:
    row = db.get(models.OutboxMessage, row_id)
    if row is None:
        raise MailflowError(f"no outbox message {row_id}")
    if row.status == OutboxStatus.SENT:
        raise MailflowError(f"outbox message {row_id} was sent already; it is not sent twice")
    if row.status not in ATTENTION or not row.raw:
        raise MailflowError(f"outbox message {row_id} is {row.status}; there is nothing to send")
    row.status, row.next_attempt_at = OutboxStatus.PENDING, now
    if row.expires_at is not None and row.expires_at <= now:
        row.expires_at = now + REPLY_LIFETIME
    say(f"outbox message {row_id} goes out with the next pass")


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
