"""`mailflow themes`: the themes members proposed for coming meetings, newest first, for the coordinator who
draws up the programme with the group.

A table for the terminal, or CSV as the sign-in sheet is written (";" between cells, UTF-8 with a byte order
mark, CRLF), which Excel in a Belgian locale opens as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys

from sqlalchemy.orm import Session

from mailflow.adapters.db import themes
from mailflow.cli.admin import Say, table
from mailflow.core.sheet import spreadsheet_cell  # the sign-in sheet's rule for values from mail

HEADER = ("date", "name", "organisation", "theme")


def proposed_themes(
    db: Session, since: dt.date | None, as_csv: bool, say: Say, zone: dt.tzinfo, now: dt.datetime
) -> None:
    """List the proposals made on or after `since` (all when None), newest first."""
    rows = [
        (
            proposal.proposed_at.astimezone(zone).date().isoformat(),
            member.name,
            member.organisation,
            proposal.text,
        )
        for proposal in themes.proposals_between(db, None, now)
        if (member := proposal.member) is not None
    ]
    if since is not None:
        rows = [row for row in rows if row[0] >= since.isoformat()]
    if as_csv:
        write_csv(rows)
    elif rows:
        table(rows, HEADER, say)
    else:
        print("no themes proposed" + (f" since {since.isoformat()}" if since else " yet"), file=sys.stderr)


def write_csv(rows: list[tuple[str, str, str | None, str]]) -> None:
    """The rows as CSV on standard output, in bytes: the byte order mark must reach the file as it is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows([[date, *(spreadsheet_cell(value) for value in rest)] for date, *rest in rows])
    data = buffer.getvalue().encode("utf-8-sig")
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # standard output replaced by text only (a test's capture)
        sys.stdout.write(data.decode("utf-8"))
        return
    sys.stdout.flush()
    out.write(data)
    out.flush()
