"""What each request does to the members and their registrations: register (with the waiting list), cancel,
unsubscribe, erase; and giving a freed place to the first on the waiting list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mailflow.adapters.db import models, queries
from mailflow.core.mail import compose, render
from mailflow.core.parsing import Intent, ParsedMessage, Person
from mailflow.core.parsing.result import UNSURE
from mailflow.usecases.context import App, meeting_details
from mailflow.usecases.outgoing import _reply
from mailflow.usecases.privacy import forget

# Mail mailflow starts on its own to a member; it stops when they leave (replies to their own mails do not).
MEMBER_MAIL_KINDS = ("reminder", "promoted")


def register(app: App, db: Session, row: models.InboundMessage, parsed: ParsedMessage, now: dt.datetime) -> int:
    """Add or update everyone the mail registers; confirm with the practical details of their first meeting.

    When that meeting is full the people in the mail go on its waiting list together (a group that came as one
    is not split) and are told so.
    """
    assert parsed.sender is not None
    named = queries.meeting_on(db, parsed.meeting_date) if parsed.meeting_date else None
    if named is not None and named.starts_at <= now:
        named = None  # a meeting in the past cannot be attended; the next one is meant
    meeting = named or queries.next_meeting(db, now)
    people = parsed.people or (Person(name=parsed.sender_name or parsed.sender.split("@")[0],
                                      email=parsed.sender, confidence=0.3),)
    members = []
    for person in people:
        member = _find_or_create_member(db, person, parsed, now)
        member.status, member.left_at, member.last_heard_at = "active", None, now
        member.language = parsed.language
        if member.email == parsed.sender:
            member.undeliverable = False  # they wrote from it: the address takes mail again
        if named is not None:
            member.active_from = named.date  # "count me in from March": attendance starts there
        members.append(member)
    db.flush()
    status = _place_for(db, members, meeting) if meeting is not None else "registered"
    if meeting is not None:
        for member in members:
            queries.set_attendance(db, member, meeting, status, now)
        if status == "waiting":
            queries.record_event(db, "waiting", now, member=members[0], meeting=meeting, detail=f"{len(members)}")
    return _reply(app, db, row, parsed, "waitlist" if status == "waiting" else "register", members, meeting, now)


def _place_for(db: Session, members: list[models.Member], meeting: models.Meeting) -> str:
    """"registered" if the meeting has room for these members (or they have their place already), else "waiting"."""
    if meeting.capacity is None:
        return "registered"
    ours = [m.id for m in members]
    current = db.scalars(sa.select(models.Attendance.status).where(
        models.Attendance.meeting_id == meeting.id, models.Attendance.member_id.in_(ours))).all()
    if current.count("registered") == len(members):
        return "registered"
    others = queries.expected_count(db, meeting, leaving_out=ours)
    return "registered" if others + len(members) <= meeting.capacity else "waiting"


def cancel(app: App, db: Session, row: models.InboundMessage, parsed: ParsedMessage, now: dt.datetime) -> int:
    """Excuse the people named (else the sender) from the named meeting, else the next one; their place goes to
    the first on the waiting list, and their remaining reminders for it are not sent."""
    named = queries.meeting_on(db, parsed.meeting_date) if parsed.meeting_date else None
    meeting = named if named is not None and named.starts_at > now else queries.next_meeting(db, now)
    members = _members_meant(db, parsed)
    for member in members:
        member.last_heard_at = now
        if meeting is not None:
            queries.set_attendance(db, member, meeting, "excused", now)
            queries.cancel_pending(db, member, ("reminder",), key_prefix=f"reminder:{member.id}:{meeting.date}:")
        queries.record_event(db, "cancel", now, member=member, meeting=meeting)
    if not members:
        queries.record_event(db, "cancel_unknown", now, inbound=row, meeting=meeting)
    replies = _reply(app, db, row, parsed, "cancel", members, meeting, now)
    if meeting is not None and members:
        replies += fill_places(app, db, meeting, now)
    return replies


def unsubscribe(app: App, db: Session, row: models.InboundMessage, parsed: ParsedMessage, now: dt.datetime) -> int:
    """The sender (or the people named) leave the network: no more mail after this confirmation."""
    members = _members_meant(db, parsed)
    for member in members:
        member.status, member.left_at, member.last_heard_at = "left", now, now
        queries.cancel_pending(db, member, MEMBER_MAIL_KINDS)
        queries.record_event(db, "left", now, member=member)
    replies = _reply(app, db, row, parsed, "unsubscribe", members, None, now)
    return replies + _fill_all_places(app, db, now)


def erase(app: App, db: Session, row: models.InboundMessage, parsed: ParsedMessage, now: dt.datetime) -> int:
    """Delete everything about the sender; only a count remains. The confirmation is the last mail they get."""
    assert parsed.sender is not None
    replies = _reply(app, db, row, parsed, "erase", (), None, now)
    forget(db, parsed.sender, now, keep_inbound_id=row.id)
    row.message_id = None  # the sender stays until privacy.forget_erased has deleted their mail in the mailbox
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
    for attendance in queries.waiting_for(db, meeting)[:max(free, 0)]:
        attendance.status, attendance.updated_at = "registered", now
        member = attendance.member
        queries.record_event(db, "promoted", now, member=member, meeting=meeting)
        message_id = compose.new_message_id(app.message_domain)
        message = render.render_promotion(
            app.templates, member_name=member.name, to_address=member.email, language=member.language,
            meeting=meeting_details(app, meeting), network=app.config.network, sender=app.sender,
            message_id=message_id, now=now)
        queued += queries.enqueue(
            db, key=f"promoted:{member.id}:{meeting.date}", kind="promoted", recipient=member.email,
            message_id=message_id, raw=compose.message_bytes(message), now=now, expires_at=meeting.starts_at,
            member=member) is not None
    return queued


def _fill_all_places(app: App, db: Session, now: dt.datetime) -> int:
    """After someone left: the places they held at every coming meeting with a capacity."""
    coming = db.scalars(sa.select(models.Meeting).where(models.Meeting.starts_at > now,
                                                        models.Meeting.capacity.is_not(None)))
    return sum(fill_places(app, db, meeting, now) for meeting in coming)


ACTIONS: dict[Intent, Callable[[App, Session, models.InboundMessage, ParsedMessage, dt.datetime], int]] = {
    Intent.REGISTER: register,
    Intent.CANCEL: cancel,
    Intent.UNSUBSCRIBE: unsubscribe,
    Intent.ERASE: erase,
}


def _find_or_create_member(db: Session, person: Person, parsed: ParsedMessage, now: dt.datetime) -> models.Member:
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
        member = at_address[0]  # someone writing again about themselves, perhaps spelling their name otherwise
    else:
        member = models.Member(email=email, created_at=now, status="active", undeliverable=False)
        db.add(member)
        queries.record_event(db, "registered", now, member=member)
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

