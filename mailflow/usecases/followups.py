"""The follow-up the day after a meeting (`[[meetings]] followup`, `followup_attachment`): the meeting's
product, a text or a link and a file, with the next meeting's date and theme.

It goes at `[reminders] at` local time on the day after the meeting, one mail per address (two members
sharing one are named together), to those who came once attendance is recorded, else to those registered.
Once ever per member (OutboxKey.followup, the first member's id standing for the mail; the members it named
are read back); someone recorded as having come later that week still gets theirs. A week after it fell due
nothing goes any more: after that long (mailflow was down) it is no news. Members who left or whose address
bounces get none. The file is read when the mail is queued; when it cannot be, the follow-up goes without it
and the coordinator hears of it in the log and the next digest.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from mailflow.adapters.db import agenda, models, queries
from mailflow.core import reminders
from mailflow.core.mail.compose import Attachment
from mailflow.core.parsing.text import fold
from mailflow.core.vocabulary import (
    EventKind,
    MailKind,
    MeetingStatus,
    MemberStatus,
    OutboxKey,
    RegistrationStatus,
)
from mailflow.settings import Meeting as MeetingConfig
from mailflow.usecases.context import App, meeting_details
from mailflow.usecases.outgoing import queue_member_mail

log = logging.getLogger(__name__)

FOLLOWUP_WINDOW = dt.timedelta(days=7)  # after this long it is no news: not sent any more
ATTACHMENT_LIMIT = 10 * 1024 * 1024  # bytes; mail servers refuse much larger mails, and each copy is stored


@dataclass(frozen=True)
class _Due:
    member_id: int


def followup_time(meeting_date: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """When a meeting's follow-up falls due, in UTC: `at` local time on the day after the meeting."""
    return dt.datetime.combine(meeting_date + dt.timedelta(days=1), at, tzinfo=tz).astimezone(dt.UTC)


def queue_due_followups(app: App, now: dt.datetime) -> dict[str, int]:
    """Queue the follow-ups owed at `now`, one per address and meeting. Returns counts:
    {"queued": mails, "members": members they name}."""
    counts = {"queued": 0, "members": 0}
    with_followup = {m.date: m for m in app.config.meetings if m.followup and not m.cancelled}
    if not with_followup:
        return counts
    tz, at = app.config.network.timezone, app.config.reminders.at
    today = now.astimezone(tz).date()
    with app.sessions.begin() as db:
        recent = agenda.meetings_between(db, today - FOLLOWUP_WINDOW - dt.timedelta(days=2), today)
        for meeting in recent:
            settings = with_followup.get(meeting.date)
            due_at = followup_time(meeting.date, at, tz)
            if settings is None or meeting.status != MeetingStatus.CONFIRMED:
                continue
            if due_at <= now < due_at + FOLLOWUP_WINDOW:
                queued, members = _queue_for(app, db, meeting, settings, due_at, now)
                counts["queued"] += queued
                counts["members"] += members
    if counts["queued"]:
        log.info("follow-ups: %s queued for %s members", counts["queued"], counts["members"])
    return counts


def recipients(db: Session, meeting: models.Meeting) -> list[models.Member]:
    """Who gets a meeting's follow-up: those who came once attendance is recorded, else those registered;
    only members who are still in the network and whose address takes mail."""
    registrations = agenda.registrations_of(db, meeting)
    if meeting.attendance_recorded_at is not None:
        chosen = [r.member for r in registrations if r.attended]
    else:
        chosen = [r.member for r in registrations if r.status == RegistrationStatus.REGISTERED]
    return [m for m in chosen if m.status == MemberStatus.ACTIVE and not m.undeliverable]


def _queue_for(
    app: App,
    db: Session,
    meeting: models.Meeting,
    settings: MeetingConfig,
    due_at: dt.datetime,
    now: dt.datetime,
) -> tuple[int, int]:
    people = {m.id: m for m in recipients(db, meeting)}
    done = queries.members_mailed(db, MailKind.FOLLOWUP, [meeting])
    due = [_Due(member_id) for member_id in people if (member_id, meeting.date) not in done]
    if not due:
        return 0, 0
    attachment, problem = read_attachment(settings.followup_attachment)
    next_meeting = meeting_details(app, agenda.next_meeting(db, now))
    queued = named = 0
    address_of = {m.id: m.email for m in people.values()}
    for mail in reminders.by_address(due, address_of, group=lambda item: meeting.id):
        members = [people[item.member_id] for item in mail]
        row = queue_member_mail(
            app,
            db,
            members,
            meeting,
            OutboxKey.followup(members[0].id, meeting.id),
            now,
            kind=MailKind.FOLLOWUP,
            calendar=None,
            expires_at=due_at + FOLLOWUP_WINDOW,
            followup=settings.followup,
            next_meeting=next_meeting,
            attachments=(attachment,) if attachment is not None else (),
        )
        if row is not None:
            queued += 1
            named += len(members)
    if problem is not None and queued:
        log.warning("follow-up of meeting id=%s goes without its attachment: %s", meeting.id, problem)
        queries.record_event(
            db, EventKind.FOLLOWUP_WITHOUT_ATTACHMENT, now, meeting=meeting, detail=problem[:500]
        )
    return queued, named


def read_attachment(path: Path | None) -> tuple[Attachment | None, str | None]:
    """The follow-up's file as an attachment, or None and why it cannot go (None when there is no file)."""
    if path is None:
        return None, None
    try:
        size = path.stat().st_size
        if size > ATTACHMENT_LIMIT:
            return None, f"{path} is {size // (1024 * 1024)} MB, more than mail can carry (10 MB)"
        data = path.read_bytes()
    except OSError as exc:
        return None, f"{path} cannot be read ({exc.strerror or type(exc).__name__})"
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/"):
        try:
            data.decode("utf-8")
            content_type += '; charset="utf-8"'
        except UnicodeDecodeError:
            pass
    return Attachment(content_type, attachment_filename(path.name), data), None


def attachment_filename(name: str) -> str:
    """A file name every mail client takes: lower-case ASCII, no spaces ("Verslag maart é.PDF" ->
    "verslag-maart-e.pdf")."""
    stem, dot, suffix = fold(name, every_mark=True).rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    stem = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:80] or "attachment"
    suffix = re.sub(r"[^a-z0-9]+", "", suffix)[:10]
    return f"{stem}.{suffix}" if suffix else stem
