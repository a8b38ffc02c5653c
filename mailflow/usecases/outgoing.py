"""Queueing the mail we send: render it, give it a Message-ID, and add it to the outbox under its key, within
the limits that keep mailflow from becoming a mail cannon.

Every mail mailflow sends goes through `queue_mail`: replies (`queue_reply`), the coordinator's notice of held
replies, the mails to the people of a meeting (`queue_member_mail`: invitations, reminders, places from the
waiting list, changes, cancellations, follow-ups) and the digest.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from functools import partial
from typing import Any, Protocol

from sqlalchemy.orm import Session

from mailflow.adapters.db import models, queries
from mailflow.core import limits
from mailflow.core.mail import compose, render
from mailflow.core.mail.member_mail import MemberMail, render_member_mail
from mailflow.core.parsing import ParsedMessage, Person
from mailflow.core.vocabulary import REPLY_KINDS, EventKind, MailKind, OutboxKey, OutboxStatus
from mailflow.usecases.context import App, meeting_details

log = logging.getLogger(__name__)


REPLY_LIFETIME = dt.timedelta(days=5)  # a confirmation that could not go out in 5 days is stale


class Render(Protocol):
    """Renders a mail, given the Message-ID it is to carry: a render function with the rest bound."""

    def __call__(self, *, message_id: str) -> EmailMessage: ...


@dataclass(frozen=True)
class Rendered:
    """A mail rendered with its new Message-ID, and the bytes that go to the outbox."""

    message: EmailMessage
    message_id: str
    raw: bytes


def render_mail(app: App, render_with: Render) -> Rendered:
    """Give a mail a new Message-ID of our domain, render it, and make its bytes."""
    message_id = compose.new_message_id(app.message_domain)
    message = render_with(message_id=message_id)
    return Rendered(message, message_id, compose.message_bytes(message))


def queue_mail(
    app: App,
    db: Session,
    mail: Render | Rendered | None,
    *,
    key: OutboxKey,
    kind: MailKind,
    recipient: str,
    now: dt.datetime,
    expires_at: dt.datetime | None,
    member: models.Member | None = None,
    status: OutboxStatus = OutboxStatus.PENDING,
    meeting: models.Meeting | None = None,
    about: Sequence[models.Member] = (),
) -> models.OutboxMessage | None:
    """Queue a mail in the outbox under its key, unless that key was ever queued. Returns the new row or None.

    `mail` is what renders it, or the mail already rendered (a reply, checked against the limits first); None
    records the key with no mail, for one that will never go (a reminder missed, an empty digest), so the key
    counts as done. `meeting` and `about` (default: `member`) say what the mail is about, so that an answer to
    it is read in that thread.
    """
    if mail is None:
        message_id, raw = "", b""
    else:
        rendered = mail if isinstance(mail, Rendered) else render_mail(app, mail)
        message_id, raw = rendered.message_id, rendered.raw
    return queries.enqueue(
        db,
        key=key,
        kind=kind,
        recipient=recipient,
        message_id=message_id,
        raw=raw,
        now=now,
        expires_at=expires_at,
        member=member,
        status=status,
        meeting=meeting,
        about=about,
    )


def queue_member_mail(
    app: App,
    db: Session,
    members: Sequence[models.Member],
    meeting: models.Meeting,
    key: OutboxKey,
    now: dt.datetime,
    *,
    expires_at: dt.datetime | None,
    **mail: Any,
) -> models.OutboxMessage | None:
    """Queue one mail about `meeting` to the address the `members` share, naming them all, in the first
    one's language; `mail` holds the rest of its MemberMail (kind, calendar, changes, ...)."""
    first = members[0]
    member_mail = MemberMail(
        names=tuple(m.name for m in members),
        to_address=first.email,
        language=first.language,
        meeting=meeting_details(app, meeting),
        **mail,
    )
    render_with = partial(
        render_member_mail, app.templates, member_mail, network=app.config.network, sender=app.sender, now=now
    )
    return queue_mail(
        app,
        db,
        render_with,
        key=key,
        kind=member_mail.kind,
        recipient=first.email,
        now=now,
        expires_at=expires_at,
        member=first,
        meeting=meeting,
        about=members,
    )


def queue_reply(
    app: App,
    db: Session,
    row: models.InboundMessage,
    parsed: ParsedMessage,
    kind: MailKind,
    members: list[models.Member] | tuple[()],
    meeting: models.Meeting | None,
    now: dt.datetime,
    *,
    language: str | None = None,
    asked: tuple[dt.date, tuple[dt.date, ...]] | None = None,
    calendar_cancel: Sequence[models.Meeting] = (),
    theme: str | None = None,
) -> int:
    """Render the reply to this mail and queue it in the outbox, keyed on the mail so it is queued once.

    `language` overrides the mail's (a text too short to tell is answered in the member's language);
    `asked` is a day the mail asked for with no confirmed meeting, and the confirmed meetings to choose from;
    `calendar_cancel` the meetings whose events the reply takes out of the people's calendars.
    `theme` the theme a proposal is thanked for.
    Returns 1 when a reply was queued (to be sent, or held over a limit), 0 when none was.
    """
    assert parsed.sender is not None
    people = tuple(Person(name=m.name, organisation=m.organisation) for m in members) or parsed.people
    reply = render.Reply(
        kind=kind,
        language=language or parsed.language,
        to_address=parsed.sender,
        to_name=parsed.sender_name,
        people=people,
        meeting=meeting_details(app, meeting),
        unsure=parsed.unsure,
        in_reply_to=parsed.message_id,
        references=parsed.references,
        subject=parsed.subject,
        asked_date=asked[0] if asked else None,
        confirmed=asked[1] if asked else (),
        calendar_cancel=tuple(meeting_details(app, m) for m in calendar_cancel),
        theme=theme,
        # A registration that also asks something says the question went to the coordinator.
        question=parsed.has_question and kind in (MailKind.REGISTER, MailKind.WAITLIST),
    )
    rendered = render_mail(
        app,
        partial(
            render.render_reply, app.templates, reply, network=app.config.network, sender=app.sender, now=now
        ),
    )
    earlier = queries.latest_reply(db, REPLY_KINDS, parsed.sender, now - limits.REPEAT_WINDOW)
    if earlier is not None and limits.repeats(rendered.raw, earlier.raw):
        # A robot answering our reply with the same words would get the same reply again:
        # the ping-pong ends here.
        row.reason = "not answered: the same reply went to this address less than 24 h ago"
        log.info("inbound id=%s not answered: it would repeat outbox id=%s", row.id, earlier.id)
        return 0
    passed = limits.exceeded(
        app.config.limits,
        to_address=queries.count_replies(db, REPLY_KINDS, now - limits.ADDRESS_WINDOW, parsed.sender),
        in_last_hour=queries.count_replies(db, REPLY_KINDS, now - limits.HOUR_WINDOW),
    )
    queued = queue_mail(
        app,
        db,
        rendered,
        key=OutboxKey.reply(row.id),
        kind=kind,
        recipient=parsed.sender,
        now=now,
        expires_at=now + REPLY_LIFETIME,
        member=members[0] if members and kind != MailKind.ERASE else None,
        status=OutboxStatus.HELD if passed else OutboxStatus.PENDING,
        meeting=meeting,
        about=members if kind != MailKind.ERASE else (),
    )
    if queued is not None and passed:
        _hold(app, db, row, queued, passed, now)
    return 1 if queued is not None else 0  # held or not, the reply is in the outbox


def _hold(
    app: App,
    db: Session,
    row: models.InboundMessage,
    held: models.OutboxMessage,
    limit: str,
    now: dt.datetime,
) -> None:
    """Record a reply held over a limit, and tell the coordinator:
    once a day per limit, however many are held."""
    db.flush()  # the held row's id, for the log and the notice
    queries.record_event(db, EventKind.HELD, now, inbound=row, detail=limit)
    key = limits.notice_key(limit, now, app.config.network.timezone)
    if queries.queued(db, key):
        log.info("outbox id=%s held: %s reached", held.id, limit)
        return
    log.warning("outbox id=%s held: %s reached; the coordinator is told once today", held.id, limit)
    network = app.config.network
    queue_mail(
        app,
        db,
        partial(
            render.render_notice,
            app.templates,
            limit=limit,
            allowed=getattr(app.config.limits, limit),
            held_id=held.id,
            network=network,
            to_address=network.coordinator,
            sender=app.sender,
            now=now,
        ),
        key=key,
        kind=MailKind.NOTICE,
        recipient=network.coordinator,
        now=now,
        expires_at=now + REPLY_LIFETIME,
    )
