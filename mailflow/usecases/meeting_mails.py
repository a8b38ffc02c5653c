"""The jobs that write to the people of a meeting on the clock: the invitation to every member not registered
for it, and the reminders to those registered.

Both gather the database state, ask the pure core (reminders.due_invitations, reminders.due_reminders) what
is due at `now`, make one mail per address (`reminders.by_address`: two people sharing one address get one
mail naming both), and queue it under a key that makes it happen once, ever: OutboxKey.invitation (member,
meeting) and OutboxKey.reminder (member, meeting date, days before), the first member's id standing for the
mail. What was done is read back from the members each queued mail names, so a second person who joins at
a shared address later still gets their own.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from mailflow.adapters.db import agenda, models, queries
from mailflow.core import reminders
from mailflow.core.vocabulary import EventKind, MailKind, OutboxKey, OutboxStatus
from mailflow.usecases.context import App
from mailflow.usecases.outgoing import queue_mail, queue_member_mail

log = logging.getLogger(__name__)


def reminder_settings(app: App) -> reminders.ReminderSettings:
    r = app.config.reminders
    return reminders.ReminderSettings(days_before=r.days_before, at=r.at, grace=r.grace)


def _member_states(members: dict[int, models.Member]) -> list[reminders.MemberState]:
    return [reminders.MemberState(m.id, m.status, m.undeliverable, m.created_at) for m in members.values()]


def _registrations(db: Session, meetings: list[models.Meeting]) -> dict[tuple[int, dt.date], str]:
    dates = {m.id: m.date for m in meetings}
    return {
        (member, dates[meeting]): status for member, meeting, status in agenda.registrations_at(db, meetings)
    }


def queue_due_invitations(app: App, now: dt.datetime) -> dict[str, int]:
    """Queue the invitations owed at `now`: one per address and meeting, naming the members there.

    Returns counts: {"queued": mails, "invited": members}.
    """
    settings, tz = app.config.invitations, app.config.network.timezone
    horizon = now + dt.timedelta(days=settings.days_before + 1)  # later meetings owe nothing yet
    counts = {"queued": 0, "invited": 0}
    with app.sessions.begin() as db:
        meetings = agenda.meetings_starting(db, now, horizon)
        if not meetings:
            return counts
        members = {m.id: m for m in queries.active_members(db)}
        due = reminders.due_invitations(
            meetings=[reminders.MeetingSlot(m.date, m.starts_at) for m in meetings],
            members=_member_states(members),
            registrations=_registrations(db, meetings),
            done=queries.members_mailed(db, MailKind.INVITATION, meetings),
            now=now,
            days_before=settings.days_before,
            at=settings.at,
            tz=tz,
        )
        by_date = {m.date: m for m in meetings}
        address_of = {m.id: m.email for m in members.values()}
        for mail in reminders.by_address(due, address_of, group=lambda item: item.meeting_date):
            people = [members[item.member_id] for item in mail]
            meeting = by_date[mail[0].meeting_date]
            row = queue_member_mail(
                app,
                db,
                people,
                meeting,
                OutboxKey.invitation(people[0].id, meeting.id),
                now,
                kind=MailKind.INVITATION,
                expires_at=meeting.starts_at,
            )
            if row is not None:
                counts["queued"] += 1
                counts["invited"] += len(people)
                queries.record_event(db, EventKind.INVITED, now, meeting=meeting, detail=str(len(people)))
    if counts["queued"]:
        log.info("invitations: %s queued for %s members", counts["queued"], counts["invited"])
    return counts


def queue_due_reminders(app: App, now: dt.datetime) -> dict[str, int]:
    """Queue every reminder that has fallen due, one per address; record the ones that can no longer go as
    missed.

    Returns counts: {"queued": n, "missed": m}.
    """
    settings = reminder_settings(app)
    # A meeting further away than the earliest offset (plus a day for the zone) has nothing due yet.
    horizon = now + dt.timedelta(days=max(settings.days_before) + 1)
    counts = {"queued": 0, "missed": 0}
    with app.sessions.begin() as db:
        meetings = agenda.meetings_starting(db, now, horizon)
        if not meetings:
            return counts
        members = {m.id: m for m in queries.active_members(db)}
        due = reminders.due_reminders(
            meetings=[reminders.MeetingSlot(m.date, m.starts_at) for m in meetings],
            members=_member_states(members),
            registrations=_registrations(db, meetings),
            done=queries.reminders_done(db, [m.date for m in meetings]),
            now=now,
            settings=settings,
            tz=app.config.network.timezone,
        )
        by_date = {m.date: m for m in meetings}
        address_of = {m.id: m.email for m in members.values()}
        group = lambda item: (item.meeting_date, item.days_before, item.action)
        for mail in reminders.by_address(due, address_of, group):
            people, first = [members[item.member_id] for item in mail], mail[0]
            meeting = by_date[first.meeting_date]
            key = OutboxKey.reminder(people[0].id, meeting.date, first.days_before)
            if first.action == "missed":
                row = queue_mail(
                    app,
                    db,
                    None,
                    key=key,
                    kind=MailKind.REMINDER,
                    recipient=people[0].email,
                    now=now,
                    expires_at=meeting.starts_at,
                    member=people[0],
                    meeting=meeting,
                    about=people,
                    status=OutboxStatus.MISSED,
                )
                if row is not None:
                    row.last_error = "fell due while mailflow was not running"
                    counts["missed"] += 1
                continue
            # A reminder is worth nothing once its meeting has started: it expires then.
            row = queue_member_mail(
                app,
                db,
                people,
                meeting,
                key,
                now,
                kind=MailKind.REMINDER,
                days_before=first.days_before,
                expires_at=meeting.starts_at,
            )
            counts["queued"] += row is not None
    if any(counts.values()):
        log.info("reminders: %s queued, %s missed", counts["queued"], counts["missed"])
    return counts
