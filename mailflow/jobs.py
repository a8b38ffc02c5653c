"""The use cases: read the inbox and act on each mail, send the outbox. This is where the shell calls the pure core.

Order matters: a mail's meaning (members, attendance, the reply) is committed in one transaction before the mail is
moved on the server, and replies leave only from the outbox, so a crash at any point repeats work but never loses it
and never answers twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import jinja2
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.exc import SQLAlchemyError

from mailflow import compose, faults, limits, privacy, render, store
from mailflow.config import Config, Meeting as MeetingConfig
from mailflow.errors import MailflowError, StoreError
from mailflow.inbox import Fetched, Inbox
from mailflow.outbox import SmtpOutbox
from mailflow.parsing import Intent, ParseContext, ParsedMessage, Person, parse_message
from mailflow.parsing.bounce import failed_recipients
from mailflow.parsing.result import UNSURE

log = logging.getLogger(__name__)

# Mail mailflow starts on its own to a member; it stops when they leave (replies to their own mails do not).
MEMBER_MAIL_KINDS = ("reminder", "promoted")
MAX_ATTEMPTS = 3  # a mail that makes processing fail this often is quarantined for a human
REPLY_LIFETIME = dt.timedelta(days=5)  # a confirmation that could not go out in 5 days is stale
RETRY_FIRST, RETRY_MAX = dt.timedelta(minutes=1), dt.timedelta(hours=1)


@dataclass
class App:
    """The wired parts one process works with."""

    config: Config
    sessions: sessionmaker[Session]
    templates: jinja2.Environment
    context: ParseContext
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def message_domain(self) -> str:
        return self.config.network.signup_address.rpartition("@")[2]

    @property
    def sender(self) -> str:
        """The From address of every mail mailflow sends."""
        smtp = self.config.smtp
        return smtp.sender if smtp else self.config.network.signup_address

    def close(self) -> None:
        store.close_database(self.sessions)

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class Outcome:
    """What became of one mail, for the log and the caller's counts."""

    status: str  # processed | review | quarantined | skipped
    destination: str | None  # folder to move it to, None to leave it where it is
    replies: int = 0


# --- meetings ----------------------------------------------------------------------------------------------------


def sync_meetings(app: App) -> None:
    """Write the configured meetings into the database, so attendance can point at them."""
    tz, start = app.config.network.timezone, app.config.venue.start
    rows = [
        (m.date, dt.datetime.combine(m.date, start, tzinfo=tz), m.theme, m.speakers, m.place, m.capacity)
        for m in app.config.meetings
    ]
    with app.sessions.begin() as db:
        store.sync_meetings(db, rows)


def meeting_details(app: App, meeting: store.Meeting | None) -> render.MeetingDetails | None:
    if meeting is None:
        return None
    configured = {m.date: m for m in app.config.meetings}.get(meeting.date) or MeetingConfig(
        meeting.date, meeting.theme, tuple(meeting.speakers), meeting.place, meeting.capacity
    )
    return render.meeting_details(configured, app.config.venue, app.config.network)


# --- reading the inbox ---------------------------------------------------------------------------------------------


def process_inbox(app: App, inbox: Inbox, now: dt.datetime) -> dict[str, int]:
    """Fetch the new mail of the signup folder and act on each. Returns counts by outcome.

    Raises MailboxError or StoreError when the server or the database is gone; what was committed stays done.
    """
    imap = app.config.imap
    assert imap is not None
    inbox.ensure_folders()
    uidvalidity, uidnext = inbox.select()
    first_uid, since = _reading_position(app, imap.folder, uidvalidity, uidnext, now)
    uids = inbox.search_uids(first_uid, since.astimezone(app.config.network.timezone).date() if since else None)
    counts: dict[str, int] = {}
    for batch in inbox.fetch(uids, uidvalidity):
        faults.checkpoint("after_fetch")
        done: list[tuple[Fetched, Outcome]] = []
        with app.sessions.begin() as db:  # one commit per batch; each mail in a savepoint of its own
            for fetched in batch:
                if app.stop.is_set():
                    break
                if since is not None and fetched.internaldate is not None and fetched.internaldate < since:
                    continue  # older than mailflow's start on this mailbox: not ours to answer
                done.append((fetched, handle(app, db, fetched, now)))
        faults.checkpoint("after_commit")
        # Committed: only now may the server be told (a crash before this line is a harmless re-fetch).
        moves: dict[str, list[int]] = {}
        for fetched, outcome in done:
            if outcome.destination is not None:
                moves.setdefault(outcome.destination, []).append(fetched.uid)
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            log.info("uid=%s %s%s", fetched.uid, outcome.status,
                     f" -> {outcome.destination}" if outcome.destination else "")
        for folder, moved_uids in moves.items():
            faults.checkpoint("before_move")
            inbox.move(moved_uids, folder)
            with app.sessions.begin() as db:
                store.mark_moved(db, imap.folder, uidvalidity, moved_uids)
        if app.stop.is_set():
            break
    with app.sessions.begin() as db:
        state = store.get_mailbox_state(db, imap.folder)
        if state is not None and uids:
            state.last_uid = max(state.last_uid, max(uids))
    privacy.forget_erased(app, inbox)
    return counts


def _reading_position(app: App, mailbox: str, uidvalidity: int, uidnext: int,
                      now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """Where reading starts: (first UID, and an arrival time before which mail is left alone, or None).

    On the first start, mail already in the folder is old mail and is not answered, unless [imap] since says from
    when to answer. When UIDVALIDITY changes (RFC 3501: the folder was recreated), UIDs mean nothing any more: read
    the whole folder again, leave alone what arrived before mailflow's first start, and recognise mail seen before
    by its bytes.
    """
    imap = app.config.imap
    assert imap is not None
    with app.sessions.begin() as db:
        state = store.get_mailbox_state(db, mailbox)
        if state is None:
            since = None
            if imap.since is not None:
                since = dt.datetime.combine(imap.since, dt.time(0), tzinfo=app.config.network.timezone)
            state = store.MailboxState(mailbox=mailbox, uidvalidity=uidvalidity, first_uid=1 if since else uidnext,
                                       last_uid=0, since=since, started_at=now)
            db.add(state)
            log.info("first start on this mailbox: answering mail from uid %s on", state.first_uid)
        elif state.uidvalidity != uidvalidity:
            log.warning("UIDVALIDITY of the signup folder changed: reading it again, skipping mail already seen")
            store.record_event(db, "uidvalidity_changed", now)
            state.uidvalidity, state.first_uid, state.last_uid = uidvalidity, 1, 0
            state.since = state.since or state.started_at
        # INTERNALDATE has whole seconds: a mail of the very second mailflow started is not old.
        return state.first_uid, state.since.replace(microsecond=0) if state.since else None


def handle(app: App, db: Session, fetched: Fetched, now: dt.datetime) -> Outcome:
    """Understand one mail and record what it means, in a savepoint of the caller's transaction.

    Never raises for a bad mail (it is counted, and quarantined after MAX_ATTEMPTS); raises StoreError when the
    database is gone, so that nothing is moved on the server.
    """
    digest = store.sha256(fetched.raw) if fetched.raw is not None else store.sha256(
        f"oversize {fetched.mailbox} {fetched.uidvalidity} {fetched.uid}".encode())
    try:
        with db.begin_nested():
            known = store.find_inbound(db, fetched.mailbox, fetched.uidvalidity, fetched.uid, digest)
            if known is not None and known.status != "failed":
                # Seen before (a crash before the move, or the same bytes again): never a second reply.
                same_place = (known.uid, known.uidvalidity) == (fetched.uid, fetched.uidvalidity)
                return Outcome("skipped", None if known.moved and same_place else known.destination)
            row = known or store.InboundMessage(
                mailbox=fetched.mailbox, uidvalidity=fetched.uidvalidity, uid=fetched.uid, sha256=digest,
                size=fetched.size, attempts=0, moved=False, received_at=fetched.internaldate or now,
                status="processed")
            db.add(row)
            return ingest(app, db, row, fetched, now)
    except SQLAlchemyError as exc:
        if _database_unreachable(exc):
            raise StoreError(f"database: {store.short_error(exc)}") from exc
        return _record_failure(app, db, fetched, digest, now, exc)
    except MailflowError:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad mail must not stop the batch
        return _record_failure(app, db, fetched, digest, now, exc)


def ingest(app: App, db: Session, row: store.InboundMessage, fetched: Fetched, now: dt.datetime) -> Outcome:
    """Act on one new mail inside the caller's transaction; returns where the mail goes."""
    imap = app.config.imap
    assert imap is not None
    row.processed_at = now
    if fetched.raw is None:
        return _to_review(row, fetched, "quarantined", f"larger than {imap.max_message_bytes} bytes; not downloaded",
                          imap.review_folder, db, now)
    parsed = parse_message(fetched.raw, app.context)
    row.intent, row.message_id, row.sender = str(parsed.intent), parsed.message_id, parsed.sender
    row.reason = "; ".join(parsed.reasons)[:500] or None

    if parsed.sender is not None and _is_own_mail(app, parsed):
        # Our own mail come back (a copy, or a loop through an autoresponder): never answered.
        row.status, row.destination, row.reason = "processed", imap.processed_folder, "our own mail"
        return Outcome("processed", row.destination)
    if parsed.intent in (Intent.AUTO_REPLY, Intent.BOUNCE):
        # RFC 3834: never answer an automatic message.
        if parsed.intent is Intent.BOUNCE:
            _record_bounce(db, fetched.raw, row, now)
        row.status, row.destination = "processed", imap.processed_folder
        return Outcome("processed", row.destination)
    if parsed.sender is not None:
        store.heard_from(db, parsed.sender, now)  # retention counts from a person's last word
    if not parsed.intent.answered:
        return _to_review(row, fetched, "review", row.reason or f"{parsed.intent}", imap.review_folder, db, now)
    if parsed.sender is None:
        reason = row.reason or "no single sender address to answer"  # parsing says why first: "ambiguous From: ..."
        return _to_review(row, fetched, "review", reason, imap.review_folder, db, now)

    db.flush()  # the row's id keys the reply
    replies = ACTIONS[parsed.intent](app, db, row, parsed, now)
    if parsed.intent is Intent.ERASE:
        # Filed nowhere and kept for no one: privacy.forget_erased deletes it with every copy of their mail.
        row.status, row.destination = "processed", None
        return Outcome("processed", None, replies)
    if parsed.has_question or parsed.unsure:
        reason = "also asks a question" if parsed.has_question else "unsure reading: " + (row.reason or "check names")
        outcome = _to_review(row, fetched, "review", reason, imap.review_folder, db, now)
        outcome.replies = replies
        return outcome
    row.status, row.destination = "processed", imap.processed_folder
    return Outcome("processed", row.destination, replies)


def _record_bounce(db: Session, raw: bytes, row: store.InboundMessage, now: dt.datetime) -> None:
    """A bounce: members at the failed address get no more reminders (they would bounce too); the digest says so."""
    members = [m for address in failed_recipients(raw) for m in store.members_at(db, address)]
    for member in members:
        member.undeliverable = True
        store.record_event(db, "bounce", now, member=member, inbound=row)
    if not members:
        store.record_event(db, "bounce", now, inbound=row)


def _to_review(row: store.InboundMessage, fetched: Fetched, status: str, reason: str, folder: str, db: Session,
               now: dt.datetime) -> Outcome:
    # A human will look at this mail: keep its bytes (until retention removes them) and list it in the digest.
    row.status, row.destination, row.reason, row.raw = status, folder, reason[:500], fetched.raw
    store.record_event(db, status, now, inbound=row, detail=reason[:500])
    return Outcome(status, folder)


def _is_own_mail(app: App, parsed: ParsedMessage) -> bool:
    own_id = parsed.message_id is not None and parsed.message_id.rstrip(">").endswith("@" + app.message_domain)
    return parsed.sender in app.context.own_addresses or own_id


def _record_failure(app: App, db: Session, fetched: Fetched, digest: str, now: dt.datetime,
                    exc: Exception) -> Outcome:
    """Count a failed attempt at a mail; after MAX_ATTEMPTS it goes to the review folder with the reason."""
    imap = app.config.imap
    assert imap is not None
    reason = f"processing failed: {type(exc).__name__}"
    # The traceback only at debug level: a library's message may quote the mail.
    log.error("uid=%s %s", fetched.uid, reason, exc_info=log.isEnabledFor(logging.DEBUG))
    with db.begin_nested():
        row = store.find_inbound(db, fetched.mailbox, fetched.uidvalidity, fetched.uid, digest)
        if row is None:
            row = store.InboundMessage(mailbox=fetched.mailbox, uidvalidity=fetched.uidvalidity, uid=fetched.uid,
                                       sha256=digest, size=fetched.size, attempts=0, moved=False,
                                       received_at=fetched.internaldate or now, status="failed")
            db.add(row)
        row.attempts += 1
        row.reason = reason
        if row.attempts < MAX_ATTEMPTS:
            row.status = "failed"
            return Outcome("failed", None)
        return _to_review(row, fetched, "quarantined", f"{reason} {row.attempts} times", imap.review_folder, db, now)


def _database_unreachable(exc: SQLAlchemyError) -> bool:
    from sqlalchemy.exc import DBAPIError, OperationalError

    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


# --- what each intent does -----------------------------------------------------------------------------------------


def register(app: App, db: Session, row: store.InboundMessage, parsed: ParsedMessage, now: dt.datetime) -> int:
    """Add or update everyone the mail registers; confirm with the practical details of their first meeting.

    When that meeting is full the people in the mail go on its waiting list together (a group that came as one
    is not split) and are told so.
    """
    assert parsed.sender is not None
    named = store.meeting_on(db, parsed.meeting_date) if parsed.meeting_date else None
    if named is not None and named.starts_at <= now:
        named = None  # a meeting in the past cannot be attended; the next one is meant
    meeting = named or store.next_meeting(db, now)
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
            store.set_attendance(db, member, meeting, status, now)
        if status == "waiting":
            store.record_event(db, "waiting", now, member=members[0], meeting=meeting, detail=f"{len(members)}")
    return _reply(app, db, row, parsed, "waitlist" if status == "waiting" else "register", members, meeting, now)


def _place_for(db: Session, members: list[store.Member], meeting: store.Meeting) -> str:
    """"registered" if the meeting has room for these members (or they have their place already), else "waiting"."""
    if meeting.capacity is None:
        return "registered"
    ours = [m.id for m in members]
    current = db.scalars(sa.select(store.Attendance.status).where(
        store.Attendance.meeting_id == meeting.id, store.Attendance.member_id.in_(ours))).all()
    if current.count("registered") == len(members):
        return "registered"
    others = store.expected_count(db, meeting, leaving_out=ours)
    return "registered" if others + len(members) <= meeting.capacity else "waiting"


def cancel(app: App, db: Session, row: store.InboundMessage, parsed: ParsedMessage, now: dt.datetime) -> int:
    """Excuse the people named (else the sender) from the named meeting, else the next one; their place goes to
    the first on the waiting list, and their remaining reminders for it are not sent."""
    named = store.meeting_on(db, parsed.meeting_date) if parsed.meeting_date else None
    meeting = named if named is not None and named.starts_at > now else store.next_meeting(db, now)
    members = _members_meant(db, parsed)
    for member in members:
        member.last_heard_at = now
        if meeting is not None:
            store.set_attendance(db, member, meeting, "excused", now)
            store.cancel_pending(db, member, ("reminder",), key_prefix=f"reminder:{member.id}:{meeting.date}:")
        store.record_event(db, "cancel", now, member=member, meeting=meeting)
    if not members:
        store.record_event(db, "cancel_unknown", now, inbound=row, meeting=meeting)
    replies = _reply(app, db, row, parsed, "cancel", members, meeting, now)
    if meeting is not None and members:
        replies += fill_places(app, db, meeting, now)
    return replies


def unsubscribe(app: App, db: Session, row: store.InboundMessage, parsed: ParsedMessage, now: dt.datetime) -> int:
    """The sender (or the people named) leave the network: no more mail after this confirmation."""
    members = _members_meant(db, parsed)
    for member in members:
        member.status, member.left_at, member.last_heard_at = "left", now, now
        store.cancel_pending(db, member, MEMBER_MAIL_KINDS)
        store.record_event(db, "left", now, member=member)
    replies = _reply(app, db, row, parsed, "unsubscribe", members, None, now)
    return replies + _fill_all_places(app, db, now)


def erase(app: App, db: Session, row: store.InboundMessage, parsed: ParsedMessage, now: dt.datetime) -> int:
    """Delete everything about the sender; only a count remains. The confirmation is the last mail they get."""
    assert parsed.sender is not None
    replies = _reply(app, db, row, parsed, "erase", (), None, now)
    forget(db, parsed.sender, now, keep_inbound_id=row.id)
    row.message_id = None  # the sender stays until privacy.forget_erased has deleted their mail in the mailbox
    return replies + _fill_all_places(app, db, now)


def fill_places(app: App, db: Session, meeting: store.Meeting, now: dt.datetime) -> int:
    """Give the free places of a meeting to the first on its waiting list, each with a mail saying so.

    Returns how many mails were queued.
    """
    if meeting.capacity is None or meeting.starts_at <= now:
        return 0
    db.flush()
    free = meeting.capacity - store.expected_count(db, meeting)
    queued = 0
    for attendance in store.waiting_for(db, meeting)[:max(free, 0)]:
        attendance.status, attendance.updated_at = "registered", now
        member = attendance.member
        store.record_event(db, "promoted", now, member=member, meeting=meeting)
        message_id = compose.new_message_id(app.message_domain)
        message = render.render_promotion(
            app.templates, member_name=member.name, to_address=member.email, language=member.language,
            meeting=meeting_details(app, meeting), network=app.config.network, sender=app.sender,
            message_id=message_id, now=now)
        queued += store.enqueue(
            db, key=f"promoted:{member.id}:{meeting.date}", kind="promoted", recipient=member.email,
            message_id=message_id, raw=compose.message_bytes(message), now=now, expires_at=meeting.starts_at,
            member=member) is not None
    return queued


def _fill_all_places(app: App, db: Session, now: dt.datetime) -> int:
    """After someone left: the places they held at every coming meeting with a capacity."""
    coming = db.scalars(sa.select(store.Meeting).where(store.Meeting.starts_at > now,
                                                        store.Meeting.capacity.is_not(None)))
    return sum(fill_places(app, db, meeting, now) for meeting in coming)


def forget(db: Session, address: str, now: dt.datetime, keep_inbound_id: int | None = None) -> int:
    """Delete the members at an address with their attendance, events, stored mail and unsent mail.

    Returns how many members were deleted. Shared by the erase intent and `mailflow forget`.
    """
    address = address.lower()
    members = store.members_at(db, address)
    for member in members:
        db.delete(member)
    db.execute(sa.delete(store.OutboxMessage).where(
        store.OutboxMessage.recipient == address, store.OutboxMessage.kind != "erase"))
    privacy.forget_in_outbox(db, address)
    inbound = sa.select(store.InboundMessage.id).where(store.InboundMessage.sender == address)
    if keep_inbound_id is not None:
        inbound = inbound.where(store.InboundMessage.id != keep_inbound_id)
    db.execute(sa.delete(store.Event).where(store.Event.inbound_id.in_(inbound)))
    db.execute(sa.delete(store.InboundMessage).where(store.InboundMessage.id.in_(inbound)))
    store.record_event(db, "erased", now, detail=f"{len(members)} member(s)")
    return len(members)


ACTIONS: dict[Intent, Callable[[App, Session, store.InboundMessage, ParsedMessage, dt.datetime], int]] = {
    Intent.REGISTER: register,
    Intent.CANCEL: cancel,
    Intent.UNSUBSCRIBE: unsubscribe,
    Intent.ERASE: erase,
}


def _find_or_create_member(db: Session, person: Person, parsed: ParsedMessage, now: dt.datetime) -> store.Member:
    assert parsed.sender is not None
    email = (person.email or parsed.sender).lower()
    key = store.name_key(person.name)
    at_address = store.members_at(db, email)
    same_name = [m for m in at_address if m.name_key == key]
    if same_name:
        member = same_name[0]
    elif len(at_address) == 1 and email != parsed.sender and person.email:
        member = at_address[0]  # the person's own address: a new spelling of the same person
    elif len(at_address) == 1 and email == parsed.sender and len(parsed.people) <= 1:
        member = at_address[0]  # someone writing again about themselves, perhaps spelling their name otherwise
    else:
        member = store.Member(email=email, created_at=now, status="active", undeliverable=False)
        db.add(member)
        store.record_event(db, "registered", now, member=member)
    member.name, member.name_key = person.name, key
    member.organisation = person.organisation
    member.unsure = person.confidence < UNSURE or parsed.confidence < UNSURE
    return member


def _members_meant(db: Session, parsed: ParsedMessage) -> list[store.Member]:
    """The members a cancel or unsubscribe is about: those it names, else everyone at the sender's address."""
    assert parsed.sender is not None
    meant: list[store.Member] = []
    for person in parsed.people:
        keys = store.name_key(person.name)
        candidates = store.members_at(db, (person.email or parsed.sender).lower())
        meant += [m for m in candidates if m.name_key == keys and m not in meant]
    return meant or store.members_at(db, parsed.sender)


def _reply(app: App, db: Session, row: store.InboundMessage, parsed: ParsedMessage, kind: str,
           members: list[store.Member] | tuple[()], meeting: store.Meeting | None, now: dt.datetime) -> int:
    """Render the reply to this mail and queue it in the outbox, keyed on the mail so it is queued once.

    Returns 1 when a reply was queued (to be sent, or held over a limit), 0 when none was.
    """
    assert parsed.sender is not None
    people = tuple(Person(name=m.name, organisation=m.organisation) for m in members) or parsed.people
    reply = render.Reply(
        kind=kind,
        language=parsed.language,
        to_address=parsed.sender,
        to_name=parsed.sender_name,
        people=people,
        meeting=meeting_details(app, meeting),
        unsure=parsed.unsure,
        in_reply_to=parsed.message_id,
        references=parsed.references,
        subject=parsed.subject,
    )
    message_id = compose.new_message_id(app.message_domain)
    message = render.render_reply(app.templates, reply, network=app.config.network, sender=app.sender,
                                  message_id=message_id, now=now)
    raw = compose.message_bytes(message)
    earlier = store.latest_reply(db, render.KINDS, parsed.sender, now - limits.REPEAT_WINDOW)
    if earlier is not None and limits.repeats(raw, earlier.raw):
        # A robot answering our reply with the same words would get the same reply again: the ping-pong ends here.
        row.reason = "not answered: the same reply went to this address less than 24 h ago"
        log.info("inbound id=%s not answered: it would repeat outbox id=%s", row.id, earlier.id)
        return 0
    passed = limits.exceeded(
        app.config.limits,
        to_address=store.count_replies(db, render.KINDS, now - limits.ADDRESS_WINDOW, parsed.sender),
        in_last_hour=store.count_replies(db, render.KINDS, now - limits.HOUR_WINDOW))
    queued = store.enqueue(db, key=f"reply:{row.id}", kind=kind, recipient=parsed.sender, message_id=message_id,
                           raw=raw, now=now, expires_at=now + REPLY_LIFETIME,
                           member=members[0] if members and kind != "erase" else None,
                           status="held" if passed else "pending")
    if queued is not None and passed:
        _hold(app, db, row, queued, passed, now)
    return 1 if queued is not None else 0  # held or not, the reply is in the outbox


def _hold(app: App, db: Session, row: store.InboundMessage, held: store.OutboxMessage, limit: str,
          now: dt.datetime) -> None:
    """Record a reply held over a limit, and tell the coordinator: once a day per limit, however many are held."""
    db.flush()  # the held row's id, for the log and the notice
    store.record_event(db, "held", now, inbound=row, detail=limit)
    key = limits.notice_key(limit, now, app.config.network.timezone)
    if store.queued(db, key):
        log.info("outbox id=%s held: %s reached", held.id, limit)
        return
    log.warning("outbox id=%s held: %s reached; the coordinator is told once today", held.id, limit)
    network = app.config.network
    message_id = compose.new_message_id(app.message_domain)
    notice = render.render_notice(
        app.templates, limit=limit, allowed=getattr(app.config.limits, limit), held_id=held.id, network=network,
        to_address=network.coordinator, sender=app.sender,
        message_id=message_id, now=now)
    store.enqueue(db, key=key, kind="notice", recipient=network.coordinator, message_id=message_id,
                  raw=compose.message_bytes(notice), now=now, expires_at=now + REPLY_LIFETIME)


# --- sending -------------------------------------------------------------------------------------------------------


def send_outbox(app: App, smtp: SmtpOutbox, now: dt.datetime) -> dict[str, int]:
    """Send the outbox rows that are due: 250 marks sent, 5xx failed, 4xx and lost connections retry later.

    Each row is committed on its own, so a crash re-sends at most the one mail in flight, with the same Message-ID.
    """
    sender = smtp.settings.sender
    counts: dict[str, int] = {}
    with app.sessions() as db:
        for row in _due_rows(db, now):
            if app.stop.is_set():
                break
            if row.expires_at is not None and row.expires_at <= now:
                row.status, row.last_error = "expired", "not delivered before it expired"
                store.record_event(db, "delivery_expired", now, member=_member(db, row.member_id), outbox=row)
                db.commit()
                counts["expired"] = counts.get("expired", 0) + 1
                continue
            if smtp.connection is None:
                smtp.connect()  # a refused connection or login leaves every row as it was
            row.attempts += 1
            try:
                smtp.send(row.raw, sender, row.recipient)
            except MailflowError as exc:
                row.last_error = str(exc)[:500]
                permanent = getattr(exc, "permanent", False)
                if permanent:
                    row.status = "failed"
                    store.record_event(db, "delivery_failed", now, member=_member(db, row.member_id),
                                       outbox=row, detail=row.last_error)
                else:
                    row.next_attempt_at = now + min(RETRY_FIRST * 2 ** (row.attempts - 1), RETRY_MAX)
                db.commit()
                status = "failed" if permanent else "deferred"
                counts[status] = counts.get(status, 0) + 1
                log.warning("outbox id=%s %s: %s", row.id, status, row.last_error)
                if not permanent:
                    break  # the server is in trouble: leave the rest for the next round
                continue
            faults.checkpoint("after_250")
            row.status, row.sent_at = "sent", now
            if row.kind == "erase":
                row.raw, row.recipient = b"", ""  # the last trace of an erased person goes once it is sent
            db.commit()
            counts["sent"] = counts.get("sent", 0) + 1
            log.info("outbox id=%s sent %s", row.id, row.message_id)
    return counts


def _due_rows(db: Session, now: dt.datetime) -> Iterator[store.OutboxMessage]:
    """Every due row, a batch at a time; a row that stays pending (deferred) is not offered twice in one pass."""
    seen: set[int] = set()
    while True:
        batch = store.due_outbox(db, now, exclude=seen)
        if not batch:
            return
        for row in batch:
            seen.add(row.id)
            yield row


def _member(db: Session, member_id: int | None) -> store.Member | None:
    return db.get(store.Member, member_id) if member_id is not None else None


# --- one pass ------------------------------------------------------------------------------------------------------


def read_inbox(app: App, inbox: Inbox, clock: Callable[[], dt.datetime]) -> int:
    """Process the new mail on an open inbox; returns how many mails were handled. Raises MailboxError, StoreError."""
    try:
        counts = process_inbox(app, inbox, clock())
    except SQLAlchemyError as exc:  # the database went away mid-pass: nothing uncommitted was moved on the server
        raise StoreError(f"database: {store.short_error(exc)}") from exc
    if counts:
        log.info("inbox: %s", _counts(counts))
    return sum(counts.values())


def send_due(app: App, clock: Callable[[], dt.datetime]) -> None:
    """Open an SMTP session only when the outbox has something due, and send it."""
    now = clock()
    with app.sessions() as db:
        if not store.due_outbox(db, now, limit=1):
            return
    with SmtpOutbox(app.config.require_servers()[1]) as smtp:
        log.info("outbox: %s", _counts(send_outbox(app, smtp, now)))


def run_once(app: App, clock: Callable[[], dt.datetime]) -> bool:
    """One pass of every job: read and answer the inbox, queue what the clock says is due (reminders, the digest),
    send the outbox, apply retention. Returns False when a step failed; the others run all the same."""
    from mailflow import periodic  # builds on this module

    def read() -> None:
        sync_meetings(app)
        with Inbox(app.config.require_servers()[0]) as inbox:
            read_inbox(app, inbox, clock)

    steps: tuple[tuple[str, Callable[[], object]], ...] = (
        ("inbox not read", read),
        ("reminders not queued", lambda: periodic.send_reminders(app, clock())),
        ("digest not queued", lambda: periodic.send_digest(app, clock())),
        ("outbox not sent", lambda: send_due(app, clock)),
    )
    ok = True
    for failure, step in steps:
        try:
            step()
        except (MailflowError, SQLAlchemyError) as exc:
            # The first line only: a driver's message goes on with the statement and its parameters.
            log.error("%s: %s", failure, store.short_error(exc))
            ok = False
    return privacy.retention_if_due(app, clock()) and ok


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing new"
