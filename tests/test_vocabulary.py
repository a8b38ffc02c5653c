"""The stored words and outbox keys (core/vocabulary.py): the strings in existing databases never change."""

from __future__ import annotations

import datetime as dt

import pytest

from mailflow.core.vocabulary import EventKind, InboundStatus, MailKind, OutboxKey, OutboxStatus

DAY = dt.date(2026, 3, 10)


@pytest.mark.parametrize(
    "key, text",
    [
        (OutboxKey.reply(42), "reply:42"),
        (OutboxKey.reminder(7, DAY, 3), "reminder:7:2026-03-10:3"),
        (OutboxKey.promoted(7, DAY), "promoted:7:2026-03-10"),
        (OutboxKey.digest(DAY), "digest:2026-03-10"),
        (OutboxKey.notice("replies_per_hour", DAY), "notice:replies_per_hour:2026-03-10"),
    ],
)
def test_an_outbox_key_is_written_and_read_as_before(key, text):
    assert str(key) == text
    assert OutboxKey.parse(text) == key
    assert key == text and hash(key) == hash(text)


@pytest.mark.parametrize(
    "text",
    [
        "reply:",
        "reply:007",
        "reminder:7:2026-03-10",
        "digest:tomorrow",
        "nope:1",
        "",
    ],
)
def test_a_string_no_key_gives_is_refused(text):
    with pytest.raises(ValueError, match="not an outbox key"):
        OutboxKey.parse(text)


def test_the_reminders_of_a_meeting_as_a_like_pattern():
    assert OutboxKey.reminders_like(DAY) == "reminder:%:2026-03-10:%"
    assert OutboxKey.reminders_like(DAY, 7) == "reminder:7:2026-03-10:%"


def test_the_words_equal_the_stored_strings():
    assert OutboxStatus.PENDING == "pending" and f"{OutboxStatus.HELD}" == "held"
    assert InboundStatus.QUARANTINED == "quarantined"
    assert MailKind.WAITLIST == "waitlist" and EventKind.UIDVALIDITY_CHANGED == "uidvalidity_changed"
