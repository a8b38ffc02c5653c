"""The database: SQLAlchemy models and the queries mailflow needs. The Session is passed in; no mail, no network.

Times are stored in UTC and come back timezone-aware. The schema is created and upgraded by Alembic
(`mailflow/migrations`), never by `create_all`, so that a database made by any version can be carried forward.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from mailflow.errors import LockLost, StoreError

log = logging.getLogger(__name__)

UTC = dt.timezone.utc


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timezone-aware datetime kept as naive UTC, the same on SQLite and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


class MailboxState(Base):
    """Where reading a folder stands: mail with a UID below `first_uid` was there before mailflow and is left alone.

    `since`, when set, also leaves alone mail that arrived before it: for `[imap] since`, and after a UIDVALIDITY
    change, when UIDs say nothing any more.
    """

    __tablename__ = "mailbox_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(sa.String(255), unique=True)
    uidvalidity: Mapped[int] = mapped_column(sa.BigInteger)
    first_uid: Mapped[int] = mapped_column(sa.BigInteger)
    last_uid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # mailflow's first start on this folder


class InboundMessage(Base):
    """One mail read from the signup folder. The raw bytes are kept only while a human may need them."""

    __tablename__ = "inbound_messages"
    __table_args__ = (sa.UniqueConstraint("mailbox", "uidvalidity", "uid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(sa.String(255))
    uidvalidity: Mapped[int] = mapped_column(sa.BigInteger)
    uid: Mapped[int] = mapped_column(sa.BigInteger)
    message_id: Mapped[str | None] = mapped_column(sa.String(998), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    size: Mapped[int] = mapped_column(sa.Integer, default=0)
    # processed | review | quarantined | failed (retried, see attempts)
    status: Mapped[str] = mapped_column(sa.String(20))
    intent: Mapped[str | None] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.String(500))  # never personal data
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    destination: Mapped[str | None] = mapped_column(sa.String(255))  # folder it belongs in
    moved: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sender: Mapped[str | None] = mapped_column(sa.String(320), index=True)  # for erase and the digest
    raw: Mapped[bytes | None] = mapped_column(sa.LargeBinary)


class Meeting(Base):
    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(sa.Date, unique=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    theme: Mapped[str] = mapped_column(sa.String(500))
    speakers: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    place: Mapped[str | None] = mapped_column(sa.String(500))
    capacity: Mapped[int | None] = mapped_column(sa.Integer)


class Member(Base):
    """A person in the network. `email` is where their mail goes: their own, or the colleague's who registered them."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    name_key: Mapped[str] = mapped_column(sa.String(500))
    organisation: Mapped[str | None] = mapped_column(sa.String(500))
    language: Mapped[str] = mapped_column(sa.String(5), default="nl")
    status: Mapped[str] = mapped_column(sa.String(20), default="active")  # active | left
    unsure: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    undeliverable: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    active_from: Mapped[dt.date | None] = mapped_column(sa.Date)  # first meeting they attend; None: any
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_heard_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attendance: Mapped[list[Attendance]] = relationship(back_populates="member", cascade="all, delete-orphan")


class Attendance(Base):
    """A member's word about one meeting: registered for it, excused from it, or waiting for a place."""

    __tablename__ = "attendance"
    __table_args__ = (sa.UniqueConstraint("member_id", "meeting_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(20))  # registered | excused | waiting
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    member: Mapped[Member] = relationship(back_populates="attendance")
    meeting: Mapped[Meeting] = relationship()


class OutboxMessage(Base):
    """A mail to send, written in the same transaction as what it reports. `key` makes each mail happen once, ever."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)  # e.g. reply:<inbound id>
    kind: Mapped[str] = mapped_column(sa.String(20))
    recipient: Mapped[str] = mapped_column(sa.String(320), index=True)
    message_id: Mapped[str] = mapped_column(sa.String(998))
    raw: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    # pending -> sent | failed | expired; held (a rate limit, until released); cancelled (no longer owed, e.g. a
    # reminder after a cancel); missed (a reminder that fell due while mailflow was down); skipped (an empty digest)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)  # the limits count by time
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id", ondelete="SET NULL"))


class Event(Base):
    """Something the coordinator hears about in the digest. `detail` is never personal data; the member link may be."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    inbound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inbound_messages.id", ondelete="CASCADE"))
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    # The mail a delivery event is about; deleted with it, since it names the recipient.
    outbox_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox.id", ondelete="CASCADE"))
    detail: Mapped[str | None] = mapped_column(sa.String(500))
    member: Mapped[Member | None] = relationship()
    inbound: Mapped[InboundMessage | None] = relationship()
    meeting: Mapped[Meeting | None] = relationship()
    outbox: Mapped[OutboxMessage | None] = relationship()


# --- opening the database -------------------------------------------------------------------------------------------


def open_database(url: str) -> sessionmaker[Session]:
    """Connect, bring the schema up to date with Alembic, and return a session factory. Raises StoreError."""
    try:
        engine = create_engine(url)
        where = engine.url.render_as_string(hide_password=True)
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(f"database URL cannot be used: {short_error(exc)}") from None
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"database {where}: {short_error(exc)}") from exc
    return sessionmaker(engine, expire_on_commit=False)


def close_database(sessions: sessionmaker[Session]) -> None:
    """Close every pooled connection of a factory made by open_database."""
    engine = sessions.kw.get("bind")
    if engine is not None:
        engine.dispose()


class InstanceLock:
    """One mailflow at a time per mailbox and database: `with InstanceLock(sessions, name) as lock: ...`.

    PostgreSQL: a session advisory lock, held by one connection and released by the server if the process dies.
    When the database restarts, that session (and the lock) is gone: `hold()` takes it again, or says that another
    mailflow got it meanwhile. SQLite: an flock on a file beside the database, likewise released on death.
    Entering raises StoreError when the lock is taken.
    """

    def __init__(self, sessions: sessionmaker[Session], name: str) -> None:
        self.engine: Engine = sessions.kw["bind"]
        digest = hashlib.sha256(name.encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.path = Path(f"{self.engine.url.database}.{digest.hex()[:12]}.lock")
        self.connection: sa.Connection | None = None
        self.lock_file: Any = None

    def __enter__(self) -> InstanceLock:
        if self.engine.dialect.name == "postgresql":
            if not self._take_advisory():
                raise _taken()
        elif self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self.lock_file = open(self.path, "a+b")  # noqa: SIM115 - held open until __exit__
            try:
                fcntl.flock(self.lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.lock_file.close()
                raise _taken() from None
        return self  # a private in-memory database cannot be shared: nothing to lock

    def __exit__(self, *exc_info: object) -> None:
        if self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):  # a lost connection took the lock with it
                self.connection.scalar(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._drop_connection()
        if self.lock_file is not None:
            fcntl.flock(self.lock_file, fcntl.LOCK_UN)
            self.lock_file.close()

    def hold(self) -> None:
        """Make sure the lock is still ours. Raises StoreError while the database is unreachable, and LockLost
        when another mailflow took the lock while ours was gone with the database."""
        if self.engine.dialect.name != "postgresql":
            return  # an flock lives as long as this process
        if self.connection is not None:
            try:
                self.connection.scalar(sa.text("SELECT 1"))
                return
            except SQLAlchemyError:
                self._drop_connection()  # the database went away, and the lock with its session
        if not self._take_advisory():
            raise LockLost("another mailflow took this mailbox and database while the database was away; "
                           "this one stops")

    def _take_advisory(self) -> bool:
        """Try to take the advisory lock on a connection of its own; False when another session holds it."""
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise StoreError(f"database: {short_error(exc)}") from None
        try:
            taken = connection.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        except SQLAlchemyError as exc:
            connection.close()
            raise StoreError(f"database: {short_error(exc)}") from None
        if not taken:
            connection.close()
            return False
        self.connection = connection
        return True

    def _drop_connection(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self.connection.invalidate()
                self.connection.close()
            self.connection = None


def _taken() -> StoreError:
    return StoreError("another mailflow is already running for this mailbox and database")


def create_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(connection: Any) -> None:
    # pysqlite starts transactions on its own schedule, which breaks SAVEPOINT; SQLAlchemy's documented recipe is
    # to switch that off (isolation_level None, below) and say BEGIN ourselves.
    connection.exec_driver_sql("BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    # WAL lets the admin commands read while the daemon writes; FULL makes a commit survive a power cut,
    # which the outbox relies on (a reply is only as safe as the row that says it is owed).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Deleted rows are overwritten with zeros, so that forgetting a person also leaves nothing in the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def scrub(sessions: sessionmaker[Session]) -> None:
    """After deleting personal data: copy SQLite's write-ahead log into the file and empty it, so that no old copy
    of a deleted row stays in the -wal file. PostgreSQL reuses the space of deleted rows after its (auto)vacuum."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        return
    connection = engine.raw_connection()  # outside a transaction, which a checkpoint must be
    try:
        connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def upgrade(engine: Engine) -> None:
    """Run the Alembic migrations up to the newest."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    alembic_config = AlembicConfig()
    alembic_config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        alembic_config.attributes["connection"] = connection
        command.upgrade(alembic_config, "head")


def short_error(exc: BaseException) -> str:
    # The first line of a driver error; SQLAlchemy appends the statement and its parameters, which may hold personal data.
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__


# --- queries ---------------------------------------------------------------------------------------------------------


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def name_key(name: str) -> str:
    """The same person however the name is written: casefolded, without accents or punctuation, tokens sorted."""
    plain = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    tokens = "".join(c if c.isalnum() else " " for c in plain.casefold()).split()
    return " ".join(sorted(tokens))


def mark_moved(session: Session, mailbox: str, uidvalidity: int, uids: Sequence[int]) -> None:
    session.execute(sa.update(InboundMessage).where(
        InboundMessage.mailbox == mailbox, InboundMessage.uidvalidity == uidvalidity, InboundMessage.uid.in_(uids),
    ).values(moved=True))


def get_mailbox_state(session: Session, mailbox: str) -> MailboxState | None:
    return session.scalar(sa.select(MailboxState).where(MailboxState.mailbox == mailbox))


def find_inbound(session: Session, mailbox: str, uidvalidity: int, uid: int, digest: str) -> InboundMessage | None:
    """A mail seen before, by its place in the mailbox or by its exact bytes."""
    return session.scalar(
        sa.select(InboundMessage).where(
            sa.or_(
                sa.and_(
                    InboundMessage.mailbox == mailbox,
                    InboundMessage.uidvalidity == uidvalidity,
                    InboundMessage.uid == uid,
                ),
                InboundMessage.sha256 == digest,
            )
        )
    )


def sync_meetings(session: Session, meetings: Iterable[tuple[dt.date, dt.datetime, str, Sequence[str], str | None,
                                                              int | None]]) -> None:
    """Make the meetings table match the configured meetings (date, starts_at, theme, speakers, place, capacity)."""
    existing = {m.date: m for m in session.scalars(sa.select(Meeting))}
    for date, starts_at, theme, speakers, place, capacity in meetings:
        row = existing.get(date) or Meeting(date=date)
        row.starts_at, row.theme, row.speakers = starts_at, theme, list(speakers)
        row.place, row.capacity = place, capacity
        session.add(row)


def meeting_on(session: Session, date: dt.date) -> Meeting | None:
    return session.scalar(sa.select(Meeting).where(Meeting.date == date))


def next_meeting(session: Session, now: dt.datetime, on_or_after: dt.date | None = None) -> Meeting | None:
    """The first meeting that has not started yet (and is not before `on_or_after`)."""
    query = sa.select(Meeting).where(Meeting.starts_at > now)
    if on_or_after is not None:
        query = query.where(Meeting.date >= on_or_after)
    return session.scalar(query.order_by(Meeting.starts_at).limit(1))


def members_at(session: Session, email: str) -> list[Member]:
    return list(session.scalars(sa.select(Member).where(Member.email == email).order_by(Member.id)))


def heard_from(session: Session, email: str, now: dt.datetime) -> None:
    """The members at an address wrote in: retention counts from now."""
    session.execute(sa.update(Member).where(Member.email == email.lower()).values(last_heard_at=now))


def set_attendance(session: Session, member: Member, meeting: Meeting, status: str, now: dt.datetime) -> None:
    row = session.scalar(
        sa.select(Attendance).where(Attendance.member_id == member.id, Attendance.meeting_id == meeting.id)
    )
    if row is None:
        row = Attendance(member=member, meeting=meeting)
        session.add(row)
    row.status, row.updated_at = status, now


def record_event(session: Session, kind: str, now: dt.datetime, *, member: Member | None = None,
                 inbound: InboundMessage | None = None, meeting: Meeting | None = None,
                 outbox: OutboxMessage | None = None, detail: str | None = None) -> None:
    session.add(Event(kind=kind, at=now, member=member, inbound=inbound, meeting=meeting, outbox=outbox,
                      detail=detail))


def queued(session: Session, key: str) -> bool:
    """Whether a mail with this outbox key was ever queued."""
    return session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None


def enqueue(session: Session, *, key: str, kind: str, recipient: str, message_id: str, raw: bytes,
            now: dt.datetime, expires_at: dt.datetime | None, member: Member | None = None,
            status: str = "pending") -> OutboxMessage | None:
    """Add a mail to the outbox unless one with the same key was ever queued. Returns the new row or None."""
    if queued(session, key):
        return None
    row = OutboxMessage(key=key, kind=kind, recipient=recipient, message_id=message_id, raw=raw, status=status,
                        attempts=0, next_attempt_at=now, expires_at=expires_at, created_at=now,
                        member_id=member.id if member else None)
    session.add(row)
    return row


def count_replies(session: Session, kinds: Iterable[str], since: dt.datetime, recipient: str | None = None) -> int:
    """Replies of these kinds queued since `since` (to `recipient`, else to anyone), leaving out held ones."""
    query = sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind.in_(list(kinds)), OutboxMessage.created_at >= since, OutboxMessage.status != "held")
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    return session.scalar(query) or 0


def latest_reply(session: Session, kinds: Iterable[str], recipient: str, since: dt.datetime) -> OutboxMessage | None:
    """The newest reply of these kinds queued to `recipient` since `since` that was sent, is on its way, or is held."""
    return session.scalar(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind.in_(list(kinds)), OutboxMessage.recipient == recipient,
               OutboxMessage.created_at >= since, OutboxMessage.status.in_(("pending", "sent", "held")))
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(1))


def expected_at(session: Session, meeting: Meeting) -> list[Member]:
    """The members expected at a meeting: active, not excused or waiting, and already started by then."""
    return list(session.scalars(sa.select(Member).where(*_expected(meeting)).order_by(Member.name, Member.id)))


def expected_count(session: Session, meeting: Meeting, leaving_out: Iterable[int] = ()) -> int:
    """How many members are expected at a meeting, leaving out the ids given."""
    query = sa.select(sa.func.count()).select_from(Member).where(*_expected(meeting))
    left_out = list(leaving_out)
    if left_out:
        query = query.where(Member.id.not_in(left_out))
    return session.scalar(query) or 0


def _expected(meeting: Meeting) -> tuple[sa.ColumnElement[bool], ...]:
    absent = sa.select(Attendance.member_id).where(
        Attendance.meeting_id == meeting.id, Attendance.status.in_(("excused", "waiting")))
    return (
        Member.status == "active",
        Member.id.not_in(absent),
        sa.or_(Member.active_from.is_(None), Member.active_from <= meeting.date),
    )


def waiting_for(session: Session, meeting: Meeting) -> list[Attendance]:
    """The waiting list of a meeting, first come first served (active members only)."""
    return list(session.scalars(
        sa.select(Attendance).join(Member).where(
            Attendance.meeting_id == meeting.id, Attendance.status == "waiting", Member.status == "active",
        ).order_by(Attendance.updated_at, Attendance.id)
    ))


def cancel_pending(session: Session, member: Member, kinds: Sequence[str], key_prefix: str = "") -> None:
    """Take a member's unsent mail of these kinds out of the outbox: it is no longer owed."""
    session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.member_id == member.id, OutboxMessage.status.in_(("pending", "held")),
        OutboxMessage.kind.in_(kinds), OutboxMessage.key.startswith(key_prefix),
    ).values(status="cancelled", last_error="no longer owed"))


def due_outbox(session: Session, now: dt.datetime, limit: int = 100,
               exclude: Iterable[int] = ()) -> list[OutboxMessage]:
    """Pending rows whose time has come, oldest first, leaving out the ids in `exclude`."""
    query = sa.select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
    excluded = list(exclude)
    if excluded:
        query = query.where(OutboxMessage.id.not_in(excluded))
    return list(session.scalars(query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)))

