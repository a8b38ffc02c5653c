"""The queries of retention and forgetting, as functions of a Session passed in: the facts the retention
rules decide on (core/retention.py), and the updates and deletes that carry out what they and an erase
request decide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db.models import (
    Event,
    InboundMessage,
    Member,
    OutboxMessage,
)
from mailflow.core.parsing.result import Intent
from mailflow.core.vocabulary import (
    MailKind,
)


def stored_mail_facts(session: Session) -> list[tuple[int, str, dt.datetime, bool, bool, bool]]:
    """(id, status, received at, has raw bytes, has a sender, is an erase request not finished) of every
    inbound mail that still holds its bytes or its sender."""
    m = InboundMessage
    has_sender = sa.or_(m.sender.is_not(None), m.message_id.is_not(None))
    rows = session.execute(
        sa.select(
            m.id,
            m.status,
            m.received_at,
            m.raw.is_not(None),
            has_sender,
            sa.and_(m.intent == Intent.ERASE, m.sender.is_not(None)),
        ).where(sa.or_(m.raw.is_not(None), has_sender))
    )
    return [
        (id, status, received_at, bool(raw), bool(sender), bool(erase))
        for id, status, received_at, raw, sender, erase in rows
    ]


def member_facts(session: Session) -> list[tuple[int, str, dt.datetime, dt.datetime | None]]:
    """(id, status, last heard at, left at) of every member."""
    m = Member
    return [
        (id, status, heard, left)
        for id, status, heard, left in session.execute(sa.select(m.id, m.status, m.last_heard_at, m.left_at))
    ]


def outbox_facts(session: Session) -> list[tuple[int, str, dt.datetime]]:
    """(id, status, created at) of every outbox row that still names its recipient."""
    o = OutboxMessage
    return [
        (id, status, created_at)
        for id, status, created_at in session.execute(
            sa.select(o.id, o.status, o.created_at).where(o.recipient != "")
        )
    ]


def drop_raw(session: Session, inbound_ids: Sequence[int]) -> None:
    session.execute(sa.update(InboundMessage).where(InboundMessage.id.in_(inbound_ids)).values(raw=None))


def drop_senders(session: Session, inbound_ids: Sequence[int]) -> None:
    session.execute(
        sa.update(InboundMessage)
        .where(InboundMessage.id.in_(inbound_ids))
        .values(sender=None, message_id=None)
    )


def delete_members(session: Session, member_ids: Sequence[int]) -> None:
    """Delete members with their mail not sent yet; attendance and events follow them (ON DELETE CASCADE)."""
    session.execute(sa.delete(OutboxMessage).where(OutboxMessage.member_id.in_(member_ids)))
    session.execute(sa.delete(Member).where(Member.id.in_(member_ids)))


def blank_sent(session: Session, outbox_ids: Sequence[int]) -> None:
    """Sent mails keep their row (the keys make each mail happen once) but lose their text and recipient."""
    session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids)).values(raw=b"", recipient="")
    )


def delete_outbox_to(session: Session, address: str) -> None:
    """Delete every mail to an address but the erase confirmation, which is the last mail they get."""
    session.execute(
        sa.delete(OutboxMessage).where(
            OutboxMessage.recipient == address, OutboxMessage.kind != MailKind.ERASE
        )
    )


def delete_inbound_from(session: Session, address: str, keep_id: int | None = None) -> None:
    """Delete the mail read from an address and its events, leaving the row `keep_id` (the erase request)."""
    inbound = sa.select(InboundMessage.id).where(InboundMessage.sender == address)
    if keep_id is not None:
        inbound = inbound.where(InboundMessage.id != keep_id)
    session.execute(sa.delete(Event).where(Event.inbound_id.in_(inbound)))
    session.execute(sa.delete(InboundMessage).where(InboundMessage.id.in_(inbound)))


def outbox_with_text_to_others(session: Session, address: str) -> list[OutboxMessage]:
    """Mails that still hold their text, to anyone but `address`, leaving out erase confirmations."""
    o = OutboxMessage
    return list(
        session.scalars(sa.select(o).where(o.raw != b"", o.recipient != address, o.kind != MailKind.ERASE))
    )


def erase_requests(session: Session) -> list[tuple[int, str, str, int, int]]:
    """(id, sender, mailbox, uidvalidity, uid) of the erase requests whose mail is still in the mailbox."""
    m = InboundMessage
    rows = session.execute(
        sa.select(m.id, m.sender, m.mailbox, m.uidvalidity, m.uid).where(
            m.intent == Intent.ERASE, m.sender.is_not(None)
        )
    )
    return [
        (id, sender, mailbox, uidvalidity, uid)
        for id, sender, mailbox, uidvalidity, uid in rows
        if sender is not None
    ]


def erase_request_done(session: Session, inbound_id: int) -> None:
    """The person's mail is gone from the mailbox: the request forgets the address too."""
    session.execute(
        sa.update(InboundMessage).where(InboundMessage.id == inbound_id).values(sender=None, moved=True)
    )
