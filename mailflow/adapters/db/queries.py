"""The queries mailflow makes, as functions of a Session passed in: no mail, no network, no business rules.

The use cases and the CLI add, get and delete single rows through the Session; every select, update and
delete by a condition is here, or in the module of its subject: meetings and registrations in `agenda.py`,
sending in `delivery.py`, retention and forgetting in `erasure.py`. While a batch of mails is read,
`batch.py` answers some of them from memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db import batch
from mailflow.adapters.db.models import (
    Event,
    InboundMessage,
    MailboxState,
    Meeting,
    Member,
    OutboxMember,
    OutboxMessage,
)
from mailflow.core.parsing.text import fold
from mailflow.core.vocabulary import (
    EventKind,
    InboundStatus,
    MailKind,
    MemberStatus,
    OutboxKey,
    OutboxStatus,
)


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def name_key(name: str) -> str:
    """The same person however the name is written: casefolded, no accents or punctuation, tokens sorted."""
    tokens = "".join(c if c.isalnum() else " " for c in fold(name, every_mark=True)).split()
    return " ".join(sorted(tokens))


def mark_moved(session: Session, mailbox: str, uidvalidity: int, uids: Sequence[int]) -> None:
    session.execute(
        sa.update(InboundMessage)
        .where(
            InboundMessage.mailbox == mailbox,
            InboundMessage.uidvalidity == uidvalidity,
            InboundMessage.uid.in_(uids),
        )
        .values(moved=True)
    )


def get_mailbox_state(session: Session, mailbox: str) -> MailboxState | None:
    return session.scalar(sa.select(MailboxState).where(MailboxState.mailbox == mailbox))


def find_inbound(
    session: Session, mailbox: str, uidvalidity: int, uid: int, digest: str
) -> InboundMessage | None:
    """A mail seen before, by its place in the mailbox or by its exact bytes."""
    return session.scalar(
        sa.select(InboundMessage).where(
            sa.or_(
                sa.and_(
                    InboundMessage.mailbox == mailbox,
                    InboundMessage.uidvalidity == uidvalidity,
                    InboundMessage.uid == uid,
                ),
                InboundMessage.sha256 == digest,
            )
        )
    )


def known_inbound(
    session: Session, mailbox: str, uidvalidity: int, uids: Sequence[int], digests: Sequence[str]
) -> list[InboundMessage]:
    """The mails of a batch seen before, by their place in the mailbox or by their exact bytes."""
    if not uids and not digests:
        return []
    return list(
        session.scalars(
            sa.select(InboundMessage).where(
                sa.or_(
                    sa.and_(
                        InboundMessage.mailbox == mailbox,
                        InboundMessage.uidvalidity == uidvalidity,
                        InboundMessage.uid.in_(list(uids)),
                    ),
                    InboundMessage.sha256.in_(list(digests)),
                )
            )
        )
    )


def members_at(session: Session, email: str) -> list[Member]:
    kept = batch.of(session)
    known = kept.members_at(session, email) if kept else None
    if known is not None:
        return known
    return list(session.scalars(sa.select(Member).where(Member.email == email).order_by(Member.id)))


def heard_from(session: Session, email: str, now: dt.datetime) -> None:
    """The members at an address wrote in: retention counts from now."""
    kept = batch.of(session)
    known = kept.members_at(session, email.lower()) if kept else None
    if known is not None:
        for member in known:
            member.last_heard_at = now
        return
    session.execute(sa.update(Member).where(Member.email == email.lower()).values(last_heard_at=now))


def record_event(
    session: Session,
    kind: EventKind,
    now: dt.datetime,
    *,
    member: Member | None = None,
    inbound: InboundMessage | None = None,
    meeting: Meeting | None = None,
    outbox: OutboxMessage | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        Event(
            kind=kind, at=now, member=member, inbound=inbound, meeting=meeting, outbox=outbox, detail=detail
        )
    )


def queued(session: Session, key: OutboxKey | str) -> bool:
    """Whether a mail with this outbox key was ever queued."""
    kept = batch.of(session)
    known = kept.queued(str(key)) if kept else None
    if known is not None:
        return known
    return session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.key == str(key))) is not None


def enqueue(
    session: Session,
    *,
    key: OutboxKey | str,
    kind: MailKind,
    recipient: str,
    message_id: str,
    raw: bytes,
    now: dt.datetime,
    expires_at: dt.datetime | None,
    member: Member | None = None,
    status: OutboxStatus = OutboxStatus.PENDING,
    meeting: Meeting | None = None,
    about: Sequence[Member] = (),
) -> OutboxMessage | None:
    """Add a mail to the outbox unless one with the same key was ever queued. Returns the new row or None.

    mailflow passes an OutboxKey; a string is stored as given (the tests queue rows of their own). `meeting`
    and `about` (default: `member`) say what the mail is about, for reading an answer to it.
    """
    if queued(session, key):
        return None
    row = OutboxMessage(
        key=str(key),
        kind=kind,
        recipient=recipient,
        message_id=message_id,
        raw=raw,
        status=status,
        attempts=0,
        next_attempt_at=now,
        expires_at=expires_at,
        created_at=now,
        member=member,
        meeting_id=meeting.id if meeting else None,
    )
    people = list(about) or ([member] if member else [])
    # By the objects, not their ids: a member new in this batch gets an id only when the batch is written.
    row.about = [OutboxMember(member=m) for m in dict.fromkeys(people)]
    session.add(row)
    return row


def answered_mail(session: Session, message_ids: Sequence[str], kinds: Iterable[str]) -> OutboxMessage | None:
    """The newest of our mails of these kinds that a mail answers (its References or In-Reply-To)."""
    ids = [i for i in message_ids if i]
    if not ids:
        return None
    return session.scalar(
        sa.select(OutboxMessage)
        .where(OutboxMessage.message_id.in_(ids), OutboxMessage.kind.in_(list(kinds)))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )


def members_about(session: Session, mail: OutboxMessage) -> list[Member]:
    """The members a mail in the outbox was about, those that still exist."""
    return list(
        session.scalars(
            sa.select(Member)
            .join(OutboxMember, OutboxMember.member_id == Member.id)
            .where(OutboxMember.outbox_id == mail.id)
            .order_by(Member.id)
        )
    )


def holds_anything_of(session: Session, address: str, leaving_out_inbound: int | None = None) -> bool:
    """Whether mailflow keeps anything of this address: a member, a mail from it, or a mail to it."""
    address = address.lower()
    inbound = sa.select(InboundMessage.id).where(InboundMessage.sender == address)
    if leaving_out_inbound is not None:
        inbound = inbound.where(InboundMessage.id != leaving_out_inbound)
    found = (
        session.scalar(sa.select(Member.id).where(Member.email == address).limit(1))
        or session.scalar(inbound.limit(1))
        or session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.recipient == address).limit(1))
    )
    return found is not None


def count_replies(
    session: Session, kinds: Iterable[str], since: dt.datetime, recipient: str | None = None
) -> int:
    """Replies of these kinds queued since `since` (to `recipient`, else to anyone), leaving out held ones."""
    kept = batch.of(session)
    known = kept.count_replies(session, kinds, since, recipient) if kept else None
    if known is not None:
        return known
    query = (
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.kind.in_(list(kinds)),
            OutboxMessage.created_at >= since,
            OutboxMessage.status != OutboxStatus.HELD,
        )
    )
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    return session.scalar(query) or 0


def latest_reply(
    session: Session, kinds: Iterable[str], recipient: str, since: dt.datetime
) -> OutboxMessage | None:
    """The newest reply of these kinds queued to `recipient` since `since`: sent, on its way, or held."""
    kept = batch.of(session)
    known, latest = kept.latest_reply(session, kinds, recipient, since) if kept else (False, None)
    if known:
        return latest
    return session.scalar(
        sa.select(OutboxMessage)
        .where(
            OutboxMessage.kind.in_(list(kinds)),
            OutboxMessage.recipient == recipient,
            OutboxMessage.created_at >= since,
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENT, OutboxStatus.HELD)),
        )
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(1)
    )


def cancel_pending(session: Session, member: Member, kinds: Sequence[MailKind], key_like: str = "%") -> None:
    """Take a member's unsent mail of these kinds out of the outbox: it is no longer owed.

    `key_like` (a LIKE pattern, e.g. OutboxKey.reminders_like) narrows it to some keys.
    """
    session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.member_id == member.id,
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.HELD)),
            OutboxMessage.kind.in_(kinds),
            OutboxMessage.key.like(key_like),
        )
        .values(status=OutboxStatus.CANCELLED, last_error="no longer owed")
    )


def cancel_pending_about(session: Session, meeting: Meeting, kinds: Sequence[MailKind]) -> None:
    """Take everyone's unsent mail of these kinds about a meeting out of the outbox (it was called off)."""
    session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.meeting_id == meeting.id,
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.HELD)),
            OutboxMessage.kind.in_(kinds),
        )
        .values(status=OutboxStatus.CANCELLED, last_error="no longer owed: the meeting was cancelled")
    )


# --- members and meetings -----------------------------------------------------------------------------------


def members_by_name(session: Session) -> list[Member]:
    return list(session.scalars(sa.select(Member).order_by(Member.name)))


def members_by_id(session: Session) -> list[Member]:
    return list(session.scalars(sa.select(Member).order_by(Member.id)))


def active_members(session: Session) -> list[Member]:
    return list(session.scalars(sa.select(Member).where(Member.status == MemberStatus.ACTIVE)))


def count_members(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Member)) or 0


# --- the outbox, by kind and key ----------------------------------------------------------------------------


def reminders_done(session: Session, dates: Iterable[dt.date]) -> set[tuple[int, dt.date, int]]:
    """(member, meeting date, days before) of every reminder ever queued for the meetings on these dates,
    whatever became of it: for the member its key names and for every member the mail named."""
    patterns = [OutboxKey.reminders_like(day) for day in dates]
    if not patterns:
        return set()
    rows = session.execute(
        sa.select(OutboxMessage.key, OutboxMember.member_id)
        .outerjoin(OutboxMember, OutboxMember.outbox_id == OutboxMessage.id)
        .where(sa.or_(*(OutboxMessage.key.like(p) for p in patterns)))
    )
    done = set()
    for text, named in rows:
        key = OutboxKey.parse(text)
        assert key.member_id is not None and key.meeting_date is not None and key.days_before is not None
        for member_id in {key.member_id, named or key.member_id}:
            done.add((member_id, key.meeting_date, key.days_before))
    return done


def members_mailed(session: Session, kind: MailKind, meetings: Iterable[Meeting]) -> set[tuple[int, dt.date]]:
    """(member, meeting date) for every member named by a mail of this kind ever queued about these
    meetings, whatever became of it."""
    dates = {m.id: m.date for m in meetings}
    rows = session.execute(
        sa.select(OutboxMember.member_id, OutboxMessage.meeting_id)
        .join(OutboxMessage, OutboxMember.outbox_id == OutboxMessage.id)
        .where(OutboxMessage.kind == kind, OutboxMessage.meeting_id.in_(list(dates)))
    )
    return {(member_id, dates[meeting_id]) for member_id, meeting_id in rows if meeting_id is not None}


def last_queued_at(session: Session, kind: MailKind, until: dt.datetime) -> dt.datetime | None:
    """When the newest mail of this kind queued no later than `until` was queued."""
    return session.scalar(
        sa.select(sa.func.max(OutboxMessage.created_at)).where(
            OutboxMessage.kind == kind, OutboxMessage.created_at <= until
        )
    )


def count_outbox(
    session: Session, kind: MailKind, status: OutboxStatus, since: dt.datetime, until: dt.datetime
) -> int:
    """Mails of this kind and status queued after `since` and no later than `until`."""
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.kind == kind,
                OutboxMessage.status == status,
                OutboxMessage.created_at > since,
                OutboxMessage.created_at <= until,
            )
        )
        or 0
    )


def outbox_in(session: Session, statuses: Iterable[OutboxStatus]) -> list[OutboxMessage]:
    return list(
        session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.status.in_(list(statuses)))
            .order_by(OutboxMessage.id)
        )
    )


# --- events and inbound mail --------------------------------------------------------------------------------


def events_between(
    session: Session, kinds: Iterable[EventKind], since: dt.datetime, until: dt.datetime
) -> list[Event]:
    """The events of these kinds after `since` and no later than `until`, oldest first."""
    return list(
        session.scalars(
            sa.select(Event)
            .where(Event.kind.in_(list(kinds)), Event.at > since, Event.at <= until)
            .order_by(Event.at)
        )
    )


def last_event_at(session: Session, kind: EventKind) -> dt.datetime | None:
    return session.scalar(sa.select(sa.func.max(Event.at)).where(Event.kind == kind))


def inbound_for_review(
    session: Session, statuses: Iterable[InboundStatus], since: dt.datetime, until: dt.datetime
) -> list[InboundMessage]:
    """Mail in these statuses processed after `since` and no later than `until`, in the order it arrived."""
    return list(
        session.scalars(
            sa.select(InboundMessage)
            .where(
                InboundMessage.status.in_(list(statuses)),
                InboundMessage.processed_at > since,
                InboundMessage.processed_at <= until,
            )
            .order_by(InboundMessage.received_at)
        )
    )


def inbound_by_message_id(session: Session, message_id: str) -> InboundMessage | None:
    """The mail read with this Message-ID, if any (the first one read, should it have come twice)."""
    query = sa.select(InboundMessage).where(InboundMessage.message_id == message_id)
    return session.scalars(query.order_by(InboundMessage.id)).first()


def inbound_not_processed(session: Session) -> list[InboundMessage]:
    return list(
        session.scalars(sa.select(InboundMessage).where(InboundMessage.status != InboundStatus.PROCESSED))
    )
