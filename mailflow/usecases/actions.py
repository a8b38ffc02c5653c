"""What each request does to the members and their registrations: register (with the waiting list), cancel,
unsubscribe, erase, a theme proposed; and giving a freed place to the first on the waiting list.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mailflow.adapters.db import agenda, models, queries, themes
from mailflow.core.parsing import Intent, ParsedMessage, Person
from mailflow.core.vocabulary import (
    MEMBER_MAIL_KINDS,
    EventKind,
    MailKind,
    MeetingStatus,
    MemberStatus,
    OutboxKey,
    RegistrationStatus,
)
from mailflow.usecases.context import App, Thread
from mailflow.usecases.outgoing import queue_member_mail, queue_reply
from mailflow.usecases.people import find_or_create_member, meant_in_thread, members_meant, writer_only
from mailflow.usecases.privacy import forget

# Our mails an answer can be about: those that speak of a meeting or of a member's place in the network.
ANSWERABLE: tuple[MailKind, ...] = (
    MailKind.REGISTER,
    MailKind.WAITLIST,
    MailKind.CANCEL,
    MailKind.UNSUBSCRIBE,
    MailKind.REMINDER,
    MailKind.PROMOTED,
    MailKind.INVITATION,
    MailKind.UPDATE,
    MailKind.MEETING_CANCELLED,
    MailKind.FOLLOWUP,
    MailKind.QUESTION,  # a "thank you" to our acknowledgement asks nothing
)


@dataclass
class Done:
    """What an action made of a mail: replies queued, and whether the mail needs the coordinator."""

    replies: int = 0
    review: str | None = None  # the coordinator should see it: why (never personal data)
    ignored: str | None = None  # nothing of ours to act on: filed unanswered, with this reason


def thread_of(db: Session, parsed: ParsedMessage) -> Thread | None:
    """The mail of ours this mail answers (In-Reply-To / References), with its meeting and its people.

    The people count only when the answer comes from the address we wrote to: a forward's reader who
    answers speaks for themself, not for the members our mail was about.
    """
    mail = queries.answered_mail(db, parsed.references, ANSWERABLE)
    if mail is None:
        return None
    meeting = db.get(models.Meeting, mail.meeting_id) if mail.meeting_id is not None else None
    if meeting is None and mail.kind in (MailKind.REMINDER, MailKind.PROMOTED):
        key = OutboxKey.parse(mail.key)  # rows queued before the outbox named its meeting
        meeting = agenda.meeting_on(db, key.meeting_date) if key.meeting_date else None
    ours = parsed.sender is not None and mail.recipient == parsed.sender
    members = tuple(queries.members_about(db, mail)) if ours else ()
    return Thread(mail.kind, meeting, members)


def _coming(meeting: models.Meeting | None, now: dt.datetime) -> models.Meeting | None:
    """The meeting if one can still register for it or cancel it: confirmed and not started."""
    if meeting is None or meeting.starts_at <= now or meeting.status != MeetingStatus.CONFIRMED:
        return None
    return meeting


def register(
    app: App,
    db: Session,
    row: models.InboundMessage,
    parsed: ParsedMessage,
    now: dt.datetime,
    thread: Thread | None = None,
) -> Done:
    """Add or update everyone the mail registers; confirm with the practical details of their first meeting.

    The meeting is the one the mail names, else the one of the mail it answers, else the next. A day named on
    which no meeting is confirmed is never swapped for another: they become members, the reply names the
    confirmed meetings, and the coordinator sees it. When the meeting is full the people in the mail go on
    its waiting list together (a group that came as one is not split) and are told so.
    """
    assert parsed.sender is not None
    known = queries.members_at(db, parsed.sender)
    if not (known or thread or _about_us(parsed)):
        return Done(review="a registration from an unknown address that names nothing of the network")
    named = _coming(agenda.meeting_on(db, parsed.meeting_date) if parsed.meeting_date else None, now)
    asked = parsed.asked_date if named is None else None
    meeting = None if asked else named or _coming(thread.meeting if thread else None, now)
    meeting = meeting or (None if asked else agenda.next_meeting(db, now))
    notes: list[str] = []
    if thread is not None and thread.members and writer_only(parsed):
        members = meant_in_thread(parsed, thread)  # "ik kom toch" to Bart's mail, from an address shared
    else:
        people = parsed.people or (
            Person(
                name=parsed.sender_name or parsed.sender.split("@")[0], email=parsed.sender, confidence=0.3
            ),
        )
        members = [find_or_create_member(db, person, parsed, now, notes) for person in people]
    for member in members:
        member.status, member.left_at, member.last_heard_at = MemberStatus.ACTIVE, None, now
        if parsed.language_clear or member.id is None:
            member.language = parsed.language
        if member.email == parsed.sender:
            member.undeliverable = False  # they wrote from it: the address takes mail again
    status = _place_for(db, members, meeting) if meeting is not None else RegistrationStatus.REGISTERED
    if meeting is not None:
        for member in members:
            agenda.set_registration(db, member, meeting, status, now)
        if status == RegistrationStatus.WAITING:
            queries.record_event(
                db, EventKind.WAITING, now, member=members[0], meeting=meeting, detail=f"{len(members)}"
            )
    if asked is not None:
        notes.append(f"asks for {asked.isoformat()}: no meeting is confirmed that day")
    kind = MailKind.WAITLIST if status == RegistrationStatus.WAITING else MailKind.REGISTER
    confirmed = tuple(m.date for m in agenda.meetings_starting(db, now, now + dt.timedelta(days=400)))
    replies = queue_reply(
        app,
        db,
        row,
        parsed,
        kind,
        members,
        meeting,
        now,
        language=_language(parsed, members),
        asked=(asked, confirmed) if asked else None,
    )
    return Done(replies, "; ".join(notes) or None)


def _about_us(parsed: ParsedMessage) -> bool:
    """A registration from a stranger counts when it is about this network: it names a meeting, a day, the
    network or its themes, or it was written to our address (not a list's, not a Bcc)."""
    return bool(parsed.meeting_date or parsed.asked_date or parsed.about_network or parsed.addressed_to_us)


def _language(parsed: ParsedMessage, members: list[models.Member] | tuple[()]) -> str:
    """The language of the text when it says enough to tell, else the one the member wrote in before."""
    if parsed.language_clear or not members:
        return parsed.language
    return members[0].language


def _place_for(db: Session, members: list[models.Member], meeting: models.Meeting) -> RegistrationStatus:
    """Registered if the meeting has room for these members (or they have their place), else waiting."""
    if meeting.capacity is None:
        return RegistrationStatus.REGISTERED
    current = agenda.statuses_of(db, meeting, members)
    if current.count(RegistrationStatus.REGISTERED) == len(members):
        return RegistrationStatus.REGISTERED
    free = meeting.capacity - agenda.places_taken(db, meeting, leaving_out=members)
    # Those already waiting come first: a place freed this pass is theirs, never a newcomer's.
    ahead = agenda.waiting_count(db, meeting, leaving_out=members)
    if free - ahead >= len(members):
        return RegistrationStatus.REGISTERED
    return RegistrationStatus.WAITING


def cancel(
    app: App,
    db: Session,
    row: models.InboundMessage,
    parsed: ParsedMessage,
    now: dt.datetime,
    thread: Thread | None = None,
) -> Done:
    """Excuse the people meant from the named meeting, else the one of the mail it answers, else the next;
    their place goes to the first on the waiting list, and their remaining reminders for it are not sent.

    From an address we hold nobody at, nothing happens and nothing is answered. A day named on which no
    meeting is confirmed is never swapped for another: the coordinator decides.
    """
    members = members_meant(db, parsed, thread)
    if not members:
        queries.record_event(db, EventKind.CANCEL_UNKNOWN, now, inbound=row)
        return Done(ignored="not answered: a cancel from an address we hold nobody at")
    named = _coming(agenda.meeting_on(db, parsed.meeting_date) if parsed.meeting_date else None, now)
    if named is None and parsed.asked_date is not None:
        return Done(review=f"cancels {parsed.asked_date.isoformat()}: no meeting is confirmed that day")
    answered = thread.meeting if thread else None
    if named is None and answered is not None and answered.status == MeetingStatus.CANCELLED:
        # "Jammer, dan kan ik niet" to our mail calling the meeting off: nothing is left to cancel
        return Done(ignored="not answered: a cancel in answer to a meeting that was called off")
    meeting = named or _coming(answered, now) or agenda.next_meeting(db, now)
    had_place = meeting is not None and RegistrationStatus.REGISTERED in agenda.statuses_of(
        db, meeting, members
    )
    for member in members:
        member.last_heard_at = now
        if meeting is not None:
            agenda.set_registration(db, member, meeting, RegistrationStatus.CANCELLED, now)
            queries.cancel_pending(
                db, member, (MailKind.REMINDER,), key_like=OutboxKey.reminders_like(meeting.date, member.id)
            )
        queries.record_event(db, EventKind.CANCEL, now, member=member, meeting=meeting)
    replies = queue_reply(
        app,
        db,
        row,
        parsed,
        MailKind.CANCEL,
        members,
        meeting,
        now,
        language=_language(parsed, members),
        calendar_cancel=[meeting] if had_place and meeting is not None else [],
    )
    if meeting is not None:
        replies += fill_places(app, db, meeting, now)
    return Done(replies)


def unsubscribe(
    app: App,
    db: Session,
    row: models.InboundMessage,
    parsed: ParsedMessage,
    now: dt.datetime,
    thread: Thread | None = None,
) -> Done:
    """The people meant leave the network: no more mail after this confirmation. A stranger's
    "unsubscribe" (a newsletter's, a spammer's) leaves nothing to do and is not answered."""
    members = members_meant(db, parsed, thread)
    if not members:
        return Done(ignored="not answered: leaving, from an address we hold nobody at")
    places = _places_held(db, members, now)
    for member in members:
        member.status, member.left_at, member.last_heard_at = MemberStatus.LEFT, now, now
        queries.cancel_pending(db, member, MEMBER_MAIL_KINDS)
        queries.record_event(db, EventKind.LEFT, now, member=member)
    replies = queue_reply(
        app,
        db,
        row,
        parsed,
        MailKind.UNSUBSCRIBE,
        members,
        None,
        now,
        language=_language(parsed, members),
        calendar_cancel=places,
    )
    return Done(replies + _fill_all_places(app, db, now))


def _places_held(db: Session, members: list[models.Member], now: dt.datetime) -> list[models.Meeting]:
    """The coming meetings any of these members has a place at: leaving takes them out of the calendar."""
    coming = agenda.meetings_starting(db, now, now + dt.timedelta(days=400))
    ours = {m.id for m in members}
    held = {
        meeting_id
        for member_id, meeting_id, status in agenda.registrations_at(db, coming)
        if member_id in ours and status == RegistrationStatus.REGISTERED
    }
    return [meeting for meeting in coming if meeting.id in held]


def erase(
    app: App,
    db: Session,
    row: models.InboundMessage,
    parsed: ParsedMessage,
    now: dt.datetime,
    thread: Thread | None = None,
) -> Done:
    """Delete everything about the sender; only a count remains. The confirmation is the last mail they get.

    From an address we hold nothing of there is nothing to erase, and a confirmation would only tell a
    stranger (or a spammer testing addresses) that this mailbox answers: not answered, filed.
    """
    assert parsed.sender is not None
    if not queries.holds_anything_of(db, parsed.sender, leaving_out_inbound=row.id):
        return Done(ignored="not answered: erase, from an address we hold nothing of")
    language = _language(parsed, queries.members_at(db, parsed.sender))
    replies = queue_reply(app, db, row, parsed, MailKind.ERASE, (), None, now, language=language)
    forget(db, parsed.sender, now, keep_inbound_id=row.id)
    row.message_id = (
        None  # the sender stays until privacy.forget_erased has deleted their mail in the mailbox
    )
    return Done(replies + _fill_all_places(app, db, now))


def question(
    app: App,
    db: Session,
    row: models.InboundMessage,
    parsed: ParsedMessage,
    now: dt.datetime,
    thread: Thread | None = None,
) -> Done:
    """A question mailflow cannot answer: the sender hears that it went to the coordinator (a reply like any
    other, under the same limits), and the mail waits in review. A stranger's question about nothing of
    ours (often spam) is not acknowledged: it only waits in review."""
    assert parsed.sender is not None
    known = queries.members_at(db, parsed.sender)
    review = "a question for the coordinator"
    if not (known or thread or _about_us(parsed)):
        return Done(review=review)
    language = _language(parsed, known)
    replies = queue_reply(app, db, row, parsed, MailKind.QUESTION, (), None, now, language=language)
    return Done(replies, review=review)


def fill_places(app: App, db: Session, meeting: models.Meeting, now: dt.datetime) -> int:
    """Give the free places of a meeting to the first on its waiting list, each with a mail saying so.

    Returns how many mails were queued.
    """
    if meeting.capacity is None or meeting.starts_at <= now:
        return 0
    db.flush()
    free = meeting.capacity - agenda.places_taken(db, meeting)
    queued = 0
    for attendance in agenda.waiting_for(db, meeting, limit=free):
        attendance.status, attendance.updated_at = RegistrationStatus.REGISTERED, now
        member = attendance.member
        queries.record_event(db, EventKind.PROMOTED, now, member=member, meeting=meeting)
        promoted = queue_member_mail(
            app,
            db,
            [member],
            meeting,
            OutboxKey.promoted(member.id, meeting.date),
            now,
            kind=MailKind.PROMOTED,
            expires_at=meeting.starts_at,
        )
        queued += promoted is not None
    return queued


def _fill_all_places(app: App, db: Session, now: dt.datetime) -> int:
    """After someone left: the places they held at every coming meeting with a capacity."""
    coming = agenda.coming_meetings_with_capacity(db, now)
    return sum(fill_places(app, db, meeting, now) for meeting in coming)


def fill_free_places(app: App, now: dt.datetime) -> int:
    """The job behind every pass: places that came free without a mail (the coordinator raised a capacity,
    a member was forgotten) go to the first waiting. Returns how many mails were queued."""
    with app.sessions.begin() as db:
        return _fill_all_places(app, db, now)


Action = Callable[[App, Session, models.InboundMessage, ParsedMessage, dt.datetime, Thread | None], Done]


# --- themes the group proposes ------------------------------------------------------------------------------

STRANGER_PROPOSES = "a theme proposed from an address we hold nobody at: nothing kept, not answered"


def propose(
    app: App,
    db: Session,
    row: models.InboundMessage,
    parsed: ParsedMessage,
    now: dt.datetime,
    thread: Thread | None = None,
) -> Done:
    """Keep the theme a member proposes for a coming meeting, for the digest and `mailflow themes`, and
    thank them once (the reply is keyed on the mail, as every reply).

    From an address we hold nobody at, nothing is kept and nothing is answered: the mail waits in review,
    where the coordinator decides (privacy stays simple: a proposal always belongs to a member).
    """
    proposer = _proposer(db, parsed, thread)
    if proposer is None:
        return Done(review=STRANGER_PROPOSES)
    theme = parsed.extra.get("theme") or parsed.subject or "?"
    themes.add_proposal(db, proposer, row, theme, now)
    queries.record_event(db, EventKind.THEME_PROPOSED, now, member=proposer, inbound=row)
    replies = queue_reply(
        app,
        db,
        row,
        parsed,
        MailKind.PROPOSE,
        [proposer],
        None,
        now,
        language=_language(parsed, [proposer]),
        theme=theme,
    )
    return Done(replies)


def _proposer(db: Session, parsed: ParsedMessage, thread: Thread | None) -> models.Member | None:
    """The member who wrote: the one our answered mail was about, else the one at the sender's address whose
    name the From header gives, else the first there; None from an address we hold nobody at."""
    assert parsed.sender is not None
    if thread is not None and thread.members and writer_only(parsed):
        members = list(thread.members)
    else:
        members = queries.members_at(db, parsed.sender)
    by_name = [m for m in members if m.name_key == queries.name_key(parsed.sender_name or "")]
    return next(iter(by_name or members), None)


def _keeping_theme(action: Action) -> Action:
    """The action, and the theme the mail also proposes kept as a proposal of its writer. The mail's one
    answer is the action's own; a writer who is no member leaves the mail for the coordinator to read."""

    @functools.wraps(action)
    def act(
        app: App,
        db: Session,
        row: models.InboundMessage,
        parsed: ParsedMessage,
        now: dt.datetime,
        thread: Thread | None = None,
    ) -> Done:
        done = action(app, db, row, parsed, now, thread)
        theme = parsed.extra.get("theme")
        if not theme:
            return done
        db.flush()
        proposer = _proposer(db, parsed, thread)
        if proposer is None:
            note = "also proposes a theme; the writer is no member, so it was not kept"
            done.review = "; ".join(filter(None, (done.review, note)))
            done.ignored = None  # a human reads the theme rather than it being filed unread
            return done
        themes.add_proposal(db, proposer, row, theme, now)
        queries.record_event(db, EventKind.THEME_PROPOSED, now, member=proposer, inbound=row)
        return done

    return act


ACTIONS: dict[Intent, Action] = {
    Intent.REGISTER: _keeping_theme(register),
    Intent.CANCEL: _keeping_theme(cancel),
    Intent.UNSUBSCRIBE: unsubscribe,
    Intent.ERASE: erase,
    Intent.PROPOSE: propose,
    Intent.QUESTION: question,
}
