"""What the coordinator changes on the web page about members and their registrations: correct a member, add
someone by hand, register, move, cancel or remove a registration, record who came, forget a person.

Each change is one database transaction that also records an event for the digest (EventKind.WEB_CHANGE: what,
when, and which fields, never their values). Only the use cases' own rules apply: a freed place goes to the
first waiting (actions.fill_places), forgetting is privacy.forget, attendance is usecases/attendance.py.
Nothing here sends a confirmation of its own: the coordinator spoke to the person already.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from mailflow.adapters.db import agenda, models, queries
from mailflow.adapters.db.engine import scrub
from mailflow.adapters.imap import Inbox
from mailflow.core.vocabulary import (
    EventKind,
    MailKind,
    MeetingStatus,
    MemberStatus,
    OutboxKey,
    RegistrationStatus,
    WebChange,
)
from mailflow.errors import MailflowError
from mailflow.usecases import attendance, privacy
from mailflow.usecases.actions import fill_places
from mailflow.usecases.context import App

log = logging.getLogger(__name__)

NAME_LIMIT = 500  # members.name and members.organisation


class Gone(LookupError):
    """The member, meeting or registration a form names is not (or no longer) in the database."""


def record_change(
    db: Session,
    change: WebChange,
    now: dt.datetime,
    *,
    fields: Sequence[str] = (),
    member: models.Member | None = None,
    meeting: models.Meeting | None = None,
    inbound: models.InboundMessage | None = None,
    outbox: models.OutboxMessage | None = None,
) -> None:
    """The event of a change made on the web page: what, and which fields; by the coordinator, who alone
    has the password. The log says it with row ids only."""
    detail = f"{change}: {','.join(fields)}" if fields else str(change)
    queries.record_event(
        db,
        EventKind.WEB_CHANGE,
        now,
        member=member,
        meeting=meeting,
        inbound=inbound,
        outbox=outbox,
        detail=detail,
    )
    ids = {"member": member, "meeting": meeting, "mail": inbound, "outbox": outbox}
    named = " ".join(
        f"{what}={row.id}" for what, row in ids.items() if row is not None and row.id is not None
    )
    log.info("web change: %s %s", detail, named)


Row = TypeVar("Row")


def _get(db: Session, model: type[Row], row_id: int) -> Row:
    row = db.get(model, row_id)
    if row is None:
        raise Gone(f"no {getattr(model, '__name__', 'row')} {row_id}")
    return row


# --- members ------------------------------------------------------------------------------------------------


def one_line(value: str, limit: int = NAME_LIMIT) -> str:
    """A value typed in a form as it is stored: one line, single spaces, at most `limit` characters."""
    return " ".join(value.split())[:limit]


def edit_member(
    app: App,
    member_id: int,
    *,
    name: str,
    organisation: str | None,
    language: str,
    unsure: bool,
    now: dt.datetime,
) -> tuple[str, ...]:
    """Correct a member's name, organisation and language, or say their reading is sure now.
    Returns the fields that changed."""
    with app.sessions.begin() as db:
        member = _get(db, models.Member, member_id)
        changed = []
        if name != member.name:
            member.name, member.name_key = name, queries.name_key(name)
            changed.append("name")
        if organisation != member.organisation:
            member.organisation = organisation
            changed.append("organisation")
        if language != member.language:
            member.language = language
            changed.append("language")
        if unsure != member.unsure:
            member.unsure = unsure
            changed.append("unsure")
        if changed:
            record_change(db, WebChange.MEMBER_EDITED, now, fields=changed, member=member)
        return tuple(changed)


@dataclass(frozen=True)
class Added:
    member_id: int
    status: RegistrationStatus | None  # of the registration made with it; None: none asked
    existed: bool = False  # a member of that name at that address was there already: nothing was added


def add_member(
    app: App,
    *,
    name: str,
    organisation: str | None,
    email: str,
    language: str,
    meeting_id: int | None,
    now: dt.datetime,
) -> Added:
    """Someone who phoned or came by: a member from now on, and registered for `meeting_id` when given
    (on its waiting list when it is full)."""
    with app.sessions.begin() as db:
        key = queries.name_key(name)
        same = [m for m in queries.members_at(db, email) if m.name_key == key]
        if same:
            return Added(same[0].id, None, existed=True)
        member = models.Member(
            email=email,
            name=name,
            name_key=key,
            organisation=organisation,
            language=language,
            status=MemberStatus.ACTIVE,
            unsure=False,
            undeliverable=False,
            created_at=now,
            last_heard_at=now,
        )
        db.add(member)
        db.flush()
        queries.record_event(db, EventKind.REGISTERED, now, member=member)  # the digest lists new members
        meeting = _coming(db, meeting_id, now) if meeting_id is not None else None
        status = _register(db, member, meeting, now) if meeting is not None else None
        record_change(db, WebChange.MEMBER_ADDED, now, member=member, meeting=meeting)
        return Added(member.id, status)


def register(app: App, member_id: int, meeting_id: int, now: dt.datetime) -> RegistrationStatus:
    """Put a member on a coming meeting's list: registered, or waiting when it is full. A member who had left
    is a member again."""
    with app.sessions.begin() as db:
        member = _get(db, models.Member, member_id)
        meeting = _coming(db, meeting_id, now)
        member.status, member.left_at = MemberStatus.ACTIVE, None
        status = _register(db, member, meeting, now)
        record_change(db, WebChange.REGISTERED, now, member=member, meeting=meeting)
        return status


def _coming(db: Session, meeting_id: int, now: dt.datetime) -> models.Meeting:
    """A meeting one can still register for: confirmed, and not begun."""
    meeting = _get(db, models.Meeting, meeting_id)
    if meeting.status != MeetingStatus.CONFIRMED or meeting.starts_at <= now:
        raise Gone(f"meeting {meeting_id} is not coming")
    return meeting


def _register(
    db: Session, member: models.Member, meeting: models.Meeting, now: dt.datetime
) -> RegistrationStatus:
    """As a registration by mail: a place while the meeting has room (those waiting come first), else the
    waiting list."""
    status = RegistrationStatus.REGISTERED
    if meeting.capacity is not None and agenda.statuses_of(db, meeting, [member]) != [status]:
        free = meeting.capacity - agenda.places_taken(db, meeting, leaving_out=[member])
        ahead = agenda.waiting_count(db, meeting, leaving_out=[member])
        if free - ahead < 1:
            status = RegistrationStatus.WAITING
    agenda.set_registration(db, member, meeting, status, now)
    return status


# --- registrations ------------------------------------------------------------------------------------------


def move_registration(
    app: App, registration_id: int, meeting_id: int, now: dt.datetime
) -> RegistrationStatus:
    """Move a member from one meeting to another coming one (on its waiting list when it is full). The old
    registration goes, its place to the first waiting there."""
    with app.sessions.begin() as db:
        registration = _get(db, models.Registration, registration_id)
        member, old = registration.member, registration.meeting
        target = _coming(db, meeting_id, now)
        if target.id == old.id:
            return RegistrationStatus(registration.status)
        _withdraw_reminders(db, member, old)
        db.delete(registration)
        db.flush()
        status = _register(db, member, target, now)
        record_change(db, WebChange.REGISTRATION_MOVED, now, member=member, meeting=target)
        fill_places(app, db, old, now)
        return status


def cancel_registration(app: App, registration_id: int, now: dt.datetime) -> None:
    """They cannot come (they said so by phone): cancelled, as a cancel by mail, without the reply."""
    with app.sessions.begin() as db:
        registration = _get(db, models.Registration, registration_id)
        member, meeting = registration.member, registration.meeting
        agenda.set_registration(db, member, meeting, RegistrationStatus.CANCELLED, now)
        _withdraw_reminders(db, member, meeting)
        queries.record_event(db, EventKind.CANCEL, now, member=member, meeting=meeting)
        record_change(db, WebChange.REGISTRATION_CANCELLED, now, member=member, meeting=meeting)
        fill_places(app, db, meeting, now)


def remove_registration(app: App, registration_id: int, now: dt.datetime) -> None:
    """A registration that should not be there (a mistake): gone, as if never made."""
    with app.sessions.begin() as db:
        registration = _get(db, models.Registration, registration_id)
        member, meeting = registration.member, registration.meeting
        _withdraw_reminders(db, member, meeting)
        db.delete(registration)
        record_change(db, WebChange.REGISTRATION_REMOVED, now, member=member, meeting=meeting)
        fill_places(app, db, meeting, now)


def _withdraw_reminders(db: Session, member: models.Member, meeting: models.Meeting) -> None:
    """Their unsent reminders of that meeting are no longer owed."""
    pattern = OutboxKey.reminders_like(meeting.date, member.id)
    queries.cancel_pending(db, member, (MailKind.REMINDER,), key_like=pattern)


# --- attendance ---------------------------------------------------------------------------------------------


def record_attendance(
    app: App, meeting_id: int, came: set[int], walk_ins: int, now: dt.datetime
) -> attendance.Attendance:
    """Record who came to a meeting that began: the members numbered in `came`, and `walk_ins` people who
    came unregistered and unnamed. Replaces an earlier record.

    Raises MailflowError (nothing recorded) when the meeting has not begun.
    """
    with app.sessions.begin() as db:
        meeting = _get(db, models.Meeting, meeting_id)
        result = attendance.record_members(db, meeting, sorted(came), walk_ins, now)
        record_change(db, WebChange.ATTENDANCE_RECORDED, now, meeting=meeting)
        return result


def attendance_list(db: Session, meeting: models.Meeting) -> list[models.Registration]:
    """Whom the attendance form lists: those with a place, and whoever was recorded as having come."""
    registrations = [
        r
        for r in agenda.registrations_of(db, meeting)
        if r.status == RegistrationStatus.REGISTERED or r.attended
    ]
    return sorted(registrations, key=lambda r: (r.member.name_key, r.member_id))


# --- forgetting ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forgotten:
    members: int  # deleted from the database: everyone at the address
    copies: int | None  # mails deleted from the processed and review folders; None when the mailbox was not
    # reached (or has no [imap]), and copies may remain


def forget(app: App, member_id: int, now: dt.datetime) -> Forgotten:
    """`mailflow forget` for the address of a member: everyone at it, in the database (one transaction) and
    in the processed and review folders.

    The mailbox is reached first: when it cannot be, MailflowError is raised and nothing is deleted, so that
    the coordinator can try again with the member still there (the page has no `mailflow forget` to finish).
    """
    imap = app.config.imap
    if imap is None:
        return Forgotten(_forget_in_database(app, member_id, now)[0], None)
    with Inbox(imap) as inbox:
        count, address = _forget_in_database(app, member_id, now)
        try:
            return Forgotten(count, privacy.forget_copies(inbox, address))
        except MailflowError as exc:
            log.warning("forget: the mailbox went away (%s); copies may remain", type(exc).__name__)
            return Forgotten(count, None)


def _forget_in_database(app: App, member_id: int, now: dt.datetime) -> tuple[int, str]:
    """privacy.forget for the member's address, with the event; returns how many members, and the address."""
    with app.sessions.begin() as db:
        address = _get(db, models.Member, member_id).email
        count = privacy.forget(db, address, now)
        record_change(db, WebChange.MEMBER_FORGOTTEN, now)
    scrub(app.sessions)
    return count, address
