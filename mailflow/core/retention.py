"""What mailflow may still keep about people, and which mails are about a person. Pure: facts and `now` in,
what to drop out; no database, no mailbox, no clock (`privacy.py` reads the facts and does the deleting).

The rules ([retention] in the config):
- a mail's raw bytes are kept only while a human may need them (review, quarantine), and at most `raw_days`;
- after `raw_days` a stored mail also loses its sender address and Message-ID,
  and a sent mail its text and recipient;
- a member who left is deleted a week later (the coordinator's digest names them first), and a member not
  heard from (no registration, cancel or other mail) for `member_months` is deleted.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from mailflow.core.vocabulary import InboundStatus, MemberStatus, OutboxStatus
from mailflow.settings import Retention

WAITING_FOR_A_HUMAN = (InboundStatus.REVIEW, InboundStatus.QUARANTINED)
LEFT_KEPT = dt.timedelta(
    days=7
)  # long enough for the next digest to list the leaver, even after some downtime


@dataclass(frozen=True)
class StoredMail:
    id: int
    status: str
    received_at: dt.datetime
    has_raw: bool
    has_sender: bool  # sender address or Message-ID still stored
    erase_pending: bool = (
        False  # an erase request whose mailbox copies are not deleted yet: it needs the address
    )


@dataclass(frozen=True)
class KnownMember:
    id: int
    status: str
    last_heard_at: dt.datetime
    left_at: dt.datetime | None


@dataclass(frozen=True)
class QueuedMail:
    id: int
    status: str
    created_at: dt.datetime
    has_content: bool


@dataclass(frozen=True)
class Plan:
    """Ids of what to drop; each list may be empty."""

    raw: list[int]  # stored mails whose raw bytes go
    senders: list[int]  # stored mails whose sender address and Message-ID go
    members: list[int]  # members to delete, with their attendance and events
    sent: list[int]  # outbox rows whose text and recipient go

    def counts(self) -> dict[str, int]:
        return {
            "raw": len(self.raw),
            "senders": len(self.senders),
            "members": len(self.members),
            "sent": len(self.sent),
        }


def plan_retention(
    mails: Sequence[StoredMail],
    members: Sequence[KnownMember],
    outbox: Sequence[QueuedMail],
    now: dt.datetime,
    rules: Retention,
) -> Plan:
    """Everything the retention rules drop at `now`."""
    old = now - dt.timedelta(days=rules.raw_days)
    unheard = now - relativedelta(months=rules.member_months)
    return Plan(
        raw=[
            m.id for m in mails if m.has_raw and (m.status not in WAITING_FOR_A_HUMAN or m.received_at <= old)
        ],
        senders=[m.id for m in mails if m.has_sender and m.received_at <= old and not m.erase_pending],
        members=[
            m.id
            for m in members
            if m.last_heard_at <= unheard
            or (m.status == MemberStatus.LEFT and m.left_at is not None and m.left_at <= now - LEFT_KEPT)
        ],
        sent=[
            q.id for q in outbox if q.has_content and q.status != OutboxStatus.PENDING and q.created_at <= old
        ],
    )


def mentions(raw: bytes, address: str) -> bool:
    """Whether a mail names `address` in a header or in the text of any part (decoded from base64 or
    quoted-printable). Exact: "an.peeters@x.example" is not found in "jan.peeters@x.example"."""
    pattern = _address_pattern(address)
    texts = [raw.decode("utf-8", "replace")]
    try:
        for part in email.message_from_bytes(raw, policy=email.policy.default).walk():
            if part.get_content_maintype() == "text":
                texts.append(part.get_content())
    except (LookupError, ValueError, AttributeError, TypeError):
        pass  # an unreadable part: the raw text above is all there is
    return any(pattern.search(text) for text in texts)


def _address_pattern(address: str) -> re.Pattern[str]:
    # Not preceded by a character of a local part, not followed by more of a domain.
    return re.compile(rf"(?<![\w.%+-]){re.escape(address)}(?![\w-]|\.\w)", re.IGNORECASE)
