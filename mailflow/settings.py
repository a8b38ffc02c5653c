"""The configuration as frozen values: what every part of mailflow is told, with no file,
environment or IO here.

`adapters/config_file.py` reads and validates the TOML file into these; `adapters/secrets.py` reads a `Secret`
when a connection needs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo

from mailflow.errors import ConfigError

LANGUAGES = ("nl", "fr", "en")
TLS_MODES = ("ssl", "starttls", "none")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Secret:
    """Where a password or token comes from: an environment variable or a command that prints it."""

    env: str | None = None
    command: str | None = None

    def __bool__(self) -> bool:
        return bool(self.env or self.command)


class Localized(str):
    """A text of the config that may be written per language (`theme = { nl = "...", fr = "..." }`).

    The string itself is the network language's text, so it stores, compares and logs as before;
    `in_language()` gives the text a mail in another language shows, the network language's when the config
    gives none for it.
    """

    texts: Mapping[str, str]

    def __new__(cls, text: str, texts: Mapping[str, str] | None = None) -> Self:
        made = super().__new__(cls, text)
        made.texts = dict(texts or {})
        return made

    def in_language(self, language: str) -> str:
        return self.texts.get(language) or str(self)


def in_language(text: str, language: str) -> str:
    """`text` as a mail in `language` shows it: its own translation when the config gave one."""
    return text.in_language(language) if isinstance(text, Localized) else str(text)


@dataclass(frozen=True)
class Texts:
    """`[texts]`: the coordinator's own words in every mail: a signature under the greeting at the end
    (default: the network's name) and a contact line under it (default: none)."""

    signature: str | None = None  # may be Localized, and hold several lines
    contact: str | None = None


@dataclass(frozen=True)
class Network:
    name: str
    timezone: ZoneInfo
    language: str
    signup_address: str
    coordinator: str
    short_name: str = ""  # in subjects, where the whole name would push the date off a phone's screen
    texts: Texts = Texts()

    @property
    def short(self) -> str:
        """The name subjects use: `short_name`, else the name's first word(s)."""
        return self.short_name or default_short_name(self.name)


def default_short_name(name: str) -> str:
    """ "Leernetwerk Mensen Zonder Wettig Verblijf" -> "Leernetwerk": the first word, with the next when the
    first alone says little ("De Leerkring Gent" -> "De Leerkring")."""
    words = name.split()
    short = " ".join(words[:1])
    for word in words[1:]:
        if len(short) >= 5:
            break
        short = f"{short} {word}"
    return short or name


@dataclass(frozen=True)
class Venue:
    name: str  # may be Localized, as the address
    address: str
    start: dt.time
    end: dt.time | None


MEETING_STATUSES = ("confirmed", "cancelled")


@dataclass(frozen=True)
class Meeting:
    date: dt.date
    theme: str  # Localized when the config gives it per language; as speakers and place
    speakers: tuple[str, ...] = ()
    place: str | None = None  # None: the venue
    capacity: int | None = None  # None: no limit
    status: str = "confirmed"  # "cancelled": everyone registered or waiting is told, once
    followup: str | None = None  # the meeting's product (a text or a URL), sent the day after
    followup_attachment: Path | None = None  # a file sent with the follow-up (the report, the slides)
    note: str | None = None  # a practical note in every mail about the meeting ("bring your ID")

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


@dataclass(frozen=True)
class Organisation:
    """A known organisation, so that "WVG" or a mail from @wvg.example reads as its full name."""

    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    municipality: str | None = None  # where it works; the report counts its members there


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
    grace: (
        dt.timedelta
    )  # after downtime, a reminder this late is still sent; later ones are recorded as missed


@dataclass(frozen=True)
class Invitations:
    """`[invitations]`: each member not registered for a confirmed meeting is invited once, this many days
    before it at this local time."""

    days_before: int = 21
    at: dt.time = dt.time(10, 0)


@dataclass(frozen=True)
class DigestSettings:
    to: str
    at: dt.time  # local time of day
    send_when_empty: bool


@dataclass(frozen=True)
class Limits:
    """How many replies mailflow sends before it holds them:
    a robot or a flood must not make it a mail cannon."""

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

    raw_days: int = (
        30  # raw mail waiting for a human (review, quarantine) is kept at most this long; other none
    )
    member_months: int = 12  # members not heard from this long are deleted


@dataclass(frozen=True)
class Web:
    """`[web]`: the coordinator's web page (`mailflow web`). It listens on loopback by default; a reverse
    proxy in front adds TLS."""

    host: str = "127.0.0.1"
    port: int = 8025
    password: Secret = field(default=Secret(), repr=False)  # the coordinator's: an env variable or a command
    secure_cookies: bool = False  # cookies only over HTTPS, also when no trusted proxy says the request was
    trusted_proxy: str | None = None  # the proxy's address; its X-Forwarded-For and -Proto are believed
    session_minutes: int = 60  # a session unused this long ends; any session ends after 12 hours


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
    invitations: Invitations = Invitations()
    web: Web | None = None  # `[web]`, for `mailflow web`
    templates_dir: Path | None = None  # `[templates] dir`: the coordinator's own templates, before ours

    def require_servers(self) -> tuple[Imap, Smtp]:
        """The [imap] and [smtp] sections, which `run` and `check` need and `parse` does not."""
        missing = [name for name, section in (("imap", self.imap), ("smtp", self.smtp)) if section is None]
        if missing:
            raise ConfigError(f"[{'] and ['.join(missing)}] missing: needed to read and answer mail")
        assert self.imap is not None and self.smtp is not None
        return self.imap, self.smtp
