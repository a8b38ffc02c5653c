"""The database tables as SQLAlchemy models. Times are stored in UTC and come back timezone-aware.

The schema is created and upgraded by Alembic (`migrations/`), never by `create_all`, so that a database made
by any version can be carried forward.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

UTC = dt.UTC


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
    """Where reading a folder stands: mail with a UID below `first_uid` was there before mailflow and is left
    alone.

    `since`, when set, also leaves alone mail that arrived before it: for `[imap] since`, and after a
    UIDVALIDITY change, when UIDs say nothing any more.
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
    # InboundStatus: processed | review | quarantined | failed (retried, see attempts)
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
    """A configured meeting as mailflow last read it from the config, and what it told people about it.

    The row (and the .ics UID) stays when the coordinator moves the meeting's date; `sequence` is the .ics
    SEQUENCE, raised with every change told to the people registered; `announced` holds the details they were
    last told (date, start, place, theme, speakers), so the next pass can say what changed.
    """

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(sa.Date, unique=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    theme: Mapped[str] = mapped_column(sa.String(500))
    speakers: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    place: Mapped[str | None] = mapped_column(sa.String(500))
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(20), default="confirmed")  # MeetingStatus
    uid: Mapped[str | None] = mapped_column(sa.String(255))  # the .ics UID, set when first written
    sequence: Mapped[int] = mapped_column(sa.Integer, default=0)
    announced: Mapped[dict[str, object] | None] = mapped_column(sa.JSON)
    walk_ins: Mapped[int] = mapped_column(sa.Integer, default=0)  # came without registering, not named
    attendance_recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Member(Base):
    """A person in the network. `email` is where their mail goes:
    their own, or the colleague's who registered them."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    name: Mapped[str] = mapped_column(sa.String(500))
    name_key: Mapped[str] = mapped_column(sa.String(500))
    organisation: Mapped[str | None] = mapped_column(sa.String(500))
    language: Mapped[str] = mapped_column(sa.String(5), default="nl")
    status: Mapped[str] = mapped_column(sa.String(20), default="active")  # MemberStatus: active | left
    unsure: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    undeliverable: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_heard_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="member", cascade="all, delete-orphan"
    )


class Registration(Base):
    """A member's place at one meeting: registered, waiting or cancelled; and, once the coordinator recorded
    who came, whether they did (`attended`: None until then)."""

    __tablename__ = "registrations"
    __table_args__ = (
        sa.UniqueConstraint("member_id", "meeting_id"),
        # A meeting's places by status, and its waiting list in order, without reading the other rows.
        sa.Index("ix_registrations_meeting_id_status", "meeting_id", "status", "updated_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(20))  # RegistrationStatus
    attended: Mapped[bool | None] = mapped_column(sa.Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # the waiting list's order
    member: Mapped[Member] = relationship(back_populates="registrations")
    meeting: Mapped[Meeting] = relationship()


class ThemeProposal(Base):
    """A theme a member proposed for a coming meeting: the group sets its own agenda.
    Deleted with the member who proposed it."""

    __tablename__ = "theme_proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(sa.String(1000))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    member: Mapped[Member | None] = relationship()


class OutboxMessage(Base):
    """A mail to send, written in the same transaction as what it reports.
    `key` makes each mail happen once, ever."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The limits read the replies of a window from this index alone: the rows, with their text, can be
        # large enough that reading them per reply made a backlog slow down as it went.
        sa.Index("ix_outbox_created_at_kind", "created_at", "kind", "status", "recipient"),
        sa.Index("ix_outbox_due", "status", "next_attempt_at", "id"),  # the due rows, in the order sent
        sa.Index("ix_outbox_meeting_id_kind", "meeting_id", "kind"),  # the invitations about a meeting
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)  # str(OutboxKey), e.g. reply:<inbound id>
    kind: Mapped[str] = mapped_column(sa.String(20))  # MailKind
    recipient: Mapped[str] = mapped_column(sa.String(320), index=True)
    message_id: Mapped[str] = mapped_column(sa.String(998), index=True)  # an answer names it
    raw: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    # OutboxStatus: pending -> sent | failed | expired; held (a rate limit, until released); cancelled
    # (no longer owed, e.g. a reminder after a cancel); missed (a reminder that fell due while mailflow was
    # down); skipped (an empty digest)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # the limits count by time
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id", ondelete="SET NULL"))
    # The meeting the mail is about, so that an answer to it is read in that thread.
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id", ondelete="SET NULL"))
    about: Mapped[list[OutboxMember]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    member: Mapped[Member | None] = relationship()


class OutboxMember(Base):
    """A member a mail in the outbox was about (a confirmation names everyone it registered), so that an
    answer to it means those people. Deleted with the mail or the member (an erased id is never reused)."""

    __tablename__ = "outbox_members"
    outbox_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        sa.ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    member: Mapped[Member] = relationship()


class Event(Base):
    """Something the coordinator hears about in the digest. `detail` is never personal data;
    the member link may be."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30), index=True)  # EventKind
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
