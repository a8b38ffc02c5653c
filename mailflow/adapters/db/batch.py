"""What a batch of mails reads from the database, read once and then kept in memory for its Session: the
members at the batch's addresses with their registrations, the meetings, the places of the meetings with a
capacity, the replies in the limits' windows, and which outbox keys are taken.

While a Session holds one (`start`), the functions of queries.py and agenda.py answer from it, so the use
cases read the same way with it or without, and a batch of hundreds of mails makes a few dozen statements
instead of thousands. It holds the Session's own objects, so a change made through them is seen at once, and
it learns the rows added to the Session as they are added. What it cannot follow (a delete, an UPDATE by a
condition, a savepoint rolled back) makes it forget what it read; it reads again at the next question, after
the Session's autoflush, so nothing is missed.

The places of a meeting are counted once, then kept up to date from the objects: a change to a member's or
a registration's status is heard as it is made (an attribute event), whatever way the object came.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from mailflow.adapters.db.models import Meeting, Member, OutboxMessage, Registration
from mailflow.core.vocabulary import MemberStatus, OutboxStatus, RegistrationStatus

_KEY = "mailflow.batch"
_LISTENING = "mailflow.batch.listening"
_COUNTED = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITING)
_LATEST = (OutboxStatus.PENDING, OutboxStatus.SENT, OutboxStatus.HELD)


def start(session: Session, addresses: Iterable[str]) -> Batch:
    """Keep the reads of a batch in memory for this Session; `addresses` are those its mails come from and
    name."""
    batch = Batch(addresses)
    session.info[_KEY] = batch
    if not session.info.get(_LISTENING):
        session.info[_LISTENING] = True
        event.listen(session, "transient_to_pending", _added)
        event.listen(session, "do_orm_execute", _executing)
        event.listen(session, "persistent_to_deleted", _deleted)
        event.listen(session, "after_soft_rollback", _rolled_back)
    return batch


def of(session: Session) -> Batch | None:
    """The batch this Session keeps in memory, if any."""
    batch: Batch | None = session.info.get(_KEY)
    return batch


def stop(session: Session) -> None:
    session.info.pop(_KEY, None)


def is_new(instance: object) -> bool:
    """Whether a row was made in this Session and not written yet (it has no id)."""
    state = sa.inspect(instance)
    return bool(state.transient or state.pending)


@event.listens_for(Member.status, "set")
def _member_status(member: Member, *_: object) -> None:
    session = object_session(member)
    batch = of(session) if session is not None else None
    if batch is not None:
        batch.changed(member)


@event.listens_for(Registration.status, "set")
def _registration_status(registration: Registration, *_: object) -> None:
    # Whatever way the registration came, the batch counts it from the object from now on.
    session = object_session(registration)
    batch = of(session) if session is not None else None
    if batch is not None:
        batch.track([registration])
        batch.changed(registration.member)


def _added(session: Session, instance: object) -> None:
    batch = of(session)
    if batch is not None:
        batch.learn(instance)


def _executing(state: Any) -> None:
    # An UPDATE or DELETE by a condition may change rows this batch holds: read them again when asked.
    batch = of(state.session)
    if batch is not None and (state.is_update or state.is_delete):
        batch.forget()


def _deleted(session: Session, _instance: object) -> None:
    batch = of(session)
    if batch is not None:
        batch.forget()


def _rolled_back(session: Session, _previous: object) -> None:
    batch = of(session)
    if batch is not None:
        batch.forget()


@dataclass
class _Places:
    """The places of one meeting: member id -> (registration status, member active) as read, for those
    registered or waiting; how many active members are registered and waiting now; and the status each member
    changed in this batch counts under now (None: not at all)."""

    read: dict[int, tuple[str, bool]]
    counts: dict[str | None, int]
    now: dict[Member, str | None]

    def was(self, member: Member) -> str | None:
        read = self.read.get(member.id)  # None for a member not written yet
        return read[0] if read is not None and read[1] else None


@dataclass
class _Replies:
    """The mails of some kinds queued since `since` to the batch's addresses: per recipient, (created_at, a
    number that orders them, status, the row when it is in the Session)."""

    since: dt.datetime
    by_recipient: dict[str, list[tuple[dt.datetime, int, str, OutboxMessage | None]]]
    added: int = 0  # rows queued in this batch, numbered after every row read


class Batch:
    """The reads of one batch, kept for its Session (see the module's docstring)."""

    def __init__(self, addresses: Iterable[str]) -> None:
        self.addresses = {form for address in addresses for form in (address, address.lower())}
        self.forget()

    def forget(self) -> None:
        """Drop everything read; the next question reads again."""
        self._members: dict[str, list[Member]] | None = None
        self._complete: dict[Member, None] = {}  # every registration of theirs is known
        self._registrations: dict[tuple[Member, Meeting], Registration] = {}
        self._changed: dict[Member, None] = {}  # their status or a registration's, since the last count
        self._meetings: list[Meeting] | None = None
        self._places: dict[Meeting, _Places] = {}
        self._replies: dict[frozenset[str], _Replies] = {}
        # (kinds, since) -> how many mails of these kinds were queued since then, held ones left out
        self._counts: dict[tuple[frozenset[str], dt.datetime], int] = {}
        self._keys_taken: set[str] = set()
        self._keys_free: set[str] = set()

    def learn(self, instance: object) -> None:
        """A row added to the Session: a member at one of the batch's addresses, a registration, an outbox
        mail."""
        if isinstance(instance, Member):
            if self._members is not None and instance.email in self.addresses:
                self._members.setdefault(instance.email, []).append(instance)
            self._complete[instance] = None  # a new member has no registration yet
        elif isinstance(instance, Registration):
            member: Member | None = instance.member
            meeting: Meeting | None = instance.meeting
            if member is None or meeting is None:
                self.forget()  # made from ids: cannot tell whose it is
            else:
                self._track(instance)
                self._changed[member] = None
        elif isinstance(instance, OutboxMessage):
            self._keys_taken.add(instance.key)
            self._keys_free.discard(instance.key)
            for kinds, replies in self._replies.items():
                if instance.kind in kinds and instance.recipient in self.addresses:
                    replies.added += 1
                    replies.by_recipient.setdefault(instance.recipient, []).append(
                        (instance.created_at, (1 << 62) + replies.added, instance.status, instance)
                    )
            for (kinds, since), count in self._counts.items():
                if (
                    instance.kind in kinds
                    and instance.created_at >= since
                    and instance.status != OutboxStatus.HELD
                ):
                    self._counts[kinds, since] = count + 1

    # --- members and their registrations --------------------------------------------------------------

    def members_at(self, session: Session, email: str) -> list[Member] | None:
        """The members at an address, oldest first; None when the address is not one of the batch's."""
        if email not in self.addresses:
            return None
        members = self._read_members(session)
        return list(members.get(email, ()))

    def _read_members(self, session: Session) -> dict[str, list[Member]]:
        if self._members is None:
            self.meetings(session)  # so that the registrations' meetings come from the identity map
            members: dict[str, list[Member]] = {}
            found = session.scalars(
                sa.select(Member).where(Member.email.in_(sorted(self.addresses))).order_by(Member.id)
            )
            for member in found:
                members.setdefault(member.email, []).append(member)
                self._complete[member] = None
            ids = [m.id for ms in members.values() for m in ms]
            if ids:
                for registration in session.scalars(
                    sa.select(Registration).where(Registration.member_id.in_(ids))
                ):
                    self._track(registration)
            self._members = members
        return self._members

    def registration(self, member: Member, meeting: Meeting) -> tuple[bool, Registration | None]:
        """(known, the registration): known is False when the database must be asked."""
        found = self._registrations.get((member, meeting))
        if found is not None or member in self._complete:
            return True, found
        return False, None

    def track(self, registrations: Iterable[Registration]) -> None:
        """Registrations handed out by a query of the database: they may change in this batch."""
        for registration in registrations:
            self._track(registration)

    def _track(self, registration: Registration) -> None:
        self._registrations.setdefault((registration.member, registration.meeting), registration)

    def changed(self, member: Member) -> None:
        """A member's status changed, or one of their registrations: recount them at the next count."""
        self._changed[member] = None

    # --- meetings and their places --------------------------------------------------------------------

    def meetings(self, session: Session) -> list[Meeting]:
        """Every meeting, in the order the database gives them."""
        if self._meetings is None:
            self._meetings = list(session.scalars(sa.select(Meeting).order_by(Meeting.id)))
        return self._meetings

    def count(
        self, session: Session, meeting: Meeting, status: RegistrationStatus, leaving_out: Sequence[Member]
    ) -> int:
        """How many active members have this status at a meeting, leaving out the members given."""
        if meeting not in self._places:
            self._places[meeting] = _read_places(session, meeting)
        for member in self._changed:  # counted anew at every meeting read, from the objects
            for counted, places in self._places.items():
                before = places.now.get(member, places.was(member))
                after = places.now[member] = self._status(places, member, counted)
                if before != after:
                    places.counts[before] = places.counts.get(before, 0) - 1
                    places.counts[after] = places.counts.get(after, 0) + 1
        self._changed.clear()
        places = self._places[meeting]
        ours = sum(places.now.get(m, places.was(m)) == status for m in dict.fromkeys(leaving_out))
        return places.counts.get(status, 0) - ours

    def _status(self, places: _Places, member: Member, meeting: Meeting) -> str | None:
        """The status a member counts under at a meeting now: None when inactive or not registered."""
        if member.status != MemberStatus.ACTIVE:
            return None
        registration = self._registrations.get((member, meeting))
        if registration is not None:
            return registration.status
        read = places.read.get(member.id)
        return read[0] if read is not None else None

    # --- the outbox -----------------------------------------------------------------------------------

    def queued(self, key: str) -> bool | None:
        """Whether a mail with this key was ever queued; None when the database must be asked."""
        if key in self._keys_taken:
            return True
        return False if key in self._keys_free else None

    def read_keys(self, session: Session, keys: Sequence[str]) -> None:
        """Learn which of these outbox keys are taken, in one question."""
        if not keys:
            return
        taken = set(session.scalars(sa.select(OutboxMessage.key).where(OutboxMessage.key.in_(list(keys)))))
        self._keys_taken |= taken
        self._keys_free |= set(keys) - taken

    def count_replies(
        self, session: Session, kinds: Iterable[str], since: dt.datetime, recipient: str | None
    ) -> int | None:
        """Mails of these kinds queued since `since` (to `recipient`, else to anyone), held ones left out;
        None when the recipient is not one of the batch's addresses."""
        if recipient is None:
            key = (frozenset(kinds), since)
            if key not in self._counts:
                self._counts[key] = _count_since(session, key[0], since)
            return self._counts[key]
        if recipient not in self.addresses:
            return None
        replies = self._read_replies(session, kinds, since)
        return sum(
            1
            for created_at, _number, status, _row in replies.by_recipient.get(recipient, ())
            if created_at >= since and status != OutboxStatus.HELD
        )

    def latest_reply(
        self, session: Session, kinds: Iterable[str], recipient: str, since: dt.datetime
    ) -> tuple[bool, OutboxMessage | None]:
        """(known, the newest mail of these kinds queued to `recipient` since `since`: sent, on its way, or
        held); known is False when the recipient is not one of the batch's addresses."""
        if recipient not in self.addresses:
            return False, None
        replies = self._read_replies(session, kinds, since)
        candidates = [
            (created_at, number, row)
            for created_at, number, status, row in replies.by_recipient.get(recipient, ())
            if created_at >= since and status in _LATEST
        ]
        if not candidates:
            return True, None
        _created_at, number, row = max(candidates, key=lambda c: (c[0], c[1]))
        return True, row if row is not None else session.get(OutboxMessage, number)

    def _read_replies(self, session: Session, kinds: Iterable[str], since: dt.datetime) -> _Replies:
        wanted = frozenset(kinds)
        replies = self._replies.get(wanted)
        if replies is None or since < replies.since:
            rows = session.execute(
                sa.select(
                    OutboxMessage.created_at, OutboxMessage.id, OutboxMessage.status, OutboxMessage.recipient
                ).where(
                    OutboxMessage.recipient.in_(sorted(self.addresses)),
                    OutboxMessage.created_at >= since,
                    OutboxMessage.kind.in_(sorted(wanted)),
                )
            )
            replies = self._replies[wanted] = _Replies(since, {})
            for created_at, number, status, recipient in rows:
                replies.by_recipient.setdefault(recipient, []).append((created_at, number, status, None))
        return replies


def _read_places(session: Session, meeting: Meeting) -> _Places:
    rows = session.execute(
        sa.select(Registration.member_id, Registration.status, Member.status)
        .join(Member, Member.id == Registration.member_id)
        .where(Registration.meeting_id == meeting.id, Registration.status.in_(_COUNTED))
    )
    read = {
        member_id: (status, member_status == MemberStatus.ACTIVE) for member_id, status, member_status in rows
    }
    counts: dict[str | None, int] = {}
    for status, active in read.values():
        if active:
            counts[status] = counts.get(status, 0) + 1
    return _Places(read, counts, {})


def _count_since(session: Session, kinds: frozenset[str], since: dt.datetime) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.created_at >= since,
                OutboxMessage.kind.in_(sorted(kinds)),
                OutboxMessage.status != OutboxStatus.HELD,
            )
        )
        or 0
    )
