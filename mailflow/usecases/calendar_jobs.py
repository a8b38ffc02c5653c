"""The coordinator's daily digest: gather the database state, ask the pure core (digest.build_digest) what
to say, and queue it in the outbox under OutboxKey.digest (the local day), so it happens once, ever. The
outbox sends it; a restart or a second pass in the same minute finds the key taken and queues nothing.
"""

from __future__ import annotations

import datetime as dt
import email.message
import email.parser
import email.policy
import email.utils
import logging
from functools import partial

from sqlalchemy.orm import Session

from mailflow.adapters.db import agenda, models, queries, themes
from mailflow.adapters.imap import Inbox
from mailflow.core import digest as digest_core
from mailflow.core import sheet as sheet_core
from mailflow.core.digest import ReviewLine
from mailflow.core.mail import compose, render
from mailflow.core.retention import WAITING_FOR_A_HUMAN
from mailflow.core.vocabulary import EventKind, MailKind, OutboxKey, OutboxStatus
from mailflow.errors import MailboxError
from mailflow.usecases.context import App, meeting_details
from mailflow.usecases.outgoing import queue_mail

log = logging.getLogger(__name__)

DIGEST_LIFETIME = dt.timedelta(days=1)  # yesterday's digest is stale once today's is due


# --- the daily digest ---------------------------------------------------------------------------------------


def digest_key(app: App, now: dt.datetime) -> OutboxKey:
    return OutboxKey.digest(now.astimezone(app.config.network.timezone).date())


def queue_digest(app: App, now: dt.datetime) -> str | None:
    """Queue today's digest once its time of day has come and it was not queued yet.

    Returns "queued", "skipped" (nothing happened and [digest] send_when_empty is false) or None
    (not due, or done).
    """
    settings, tz = app.config.digest, app.config.network.timezone
    if now.astimezone(tz).time() < settings.at:
        return None
    key = digest_key(app, now)
    with app.sessions.begin() as db:
        if queries.queued(db, key):
            return None
        digest = build(app, db, now)
        sheet = todays_sheet(app, db, now)
        # A meeting's day always brings its sign-in sheet, however quiet the day.
        if digest.empty and not settings.send_when_empty and sheet is None:
            # Recorded all the same: the day is done, and the next digest counts from here.
            row = queue_mail(
                app,
                db,
                None,
                key=key,
                kind=MailKind.DIGEST,
                recipient=settings.to,
                now=now,
                expires_at=now,
                status=OutboxStatus.SKIPPED,
            )
            assert row is not None
            log.info("digest: nothing new, not sent")
            return "skipped"
        row = queue_mail(
            app,
            db,
            partial(
                render.render_digest,
                app.templates,
                digest,
                network=app.config.network,
                to_address=settings.to,
                sender=app.sender,
                now=now,
                sheet=sheet,
            ),
            key=key,
            kind=MailKind.DIGEST,
            recipient=settings.to,
            now=now,
            expires_at=now + DIGEST_LIFETIME,
        )
        assert row is not None
        message_id = row.message_id
    log.info("digest: queued %s", message_id)
    return "queued"


def preview_digest(app: App, now: dt.datetime) -> str:
    """The digest as it would go out now, as plain text with its attachment named;
    nothing is stored or sent."""
    with app.sessions() as db:
        digest = build(app, db, now)
        sheet = todays_sheet(app, db, now)
    message = render.render_digest(
        app.templates,
        digest,
        network=app.config.network,
        to_address=app.config.digest.to,
        sender=app.sender,
        message_id=compose.new_message_id(app.message_domain),
        now=now,
        sheet=sheet,
    )
    lines = [f"To: {message['To']}", f"Subject: {message['Subject']}", ""]
    body = message.get_body(("plain",))
    lines.append(body.get_content().rstrip("\n") if body is not None else "")
    for attachment in message.iter_attachments():
        size = len(
            attachment.get_content().encode()
            if attachment.get_content_maintype() == "text"
            else attachment.get_content()
        )
        lines += ["", f"Attached: {attachment.get_filename()} ({size} bytes)"]
    return "\n".join(lines)


def build(app: App, db: Session, now: dt.datetime) -> digest_core.Digest:
    day = now.astimezone(app.config.network.timezone).date()
    return digest_core.build_digest(
        gather_facts(app, db, _last_digest_at(db, now), now), day, app.config.network
    )


def _last_digest_at(db: Session, now: dt.datetime) -> dt.datetime:
    """When the previous digest was made; the first one covers the day before."""
    last = queries.last_queued_at(db, MailKind.DIGEST, now)
    return last if last is not None else now - dt.timedelta(days=1)


def gather_facts(app: App, db: Session, since: dt.datetime, now: dt.datetime) -> digest_core.DigestFacts:
    """What happened after `since` up to `now`, what waits in the review folder, and the coming meetings with
    who is expected, for the digest."""

    def events(*kinds: EventKind) -> list[models.Event]:
        return queries.events_between(db, kinds, since, now)

    registered = [e.member for e in events(EventKind.REGISTERED) if e.member is not None]
    meeting = agenda.next_meeting(db, now)
    review, review_unread = _review_folder(app, db, now)
    return digest_core.DigestFacts(
        new_members=tuple(_person(m) for m in registered),
        cancellations=tuple(
            (_person(e.member), e.meeting.date if e.meeting else None)
            for e in events(EventKind.CANCEL)
            if e.member is not None
        ),
        leavers=tuple(_person(e.member) for e in events(EventKind.LEFT) if e.member is not None),
        erasures=len(events(EventKind.ERASED)),
        review=review,
        review_unread=review_unread,
        failures=tuple(
            digest_core.FailureLine(e.outbox.recipient, e.outbox.last_error or e.kind, e.outbox.kind)
            for e in events(EventKind.DELIVERY_FAILED, EventKind.DELIVERY_EXPIRED)
            if e.outbox is not None and e.outbox.recipient
        ),
        bounces=tuple(
            dict.fromkeys(e.member.email for e in events(EventKind.BOUNCE) if e.member is not None)
        ),
        missed_reminders=queries.count_outbox(db, MailKind.REMINDER, OutboxStatus.MISSED, since, now),
        unsure=tuple(_person(m) for m in dict.fromkeys(registered) if m.unsure),
        waiting=tuple(_person(r.member) for r in agenda.waiting_for(db, meeting)) if meeting else (),
        next_meeting=meeting_details(app, meeting),
        expected=tuple(_person(m) for m in agenda.registered_for(db, meeting)) if meeting else (),
        held=len(events(EventKind.HELD)),
        mailbox_recreated=len(events(EventKind.UIDVALIDITY_CHANGED)),
        coming=tuple(_meeting_line(db, m) for m in agenda.meetings_starting(db, now, now + COMING)),
        promotions=tuple(
            (_person(e.member), e.meeting.date if e.meeting else None)
            for e in events(EventKind.PROMOTED)
            if e.member is not None
        ),
        invited=sum(int(e.detail or 0) for e in events(EventKind.INVITED)),
        followups_without_attachment=tuple(
            dict.fromkeys(
                (e.meeting.date, e.detail or "")
                for e in events(EventKind.FOLLOWUP_WITHOUT_ATTACHMENT)
                if e.meeting is not None
            )
        ),
        proposals=_proposals(db, since, now),
        web_changes=len(events(EventKind.WEB_CHANGE)),
    )


COMING = dt.timedelta(days=120)  # the meetings whose places the digest shows: the next two or three


def _meeting_line(db: Session, meeting: models.Meeting) -> digest_core.MeetingLine:
    return digest_core.MeetingLine(
        date=meeting.date,
        theme=meeting.theme,
        capacity=meeting.capacity,
        taken=agenda.places_taken(db, meeting),
        waiting=tuple(_person(r.member) for r in agenda.waiting_for(db, meeting)),
    )


# --- the sign-in sheet on a meeting's day -------------------------------------------------------------------


def todays_sheet(app: App, db: Session, now: dt.datetime) -> sheet_core.SignInSheet | None:
    """The sign-in sheet of the confirmed meeting held today (the network's local day); None on other days."""
    meeting = agenda.meeting_on(db, now.astimezone(app.config.network.timezone).date())
    return meeting_sheet(app, db, meeting) if meeting is not None else None


def meeting_sheet(app: App, db: Session, meeting: models.Meeting) -> sheet_core.SignInSheet:
    """The sign-in sheet of a meeting: who is registered, by name, with their member numbers. The same sheet
    the digest attaches and `mailflow members --meeting DATE --csv` writes."""
    people = [
        sheet_core.SheetPerson(m.id, m.name, m.organisation, m.email)
        for m in agenda.registered_for(db, meeting)
    ]
    return sheet_core.sign_in_sheet(meeting_details(app, meeting), people, app.config.network)


def _proposals(db: Session, since: dt.datetime, now: dt.datetime) -> tuple[digest_core.ProposalLine, ...]:
    """The themes members proposed since the last digest, in the order they came."""
    made = reversed(themes.proposals_between(db, since, now))
    return tuple(digest_core.ProposalLine(_person(p.member), p.text) for p in made if p.member is not None)


def _person(member: models.Member) -> digest_core.PersonLine:
    return digest_core.PersonLine(member.name, member.organisation, member.email, member.id)


_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)


def _review_folder(
    app: App, db: Session, now: dt.datetime
) -> tuple[tuple[digest_core.ReviewLine, ...], bool]:
    """Every mail in the review folder now, with mailflow's reason where it put it there: read from the
    folder itself, so a mail the coordinator dealt with (moved out) is gone and one that waits for days is
    still listed. When the folder cannot be read, the mails mailflow put there and still keeps, and True."""
    if app.config.imap is not None:
        try:
            with Inbox(app.config.imap) as inbox:
                headers = inbox.headers(app.config.imap.review_folder)
        except MailboxError as exc:
            log.warning("digest: the review folder cannot be read (%s); listing what mailflow put there", exc)
        else:
            return tuple(_folder_line(db, raw) for raw in headers), False
    kept_since = now - dt.timedelta(days=app.config.retention.raw_days + 1)
    rows = queries.inbound_for_review(db, WAITING_FOR_A_HUMAN, kept_since, now)
    return tuple(_review_line(row) for row in rows), app.config.imap is not None


def _folder_line(db: Session, raw: bytes) -> ReviewLine:
    """A mail of the review folder, by its headers; the reason is mailflow's when it read the mail."""
    headers = _read_headers(raw)
    message_id = str(headers.get("Message-ID", "")).strip() if headers else ""
    row = queries.inbound_by_message_id(db, message_id) if message_id else None
    if row is not None:
        return _review_line(row)
    try:
        received = email.utils.parsedate_to_datetime(str(headers.get("Date", ""))) if headers else None
    except (TypeError, ValueError):
        received = None
    sender = email.utils.parseaddr(str(headers.get("From", "")))[1] if headers else ""
    return ReviewLine(
        received if received and received.tzinfo else dt.datetime.min.replace(tzinfo=dt.UTC),
        str(headers.get("Subject", "")) if headers else "",
        "put in the review folder by hand",
        sender or None,
    )


def _read_headers(raw: bytes | None) -> email.message.Message | None:
    if not raw:
        return None
    try:
        return _HEADERS.parsebytes(raw)
    except Exception:  # noqa: BLE001 - a header the email package cannot read leaves the line blank
        return None


def _review_line(row: models.InboundMessage) -> ReviewLine:
    headers = _read_headers(row.raw)
    try:
        subject = str(headers.get("Subject", "")) if headers else ""
    except Exception:  # noqa: BLE001 - a header the email package cannot read leaves the subject blank
        subject = ""
    return ReviewLine(row.received_at, subject, row.reason or row.status, row.sender)
