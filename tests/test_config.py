"""The config contract: valid files load into frozen dataclasses, and every error names the key that is
wrong."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from mailflow.adapters.config_file import load_config, parse_config
from mailflow.adapters.secrets import reveal
from mailflow.errors import ConfigError
from mailflow.settings import Secret

EXAMPLE = Path(__file__).parent.parent / "config.example.toml"

MINIMAL = {
    "network": {
        "signup_address": "leernetwerk@in-gent.example",
        "coordinator": "coordinator@in-gent.example",
    },
    "venue": {"name": "Campus Sint-Annaplein", "address": "Sint-Annaplein 31, 9000 Gent"},
}
IMAP = {"host": "imap.in-gent.example", "username": "leernetwerk", "password_env": "MAILFLOW_IMAP_PASSWORD"}


def _parse(**sections):
    return parse_config({**MINIMAL, **sections}, base_dir=Path("/srv/mailflow"))


def test_the_example_config_documents_a_valid_file():
    config = load_config(EXAMPLE)
    assert config.imap is not None and config.smtp is not None
    assert config.imap.tls == "ssl" and config.imap.port == 993
    assert config.imap.timeout == 30.0
    assert config.smtp.port == 587
    assert config.meetings[0].date == dt.date(2027, 1, 12)
    assert config.network.timezone.key == "Europe/Brussels"


def test_defaults():
    config = _parse()
    assert config.network.language == "nl"
    assert config.venue.start == dt.time(19, 30)
    assert config.database_url == "sqlite:////srv/mailflow/mailflow.db"
    assert config.imap is None


def test_meeting_dates_as_toml_dates_or_iso_strings():
    config = _parse(
        meetings=[{"date": dt.date(2026, 1, 13), "theme": "a"}, {"date": "2026-03-10", "theme": "b"}]
    )
    assert [m.date for m in config.meetings] == [dt.date(2026, 1, 13), dt.date(2026, 3, 10)]


@pytest.mark.parametrize(
    "sections, message",
    [
        ({"network": {**MINIMAL["network"], "timezone": "Europe/Gent"}}, "network.timezone"),
        ({"network": {**MINIMAL["network"], "language": "de"}}, "network.language must be one of nl, fr, en"),
        ({"network": {"coordinator": "coordinator@in-gent.example"}}, "network.signup_address is missing"),
        ({"network": {**MINIMAL["network"], "coordinator": "not an address"}}, "network.coordinator"),
        ({"venue": {"name": "x", "address": "y", "start": "half acht"}}, "venue.start"),
        ({"meetings": [{"date": "13/01/2026", "theme": "x"}]}, "meetings 1: date"),
        ({"meetings": [{"date": "2026-01-13"}]}, "meetings 1: theme is missing"),
        (
            {"meetings": [{"date": "2026-01-13", "theme": "x", "capacity": 0}]},
            "meetings 1: capacity must be >= 1",
        ),
        ({"meetings": [{"date": "2026-01-13", "theme": "x", "speakers": "Ine"}]}, "meetings 1: speakers"),
        ({"imap": {**IMAP, "tls": "none"}}, 'imap.tls = "none" is refused for imap.in-gent.example'),
        ({"imap": {**IMAP, "tls": "plain"}}, "imap.tls must be one of ssl, starttls, none"),
        ({"imap": {**IMAP, "password": "hunter2"}}, "secrets never sit in the file"),
        ({"imap": {**IMAP, "timeout": 0}}, "imap.timeout must be >= 1"),
        ({"imap": {**IMAP, "port": "993"}}, "imap.port must be a whole number"),
        ({"imap": {**IMAP, "poll_interval": True}}, "imap.poll_interval must be a whole number"),
        ({"imap": {k: v for k, v in IMAP.items() if k != "password_env"}}, "imap: give password_env"),
        ({"imap": {**IMAP, "processed_folder": "INBOX"}}, "must all differ"),
        ({"imap": {**IMAP, "fodler": "INBOX"}}, "unknown key imap.fodler"),
        ({"databse": {}}, "unknown key databse"),
    ],
)
def test_errors_name_the_key(sections, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _parse(**sections)


def test_not_toml(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[network\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_secrets_from_environment_or_command(monkeypatch):
    monkeypatch.setenv("MAILFLOW_TEST_SECRET", "s3cret")
    assert reveal(Secret(env="MAILFLOW_TEST_SECRET")) == "s3cret"
    assert reveal(Secret(command="printf 'from-a-command\\n'")) == "from-a-command"
    with pytest.raises(ConfigError, match="MAILFLOW_TEST_UNSET is not set"):
        reveal(Secret(env="MAILFLOW_TEST_UNSET"))
    with pytest.raises(ConfigError, match="exited with status 1") as failure:
        reveal(Secret(command="sh -c 'echo s3cret; exit 1'"))
    assert "s3cret" not in str(failure.value)


def test_secrets_never_in_repr():
    config = _parse(imap=IMAP)
    assert "password" not in repr(config.imap)
