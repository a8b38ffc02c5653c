"""What each request does to the members and their registrations: register (with the waiting list), cancel,
unsubscribe, erase; and giving a freed place to the first on the waiting list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

from sqlalchemy.orm import Session

from mailflow.adapters.db import models, queries
from mailflow.core.mail import render
from mailflow.core.parsing import Intent, ParsedMessage, Person
from mailflow.core.parsing.result import UNSURE
from mailflow.core.vocabulary import (
    MEMBER_MAIL_KINDS,
    AttendanceStatus,
    EventKind,
    MailKind,
    MemberStatus,
    OutboxKey,
)
from mailflow.usecases.context import App, meeting_details
from mailflow.usecases.outgoing import queue_mail, queue_reply
from mailflow.usecases.privacy import forget


def register(
    app: App, db: Session, row: models.InboundMessage, parsed: ParsedMessage, now: dt.datetime
) -> int:
    """Add or update everyone the mail registers; confirm with the practical details of their first meeting.

    When that meeting is full the people in the mail go on its waiting list together (a group that came as one
    is not split) and are told so.
    """
    assert parsed.sender is not None
    named = queries.meeting_on(db, parsed.meeting_date) if parsed.meeting_date else None
    if named is not None and named.starts_at <= now:
        named = None  # a meeting in the past cannot be attended; the next one is meant
    meeting = named or queries.next_meeting(db, now)
    people = parsed.people or (
        Person(name=parsed.sender_name or parsed.sender.split("@")[0], email=parsed.sender, confidence=0.3),
    )
    members = []
    for person in people:
        member = _find_or_create_member(db, person, parsed, now)
        member.status, member.left_at, member.last_heard_at = MemberStatus.ACTIVE, None, now
        member.language = parsed.language
        if member.email == parsed.sender:
            member.undeliverable = False  # they wrote from it: the address takes mail again
        if named is not None:
            member.active_from = named.date  # "count me in from March": attendance starts there
        members.append(member)
    db.flush()
    status = _place_for(db, members, meeting) if meeting is not None else AttendanceStatus.REGISTERED
    if meeting is not None:
        for member in members:
            queries.set_attendance(db, member, meeting, status, now)
        if status == AttendanceStatus.WAITING:
            queries.record_event(
                db, EventKind.WAITING, now, member=members[0], meeting=meeting, detail=f"{len(members)}"
            )
    kind = MailKind.WAITLIST if status == AttendanceStatus.WAITING else MailKind.REGISTER
    return queue_reply(app, db, row, parsed, kind, members, meeting, now)


def _place_for(db: Session, members: list[models.Member], meeting: models.Meeting) -> AttendanceStatus:
    """Registered if the meeting has room for these members (or they have their place), else waiting."""
    if meeting.capacity is None:
        return AttendanceStatus.REGISTERED
    ours = [m.id for m in members]
    current = queries.attendance_of(db, meeting, ours)
    if current.count(AttendanceStatus.REGISTERED) == len(members):
        return AttendanceStatus.REGISTERED
    others = queries.expected_count(db, meeting, leaving_out=ours)
    if others + len(members) <= meeting.capacity:
        return AttendanceStatus.REGISTERED
    return AttendanceStatus.WAITING


def cancel(app: App, db: Session, row: models.InboundMessage, parsed: ParsedMessage, now: dt.datetime) -> int:
    """Excuse the people named (else the sender) from the named meeting, else the next one; their place goes
    to the first on the waiting list, and their remaining reminders for it are not sent."""
    named = queries.meeting_on(db, parsed.meeting_date) if parsed.meeting_date else None
    meeting = named if named is not None and named.starts_at > now else queries.next_meeting(db, now)
    members = _members_meant(db, parsed)
    for member in members:
        member.last_heard_at = now
        if meeting is not None:
            queries.set_attendance(db, member, meeting, AttendanceStatus.EXCUSED, now)
            queries.cancel_pending(
                db, member, (MailKind.REMINDER,), key_like=OutboxKey.reminders_like(meeting.date, member.id)
            )
        queries.record_event(db, EventKind.CANCEL, now, member=member, meeting=meeting)
    if not members:
        queries.record_event(db, EventKind.CANCEL_UNKNOWN, now, inbound=row, meeting=meeting)
    replies = queue_reply(app, db, row, parsed, MailKind.CANCEL, members, meeting, now)
    if meeting is not None and members:
        replies += fill_places(app, db, meeting, now)
    return replies


def unsubscribe(
    app: App, db: Session, row: models.InboundMessage, parsed: ParsedMessage, now: dt.datetime
) -> int:
    """The sender (or the people named) leave the network: no more mail after this confirmation."""
    members = _members_meant(db, parsed)
    for member in members:
        member.status, member.left_at, member.last_heard_at = MemberStatus.LEFT, now, now
        queries.cancel_pending(db, member, MEMBER_MAIL_KINDS)
        queries.record_event(db, EventKind.LEFT, now, member=member)
    replies = queue_reply(app, db, row, parsed, MailKind.UNSUBSCRIBE, members, None, now)
    return replies + _fill_all_places(app, db, now)


def erase(app: App, db: Session, row: models.InboundMessage, parsed: ParsedMessage, now: dt.datetime) -> int:
    """Delete everything about the sender; only a count remains.
    The confirmation is the last mail they get."""
    assert parsed.sender is not None
    replies = queue_reply(app, db, row, parsed, MailKind.ERASE, (), None, now)
    forget(db, parsed.sender, now, keep_inbound_id=row.id)
    row.message_id = (
        None  # the sender stays until privacy.forget_erased has deleted their mail in the mailbox
    )
    return replies + _fill_all_places(app, db, now)


def fill_places(app: App, db: Session, meeting: models.Meeting, now: dt.datetime) -> int:
    """Give the free places of a meeting to the first on its waiting list, each with a mail saying so.

    Returns how many mails were queued.
    """
    if meeting.capacity is None or meeting.starts_at <= now:
        return 0
    db.flush()
    free = meeting.capacity - queries.expected_count(db, meeting)
    queued = 0
    for attendance in queries.waiting_for(db, meeting)[: max(free, 0)]:
        attendance.status, attendance.updated_at = AttendanceStatus.REGISTERED, now
        member = attendance.member
        queries.record_event(db, EventKind.PROMOTED, now, member=member, meeting=meeting)
        queued += (
            queue_mail(
                app,
                db,
                partial(
                    render.render_promotion,
                    app.templates,
                    member_name=member.name,
                    to_address=member.email,
                    language=member.language,
                    meeting=meeting_details(app, meeting),
                    network=app.config.network,
                    sender=app.sender,
                    now=now,
                ),
                key=OutboxKey.promoted(member.id, meeting.date),
                kind=MailKind.PROMOTED,
                recipient=member.email,
                now=now,
                expires_at=meeting.starts_at,
                member=member,
            )
            is not None
        )
    return queued


def _fill_all_places(app: App, db: Session, now: dt.datetime) -> int:
    """After someone left: the places they held at every coming meeting with a capacity."""
    coming = queries.coming_meetings_with_capacity(db, now)
    return sum(fill_places(app, db, meeting, now) for meeting in coming)


ACTIONS: dict[Intent, Callable[[App, Session, models.InboundMessage, ParsedMessage, dt.datetime], int]] = {
    Intent.REGISTER: register,
    Intent.CANCEL: cancel,
    Intent.UNSUBSCRIBE: unsubscribe,
    Intent.ERASE: erase,
}


def _find_or_create_member(
    db: Session, person: Person, parsed: ParsedMessage, now: dt.datetime
) -> models.Member:
    assert parsed.sender is not None
    email = (person.email or parsed.sender).lower()
    key = queries.name_key(person.name)
    at_address = queries.members_at(db, email)
    same_name = [m for m in at_address if m.name_key == key]
    if same_name:
        member = same_name[0]
    elif len(at_address) == 1 and email != parsed.sender and person.email:
        member = at_address[0]  # the person's own address: a new spelling of the same person
    elif len(at_address) == 1 and email == parsed.sender and len(parsed.people) <= 1:
        member = at_address[
            0
        ]  # someone writing again about themselves, perhaps spelling their name otherwise
    else:
        member = models.Member(email=email, created_at=now, status=MemberStatus.ACTIVE, undeliverable=False)
        db.add(member)
        queries.record_event(db, EventKind.REGISTERED, now, member=member)
    member.name, member.name_key = person.name, key
    member.organisation = person.organisation
    member.unsure = person.confidence < UNSURE or parsed.confidence < UNSURE
    return member


def _members_meant(db: Session, parsed: ParsedMessage) -> list[models.Member]:
    """The members a cancel or unsubscribe is about: those it names, else everyone at the sender's address."""
    assert parsed.sender is not None
    meant: list[models.Member] = []
    for person in parsed.people:
        keys = queries.name_key(person.name)
        candidates = queries.members_at(db, (person.email or parsed.sender).lower())
        meant += [m for m in candidates if m.name_key == keys and m not in meant]
    return meant or queries.members_at(db, parsed.sender)
