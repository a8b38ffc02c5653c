"""The TOML configuration, read once and validated into frozen dataclasses.

Every error names the key and says what is wrong. Secrets never live in the file: a `*_env` key names an environment
variable and a `*_command` key a command that prints the secret; `Secret.reveal()` reads it when a connection needs it.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailflow.errors import ConfigError

LANGUAGES = ("nl", "fr", "en")
TLS_MODES = ("ssl", "starttls", "none")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Secret:
    """Where a password or token comes from: an environment variable or a command that prints it."""

    env: str | None = None
    command: str | None = None

    def reveal(self) -> str:
        """Read the secret now. Raises ConfigError, never showing the secret, when it cannot be had."""
        if self.env:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"environment variable {self.env} is not set")
            return value
        if self.command:
            try:
                done = subprocess.run(shlex.split(self.command), capture_output=True, timeout=60, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise ConfigError(f"password command could not run: {type(exc).__name__}") from None
            if done.returncode != 0:
                raise ConfigError(f"password command exited with status {done.returncode}")
            value = done.stdout.decode("utf-8", "replace").rstrip("\r\n")
            if not value:
                raise ConfigError("password command printed nothing")
            return value
        return ""

    def __bool__(self) -> bool:
        return bool(self.env or self.command)


@dataclass(frozen=True)
class Network:
    name: str
    timezone: ZoneInfo
    language: str
    signup_address: str
    coordinator: str


@dataclass(frozen=True)
class Venue:
    name: str
    address: str
    start: dt.time
    end: dt.time | None


@dataclass(frozen=True)
class Meeting:
    date: dt.date
    theme: str
    speakers: tuple[str, ...] = ()
    place: str | None = None  # None: the venue
    capacity: int | None = None  # None: no limit


@dataclass(frozen=True)
class Organisation:
    """A known organisation, so that "WVG" or a mail from @wvg.example reads as its full name."""

    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Imap:
    host: str
    port: int
    tls: str
    username: str
    password: Secret = field(repr=False)
    oauth2_token: Secret = field(repr=False)
    ca_file: Path | None
    folder: str
    processed_folder: str
    review_folder: str
    since: dt.date | None
    batch_size: int
    poll_interval: int
    max_message_bytes: int
    timeout: float  # seconds to wait for the server's next word before the connection counts as lost


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    tls: str
    username: str | None
    password: Secret = field(repr=False)
    oauth2_token: Secret = field(repr=False)
    ca_file: Path | None
    sender: str  # the `from` key
    timeout: float


@dataclass(frozen=True)
class Reminders:
    days_before: tuple[int, ...]  # e.g. (7, 1): a week and a day before each meeting
    at: dt.time  # local time of day they go out
    grace: dt.timedelta  # after downtime, a reminder this late is still sent; later ones are recorded as missed


@dataclass(frozen=True)
class DigestSettings:
    to: str
    at: dt.time  # local time of day
    send_when_empty: bool


@dataclass(frozen=True)
class Limits:
    """How many replies mailflow sends before it holds them: a robot or a flood must not make it a mail cannon."""

    replies_per_address_per_day: int = 5  # in any 24 hours, to one address
    replies_per_hour: int = 60  # in any hour, to everyone together


@dataclass(frozen=True)
class Recurrence:
    """The network's rhythm, proposing meeting dates that are not configured yet (RFC 5545 RRULE)."""

    rule: str  # e.g. "FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TU"
    start: dt.date | None  # the first date of the rhythm; default the first configured meeting


@dataclass(frozen=True)
class Retention:
    """How long personal data is kept (see retention.py)."""

    raw_days: int = 30  # raw mail waiting for a human (review, quarantine) is kept at most this long; other none
    member_months: int = 12  # members not heard from this long are deleted


@dataclass(frozen=True)
class Config:
    path: Path | None
    network: Network
    venue: Venue
    meetings: tuple[Meeting, ...]
    organisations: tuple[Organisation, ...]
    database_url: str
    imap: Imap | None
    smtp: Smtp | None
    reminders: Reminders
    digest: DigestSettings
    recurrence: Recurrence
    retention: Retention = Retention()
    limits: Limits = Limits()

    def require_servers(self) -> tuple[Imap, Smtp]:
        """The [imap] and [smtp] sections, which `run` and `check` need and `parse` does not."""
        missing = [name for name, section in (("imap", self.imap), ("smtp", self.smtp)) if section is None]
        if missing:
            raise ConfigError(f"[{'] and ['.join(missing)}] missing: needed to read and answer mail")
        assert self.imap is not None and self.smtp is not None
        return self.imap, self.smtp


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
    known = {"network", "venue", "meetings", "organisations", "database", "imap", "smtp",
             "reminders", "digest", "recurrence", "retention", "limits"}
    _no_unknown_keys(data, known, "")
    network = _network(_Section(data.get("network", {}), "network"))
    venue = _venue(_Section(data.get("venue", {}), "venue"))
    meetings = tuple(_meeting(_Section(item, f"meetings[{i}]")) for i, item in enumerate(_tables(data, "meetings")))
    dates = [m.date for m in meetings]
    if len(set(dates)) != len(dates):
        raise ConfigError("meetings: two meetings share a date")
    organisations = tuple(
        _organisation(_Section(item, f"organisations[{i}]")) for i, item in enumerate(_tables(data, "organisations"))
    )
    database = _Section(data.get("database", {}), "database")
    url = database.str("url", f"sqlite:///{base_dir / 'mailflow.db'}")
    database.done()
    imap = _imap(_Section(data.get("imap", {}), "imap"), base_dir) if "imap" in data else None
    smtp = _smtp(_Section(data.get("smtp", {}), "smtp"), base_dir, network) if "smtp" in data else None
    reminders = _reminders(_Section(data.get("reminders", {}), "reminders"))
    digest = _digest(_Section(data.get("digest", {}), "digest"), network)
    recurrence = _recurrence(_Section(data.get("recurrence", {}), "recurrence"))
    retention = _retention(_Section(data.get("retention", {}), "retention"))
    limits = _limits(_Section(data.get("limits", {}), "limits"))
    return Config(path, network, venue, meetings, organisations, url, imap, smtp, reminders, digest, recurrence,
                  retention=retention, limits=limits)


class _Section:
    """One TOML table, read key by key so that every error names `section.key`."""

    def __init__(self, table: Any, name: str) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{name} must be a table")
        self.table, self.name, self.read = table, name, set[str]()

    def _get(self, key: str, kinds: type | tuple[type, ...], default: Any, what: str) -> Any:
        self.read.add(key)
        if key not in self.table:
            if default is _REQUIRED:
                raise ConfigError(f"{self.name}.{key} is missing")
            return default
        value = self.table[key]
        # TOML booleans are ints to Python; never accept one where a number is meant.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
            raise ConfigError(f"{self.name}.{key} must be {what}, got {value!r}")
        return value

    def str(self, key: str, default: Any = None) -> Any:
        value = self._get(key, str, default, "a string")
        if isinstance(value, str) and value != default and not value.strip():
            raise ConfigError(f"{self.name}.{key} must not be empty")
        return value

    def int(self, key: str, default: Any = None, minimum: int = 0) -> Any:
        value = self._get(key, int, default, "a whole number")
        if isinstance(value, int) and value < minimum:
            raise ConfigError(f"{self.name}.{key} must be >= {minimum}, got {value}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = None) -> Any:
        value = self.str(key, default)
        if value is not None and value not in choices:
            raise ConfigError(f"{self.name}.{key} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key, list, [], "a list of strings")
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{self.name}.{key} must be a list of strings")
        return tuple(value)

    def date(self, key: str, default: Any = None) -> Any:
        value = self._get(key, (dt.date, str), default, "a date (2026-01-13)")
        if isinstance(value, dt.datetime):
            raise ConfigError(f"{self.name}.{key} must be a date without a time, got {value}")
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ConfigError(f"{self.name}.{key} must be an ISO date like 2026-01-13, got {value!r}") from None
        return value

    def clock(self, key: str, default: Any = None) -> Any:
        value = self._get(key, (str, dt.time), default, 'a time like "19:30"')
        if isinstance(value, str):
            try:
                return dt.time.fromisoformat(value)
            except ValueError:
                raise ConfigError(f'{self.name}.{key} must be a time like "19:30", got {value!r}') from None
        return value

    def email(self, key: str, default: Any = None) -> Any:
        value = self.str(key, default)
        if isinstance(value, str) and not _looks_like_address(value):
            raise ConfigError(f"{self.name}.{key} must be a plain address like name@example.org, got {value!r}")
        return value

    def secret(self, prefix: str) -> Secret:
        env, command = self.str(f"{prefix}_env"), self.str(f"{prefix}_command")
        if env and command:
            raise ConfigError(f"{self.name}: give {prefix}_env or {prefix}_command, not both")
        if prefix in self.table:
            raise ConfigError(
                f"{self.name}.{prefix}: secrets never sit in the file; use {prefix}_env or {prefix}_command"
            )
        return Secret(env=env, command=command)

    def done(self) -> None:
        _no_unknown_keys(self.table, self.read, self.name)


_REQUIRED = object()


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _no_unknown_keys(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        place = f"{where}." if where else ""
        raise ConfigError(f"unknown key {place}{unknown[0]} (a typo?)")


def _tables(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"{key} must be written as [[{key}]] tables")
    return value


def _looks_like_address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() or c in "<>,;\"" for c in value))


def _network(s: _Section) -> Network:
    zone_name = s.str("timezone", "Europe/Brussels")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"network.timezone: unknown time zone {zone_name!r}") from None
    network = Network(
        name=s.str("name", "Leernetwerk"),
        timezone=zone,
        language=s.choice("language", LANGUAGES, "nl"),
        signup_address=s.email("signup_address", _REQUIRED),
        coordinator=s.email("coordinator", _REQUIRED),
    )
    s.done()
    return network


def _venue(s: _Section) -> Venue:
    venue = Venue(
        name=s.str("name", _REQUIRED),
        address=s.str("address", _REQUIRED),
        start=s.clock("start", dt.time(19, 30)),
        end=s.clock("end"),
    )
    s.done()
    if venue.end is not None and venue.end <= venue.start:
        raise ConfigError("venue.end must be later than venue.start")
    return venue


def _meeting(s: _Section) -> Meeting:
    capacity = s.int("capacity", None, minimum=1)
    meeting = Meeting(
        date=s.date("date", _REQUIRED),
        theme=s.str("theme", _REQUIRED),
        speakers=s.strings("speakers"),
        place=s.str("place"),
        capacity=capacity,
    )
    s.done()
    return meeting


def _organisation(s: _Section) -> Organisation:
    organisation = Organisation(
        name=s.str("name", _REQUIRED),
        aliases=s.strings("aliases"),
        domains=tuple(d.lower().lstrip("@") for d in s.strings("domains")),
    )
    s.done()
    return organisation


def _tls(s: _Section, host: str, default_port: dict[str, int]) -> tuple[str, int]:
    tls = s.choice("tls", TLS_MODES, "ssl")
    if tls == "none" and host not in LOOPBACK_HOSTS:
        raise ConfigError(f"{s.name}.tls = \"none\" is refused for {host}: passwords would cross the network in clear")
    return tls, s.int("port", default_port[tls], minimum=1)


def _ca_file(s: _Section, base_dir: Path) -> Path | None:
    value = s.str("ca_file")
    if value is None:
        return None
    path = (base_dir / value).resolve()
    if not path.is_file():
        raise ConfigError(f"{s.name}.ca_file: {path} does not exist")
    return path


def _imap(s: _Section, base_dir: Path) -> Imap:
    host = s.str("host", _REQUIRED)
    tls, port = _tls(s, host, {"ssl": 993, "starttls": 143, "none": 143})
    imap = Imap(
        host=host,
        port=port,
        tls=tls,
        username=s.str("username", _REQUIRED),
        password=s.secret("password"),
        oauth2_token=s.secret("oauth2_token"),
        ca_file=_ca_file(s, base_dir),
        folder=s.str("folder", "INBOX"),
        processed_folder=s.str("processed_folder", "mailflow/processed"),
        review_folder=s.str("review_folder", "mailflow/review"),
        since=s.date("since"),
        batch_size=s.int("batch_size", 200, minimum=1),
        poll_interval=s.int("poll_interval", 60, minimum=1),
        max_message_bytes=s.int("max_message_bytes", 10 * 1024 * 1024, minimum=1024),
        timeout=float(s.int("timeout", 30, minimum=1)),
    )
    s.done()
    if not imap.password and not imap.oauth2_token:
        raise ConfigError("imap: give password_env, password_command, oauth2_token_env or oauth2_token_command")
    if len({imap.folder, imap.processed_folder, imap.review_folder}) != 3:
        raise ConfigError("imap.folder, imap.processed_folder and imap.review_folder must all differ")
    return imap


def _smtp(s: _Section, base_dir: Path, network: Network) -> Smtp:
    host = s.str("host", _REQUIRED)
    tls, port = _tls(s, host, {"ssl": 465, "starttls": 587, "none": 25})
    smtp = Smtp(
        host=host,
        port=port,
        tls=tls,
        username=s.str("username"),
        password=s.secret("password"),
        oauth2_token=s.secret("oauth2_token"),
        ca_file=_ca_file(s, base_dir),
        sender=s.email("from", network.signup_address),
        timeout=float(s.int("timeout", 60, minimum=1)),
    )
    s.done()
    if smtp.username and not smtp.password and not smtp.oauth2_token:
        raise ConfigError("smtp.username is set: give password_env or password_command too")
    return smtp


def _reminders(s: _Section) -> Reminders:
    days = s._get("days_before", list, [7, 1], "a list of whole numbers")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in days):
        raise ConfigError(f"reminders.days_before must be whole numbers >= 1, got {days!r}")
    reminders = Reminders(
        days_before=tuple(sorted(set(days), reverse=True)),
        at=s.clock("at", dt.time(10, 0)),
        grace=dt.timedelta(hours=s.int("grace_hours", 24, minimum=0)),
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

    rule = s.str("rule", "FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TU")
    try:
        rrulestr(rule, dtstart=dt.datetime(2026, 1, 1))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"recurrence.rule is not an RFC 5545 RRULE: {exc}") from None
    recurrence = Recurrence(rule=rule, start=s.date("start"))
    s.done()
    return recurrence


def _retention(s: _Section) -> Retention:
    retention = Retention(
        raw_days=s.int("raw_days", Retention.raw_days, minimum=1),
        member_months=s.int("member_months", Retention.member_months, minimum=1),
    )
    s.done()
    return retention


def _limits(s: _Section) -> Limits:
    limits = Limits(
        replies_per_address_per_day=s.int("replies_per_address_per_day", Limits.replies_per_address_per_day, minimum=1),
        replies_per_hour=s.int("replies_per_hour", Limits.replies_per_hour, minimum=1),
    )
    s.done()
    return limits
