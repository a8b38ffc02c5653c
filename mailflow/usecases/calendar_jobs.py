"""The coordinator's daily digest: gather the database state, ask the pure core (digest.build_digest) what
to say, and queue it in the outbox under OutboxKey.digest (the local day), so it happens once, ever. The
outbox sends it; a restart or a second pass in the same minute finds the key taken and queues nothing.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import logging
from functools import partial

from sqlalchemy.orm import Session

from mailflow.adapters.db import agenda, models, queries, themes
from mailflow.core import digest as digest_core
from mailflow.core.mail import compose, render
from mailflow.core.retention import WAITING_FOR_A_HUMAN
from mailflow.core.vocabulary import EventKind, MailKind, OutboxKey, OutboxStatus
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
        if digest.empty and not settings.send_when_empty:
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
    message = render.render_digest(
        app.templates,
        digest,
        network=app.config.network,
        to_address=app.config.digest.to,
        sender=app.sender,
        message_id=compose.new_message_id(app.message_domain),
        now=now,
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
    """What happened after `since` up to `now`, and the next meeting with who is expected, for the digest."""

    def events(*kinds: EventKind) -> list[models.Event]:
        return queries.events_between(db, kinds, since, now)

    registered = [e.member for e in events(EventKind.REGISTERED) if e.member is not None]
    meeting = agenda.next_meeting(db, now)
    return digest_core.DigestFacts(
        new_members=tuple(_person(m) for m in registered),
        cancellations=tuple(
            (_person(e.member), e.meeting.date if e.meeting else None)
            for e in events(EventKind.CANCEL)
            if e.member is not None
        ),
        leavers=tuple(_person(e.member) for e in events(EventKind.LEFT) if e.member is not None),
        erasures=len(events(EventKind.ERASED)),
        review=tuple(
            _review_line(row) for row in queries.inbound_for_review(db, WAITING_FOR_A_HUMAN, since, now)
        ),
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
        waiting=tuple(_person(a.member) for a in agenda.waiting_for(db, meeting)) if meeting else (),
        next_meeting=meeting_details(app, meeting),
        expected=tuple(_person(m) for m in agenda.registered_for(db, meeting)) if meeting else (),
        held=len(events(EventKind.HELD)),
        mailbox_recreated=len(events(EventKind.UIDVALIDITY_CHANGED)),
        proposals=_proposals(db, since, now),
    )


def _proposals(db: Session, since: dt.datetime, now: dt.datetime) -> tuple[digest_core.ProposalLine, ...]:
    """The themes members proposed since the last digest, in the order they came."""
    made = reversed(themes.proposals_between(db, since, now))
    return tuple(digest_core.ProposalLine(_person(p.member), p.text) for p in made if p.member is not None)


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
