"""Queueing the mail we send: render it, give it a Message-ID, and add it to the outbox under its key, within the
limits that keep mailflow from becoming a mail cannon.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from mailflow.adapters.db import models, queries
from mailflow.core import limits
from mailflow.core.mail import compose, render
from mailflow.core.parsing import ParsedMessage, Person
from mailflow.usecases.context import App, meeting_details

log = logging.getLogger(__name__)


REPLY_LIFETIME = dt.timedelta(days=5)  # a confirmation that could not go out in 5 days is stale


def _reply(app: App, db: Session, row: models.InboundMessage, parsed: ParsedMessage, kind: str,
           members: list[models.Member] | tuple[()], meeting: models.Meeting | None, now: dt.datetime) -> int:
    """Render the reply to this mail and queue it in the outbox, keyed on the mail so it is queued once.

    Returns 1 when a reply was queued (to be sent, or held over a limit), 0 when none was.
    """
    assert parsed.sender is not None
    people = tuple(Person(name=m.name, organisation=m.organisation) for m in members) or parsed.people
    reply = render.Reply(
        kind=kind,
        language=parsed.language,
        to_address=parsed.sender,
        to_name=parsed.sender_name,
        people=people,
        meeting=meeting_details(app, meeting),
        unsure=parsed.unsure,
        in_reply_to=parsed.message_id,
        references=parsed.references,
        subject=parsed.subject,
    )
    message_id = compose.new_message_id(app.message_domain)
    message = render.render_reply(app.templates, reply, network=app.config.network, sender=app.sender,
                                  message_id=message_id, now=now)
    raw = compose.message_bytes(message)
    earlier = queries.latest_reply(db, render.KINDS, parsed.sender, now - limits.REPEAT_WINDOW)
    if earlier is not None and limits.repeats(raw, earlier.raw):
        # A robot answering our reply with the same words would get the same reply again: the ping-pong ends here.
        row.reason = "not answered: the same reply went to this address less than 24 h ago"
        log.info("inbound id=%s not answered: it would repeat outbox id=%s", row.id, earlier.id)
        return 0
    passed = limits.exceeded(
        app.config.limits,
        to_address=queries.count_replies(db, render.KINDS, now - limits.ADDRESS_WINDOW, parsed.sender),
        in_last_hour=queries.count_replies(db, render.KINDS, now - limits.HOUR_WINDOW))
    queued = queries.enqueue(db, key=f"reply:{row.id}", kind=kind, recipient=parsed.sender, message_id=message_id,
                           raw=raw, now=now, expires_at=now + REPLY_LIFETIME,
                           member=members[0] if members and kind != "erase" else None,
                           status="held" if passed else "pending")
    if queued is not None and passed:
        _hold(app, db, row, queued, passed, now)
    return 1 if queued is not None else 0  # held or not, the reply is in the outbox


def _hold(app: App, db: Session, row: models.InboundMessage, held: models.OutboxMessage, limit: str,
          now: dt.datetime) -> None:
    """Record a reply held over a limit, and tell the coordinator: once a day per limit, however many are held."""
    db.flush()  # the held row's id, for the log and the notice
    queries.record_event(db, "held", now, inbound=row, detail=limit)
    key = limits.notice_key(limit, now, app.config.network.timezone)
    if queries.queued(db, key):
        log.info("outbox id=%s held: %s reached", held.id, limit)
        return
    log.warning("outbox id=%s held: %s reached; the coordinator is told once today", held.id, limit)
    network = app.config.network
    message_id = compose.new_message_id(app.message_domain)
    notice = render.render_notice(
        app.templates, limit=limit, allowed=getattr(app.config.limits, limit), held_id=held.id, network=network,
        to_address=network.coordinator, sender=app.sender,
        message_id=message_id, now=now)
    queries.enqueue(db, key=key, kind="notice", recipient=network.coordinator, message_id=message_id,
                  raw=compose.message_bytes(notice), now=now, expires_at=now + REPLY_LIFETIME)

