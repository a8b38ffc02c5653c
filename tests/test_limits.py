"""The pure rules against loops and floods (mailflow/limits.py), the [limits] config section, and the
notice."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailflow.adapters.config_file import parse_config
from mailflow.core import limits
from mailflow.core.mail import compose, render, templates
from mailflow.core.parsing import Person
from mailflow.errors import ConfigError
from mailflow.settings import Limits, Network

BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = dt.datetime(2025, 12, 15, 23, 30, tzinfo=dt.UTC)  # already the 16th in Brussels
NETWORK = Network(
    "Leernetwerk In-Gent", BRUSSELS, "nl", "leernetwerk@in-gent.example", "coordinator@in-gent.example"
)
MINIMAL = {
    "network": {
        "signup_address": "leernetwerk@in-gent.example",
        "coordinator": "coordinator@in-gent.example",
    },
    "venue": {"name": "Buurthuis De Sleutel", "address": "Voorbeeldstraat 12, 9000 Gent"},
}


@pytest.mark.parametrize("to_address, in_last_hour, expected", [
    (0, 0, None),
    (4, 59, None),
    (5, 0, limits.PER_ADDRESS),
    (0, 60, limits.PER_HOUR),
    (5, 60, limits.PER_ADDRESS),  # the narrower limit is named
])  # fmt: skip
def test_which_limit_a_reply_would_pass(to_address, in_last_hour, expected):
    assert limits.exceeded(Limits(), to_address, in_last_hour) == expected


def test_one_notice_key_per_limit_and_local_day():
    assert limits.notice_key(limits.PER_HOUR, NOW, BRUSSELS) == "notice:replies_per_hour:2025-12-16"
    later = NOW + dt.timedelta(hours=20)
    assert limits.notice_key(limits.PER_HOUR, later, BRUSSELS) == limits.notice_key(
        limits.PER_HOUR, NOW, BRUSSELS
    )
    assert limits.notice_key(limits.PER_ADDRESS, NOW, BRUSSELS) != limits.notice_key(
        limits.PER_HOUR, NOW, BRUSSELS
    )


def _reply(env, name: str, message_id: str, now: dt.datetime) -> bytes:
    reply = render.Reply(
        kind="register",
        language="nl",
        to_address="anna@example.org",
        to_name="Anna",
        people=(Person(name=name),),
        meeting=None,
        unsure=False,
        in_reply_to=None,
        references=(),
        subject="Inschrijving",
    )
    message = render.render_reply(
        env, reply, network=NETWORK, sender=NETWORK.signup_address, message_id=message_id, now=now
    )
    return compose.message_bytes(message)


def test_a_reply_repeats_another_when_its_words_are_the_same():
    env = templates.make_environment()
    first = _reply(env, "Anna Peeters", "<1@in-gent.example>", NOW)
    same_words = _reply(env, "Anna Peeters", "<2@in-gent.example>", NOW + dt.timedelta(minutes=3))
    other_words = _reply(env, "Anna Peters", "<3@in-gent.example>", NOW)
    assert first != same_words  # other Date and Message-ID
    assert limits.repeats(same_words, first)
    assert not limits.repeats(other_words, first)
    assert not limits.repeats(first, None) and not limits.repeats(first, b"")


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
@pytest.mark.parametrize("limit", [limits.PER_ADDRESS, limits.PER_HOUR])
def test_the_notice_in_every_language(language, limit):
    network = Network(NETWORK.name, BRUSSELS, language, NETWORK.signup_address, NETWORK.coordinator)
    message = render.render_notice(
        templates.make_environment(),
        limit=limit,
        allowed=5,
        held_id=42,
        network=network,
        to_address=network.coordinator,
        sender=network.signup_address,
        message_id="<notice-1@in-gent.example>",
        now=NOW,
    )
    parsed = email.message_from_bytes(compose.message_bytes(message), policy=email.policy.default)
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "All" and parsed["X-Loop"] == network.signup_address
    assert parsed["Content-Language"] == language
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    html = parsed.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert "mailflow outbox retry 42" in body and "5" in body


def test_limits_config_defaults_and_errors():
    assert parse_config(MINIMAL, base_dir=Path("/srv")).limits == Limits(5, 60)
    custom = parse_config(
        {**MINIMAL, "limits": {"replies_per_address_per_day": 2, "replies_per_hour": 10}},
        base_dir=Path("/srv"),
    )
    assert custom.limits == Limits(2, 10)
    with pytest.raises(ConfigError, match="limits.replies_per_hour must be >= 1, got 0"):
        parse_config({**MINIMAL, "limits": {"replies_per_hour": 0}}, base_dir=Path("/srv"))
    with pytest.raises(ConfigError, match="unknown key limits.replies_per_day"):
        parse_config({**MINIMAL, "limits": {"replies_per_day": 3}}, base_dir=Path("/srv"))
