"""Writing the configured meetings into the database, and telling people when one of theirs changed.

A meeting row is the truth of what people were told: `announced` holds the details they last heard (date,
start, place, theme, speakers, and whether it takes place). Each sync compares the config with it; a
confirmed, coming meeting that differs is told to everyone registered (an update with an .ics of a higher
SEQUENCE, the same UID) and waiting (the same mail without .ics), and a meeting the config calls off is told
once, with an .ics that cancels it. The sync, the new SEQUENCE and the mails are one transaction: a crash
never mails twice or loses a change.

A meeting whose date moved keeps its row (and so its UID): the config no longer lists the old date and lists
a new one within two weeks of it, and no other pairing is possible. A meeting that just disappears from the
config is left as it is, not mailed about, and the coordinator hears of it (log, `mailflow check`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from mailflow.adapters.db import agenda, models, queries
from mailflow.core import reminders
from mailflow.core.calendar.ics import MeetingDetails, location_text
from mailflow.core.vocabulary import EventKind, MailKind, MeetingStatus, OutboxKey
from mailflow.settings import Config
from mailflow.settings import Meeting as MeetingConfig
from mailflow.usecases.context import App, meeting_details
from mailflow.usecases.outgoing import queue_member_mail

log = logging.getLogger(__name__)

# How far a date may move and still be the same meeting; further is a new meeting (and the old one unlisted).
MOVE_WINDOW = dt.timedelta(days=14)
# What an update names as changed, in this order ("status": a meeting called off takes place after all).
CHANGE_FIELDS = ("status", "date", "time", "place", "theme", "speakers")
# Mail that is no longer owed once its meeting is called off.
_NOT_OWED_WHEN_CANCELLED = (MailKind.INVITATION, MailKind.REMINDER, MailKind.PROMOTED, MailKind.UPDATE)


# --- pure: what changed, and which dates moved --------------------------------------------------------------


def announcement(details: MeetingDetails, status: str) -> dict[str, object]:
    """What people are told of a meeting, as `meetings.announced` keeps it (JSON). The place is kept as the
    line people read, so a new venue address counts as a new place. The texts are the network language's
    (a text given per language compares as that one), as the meeting row stores them."""
    return {
        "date": details.date.isoformat(),
        "starts_at": details.starts_at.isoformat(),
        "place": location_text(details),
        "theme": str(details.theme),
        "speakers": [str(name) for name in details.speakers],
        "status": status,
    }


def changed_fields(told: Mapping[str, object], now: Mapping[str, object], tz: ZoneInfo) -> tuple[str, ...]:
    """The fields in which `now` differs from what was `told` (both as `announcement` writes them), in the
    order of CHANGE_FIELDS. "time" is the local start time; a new date alone is not a new time. "status"
    means the meeting was called off and takes place again."""
    changed = set()
    if told.get("status", MeetingStatus.CONFIRMED) != now.get("status", MeetingStatus.CONFIRMED):
        changed.add("status")
    for field in ("date", "place", "theme"):
        if told.get(field) != now.get(field):
            changed.add(field)
    if list(_strings(told.get("speakers"))) != list(_strings(now.get("speakers"))):
        changed.add("speakers")
    if _local_time(told.get("starts_at"), tz) != _local_time(now.get("starts_at"), tz):
        changed.add("time")
    return tuple(field for field in CHANGE_FIELDS if field in changed)


def _strings(value: object) -> Iterable[str]:
    return [str(item) for item in value] if isinstance(value, list) else ()


def _local_time(value: object, tz: ZoneInfo) -> dt.time | None:
    try:
        return dt.datetime.fromisoformat(str(value)).astimezone(tz).time()
    except ValueError:
        return None


def told_details(told: Mapping[str, object], current: MeetingDetails, tz: ZoneInfo) -> MeetingDetails:
    """The meeting as people were told it (for an update's "before"), on the current one's frame."""
    try:
        date = dt.date.fromisoformat(str(told.get("date")))
    except ValueError:
        date = current.date
    try:
        starts_at = dt.datetime.fromisoformat(str(told.get("starts_at"))).astimezone(tz)
    except ValueError:
        starts_at = current.starts_at
    return replace(
        current,
        date=date,
        starts_at=starts_at,
        ends_at=None,
        theme=str(told.get("theme", current.theme)),
        speakers=tuple(_strings(told.get("speakers"))),
        place_name=str(told.get("place", location_text(current))),
        place_address="",
    )


def pair_moves(
    unlisted: Iterable[dt.date], new: Iterable[dt.date], window: dt.timedelta = MOVE_WINDOW
) -> dict[dt.date, dt.date]:
    """Which meeting dates the config moved: {old date: new date}.

    `unlisted` are the dates of coming meetings the config no longer lists, `new` the configured dates no
    meeting has yet. An old and a new date pair when they are within `window` of each other and neither is
    within it of any other candidate: a guess between two is no move (the old one stays unlisted).
    """
    olds, news = sorted(set(unlisted)), sorted(set(new))
    near = {old: [day for day in news if abs(day - old) <= window] for old in olds}
    moves = {}
    for old, candidates in near.items():
        if len(candidates) == 1 and sum(candidates[0] in days for days in near.values()) == 1:
            moves[old] = candidates[0]
    return moves


# --- the sync -----------------------------------------------------------------------------------------------


def sync_meetings(app: App, now: dt.datetime) -> None:
    """Write the configured meetings into the database, so registrations can point at them; move the dates
    that moved; and tell the people of every coming meeting that changed or was called off (queued in the
    same transaction)."""
    config = app.config
    with app.sessions.begin() as db:
        rows = agenda.meetings_by_date(db)
        for old, new in _moves(rows, config, now).items():
            row = rows.pop(old)
            row.date = new
            rows[new] = row
            log.info("meeting id=%s moved from %s to %s", row.id, old, new)
        created: list[models.Meeting] = []
        for configured in config.meetings:
            if configured.date not in rows:
                rows[configured.date] = models.Meeting(date=configured.date, sequence=0, walk_ins=0)
                created.append(rows[configured.date])
                db.add(rows[configured.date])
            _write(app, rows[configured.date], configured)
        db.flush()  # ids for the new rows, which the mails and events name
        for row in created:
            row.announced = announcement(meeting_details(app, row), row.status)
        for row in unlisted_meetings(rows.values(), config, now):
            log.warning(
                "meeting id=%s on %s is no longer in the config: left as it is and nobody is told; "
                'to call it off, list it again with status = "cancelled"',
                row.id,
                row.date,
            )
        for row in rows.values():
            if row not in created:
                tell_changes(app, db, row, now)


def _write(app: App, row: models.Meeting, configured: MeetingConfig) -> None:
    domain = app.message_domain or "mailflow.invalid"
    row.starts_at = dt.datetime.combine(
        configured.date, app.config.venue.start, tzinfo=app.config.network.timezone
    )
    # The network language's texts: a text given per language stores as that one.
    row.theme, row.speakers = str(configured.theme), [str(name) for name in configured.speakers]
    row.place = str(configured.place) if configured.place is not None else None
    row.capacity, row.status = configured.capacity, configured.status
    row.uid = row.uid or f"meeting-{configured.date.isoformat()}@{domain}"


def _coming_confirmed(row: models.Meeting, now: dt.datetime) -> bool:
    return row.status == MeetingStatus.CONFIRMED and row.starts_at > now


def _moves(
    rows: Mapping[dt.date, models.Meeting], config: Config, now: dt.datetime
) -> dict[dt.date, dt.date]:
    listed = {m.date for m in config.meetings}
    unlisted = [day for day, row in rows.items() if day not in listed and _coming_confirmed(row, now)]
    tz, start = config.network.timezone, config.venue.start
    new = [day for day in listed - rows.keys() if dt.datetime.combine(day, start, tzinfo=tz) > now]
    return pair_moves(unlisted, new)


def unlisted_meetings(
    rows: Iterable[models.Meeting], config: Config, now: dt.datetime
) -> list[models.Meeting]:
    """The coming, confirmed meetings the config no longer lists (after the moves are paired), by date."""
    listed = {m.date for m in config.meetings}
    return sorted(
        (r for r in rows if r.date not in listed and _coming_confirmed(r, now)), key=lambda r: r.date
    )


def unlisted_warnings(db: Session, config: Config, now: dt.datetime) -> list[str]:
    """What `mailflow check` says of the meetings the database holds and the config no longer lists: those a
    sync would move are fine, the others are left as they are, still reminded, and nobody is told."""
    rows = agenda.meetings_by_date(db)
    moves = _moves(rows, config, now)
    left = [r for r in unlisted_meetings(rows.values(), config, now) if r.date not in moves]
    return [
        f"the meeting on {row.date} is no longer in [[meetings]]: mailflow leaves it as it is (reminders "
        'go on) and tells nobody; to call it off, list it again with status = "cancelled"'
        for row in left
    ]


# --- telling people -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Told:
    """One member to tell about a meeting, and whether they wait for a place (they get no .ics)."""

    member_id: int
    waiting: bool


def tell_changes(app: App, db: Session, row: models.Meeting, now: dt.datetime) -> None:
    """Compare a meeting with what its people were told, and tell them what changed.

    A row that never recorded what was told (made before mailflow kept it) takes the current details as told,
    without mail; a cancellation was never told before, so that still goes. A meeting that has started or
    is past is left alone.
    """
    tz = app.config.network.timezone
    details = meeting_details(app, row)
    current = announcement(details, row.status)
    if row.announced is None:
        row.announced = {**current, "status": MeetingStatus.CONFIRMED.value}
    told = row.announced
    if row.starts_at <= now:
        return
    was_cancelled = told.get("status") == MeetingStatus.CANCELLED
    if row.status == MeetingStatus.CANCELLED:
        if not was_cancelled:
            _tell_cancelled(app, db, row, current, now)
        return
    changes = changed_fields(told, current, tz)
    if changes:
        _tell_update(app, db, row, told_details(told, details, tz), current, changes, now)


def _tell_update(
    app: App,
    db: Session,
    row: models.Meeting,
    previous: MeetingDetails,
    current: dict[str, object],
    changes: tuple[str, ...],
    now: dt.datetime,
) -> None:
    row.sequence += 1
    row.announced = current
    queries.record_event(db, EventKind.MEETING_CHANGED, now, meeting=row, detail=",".join(changes))
    queued = _tell_people(
        app,
        db,
        row,
        now,
        key=lambda first: OutboxKey.update(first, row.id, row.sequence),
        kind=MailKind.UPDATE,
        calendar="PUBLISH",
        changes=changes,
        previous=previous,
    )
    log.info("meeting id=%s changed (%s): %s updates queued", row.id, ",".join(changes), queued)


def _tell_cancelled(
    app: App, db: Session, row: models.Meeting, current: dict[str, object], now: dt.datetime
) -> None:
    row.sequence += 1
    row.announced = current
    queries.record_event(db, EventKind.MEETING_CANCELLED, now, meeting=row)
    queries.cancel_pending_about(db, row, _NOT_OWED_WHEN_CANCELLED)
    queued = _tell_people(
        app,
        db,
        row,
        now,
        key=lambda first: OutboxKey.meeting_cancelled(first, row.id, row.sequence),
        kind=MailKind.MEETING_CANCELLED,
        calendar="CANCEL",
    )
    log.info("meeting id=%s cancelled: %s cancellations queued", row.id, queued)


def _tell_people(
    app: App,
    db: Session,
    row: models.Meeting,
    now: dt.datetime,
    *,
    key: Callable[[int], OutboxKey],  # the key of the mail to the address of this first member
    kind: MailKind,
    calendar: str,
    changes: Sequence[str] = (),
    previous: MeetingDetails | None = None,
) -> int:
    """One mail per address to the people registered (with the .ics `calendar` says) and to those waiting
    (without: they have no event yet). Addresses that bounced are left out. Returns how many were queued."""
    registered = agenda.registered_for(db, row)
    waiting = [registration.member for registration in agenda.waiting_for(db, row)]
    members = {m.id: m for m in [*registered, *waiting] if not m.undeliverable}
    told = [_Told(m.id, False) for m in registered] + [_Told(m.id, True) for m in waiting]
    told = [item for item in told if item.member_id in members]
    address_of = {member_id: member.email for member_id, member in members.items()}
    queued = 0
    for mail in reminders.by_address(told, address_of, group=lambda item: item.waiting):
        people, waits = [members[item.member_id] for item in mail], mail[0].waiting
        made = queue_member_mail(
            app,
            db,
            people,
            row,
            key(people[0].id),
            now,
            kind=kind,
            calendar=None if waits else calendar,
            waiting=waits,
            changes=tuple(changes),
            previous=previous,
            expires_at=row.starts_at,  # worth nothing once the meeting would have begun
        )
        queued += made is not None
    return queued
