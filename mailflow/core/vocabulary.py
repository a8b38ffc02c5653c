"""The words mailflow stores: statuses, mail kinds, event kinds, and the outbox keys that make each mail
happen once.

Pure. The values are in existing databases, so they never change; a StrEnum member equals its string, so
rows written before these types existed compare equal, and SQL comparisons with String columns work with the
members.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class InboundStatus(StrEnum):
    """What became of a mail read from the signup folder (inbound_messages.status)."""

    PROCESSED = "processed"
    REVIEW = "review"  # a human should look at it
    QUARANTINED = "quarantined"  # too large, or processing failed too often
    FAILED = "failed"  # processing failed; retried at the next pass


# Not a stored status: a mail seen before, counted and left alone in a pass.
SKIPPED: Final = "skipped"


class OutboxStatus(StrEnum):
    """Where a mail to send stands (outbox.status)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # refused for good (5xx)
    EXPIRED = "expired"  # not delivered before it went stale
    HELD = "held"  # over a rate limit, until released
    CANCELLED = "cancelled"  # no longer owed, e.g. a reminder after a cancel
    MISSED = "missed"  # a reminder that fell due while mailflow was down
    SKIPPED = "skipped"  # an empty digest, recorded so the day counts as done


class MailKind(StrEnum):
    """What a mail in the outbox is (outbox.kind); the reply kinds are also the intents they answer."""

    REGISTER = "register"
    WAITLIST = "waitlist"
    CANCEL = "cancel"
    UNSUBSCRIBE = "unsubscribe"
    ERASE = "erase"
    REMINDER = "reminder"
    PROMOTED = "promoted"
    NOTICE = "notice"  # to the coordinator: replies held over a limit
    DIGEST = "digest"
    INVITATION = "invitation"  # to each member not registered for a coming meeting
    UPDATE = "update"  # a registered or waiting person told that their meeting changed
    MEETING_CANCELLED = "meeting_cancelled"  # ... or that it will not take place
    FOLLOWUP = "followup"  # the day after: the meeting's product and the next meeting
    PROPOSE = "propose"  # thanks for a theme proposed
    QUESTION = "question"  # a question passed on to the coordinator: the sender is told so


# The answers to a person's mail: the ones the flood limits count.
REPLY_KINDS: Final = (
    MailKind.REGISTER,
    MailKind.WAITLIST,
    MailKind.CANCEL,
    MailKind.UNSUBSCRIBE,
    MailKind.ERASE,
    MailKind.PROPOSE,
    MailKind.QUESTION,
)
# Mail mailflow starts on its own to a member; it stops when they leave (replies to their own mails do not).
MEMBER_MAIL_KINDS: Final = (
    MailKind.REMINDER,
    MailKind.PROMOTED,
    MailKind.INVITATION,
    MailKind.UPDATE,
    MailKind.MEETING_CANCELLED,
    MailKind.FOLLOWUP,
)


class EventKind(StrEnum):
    """Something the digest reports or a job remembers (events.kind)."""

    REGISTERED = "registered"
    CANCEL = "cancel"
    CANCEL_UNKNOWN = "cancel_unknown"  # a cancel from no known member
    LEFT = "left"
    ERASED = "erased"
    BOUNCE = "bounce"
    HELD = "held"
    WAITING = "waiting"
    PROMOTED = "promoted"
    REVIEW = "review"
    QUARANTINED = "quarantined"
    RETENTION = "retention"  # the daily retention run, with its counts
    UIDVALIDITY_CHANGED = "uidvalidity_changed"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERY_EXPIRED = "delivery_expired"
    INVITED = "invited"  # detail: how many people the invitation named
    MEETING_CHANGED = "meeting_changed"  # detail: the fields that changed, e.g. "place,theme"
    MEETING_CANCELLED = "meeting_cancelled"
    THEME_PROPOSED = "theme_proposed"
    ATTENDANCE = "attendance"  # who came was recorded; detail: counts
    FOLLOWUP_WITHOUT_ATTACHMENT = "followup_without_attachment"  # its file could not be read; detail: why
    WEB_CHANGE = "web_change"  # the coordinator changed something on the web page; detail: a WebChange


class WebChange(StrEnum):
    """What the coordinator changed on the web page (`mailflow web`): the detail of an EventKind.WEB_CHANGE
    event, with the names of the fields changed after a colon ("member_edited: name,organisation"). Never
    the values themselves: those may be personal data."""

    MEMBER_EDITED = "member_edited"
    MEMBER_ADDED = "member_added"
    MEMBER_FORGOTTEN = "member_forgotten"
    REGISTERED = "registered"  # a member put on a meeting's list by hand
    REGISTRATION_MOVED = "registration_moved"
    REGISTRATION_CANCELLED = "registration_cancelled"
    REGISTRATION_REMOVED = "registration_removed"
    ATTENDANCE_RECORDED = "attendance_recorded"
    REVIEW_APPLIED = "review_applied"  # a mail in review acted on as mailflow read it
    REVIEW_CORRECTED = "review_corrected"  # ... as the coordinator corrected the reading
    REVIEW_HANDLED = "review_handled"  # filed as dealt with, nothing changed
    REPLY_RELEASED = "reply_released"  # a reply held by a limit goes out after all
    REPLY_DROPPED = "reply_dropped"


class RegistrationStatus(StrEnum):
    """Where a person stands for one meeting (registrations.status). Whether they came is
    registrations.attended, recorded afterwards."""

    REGISTERED = "registered"  # has a place
    WAITING = "waiting"  # on the waiting list, first come first served
    CANCELLED = "cancelled"  # gave up their place, or told us they cannot come


class MeetingStatus(StrEnum):
    """meetings.status, from the config's `[[meetings]] status`."""

    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class MemberStatus(StrEnum):
    """members.status"""

    ACTIVE = "active"
    LEFT = "left"


class KeyKind(StrEnum):
    """The first word of an outbox key."""

    REPLY = "reply"
    REMINDER = "reminder"
    PROMOTED = "promoted"
    DIGEST = "digest"
    NOTICE = "notice"
    INVITATION = "invitation"
    UPDATE = "update"
    MEETING_CANCELLED = "meeting_cancelled"
    FOLLOWUP = "followup"


@dataclass(frozen=True, eq=False)
class OutboxKey:
    """The unique key of an outbox row, which makes each mail happen once, ever. str() gives the stored form:

    reply:<inbound id>, reminder:<member>:<meeting date>:<days before>, promoted:<member>:<meeting date>,
    digest:<local day>, notice:<limit>:<local day>; and, by the meeting id (kept when its date moves):
    invitation:<member>:<meeting>, update:<member>:<meeting>:<sequence>,
    meeting_cancelled:<member>:<meeting>:<sequence>, followup:<member>:<meeting>. A mail to an address shared
    by several members carries the first one's id (and names them all in outbox_members). Like the StrEnums, a
    key equals its stored string.
    """

    kind: KeyKind
    inbound_id: int | None = None
    member_id: int | None = None
    meeting_date: dt.date | None = None
    days_before: int | None = None
    day: dt.date | None = None  # the network's local day of a digest or notice
    limit: str | None = None
    meeting_id: int | None = None
    sequence: int | None = None  # of an update: the meeting's SEQUENCE it announces

    @classmethod
    def reply(cls, inbound_id: int) -> OutboxKey:
        """The answer to one mail."""
        return cls(KeyKind.REPLY, inbound_id=inbound_id)

    @classmethod
    def reminder(cls, member_id: int, meeting_date: dt.date, days_before: int) -> OutboxKey:
        return cls(KeyKind.REMINDER, member_id=member_id, meeting_date=meeting_date, days_before=days_before)

    @classmethod
    def promoted(cls, member_id: int, meeting_date: dt.date) -> OutboxKey:
        """A place from the waiting list."""
        return cls(KeyKind.PROMOTED, member_id=member_id, meeting_date=meeting_date)

    @classmethod
    def digest(cls, day: dt.date) -> OutboxKey:
        return cls(KeyKind.DIGEST, day=day)

    @classmethod
    def notice(cls, limit: str, day: dt.date) -> OutboxKey:
        """The coordinator's notice of replies held over `limit`: once per limit and day."""
        return cls(KeyKind.NOTICE, limit=limit, day=day)

    @classmethod
    def invitation(cls, member_id: int, meeting_id: int) -> OutboxKey:
        return cls(KeyKind.INVITATION, member_id=member_id, meeting_id=meeting_id)

    @classmethod
    def update(cls, member_id: int, meeting_id: int, sequence: int) -> OutboxKey:
        """A change of a meeting told to one address: once per change (the meeting's new SEQUENCE)."""
        return cls(KeyKind.UPDATE, member_id=member_id, meeting_id=meeting_id, sequence=sequence)

    @classmethod
    def meeting_cancelled(cls, member_id: int, meeting_id: int, sequence: int) -> OutboxKey:
        """A meeting called off, told to one address: once per calling off (cancelled, confirmed again and
        cancelled again is told twice)."""
        return cls(KeyKind.MEETING_CANCELLED, member_id=member_id, meeting_id=meeting_id, sequence=sequence)

    @classmethod
    def followup(cls, member_id: int, meeting_id: int) -> OutboxKey:
        return cls(KeyKind.FOLLOWUP, member_id=member_id, meeting_id=meeting_id)

    @staticmethod
    def reminders_like(meeting_date: dt.date, member_id: int | None = None) -> str:
        """A SQL LIKE pattern for the reminder keys of a meeting: of one member, or of everyone when None."""
        member = "%" if member_id is None else str(member_id)
        return f"{KeyKind.REMINDER}:{member}:{meeting_date.isoformat()}:%"

    def __str__(self) -> str:
        parts: tuple[object, ...]
        if self.kind is KeyKind.REPLY:
            parts = (self.inbound_id,)
        elif self.kind is KeyKind.REMINDER:
            parts = (self.member_id, _iso(self.meeting_date), self.days_before)
        elif self.kind is KeyKind.PROMOTED:
            parts = (self.member_id, _iso(self.meeting_date))
        elif self.kind is KeyKind.DIGEST:
            parts = (_iso(self.day),)
        elif self.kind in _WITH_SEQUENCE:
            parts = (self.member_id, self.meeting_id, self.sequence)
        elif self.kind in _BY_MEETING_ID:
            parts = (self.member_id, self.meeting_id)
        else:
            parts = (self.limit, _iso(self.day))
        return ":".join(str(part) for part in (self.kind, *parts))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (OutboxKey, str)):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    @classmethod
    def parse(cls, text: str) -> OutboxKey:
        """The key of a stored string. Raises ValueError for a string no OutboxKey gives."""
        head, *parts = text.split(":")
        try:
            kind = KeyKind(head)
            if kind is KeyKind.REPLY and len(parts) == 1:
                key = cls.reply(int(parts[0]))
            elif kind is KeyKind.REMINDER and len(parts) == 3:
                key = cls.reminder(int(parts[0]), dt.date.fromisoformat(parts[1]), int(parts[2]))
            elif kind is KeyKind.PROMOTED and len(parts) == 2:
                key = cls.promoted(int(parts[0]), dt.date.fromisoformat(parts[1]))
            elif kind is KeyKind.DIGEST and len(parts) == 1:
                key = cls.digest(dt.date.fromisoformat(parts[0]))
            elif kind is KeyKind.NOTICE and len(parts) == 2:
                key = cls.notice(parts[0], dt.date.fromisoformat(parts[1]))
            elif kind in _WITH_SEQUENCE and len(parts) == 3:
                key = cls(kind, member_id=int(parts[0]), meeting_id=int(parts[1]), sequence=int(parts[2]))
            elif kind in _BY_MEETING_ID and len(parts) == 2:
                key = cls(kind, member_id=int(parts[0]), meeting_id=int(parts[1]))
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"not an outbox key: {text!r}") from None
        if str(key) != text:  # "reply:007" is no key mailflow writes
            raise ValueError(f"not an outbox key: {text!r}")
        return key


_BY_MEETING_ID: Final = (KeyKind.INVITATION, KeyKind.FOLLOWUP)
_WITH_SEQUENCE: Final = (KeyKind.UPDATE, KeyKind.MEETING_CANCELLED)


def _iso(day: dt.date | None) -> str:
    assert day is not None
    return day.isoformat()


class Instruction(StrEnum):
    """What our mails teach a reader to reply with: come to the meeting they are invited to, cancel a meeting,
    leave the network, erase their data."""

    COME = "come"
    CANCEL = "cancel"
    LEAVE = "leave"
    ERASE = "erase"


# The words our mails teach, per language. The templates quote them (`instruction()` in
# core/mail/templates.py) and the parser reads each one as what it says, also with our own mail quoted below
# it (tests/test_instruction_phrases.py). Leaving is never taught as "uitschrijven" or "désinscription": in
# Flemish and Belgian French those also cancel one meeting ("uitschrijven voor dinsdag").
INSTRUCTION_PHRASES: Final[dict[str, dict[Instruction, str]]] = {
    "nl": {
        Instruction.COME: "ik kom graag",
        Instruction.CANCEL: "ik kan niet komen",
        Instruction.LEAVE: "ik stap uit het leernetwerk",
        Instruction.ERASE: "wis mijn gegevens",
    },
    "fr": {
        Instruction.COME: "je viens volontiers",
        Instruction.CANCEL: "je ne peux pas venir",
        Instruction.LEAVE: "je quitte le réseau",
        Instruction.ERASE: "effacez mes données",
    },
    "en": {
        Instruction.COME: "I am coming",
        Instruction.CANCEL: "I can't come",
        Instruction.LEAVE: "leave the network",
        Instruction.ERASE: "erase my data",
    },
}


def instruction_phrase(instruction: Instruction | str, language: str) -> str:
    """The phrase our mails teach for `instruction` in `language` (English for a language we do not write)."""
    phrases = INSTRUCTION_PHRASES.get(language, INSTRUCTION_PHRASES["en"])
    return phrases[Instruction(instruction)]
