"""The TOML configuration file, read once and validated into the frozen values of `mailflow.settings`.

Every error names the key and says what is wrong. Secrets never live in the file: a `*_env` key names an
environment variable and a `*_command` key a command that prints the secret.
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import os
import tomllib
from pathlib import Path
from typing import Any, Final, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailflow.errors import ConfigError
from mailflow.settings import (
    LANGUAGES,
    LOOPBACK_HOSTS,
    TLS_MODES,
    Config,
    DigestSettings,
    Imap,
    Limits,
    Meeting,
    Network,
    Organisation,
    Recurrence,
    Reminders,
    Retention,
    Secret,
    Smtp,
    Venue,
)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file. Raises ConfigError naming the key that is wrong."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse_config(data, base_dir=path.resolve().parent, path=path)


def parse_config(data: dict[str, Any], base_dir: Path, path: Path | None = None) -> Config:
    """Validate an already-read TOML document; relative paths are taken from `base_dir`."""
    known = {
        "network",
        "venue",
        "meetings",
        "organisations",
        "database",
        "imap",
        "smtp",
        "reminders",
        "digest",
        "recurrence",
        "retention",
        "limits",
    }
    _no_unknown_keys(data, known, "")
    network = _network(_Section(data.get("network", {}), "network"))
    venue = _venue(_Section(data.get("venue", {}), "venue"))
    # Numbered as people count them: the second [[meetings]] table is "meetings 2".
    meetings = tuple(
        _meeting(_Section(item, f"meetings {i}", numbered=True))
        for i, item in enumerate(_tables(data, "meetings"), start=1)
    )
    _distinct_dates(meetings)
    organisations = tuple(
        _organisation(_Section(item, f"organisations {i}", numbered=True))
        for i, item in enumerate(_tables(data, "organisations"), start=1)
    )
    database = _Section(data.get("database", {}), "database")
    url = database.text("url", f"sqlite:///{base_dir / 'mailflow.db'}")
    database.done()
    imap = _imap(_Section(data.get("imap", {}), "imap"), base_dir) if "imap" in data else None
    smtp = _smtp(_Section(data.get("smtp", {}), "smtp"), base_dir, network) if "smtp" in data else None
    reminders = _reminders(_Section(data.get("reminders", {}), "reminders"))
    digest = _digest(_Section(data.get("digest", {}), "digest"), network)
    recurrence = _recurrence(_Section(data.get("recurrence", {}), "recurrence"))
    retention = _retention(_Section(data.get("retention", {}), "retention"))
    limits = _limits(_Section(data.get("limits", {}), "limits"))
    return Config(
        path,
        network,
        venue,
        meetings,
        organisations,
        url,
        imap,
        smtp,
        reminders,
        digest,
        recurrence,
        retention=retention,
        limits=limits,
    )


class _Required(enum.Enum):
    """The default of a key that must be given: its absence is an error."""

    REQUIRED = enum.auto()


_REQUIRED: Final = _Required.REQUIRED


class _Section:
    """One TOML table, read key by key so that every error names `section.key`."""

    def __init__(self, table: object, name: str, numbered: bool = False) -> None:
        if not isinstance(table, dict):
            kind = f"[[{name.split()[0]}]]" if numbered else f"[{name}]"
            raise ConfigError(f"{name} must be a table, written as {kind} with key = value lines under it")
        self.table: dict[str, Any] = table
        self.name, self.numbered, self.read = name, numbered, set[str]()

    def key(self, key: str) -> str:
        """How a message names a key: "imap.port", or "meetings 2: date" in the second [[meetings]] table."""
        return f"{self.name}: {key}" if self.numbered else f"{self.name}.{key}"

    def _get(self, key: str, kinds: type | tuple[type, ...], default: object, what: str) -> Any:
        """The value at `key`, one of `kinds`; `default` when the key is absent, unless that is _REQUIRED."""
        self.read.add(key)
        if key not in self.table:
            if default is _REQUIRED:
                table = f"that [[{self.name.split()[0]}]] table" if self.numbered else f"[{self.name}]"
                raise ConfigError(f"{self.key(key)} is missing: add it under {table}")
            return default
        value = self.table[key]
        # TOML booleans are ints to Python; never accept one where a number is meant.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
            raise ConfigError(f"{self.key(key)} must be {what}, got {value!r}")
        return value

    @overload
    def text(self, key: str, default: None = None) -> str | None: ...
    @overload
    def text(self, key: str, default: str | _Required) -> str: ...
    def text(self, key: str, default: str | _Required | None = None) -> str | None:
        value: str | None = self._get(key, str, default, "a string")
        if isinstance(value, str) and value != default and not value.strip():
            raise ConfigError(f"{self.key(key)} must not be empty: give a value, or leave the key out")
        return value

    @overload
    def number(self, key: str, default: None = None, minimum: int = 0) -> int | None: ...
    @overload
    def number(self, key: str, default: int | _Required, minimum: int = 0) -> int: ...
    def number(self, key: str, default: int | _Required | None = None, minimum: int = 0) -> int | None:
        value: int | None = self._get(key, int, default, "a whole number")
        if isinstance(value, int) and value < minimum:
            raise ConfigError(f"{self.key(key)} must be >= {minimum}, got {value}")
        return value

    @overload
    def choice(self, key: str, choices: tuple[str, ...], default: None = None) -> str | None: ...
    @overload
    def choice(self, key: str, choices: tuple[str, ...], default: str | _Required) -> str: ...
    def choice(
        self, key: str, choices: tuple[str, ...], default: str | _Required | None = None
    ) -> str | None:
        value = self.text(key, default)
        if value is not None and value not in choices:
            raise ConfigError(f"{self.key(key)} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value: list[Any] = self._get(key, list, [], "a list of strings")
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(f'{self.key(key)} must be a list of strings, like ["a", "b"], got {value!r}')
        return tuple(value)

    @overload
    def date(self, key: str, default: None = None) -> dt.date | None: ...
    @overload
    def date(self, key: str, default: dt.date | _Required) -> dt.date: ...
    def date(self, key: str, default: dt.date | _Required | None = None) -> dt.date | None:
        value: dt.date | str | None = self._get(key, (dt.date, str), default, "a date (2026-01-13)")
        if isinstance(value, dt.datetime):
            raise ConfigError(f"{self.key(key)} must be a date without a time, like 2026-01-13, got {value}")
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ConfigError(
                    f"{self.key(key)} must be an ISO date like 2026-01-13 (year-month-day), got {value!r}"
                ) from None
        return value

    @overload
    def clock(self, key: str, default: None = None) -> dt.time | None: ...
    @overload
    def clock(self, key: str, default: dt.time | _Required) -> dt.time: ...
    def clock(self, key: str, default: dt.time | _Required | None = None) -> dt.time | None:
        value: dt.time | str | None = self._get(key, (str, dt.time), default, 'a time like "19:30"')
        if isinstance(value, str):
            try:
                return dt.time.fromisoformat(value)
            except ValueError:
                raise ConfigError(f'{self.key(key)} must be a time like "19:30", got {value!r}') from None
        return value

    @overload
    def email(self, key: str, default: None = None) -> str | None: ...
    @overload
    def email(self, key: str, default: str | _Required) -> str: ...
    def email(self, key: str, default: str | _Required | None = None) -> str | None:
        value = self.text(key, default)
        if isinstance(value, str) and not _looks_like_address(value):
            raise ConfigError(f"{self.key(key)} must be a plain address like name@example.org, got {value!r}")
        return value

    def secret(self, prefix: str) -> Secret:
        env, command = self.text(f"{prefix}_env"), self.text(f"{prefix}_command")
        if env and command:
            raise ConfigError(f"{self.name}: give {prefix}_env or {prefix}_command, not both; remove one")
        if prefix in self.table:
            raise ConfigError(
                f"{self.name}.{prefix}: secrets never sit in the file; use {prefix}_env or {prefix}_command"
            )
        return Secret(env=env, command=command)

    def done(self) -> None:
        _no_unknown_keys(self.table, self.read, self.name, self.numbered)


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _no_unknown_keys(table: dict[str, Any], known: set[str], where: str, numbered: bool = False) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        place = f"{where}: " if numbered else f"{where}." if where else ""
        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        guess = f" did you mean {place}{close[0]}?" if close else f" known here: {', '.join(sorted(known))}"
        raise ConfigError(f"unknown key {place}{unknown[0]} (a typo?{guess})")


def _tables(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"{key} must be written as [[{key}]] tables")
    return value


def _looks_like_address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() or c in '<>,;"' for c in value))


def _network(s: _Section) -> Network:
    zone_name = s.text("timezone", "Europe/Brussels")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"network.timezone: unknown time zone {zone_name!r}; give a tz database name like Europe/Brussels"
        ) from None
    network = Network(
        name=s.text("name", "Leernetwerk"),
        timezone=zone,
        language=s.choice("language", LANGUAGES, "nl"),
        signup_address=s.email("signup_address", _REQUIRED),
        coordinator=s.email("coordinator", _REQUIRED),
    )
    s.done()
    return network


def _venue(s: _Section) -> Venue:
    venue = Venue(
        name=s.text("name", _REQUIRED),
        address=s.text("address", _REQUIRED),
        start=s.clock("start", dt.time(19, 30)),
        end=s.clock("end"),
    )
    s.done()
    if venue.end is not None and venue.end <= venue.start:
        raise ConfigError(
            f"venue.end ({venue.end:%H:%M}) must be later than venue.start ({venue.start:%H:%M}); "
            "times are 24-hour, like 21:30"
        )
    return venue


def _meeting(s: _Section) -> Meeting:
    capacity = s.number("capacity", None, minimum=1)
    meeting = Meeting(
        date=s.date("date", _REQUIRED),
        theme=s.text("theme", _REQUIRED),
        speakers=s.strings("speakers"),
        place=s.text("place"),
        capacity=capacity,
    )
    s.done()
    return meeting


def _organisation(s: _Section) -> Organisation:
    organisation = Organisation(
        name=s.text("name", _REQUIRED),
        aliases=s.strings("aliases"),
        domains=tuple(d.lower().lstrip("@") for d in s.strings("domains")),
    )
    s.done()
    return organisation


def _tls(s: _Section, host: str, default_port: dict[str, int]) -> tuple[str, int]:
    tls = s.choice("tls", TLS_MODES, "ssl")
    if tls == "none" and host not in LOOPBACK_HOSTS:
        raise ConfigError(
            f'{s.name}.tls = "none" is refused for {host}: passwords would cross the network in clear; '
            f'use tls = "ssl" or "starttls" (plain text is allowed for 127.0.0.1 and localhost only)'
        )
    return tls, s.number("port", default_port[tls], minimum=1)


def _ca_file(s: _Section, base_dir: Path) -> Path | None:
    value = s.text("ca_file")
    if value is None:
        return None
    path = (base_dir / value).resolve()
    if not path.is_file():
        raise ConfigError(
            f"{s.name}.ca_file: {path} does not exist; give the CA certificate's path (PEM), absolute or "
            "relative to the config file's folder, or leave the key out to use the system's trust store"
        )
    return path


def _imap(s: _Section, base_dir: Path) -> Imap:
    host = s.text("host", _REQUIRED)
    tls, port = _tls(s, host, {"ssl": 993, "starttls": 143, "none": 143})
    imap = Imap(
        host=host,
        port=port,
        tls=tls,
        username=s.text("username", _REQUIRED),
        password=s.secret("password"),
        oauth2_token=s.secret("oauth2_token"),
        ca_file=_ca_file(s, base_dir),
        folder=s.text("folder", "INBOX"),
        processed_folder=s.text("processed_folder", "mailflow/processed"),
        review_folder=s.text("review_folder", "mailflow/review"),
        since=s.date("since"),
        batch_size=s.number("batch_size", 200, minimum=1),
        poll_interval=s.number("poll_interval", 60, minimum=1),
        max_message_bytes=s.number("max_message_bytes", 10 * 1024 * 1024, minimum=1024),
        timeout=float(s.number("timeout", 30, minimum=1)),
    )
    s.done()
    if not imap.password and not imap.oauth2_token:
        raise ConfigError(
            "imap: give password_env, password_command, oauth2_token_env or oauth2_token_command: "
            "there is no secret to log in with (the secret itself never sits in the file)"
        )
    if len({imap.folder, imap.processed_folder, imap.review_folder}) != 3:
        raise ConfigError(
            "imap.folder, imap.processed_folder and imap.review_folder must all differ, got "
            f"{imap.folder!r}, {imap.processed_folder!r} and {imap.review_folder!r}"
        )
    return imap


def _smtp(s: _Section, base_dir: Path, network: Network) -> Smtp:
    host = s.text("host", _REQUIRED)
    tls, port = _tls(s, host, {"ssl": 465, "starttls": 587, "none": 25})
    smtp = Smtp(
        host=host,
        port=port,
        tls=tls,
        username=s.text("username"),
        password=s.secret("password"),
        oauth2_token=s.secret("oauth2_token"),
        ca_file=_ca_file(s, base_dir),
        sender=s.email("from", network.signup_address),
        timeout=float(s.number("timeout", 60, minimum=1)),
    )
    s.done()
    if smtp.username and not smtp.password and not smtp.oauth2_token:
        raise ConfigError(
            "smtp.username is set: give smtp.password_env or smtp.password_command too, "
            "or leave smtp.username out if the server takes mail without a login"
        )
    return smtp


def _reminders(s: _Section) -> Reminders:
    days = s._get("days_before", list, [7, 1], "a list of whole numbers")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in days):
        raise ConfigError(f"reminders.days_before must be whole numbers >= 1, got {days!r}")
    reminders = Reminders(
        days_before=tuple(sorted(set(days), reverse=True)),
        at=s.clock("at", dt.time(10, 0)),
        grace=dt.timedelta(hours=s.number("grace_hours", 24, minimum=0)),
    )
    s.done()
    return reminders


def _digest(s: _Section, network: Network) -> DigestSettings:
    digest = DigestSettings(
        to=s.email("to", network.coordinator),
        at=s.clock("at", dt.time(8, 0)),
        send_when_empty=s._get("send_when_empty", bool, False, "true or false"),
    )
    s.done()
    return digest


def _recurrence(s: _Section) -> Recurrence:
    from dateutil.rrule import rrulestr

    rule = s.text("rule", "FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TU")
    _rrule_parts(rule)
    try:
        rrulestr(rule, dtstart=dt.datetime(2026, 1, 1))
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"recurrence.rule {rule!r} is not an RFC 5545 RRULE ({exc}); write it like {_RRULE_EXAMPLE}"
        ) from None
    recurrence = Recurrence(rule=rule, start=s.date("start"))
    s.done()
    return recurrence


_RRULE_EXAMPLE = '"FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TU" (every other month, the second Tuesday)'
_RRULE_NAMES: tuple[str, ...] = ("FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR")
_RRULE_NAMES += ("BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")


def _rrule_parts(rule: str) -> None:
    """Check the NAME=VALUE shape first: dateutil's own words for a slip ("not enough values to unpack") help
    no one."""
    for part in rule.removeprefix("RRULE:").split(";"):
        name, equals, value = part.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise ConfigError(
                f"recurrence.rule: {part!r} is not a NAME=VALUE part; separate the parts with ';', "
                f"like {_RRULE_EXAMPLE}"
            )
        if name.strip().upper() not in _RRULE_NAMES:
            close = difflib.get_close_matches(name.strip().upper(), _RRULE_NAMES, n=1)
            guess = f"did you mean {close[0]}?" if close else f"known: {', '.join(_RRULE_NAMES)}"
            raise ConfigError(f"recurrence.rule: unknown part {name.strip()!r} ({guess})")


def _distinct_dates(meetings: tuple[Meeting, ...]) -> None:
    first: dict[dt.date, int] = {}
    for number, meeting in enumerate(meetings, start=1):
        if meeting.date in first:
            raise ConfigError(
                f"meetings {first[meeting.date]} and {number} share the date {meeting.date}: each meeting "
                "needs its own date; correct one, or remove the double"
            )
        first[meeting.date] = number


def _retention(s: _Section) -> Retention:
    retention = Retention(
        raw_days=s.number("raw_days", Retention.raw_days, minimum=1),
        member_months=s.number("member_months", Retention.member_months, minimum=1),
    )
    s.done()
    return retention


def _limits(s: _Section) -> Limits:
    limits = Limits(
        replies_per_address_per_day=s.number(
            "replies_per_address_per_day", Limits.replies_per_address_per_day, minimum=1
        ),
        replies_per_hour=s.number("replies_per_hour", Limits.replies_per_hour, minimum=1),
    )
    s.done()
    return limits
