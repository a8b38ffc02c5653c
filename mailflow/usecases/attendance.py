"""Who came to a meeting, as the coordinator records it afterwards (`mailflow attendance`): from the marked
sign-in sheet, or from names.

A record replaces the previous one of that meeting whole, so recording again after a correction is safe:
every registration's `attended` is set anew, the walk-ins are counted anew, and the registrations an earlier
record made for walk-ins are made again or dropped. Nothing is recorded when a row or a name matches nobody,
or several people. The event says how many, never who.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mailflow.adapters.db import agenda, models, queries
from mailflow.core import sheet as sheet_core
from mailflow.core.parsing.headers import valid_address
from mailflow.core.vocabulary import EventKind, MemberStatus, RegistrationStatus
from mailflow.errors import MailflowError
from mailflow.usecases.context import App

log = logging.getLogger(__name__)

_NAME_LIMIT = 500  # members.name and members.organisation


class NotMatched(MailflowError):
    """Rows or names that match no member, or several; nothing was recorded."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Attendance:
    """What a record says, in numbers, and what the coordinator should know about it."""

    date: dt.date
    came: int  # members who came, registered or not
    absent: int  # registered, and did not come
    walk_ins: int  # came without leaving an address: counted, not named
    new_members: int  # walk-ins with an address, who were not members yet
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _NewMember:
    email: str
    name: str
    organisation: str | None


def record_from_sheet(app: App, day: dt.date, data: bytes, now: dt.datetime) -> Attendance:
    """Record who came to the meeting on `day` from a marked sign-in sheet (the CSV's bytes).

    Raises MailflowError when the file is no sign-in sheet or the meeting cannot have attendance yet,
    NotMatched when rows cannot be read or name a member number mailflow does not know.
    """
    try:
        marked = sheet_core.read_sheet(data)
    except sheet_core.SheetError as exc:
        raise MailflowError(f"the file cannot be read as a sign-in sheet: {exc}") from None
    with app.sessions.begin() as db:
        meeting = _held_meeting(db, day, now)
        registered = {r.member_id: r for r in agenda.registrations_of(db, meeting)}
        problems, notes = list(marked.problems), []
        came: dict[int, models.Member] = {}
        new: dict[tuple[str, str], _NewMember] = {}
        walk_ins = 0
        for line in marked.lines:
            if not line.came:
                if line.number is not None and db.get(models.Member, line.number) is None:
                    notes.append(f"row {line.row}: no member {line.number} (any more); left out")
                continue
            if line.number is not None:
                member = db.get(models.Member, line.number)
                if member is None:
                    problems.append(
                        f"row {line.row}: marked, but mailflow has no member {line.number} (any more); "
                        "clear the number to count the row as someone who came unregistered"
                    )
                    continue
                if line.number not in registered:
                    notes.append(f"row {line.row}: member {line.number} was not registered for this meeting")
                came[member.id] = member
                continue
            address = line.email.strip().lower()
            if address and not valid_address(address):
                notes.append(f"row {line.row}: {line.email!r} is not an email address; counted without one")
                address = ""
            found = _member_at(db, address, line.name) if address else None
            if found is not None:
                came[found.id] = found
            elif address and line.name:
                if queries.members_at(db, address):
                    notes.append(
                        f"row {line.row}: a new member at an address that has members already "
                        "(someone else there, or a name spelled otherwise?)"
                    )
                name = " ".join(line.name.split())[:_NAME_LIMIT]
                organisation = " ".join(line.organisation.split())[:_NAME_LIMIT] or None
                new.setdefault((address, queries.name_key(name)), _NewMember(address, name, organisation))
            else:
                walk_ins += 1
        if problems:
            raise NotMatched(problems)
        for person in new.values():
            member = _add_member(app, db, person, now)
            came[member.id] = member
        return _record(db, meeting, list(came.values()), walk_ins, now, len(new), notes)


def record_by_names(app: App, day: dt.date, names: Sequence[str], now: dt.datetime) -> Attendance:
    """Record that the members named came to the meeting on `day`, and the other registered people did not.

    A name is the member's name in any order, case or accents ("peeters anna"); a member number ("12" or
    "#12", as on the sign-in sheet) names one member exactly. Raises NotMatched, recording nothing, when a
    name matches nobody or several members (the registered one among them is taken when there is one).
    """
    with app.sessions.begin() as db:
        meeting = _held_meeting(db, day, now)
        statuses = {r.member_id: r.status for r in agenda.registrations_of(db, meeting)}
        members = queries.members_by_name(db)
        came: dict[int, models.Member] = {}
        problems: list[str] = []
        for name in names:
            found = _named(name, members, statuses)
            if isinstance(found, str):
                problems.append(found)
            else:
                came[found.id] = found
        if problems:
            raise NotMatched(problems)
        return _record(db, meeting, list(came.values()), 0, now, 0, [])


def record_members(
    db: Session, meeting: models.Meeting, came: Sequence[int], walk_ins: int, now: dt.datetime
) -> Attendance:
    """Record, in the caller's transaction, that the members numbered in `came` and `walk_ins` people who
    came unregistered and unnamed were at `meeting`, and the other registered people were not (the web page's
    form). Raises MailflowError when the meeting has not begun; unknown numbers are left out."""
    if now < meeting.starts_at:
        raise MailflowError(
            f"the meeting on {meeting.date.isoformat()} has not begun yet; record who came afterwards"
        )
    members = [member for member in (db.get(models.Member, number) for number in came) if member is not None]
    return _record(db, meeting, members, walk_ins, now, 0, [])


@dataclass(frozen=True)
class Recorded:
    """A meeting's attendance as recorded: when, and for each person registered or who came, whether they
    came (None: not recorded)."""

    date: dt.date
    recorded_at: dt.datetime | None
    walk_ins: int
    people: tuple[tuple[str, str | None, bool | None], ...]  # name, organisation, came


def recorded(app: App, day: dt.date) -> Recorded:
    """What is recorded of the meeting on `day`. Raises MailflowError when there is no such meeting."""
    with app.sessions() as db:
        meeting = _meeting(db, day)
        registrations = [
            r
            for r in agenda.registrations_of(db, meeting)
            if r.status == RegistrationStatus.REGISTERED or r.attended
        ]
        registrations.sort(key=lambda r: (r.member.name_key, r.member_id))
        return Recorded(
            meeting.date,
            meeting.attendance_recorded_at,
            meeting.walk_ins,
            tuple((r.member.name, r.member.organisation, r.attended) for r in registrations),
        )


# --- the record ---------------------------------------------------------------------------------------------


def _meeting(db: Session, day: dt.date) -> models.Meeting:
    meeting = agenda.meeting_on(db, day)
    if meeting is None:
        raise MailflowError(
            f"no confirmed meeting on {day.isoformat()} (see `mailflow meetings`); nothing was recorded"
        )
    return meeting


def _held_meeting(db: Session, day: dt.date, now: dt.datetime) -> models.Meeting:
    meeting = _meeting(db, day)
    if now < meeting.starts_at:
        raise MailflowError(f"the meeting on {day.isoformat()} has not begun yet; record who came afterwards")
    return meeting


def _record(
    db: Session,
    meeting: models.Meeting,
    came: Sequence[models.Member],
    walk_ins: int,
    now: dt.datetime,
    new_members: int,
    notes: Sequence[str],
) -> Attendance:
    """Replace the meeting's attendance: `came` came, the other registered people did not."""
    for registration in agenda.registrations_of(db, meeting):
        if registration.attended is not None and registration.created_at >= meeting.starts_at:
            db.delete(registration)  # a walk-in of an earlier record: this record says anew who came
        else:
            registration.attended = None
    db.flush()
    for member in came:
        registration = agenda.registration(db, member, meeting) or agenda.set_registration(
            db, member, meeting, RegistrationStatus.REGISTERED, now
        )
        registration.attended = True
    absent = 0
    for registration in agenda.registrations_of(db, meeting):
        if registration.status == RegistrationStatus.REGISTERED and registration.attended is None:
            registration.attended = False
            absent += 1
    meeting.walk_ins = walk_ins
    meeting.attendance_recorded_at = now
    result = Attendance(meeting.date, len(came), absent, walk_ins, new_members, tuple(notes))
    queries.record_event(
        db,
        EventKind.ATTENDANCE,
        now,
        meeting=meeting,
        detail=f"came={result.came} absent={absent} walk_ins={walk_ins} new_members={new_members}",
    )
    log.info(
        "attendance of meeting id=%s recorded: %s came, %s absent, %s walk-ins without an address",
        meeting.id,
        result.came,
        absent,
        walk_ins,
    )
    return result


def _member_at(db: Session, address: str, name: str) -> models.Member | None:
    """The member a walk-in row means: at that address with that name, or the only one there when the row
    gives no name."""
    at_address = queries.members_at(db, address)
    if not name.strip():
        return at_address[0] if len(at_address) == 1 else None
    key = queries.name_key(name)
    return next((m for m in at_address if m.name_key == key), None)


def _add_member(app: App, db: Session, person: _NewMember, now: dt.datetime) -> models.Member:
    """Someone who came unregistered and left an address: a member of the network from now on."""
    member = models.Member(
        email=person.email,
        name=person.name,
        name_key=queries.name_key(person.name),
        organisation=person.organisation,
        language=app.config.network.language,
        status=MemberStatus.ACTIVE,
        unsure=False,
        undeliverable=False,
        created_at=now,
        last_heard_at=now,
    )
    db.add(member)
    queries.record_event(db, EventKind.REGISTERED, now, member=member)  # the digest lists new members
    db.flush()
    return member


# --- names --------------------------------------------------------------------------------------------------


def _named(name: str, members: Sequence[models.Member], statuses: dict[int, str]) -> models.Member | str:
    """The one member `name` means, or what is wrong with it."""
    number = name.strip().lstrip("#")
    if number.isdigit():
        by_number = next((m for m in members if m.id == int(number)), None)
        return by_number if by_number is not None else f"{name!r}: no member has number {number}"
    key = queries.name_key(name)
    same = [m for m in members if m.name_key == key]
    if len(same) == 1:
        return same[0]
    for status in (RegistrationStatus.REGISTERED, None):
        preferred = [
            m for m in same if (m.id in statuses if status is None else statuses.get(m.id) == status)
        ]
        if len(preferred) == 1:
            return preferred[0]
    if same:
        listed = ", ".join(f"#{m.id} {_who(m)}" for m in same)
        return f"{name!r} matches {len(same)} members: {listed}; give the number instead"
    close = _close_to(key, members)
    return f"{name!r} matches no member" + (f" (close: {', '.join(close)})" if close else "")


def _who(member: models.Member) -> str:
    return member.name + (f" ({member.organisation})" if member.organisation else "")


def _close_to(key: str, members: Sequence[models.Member]) -> list[str]:
    """Members whose name holds every word given ("Anna" -> "Anna Peeters"), else spelled alike."""
    words = set(key.split())
    holding = [m for m in members if words and words <= set(m.name_key.split())]
    if holding:
        return [_who(m) for m in holding[:5]]
    by_key = {m.name_key: m for m in members}
    return [_who(by_key[k]) for k in difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.75)]
