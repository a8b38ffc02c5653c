"""Loops and floods: how many replies may go out, and when a reply would only repeat the last one.

Pure: counts, times and bytes in, decisions out. The shell (jobs, store) counts the outbox rows; nothing here
touches a database, a clock or the network.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
from zoneinfo import ZoneInfo

from mailflow.core.vocabulary import OutboxKey
from mailflow.settings import Limits

PER_ADDRESS = "replies_per_address_per_day"
PER_HOUR = "replies_per_hour"
ADDRESS_WINDOW = dt.timedelta(
    hours=24
)  # "per day" is any 24 hours: a flood at midnight gets no fresh allowance
HOUR_WINDOW = dt.timedelta(hours=1)
# A naive autoresponder answers each of our replies with the same text, so our next reply would be the same
# too: within this window such a repeat is not sent, which ends the ping-pong after our first mail.
REPEAT_WINDOW = dt.timedelta(hours=24)


def exceeded(limits: Limits, to_address: int, in_last_hour: int) -> str | None:
    """The limit one more reply would pass, given the replies already queued in each window;
    None when it may go."""
    if to_address >= limits.replies_per_address_per_day:
        return PER_ADDRESS
    if in_last_hour >= limits.replies_per_hour:
        return PER_HOUR
    return None


def notice_key(limit: str, now: dt.datetime, timezone: ZoneInfo) -> OutboxKey:
    """The outbox key of the coordinator's notice:
    one per limit and local day, however many replies are held."""
    return OutboxKey.notice(limit, now.astimezone(timezone).date())


def repeats(new: bytes, previous: bytes | None) -> bool:
    """Whether a reply we rendered says word for word what a previous one said (dates and ids aside)."""
    if not previous:
        return False  # nothing kept to compare with (an erase confirmation is blanked once sent)
    return _plain_text(new) == _plain_text(previous)


def _plain_text(raw: bytes) -> str | None:
    """The text/plain part of a mail we rendered, as encoded: the same words give the same string."""
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.is_multipart():
            payload = part.get_payload()
            return payload if isinstance(payload, str) else None
    return None
