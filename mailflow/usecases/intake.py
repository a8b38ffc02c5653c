"""Reading the inbox: fetch the new mail, understand each, record what it means, then file it on the server.

Order matters: a mail's meaning (members, attendance, the reply) is committed in one transaction before the
mail is moved on the server, and replies leave only from the outbox, so a crash at any point repeats work but
never loses it and never answers twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mailflow.adapters.db import batch, models, queries
from mailflow.adapters.db.engine import short_error
from mailflow.adapters.imap import Fetched, Inbox
from mailflow.core.parsing import Intent, ParsedMessage, parse_message
from mailflow.core.parsing.bounce import failed_recipients
from mailflow.core.vocabulary import SKIPPED, EventKind, InboundStatus, OutboxKey
from mailflow.errors import MailflowError, StoreError
from mailflow.usecases import faults, privacy
from mailflow.usecases.actions import ACTIONS, thread_of
from mailflow.usecases.context import App, _counts

log = logging.getLogger(__name__)


MAX_ATTEMPTS = 3  # a mail that makes processing fail this often is quarantined for a human


@dataclass
class Outcome:
    """What became of one mail, for the log and the caller's counts."""

    status: str  # an InboundStatus, or SKIPPED
    destination: str | None  # folder to move it to, None to leave it where it is
    replies: int = 0


def process_inbox(
    app: App, inbox: Inbox, now: dt.datetime, after_batch: Callable[[], object] = lambda: None
) -> dict[str, int]:
    """Fetch the new mail of the signup folder and act on each, calling `after_batch` once each batch is
    committed and filed (to send its replies). Returns counts by outcome.

    Raises MailboxError or StoreError when the server or the database is gone; what was committed stays done.
    """
    imap = app.config.imap
    assert imap is not None
    inbox.ensure_folders()
    uidvalidity, uidnext = inbox.select()
    first_uid, since = _reading_position(app, imap.folder, uidvalidity, uidnext, now)
    uids = inbox.search_uids(
        first_uid, since.astimezone(app.config.network.timezone).date() if since else None
    )
    counts: dict[str, int] = {}
    for fetched_batch in inbox.fetch(uids, uidvalidity):
        faults.checkpoint("after_fetch")
        # Mail older than mailflow's start on this mailbox is not ours to answer.
        ours = [
            f for f in fetched_batch if since is None or f.internaldate is None or f.internaldate >= since
        ]
        done = ingest_batch(app, ours, now)  # one commit for the batch
        faults.checkpoint("after_commit")
        # Committed: only now may the server be told (a crash before this line is a harmless re-fetch).
        moves: dict[str, list[int]] = {}
        for fetched, outcome in done:
            if outcome.destination is not None:
                moves.setdefault(outcome.destination, []).append(fetched.uid)
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            log.info(
                "uid=%s %s%s",
                fetched.uid,
                outcome.status,
                f" -> {outcome.destination}" if outcome.destination else "",
            )
        for folder, moved_uids in moves.items():
            faults.checkpoint("before_move")
            inbox.move(moved_uids, folder)
            with app.sessions.begin() as db:
                queries.mark_moved(db, imap.folder, uidvalidity, moved_uids)
        after_batch()
        if app.stop.is_set():
            break
    with app.sessions.begin() as db:
        state = queries.get_mailbox_state(db, imap.folder)
        if state is not None and uids:
            state.last_uid = max(state.last_uid, max(uids))
    privacy.forget_erased(app, inbox)
    return counts


def _reading_position(
    app: App, mailbox: str, uidvalidity: int, uidnext: int, now: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """Where reading starts: (first UID, and an arrival time before which mail is left alone, or None).

    On the first start, mail already in the folder is old mail and is not answered, unless [imap] since says
    from when to answer. When UIDVALIDITY changes (RFC 3501: the folder was recreated), UIDs mean nothing any
    more: read the whole folder again, leave alone what arrived before mailflow's first start, and recognise
    mail seen before by its bytes.
    """
    imap = app.config.imap
    assert imap is not None
    with app.sessions.begin() as db:
        state = queries.get_mailbox_state(db, mailbox)
        if state is None:
            since = None
            if imap.since is not None:
                since = dt.datetime.combine(imap.since, dt.time(0), tzinfo=app.config.network.timezone)
            state = models.MailboxState(
                mailbox=mailbox,
                uidvalidity=uidvalidity,
                first_uid=1 if since else uidnext,
                last_uid=0,
                since=since,
                started_at=now,
            )
            db.add(state)
            log.info("first start on this mailbox: answering mail from uid %s on", state.first_uid)
        elif state.uidvalidity != uidvalidity:
            log.warning(
                "UIDVALIDITY of the signup folder changed: reading it again, skipping mail already seen"
            )
            queries.record_event(db, EventKind.UIDVALIDITY_CHANGED, now)
            state.uidvalidity, state.first_uid, state.last_uid = uidvalidity, 1, 0
            state.since = state.since or state.started_at
        # INTERNALDATE has whole seconds: a mail of the very second mailflow started is not old.
        return state.first_uid, state.since.replace(microsecond=0) if state.since else None


class _MailFailed(Exception):
    """A mail made the batch's transaction fail: the batch is done again with that mail on its own."""

    def __init__(self, uid: int) -> None:
        super().__init__(f"uid={uid}")
        self.uid = uid


def ingest_batch(app: App, fetched_batch: list[Fetched], now: dt.datetime) -> list[tuple[Fetched, Outcome]]:
    """Understand a batch of mails and record what they mean in one transaction; returns each mail's outcome,
    in order (those left when asked to stop are not in it).

    The batch's reads are made once (batch.start) and its rows written together at the commit. A mail that
    fails rolls the transaction back, and the batch is done again with that mail in a savepoint of its own
    (see `handle`), so it fails alone; a failure at the commit, which names no mail, puts every mail in one.
    Raises StoreError when the database is gone, so that nothing is moved on the server.
    """
    parsed: dict[int, ParsedMessage] = {}  # parsing is pure: a batch done again is not parsed again
    alone: set[int] = set()
    while True:
        try:
            with app.sessions.begin() as db:
                return _act_on_batch(app, db, fetched_batch, now, parsed, alone)
        except _MailFailed as failed:
            log.warning("uid=%s failed: the batch again, that mail on its own", failed.uid)
            alone.add(failed.uid)
        except MailflowError:
            raise
        except Exception as exc:
            if isinstance(exc, SQLAlchemyError) and _database_unreachable(exc):
                raise StoreError(f"database: {short_error(exc)}") from exc
            everyone = {f.uid for f in fetched_batch}
            if alone >= everyone:
                raise
            log.warning("the batch failed (%s): again, each mail on its own", type(exc).__name__)
            alone = everyone


def _act_on_batch(
    app: App,
    db: Session,
    fetched_batch: list[Fetched],
    now: dt.datetime,
    parsed: dict[int, ParsedMessage],
    alone: set[int],
) -> list[tuple[Fetched, Outcome]]:
    """The batch in one transaction (see ingest_batch): the mails' rows first, then each mail in order."""
    rows, seen = _rows_for(app, db, fetched_batch, now, parsed, alone)
    addresses = [a for p in parsed.values() for a in (p.sender, *(x.email for x in p.people)) if a]
    batch.start(db, addresses).read_keys(db, [str(OutboxKey.reply(row.id)) for row in rows.values()])
    done: list[tuple[Fetched, Outcome]] = []
    for fetched in fetched_batch:
        if app.stop.is_set():
            break
        faults.checkpoint("in_batch")
        if fetched.uid in alone:
            done.append((fetched, handle(app, db, fetched, now)))  # in a savepoint of its own
        elif fetched.uid in seen:
            # Seen before (a crash before the move, or the same bytes again): never a second reply.
            known = seen[fetched.uid]
            same_place = (known.uid, known.uidvalidity) == (fetched.uid, fetched.uidvalidity)
            done.append(
                (fetched, Outcome(SKIPPED, None if known.moved and same_place else known.destination))
            )
        else:
            done.append((fetched, _ingest_in_batch(app, db, rows[fetched.uid], fetched, now, parsed)))
    for fetched in fetched_batch[len(done) :]:  # asked to stop: the rest waits for the next pass
        left = rows.get(fetched.uid)
        if left is not None and left.status != InboundStatus.FAILED:
            db.delete(left)
    batch.stop(db)
    return done


def _rows_for(
    app: App,
    db: Session,
    fetched_batch: list[Fetched],
    now: dt.datetime,
    parsed: dict[int, ParsedMessage],
    alone: set[int],
) -> tuple[dict[int, models.InboundMessage], dict[int, models.InboundMessage]]:
    """The rows to act on by UID (new ones, written in one INSERT so that their ids can key the replies, and
    failed ones to try again), and the rows of the mails seen before by UID. Parses the mails to act on."""
    digests = {f.uid: _digest(f) for f in fetched_batch if f.uid not in alone}
    found = queries.known_inbound(
        db,
        fetched_batch[0].mailbox if fetched_batch else "",
        fetched_batch[0].uidvalidity if fetched_batch else 0,
        list(digests),
        list(digests.values()),
    )
    by_place = {(r.mailbox, r.uidvalidity, r.uid): r for r in found}
    by_digest = {r.sha256: r for r in found}
    rows: dict[int, models.InboundMessage] = {}
    seen: dict[int, models.InboundMessage] = {}
    claimed: set[models.InboundMessage] = set()
    for fetched in fetched_batch:
        if fetched.uid in alone:
            continue
        digest = digests[fetched.uid]
        known = by_place.get((fetched.mailbox, fetched.uidvalidity, fetched.uid)) or by_digest.get(digest)
        if known is not None and (known.status != InboundStatus.FAILED or known in claimed):
            seen[fetched.uid] = known
            continue
        if fetched.raw is not None and fetched.uid not in parsed:
            try:
                parsed[fetched.uid] = parse_message(fetched.raw, app.context)
            except Exception as exc:  # the mail's own failure, recorded when it is alone
                raise _MailFailed(fetched.uid) from exc
        row = known or _new_row(fetched, digest, now)
        rows[fetched.uid] = by_digest[digest] = row  # the same bytes later in this batch are seen before
        claimed.add(row)
    db.add_all(row for row in rows.values() if batch.is_new(row))
    db.flush()
    return rows, seen


def _ingest_in_batch(
    app: App,
    db: Session,
    row: models.InboundMessage,
    fetched: Fetched,
    now: dt.datetime,
    parsed: dict[int, ParsedMessage],
) -> Outcome:
    """`ingest` without a savepoint: a failure names the mail, and the batch is done again without it."""
    try:
        return ingest(app, db, row, fetched, now, parsed.get(fetched.uid))
    except MailflowError:
        raise
    except SQLAlchemyError as exc:
        if _database_unreachable(exc):
            raise StoreError(f"database: {short_error(exc)}") from exc
        raise _MailFailed(fetched.uid) from exc
    except Exception as exc:  # one bad mail must not stop the batch
        raise _MailFailed(fetched.uid) from exc


def _digest(fetched: Fetched) -> str:
    if fetched.raw is not None:
        return queries.sha256(fetched.raw)
    return queries.sha256(f"oversize {fetched.mailbox} {fetched.uidvalidity} {fetched.uid}".encode())


def _new_row(fetched: Fetched, digest: str, now: dt.datetime) -> models.InboundMessage:
    return models.InboundMessage(
        mailbox=fetched.mailbox,
        uidvalidity=fetched.uidvalidity,
        uid=fetched.uid,
        sha256=digest,
        size=fetched.size,
        attempts=0,
        moved=False,
        received_at=fetched.internaldate or now,
        status=InboundStatus.PROCESSED,
    )


def handle(app: App, db: Session, fetched: Fetched, now: dt.datetime) -> Outcome:
    """Understand one mail and record what it means, in a savepoint of the caller's transaction.

    Never raises for a bad mail (it is counted, and quarantined after MAX_ATTEMPTS); raises StoreError when
    the database is gone, so that nothing is moved on the server.
    """
    digest = _digest(fetched)
    try:
        with db.begin_nested():
            known = queries.find_inbound(db, fetched.mailbox, fetched.uidvalidity, fetched.uid, digest)
            if known is not None and known.status != InboundStatus.FAILED:
                # Seen before (a crash before the move, or the same bytes again): never a second reply.
                same_place = (known.uid, known.uidvalidity) == (fetched.uid, fetched.uidvalidity)
                return Outcome(SKIPPED, None if known.moved and same_place else known.destination)
            row = known or _new_row(fetched, digest, now)
            db.add(row)
            return ingest(app, db, row, fetched, now)
    except SQLAlchemyError as exc:
        if _database_unreachable(exc):
            raise StoreError(f"database: {short_error(exc)}") from exc
        return _record_failure(app, db, fetched, digest, now, exc)
    except MailflowError:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad mail must not stop the batch
        return _record_failure(app, db, fetched, digest, now, exc)


def ingest(
    app: App,
    db: Session,
    row: models.InboundMessage,
    fetched: Fetched,
    now: dt.datetime,
    parsed: ParsedMessage | None = None,
) -> Outcome:
    """Act on one new mail inside the caller's transaction (`parsed`: the mail, parsed already); returns
    where the mail goes."""
    imap = app.config.imap
    assert imap is not None
    row.processed_at = now
    if fetched.raw is None:
        return _to_review(
            row,
            fetched,
            InboundStatus.QUARANTINED,
            f"larger than {imap.max_message_bytes} bytes; not downloaded",
            imap.review_folder,
            db,
            now,
        )
    parsed = parsed or parse_message(fetched.raw, app.context)
    row.intent, row.message_id, row.sender = str(parsed.intent), parsed.message_id, parsed.sender
    row.reason = "; ".join(parsed.reasons)[:500] or None

    if parsed.sender is not None and _is_own_mail(app, parsed):
        # Our own mail come back (a copy, or a loop through an autoresponder): never answered.
        row.status, row.destination = InboundStatus.PROCESSED, imap.processed_folder
        row.reason = "our own mail"
        return Outcome(InboundStatus.PROCESSED, row.destination)
    if parsed.intent in (Intent.AUTO_REPLY, Intent.BOUNCE):
        # RFC 3834: never answer an automatic message.
        if parsed.intent is Intent.BOUNCE:
            _record_bounce(db, fetched.raw, row, now)
        row.status, row.destination = InboundStatus.PROCESSED, imap.processed_folder
        return Outcome(InboundStatus.PROCESSED, row.destination)
    if parsed.sender is not None:
        queries.heard_from(db, parsed.sender, now)  # retention counts from a person's last word
    # An answer to one of our mails is read in that thread: its meeting, its people.
    thread = thread_of(db, parsed) if parsed.sender is not None else None
    if thread is not None and parsed.acknowledgement and not parsed.has_question:
        # "Bedankt!" to our confirmation asks nothing: nothing changes, no reply, no human needed.
        row.status, row.destination = InboundStatus.PROCESSED, imap.processed_folder
        row.reason = "thanks for our mail: nothing asked"
        return Outcome(InboundStatus.PROCESSED, row.destination)
    if not parsed.intent.answered:
        return _to_review(
            row, fetched, InboundStatus.REVIEW, row.reason or f"{parsed.intent}", imap.review_folder, db, now
        )
    if parsed.sender is None:
        reason = (
            row.reason or "no single sender address to answer"
        )  # parsing says why first: "ambiguous From: ..."
        return _to_review(row, fetched, InboundStatus.REVIEW, reason, imap.review_folder, db, now)

    if batch.is_new(row):
        db.flush()  # the row's id keys the reply
    done = ACTIONS[parsed.intent](app, db, row, parsed, now, thread)
    replies = done.replies
    if done.ignored:
        row.reason = done.ignored
    if parsed.intent is Intent.ERASE:
        # Filed nowhere and kept for no one: privacy.forget_erased deletes it with every copy of their mail.
        row.status, row.destination = InboundStatus.PROCESSED, None
        return Outcome(InboundStatus.PROCESSED, None, replies)
    if done.ignored:
        # Nothing of ours to act on (a stranger's "unsubscribe"): filed unanswered, no human needed.
        row.status, row.destination = InboundStatus.PROCESSED, imap.processed_folder
        return Outcome(InboundStatus.PROCESSED, row.destination)
    if done.review or parsed.has_question or parsed.unsure:
        reason = (
            done.review
            if done.review
            else "also asks a question"
            if parsed.has_question
            else "unsure reading: " + (row.reason or "check names")
        )
        outcome = _to_review(row, fetched, InboundStatus.REVIEW, reason, imap.review_folder, db, now)
        outcome.replies = replies
        return outcome
    row.status, row.destination = InboundStatus.PROCESSED, imap.processed_folder
    return Outcome(InboundStatus.PROCESSED, row.destination, replies)


def _record_bounce(db: Session, raw: bytes, row: models.InboundMessage, now: dt.datetime) -> None:
    """A bounce: members at the failed address get no more reminders (they would bounce too);
    the digest says so."""
    members = [m for address in failed_recipients(raw) for m in queries.members_at(db, address)]
    for member in members:
        member.undeliverable = True
        queries.record_event(db, EventKind.BOUNCE, now, member=member, inbound=row)
    if not members:
        queries.record_event(db, EventKind.BOUNCE, now, inbound=row)


def _to_review(
    row: models.InboundMessage,
    fetched: Fetched,
    status: InboundStatus,
    reason: str,
    folder: str,
    db: Session,
    now: dt.datetime,
) -> Outcome:
    # A human will look at this mail: keep its bytes (until retention removes them) and list it in the digest.
    row.status, row.destination, row.reason, row.raw = status, folder, reason[:500], fetched.raw
    # The event is named as the status: review or quarantined.
    queries.record_event(db, EventKind(status), now, inbound=row, detail=reason[:500])
    return Outcome(status, folder)


def _is_own_mail(app: App, parsed: ParsedMessage) -> bool:
    own_id = parsed.message_id is not None and parsed.message_id.rstrip(">").endswith(
        "@" + app.message_domain
    )
    return parsed.sender in app.context.own_addresses or own_id


def _record_failure(
    app: App, db: Session, fetched: Fetched, digest: str, now: dt.datetime, exc: Exception
) -> Outcome:
    """Count a failed attempt at a mail; after MAX_ATTEMPTS it goes to the review folder with the reason."""
    imap = app.config.imap
    assert imap is not None
    reason = f"processing failed: {type(exc).__name__}"
    # The traceback only at debug level: a library's message may quote the mail.
    log.error("uid=%s %s", fetched.uid, reason, exc_info=log.isEnabledFor(logging.DEBUG))
    with db.begin_nested():
        row = queries.find_inbound(db, fetched.mailbox, fetched.uidvalidity, fetched.uid, digest)
        if row is None:
            row = _new_row(fetched, digest, now)
            db.add(row)
        row.attempts += 1
        row.reason = reason
        if row.attempts < MAX_ATTEMPTS:
            row.status = InboundStatus.FAILED
            return Outcome(InboundStatus.FAILED, None)
        return _to_review(
            row,
            fetched,
            InboundStatus.QUARANTINED,
            f"{reason} {row.attempts} times",
            imap.review_folder,
            db,
            now,
        )


def _database_unreachable(exc: SQLAlchemyError) -> bool:
    from sqlalchemy.exc import DBAPIError, OperationalError

    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


def read_inbox(
    app: App, inbox: Inbox, clock: Callable[[], dt.datetime], after_batch: Callable[[], object] = lambda: None
) -> int:
    """Process the new mail on an open inbox (`after_batch`: see process_inbox); returns how many mails were
    handled. Raises MailboxError, StoreError."""
    try:
        counts = process_inbox(app, inbox, clock(), after_batch)
    except (
        SQLAlchemyError
    ) as exc:  # the database went away mid-pass: nothing uncommitted was moved on the server
        raise StoreError(f"database: {short_error(exc)}") from exc
    if counts:
        log.info("inbox: %s", _counts(counts))
    return sum(counts.values())
