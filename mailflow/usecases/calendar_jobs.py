"""The jobs that follow the clock rather than the inbox: reminders before each meeting and the coordinator's digest.

Both gather the database state, ask the pure core (reminders.due_reminders, digest.build_digest) what is due at
`now`, and queue the mails in the outbox under keys that make each happen once, ever: `reminder:<member>:<meeting
date>:<days before>` and `digest:<local day>`. The outbox sends them; a restart or a second pass in the same minute
finds the keys taken and queues nothing.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db import models, queries
from mailflow.core import digest as digest_core
from mailflow.core import reminders
from mailflow.core.mail import compose, render
from mailflow.usecases.context import App, meeting_details

log = logging.getLogger(__name__)

DIGEST_LIFETIME = dt.timedelta(days=1)  # yesterday's digest is stale once today's is due


# --- reminders -------------------------------------------------------------------------------------------------------


def reminder_settings(app: App) -> reminders.ReminderSettings:
    r = app.config.reminders
    return reminders.ReminderSettings(days_before=r.days_before, at=r.at, grace=r.grace)


def queue_due_reminders(app: App, now: dt.datetime) -> dict[str, int]:
    """Queue every reminder that has fallen due; record the ones that can no longer go as missed.

    Returns counts: {"queued": n, "missed": m}.
    """
    settings = reminder_settings(app)
    # A meeting further away than the earliest offset (plus a day for the zone) has nothing due yet.
    horizon = now + dt.timedelta(days=max(settings.days_before) + 1)
    counts = {"queued": 0, "missed": 0}
    with app.sessions.begin() as db:
        meetings = list(db.scalars(sa.select(models.Meeting).where(
            models.Meeting.starts_at > now, models.Meeting.starts_at <= horizon).order_by(models.Meeting.starts_at)))
        if not meetings:
            return counts
        members = {m.id: m for m in db.scalars(sa.select(models.Member).where(models.Member.status == "active"))}
        due = reminders.due_reminders(
            meetings=[reminders.MeetingSlot(m.date, m.starts_at) for m in meetings],
            members=[reminders.MemberState(m.id, m.status, m.active_from, m.undeliverable, m.created_at)
                     for m in members.values()],
            attendance=_attendance(db, meetings),
            done=_reminders_done(db, meetings),
            now=now,
            settings=settings,
            tz=app.config.network.timezone,
        )
        by_date = {m.date: m for m in meetings}
        for item in due:
            member, meeting = members[item.member_id], by_date[item.meeting_date]
            key = "reminder:{}:{}:{}".format(*item.key)
            if item.action == "missed":
                row = queries.enqueue(db, key=key, kind="reminder", recipient=member.email, message_id="", raw=b"",
                                    now=now, expires_at=meeting.starts_at, member=member)
                if row is not None:
                    row.status, row.last_error = "missed", "fell due while mailflow was not running"
                    counts["missed"] += 1
                continue
            message_id = compose.new_message_id(app.message_domain)
            message = render.render_reminder(
                app.templates, member_name=member.name, to_address=member.email, language=member.language,
                meeting=meeting_details(app, meeting), days_before=item.days_before, network=app.config.network,
                sender=app.sender, message_id=message_id, now=now)
            # A reminder is worth nothing once its meeting has started: it expires then.
            counts["queued"] += queries.enqueue(
                db, key=key, kind="reminder", recipient=member.email, message_id=message_id,
                raw=compose.message_bytes(message), now=now, expires_at=meeting.starts_at, member=member,
            ) is not None
    if any(counts.values()):
        log.info("reminders: %s queued, %s missed", counts["queued"], counts["missed"])
    return counts


def _attendance(db: Session, meetings: list[models.Meeting]) -> dict[tuple[int, dt.date], str]:
    dates = {m.id: m.date for m in meetings}
    rows = db.execute(sa.select(models.Attendance.member_id, models.Attendance.meeting_id, models.Attendance.status)
                      .where(models.Attendance.meeting_id.in_(dates)))
    return {(member_id, dates[meeting_id]): status for member_id, meeting_id, status in rows}


def _reminders_done(db: Session, meetings: list[models.Meeting]) -> set[tuple[int, dt.date, int]]:
    """The (member, meeting date, offset) keys already in the outbox, whatever became of them."""
    dates = {m.date.isoformat(): m.date for m in meetings}
    keys = db.scalars(sa.select(models.OutboxMessage.key).where(
        sa.or_(*(models.OutboxMessage.key.like(f"reminder:%:{day}:%") for day in dates))))
    done = set()
    for key in keys:
        _, member_id, day, days_before = key.split(":")
        done.add((int(member_id), dates[day], int(days_before)))
    return done


# --- the daily digest ------------------------------------------------------------------------------------------------


def digest_key(app: App, now: dt.datetime) -> str:
    return f"digest:{now.astimezone(app.config.network.timezone).date().isoformat()}"


def queue_digest(app: App, now: dt.datetime) -> str | None:
    """Queue today's digest once its time of day has come and it was not queued yet.

    Returns "queued", "skipped" (nothing happened and [digest] send_when_empty is false) or None (not due, or done).
    """
    settings, tz = app.config.digest, app.config.network.timezone
    if now.astimezone(tz).time() < settings.at:
        return None
    key = digest_key(app, now)
    with app.sessions.begin() as db:
        if db.scalar(sa.select(models.OutboxMessage.id).where(models.OutboxMessage.key == key)) is not None:
            return None
        digest = build(app, db, now)
        if digest.empty and not settings.send_when_empty:
            # Recorded all the same: the day is done, and the next digest counts from here.
            row = queries.enqueue(db, key=key, kind="digest", recipient=settings.to, message_id="", raw=b"", now=now,
                                expires_at=now)
            assert row is not None
            row.status = "skipped"
            log.info("digest: nothing new, not sent")
            return "skipped"
        message_id = compose.new_message_id(app.message_domain)
        message = render.render_digest(app.templates, digest, network=app.config.network, to_address=settings.to,
                                       sender=app.sender, message_id=message_id, now=now)
        queries.enqueue(db, key=key, kind="digest", recipient=settings.to, message_id=message_id,
                      raw=compose.message_bytes(message), now=now, expires_at=now + DIGEST_LIFETIME)
    log.info("digest: queued %s", message_id)
    return "queued"


def preview_digest(app: App, now: dt.datetime) -> str:
    """The digest as it would go out now, as plain text with its attachment named; nothing is stored or sent."""
    with app.sessions() as db:
        digest = build(app, db, now)
    message = render.render_digest(app.templates, digest, network=app.config.network, to_address=app.config.digest.to,
                                   sender=app.sender, message_id=compose.new_message_id(app.message_domain), now=now)
    lines = [f"To: {message['To']}", f"Subject: {message['Subject']}", ""]
    body = message.get_body(("plain",))
    lines.append(body.get_content().rstrip("\n") if body is not None else "")
    for attachment in message.iter_attachments():
        size = len(attachment.get_content().encode() if attachment.get_content_maintype() == "text"
                   else attachment.get_content())
        lines += ["", f"Attached: {attachment.get_filename()} ({size} bytes)"]
    return "\n".join(lines)


def build(app: App, db: Session, now: dt.datetime) -> digest_core.Digest:
    day = now.astimezone(app.config.network.timezone).date()
    return digest_core.build_digest(gather_facts(app, db, _last_digest_at(db, now), now), day, app.config.network)


def _last_digest_at(db: Session, now: dt.datetime) -> dt.datetime:
    """When the previous digest was made; the first one covers the day before."""
    last = db.scalar(sa.select(sa.func.max(models.OutboxMessage.created_at)).where(
        models.OutboxMessage.kind == "digest", models.OutboxMessage.created_at <= now))
    return last if last is not None else now - dt.timedelta(days=1)


def gather_facts(app: App, db: Session, since: dt.datetime, now: dt.datetime) -> digest_core.DigestFacts:
    """What happened after `since` up to `now`, and the next meeting with who is expected, for the digest."""

    def events(*kinds: str) -> list[models.Event]:
        return list(db.scalars(sa.select(models.Event).where(
            models.Event.kind.in_(kinds), models.Event.at > since, models.Event.at <= now).order_by(models.Event.at)))

    registered = [e.member for e in events("registered") if e.member is not None]
    meeting = queries.next_meeting(db, now)
    return digest_core.DigestFacts(
        new_members=tuple(_person(m) for m in registered),
        cancellations=tuple((_person(e.member), e.meeting.date if e.meeting else None)
                            for e in events("cancel") if e.member is not None),
        leavers=tuple(_person(e.member) for e in events("left") if e.member is not None),
        erasures=len(events("erased")),
        review=tuple(_review_line(row) for row in db.scalars(sa.select(models.InboundMessage).where(
            models.InboundMessage.status.in_(("review", "quarantined")),
            models.InboundMessage.processed_at > since, models.InboundMessage.processed_at <= now,
        ).order_by(models.InboundMessage.received_at))),
        failures=tuple(digest_core.FailureLine(e.outbox.recipient, e.outbox.last_error or e.kind, e.outbox.kind)
                       for e in events("delivery_failed", "delivery_expired")
                       if e.outbox is not None and e.outbox.recipient),
        bounces=tuple(dict.fromkeys(e.member.email for e in events("bounce") if e.member is not None)),
        missed_reminders=db.scalar(sa.select(sa.func.count()).select_from(models.OutboxMessage).where(
            models.OutboxMessage.kind == "reminder", models.OutboxMessage.status == "missed",
            models.OutboxMessage.created_at > since, models.OutboxMessage.created_at <= now)) or 0,
        unsure=tuple(_person(m) for m in dict.fromkeys(registered) if m.unsure),
        waiting=tuple(_person(a.member) for a in queries.waiting_for(db, meeting)) if meeting else (),
        next_meeting=meeting_details(app, meeting),
        expected=tuple(_person(m) for m in queries.expected_at(db, meeting)) if meeting else (),
        held=len(events("held")),
        mailbox_recreated=len(events("uidvalidity_changed")),
    )


def _person(member: models.Member) -> digest_core.PersonLine:
    return digest_core.PersonLine(member.name, member.organisation, member.email)


_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)


def _review_line(row: models.InboundMessage) -> digest_core.ReviewLine:
    subject = ""
    if row.raw:
        try:
            subject = str(_HEADERS.parsebytes(row.raw).get("Subject", ""))
        except Exception:  # noqa: BLE001 - a header the email package cannot read leaves the subject blank
            subject = ""
    return digest_core.ReviewLine(row.received_at, subject, row.reason or row.status, row.sender)
