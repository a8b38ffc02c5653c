"""The values parsing works with and returns; shared by the parser and the shell that acts on its reading."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from mailflow.settings import Meeting, Organisation


class Intent(enum.StrEnum):
    REGISTER = "register"
    CANCEL = "cancel"
    UNSUBSCRIBE = "unsubscribe"
    ERASE = "erase"
    QUESTION = "question"
    PROPOSE = "propose"  # a theme proposed for a coming meeting
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    OTHER = "other"

    @property
    def answered(self) -> bool:
        """Whether mailflow replies to this intent (RFC 3834: never to auto-replies or bounces)."""
        return self in (
            Intent.REGISTER,
            Intent.CANCEL,
            Intent.UNSUBSCRIBE,
            Intent.ERASE,
            Intent.PROPOSE,
            Intent.QUESTION,  # a short acknowledgement; the mail waits in review for the coordinator
        )


@dataclass(frozen=True)
class ParseContext:
    """What the parser may know besides the mail: the calendar, known organisations, our own addresses."""

    meetings: tuple[Meeting, ...] = ()
    organisations: tuple[Organisation, ...] = ()
    own_addresses: tuple[str, ...] = ()  # the signup address and the coordinator: never a person to register
    own_domain: str | None = None  # the domain of our Message-IDs, to recognise our own mail coming back


@dataclass(frozen=True)
class Person:
    name: str
    organisation: str | None = None
    email: str | None = None  # lower-cased addr-spec when the mail gives one for this person
    confidence: float = 1.0  # 0..1; below UNSURE the reply asks for a correction and the digest lists it


UNSURE = 0.7


@dataclass(frozen=True)
class ParsedMessage:
    intent: Intent
    people: tuple[Person, ...] = ()
    meeting_date: dt.date | None = None
    asked_date: dt.date | None = None  # a day the mail names that is no configured meeting ("11 mei")
    language: str = "nl"
    language_clear: bool = True  # enough words to tell the language; else the member's stored one serves
    has_question: bool = False
    confidence: float = 1.0  # of the intent
    reasons: tuple[str, ...] = ()  # why OTHER, why unsure, why review: short, free of personal data
    # Header facts the shell needs to answer; None where the mail has none or an unsafe one.
    sender: str | None = None  # the single, unambiguous From addr-spec, lower-cased
    sender_name: str | None = None  # the From display name, decoded and cleaned of control characters
    message_id: str | None = None  # "<...@...>" exactly as sent
    references: tuple[str, ...] = ()  # the mail's own References chain, for ours
    subject: str = ""
    date: dt.datetime | None = None  # the Date header, timezone-aware
    addressed_to_us: bool = False  # To or Cc names one of our own addresses (not a list, not a Bcc)
    about_network: bool = False  # subject or text speaks of the network, its meetings or volunteers
    acknowledgement: bool = False  # only a short thank-you or assent: nothing asked
    for_several: bool = False  # the writer speaks in the plural ("we komen allebei"), for more than themself
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def unsure(self) -> bool:
        """The reading needs a human look: the digest lists it and the reply invites a correction."""
        return self.confidence < UNSURE or any(p.confidence < UNSURE for p in self.people)
