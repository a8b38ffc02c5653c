"""The TOML configuration file, read once and validated into the frozen values of `mailflow.settings`.

Every error names the key and says what is wrong. Secrets never live in the file: a `*_env` key names an
environment variable and a `*_command` key a command that prints the secret.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailflow.adapters.config_reader import REQUIRED, Required, Section, no_unknown_keys, tables
from mailflow.errors import ConfigError
from mailflow.settings import (
    LANGUAGES,
    LOOPBACK_HOSTS,
    MEETING_STATUSES,
    TLS_MODES,
    Config,
    DigestSettings,
    Imap,
    Invitations,
    Limits,
    Localized,
    Meeting,
    Network,
    Organisation,
    Recurrence,
    Reminders,
    Retention,
    Smtp,
    Texts,
    Venue,
    Web,
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
        "invitations",
        "digest",
        "recurrence",
        "retention",
        "limits",
        "web",
        "texts",
        "templates",
    }
    no_unknown_keys(data, known, "")
    network = _network(Section(data.get("network", {}), "network"))
    venue = _venue(Section(data.get("venue", {}), "venue"), network.language)
    # Numbered as people count them: the second [[meetings]] table is "meetings 2".
    meetings = tuple(
        _meeting(Section(item, f"meetings {i}", numbered=True), base_dir, network.language)
        for i, item in enumerate(tables(data, "meetings"), start=1)
    )
    _distinct_dates(meetings)
    organisations = tuple(
        _organisation(Section(item, f"organisations {i}", numbered=True))
        for i, item in enumerate(tables(data, "organisations"), start=1)
    )
    database = Section(data.get("database", {}), "database")
    url = database.text("url", f"sqlite:///{base_dir / 'mailflow.db'}")
    database.done()
    imap = _imap(Section(data.get("imap", {}), "imap"), base_dir) if "imap" in data else None
    smtp = _smtp(Section(data.get("smtp", {}), "smtp"), base_dir, network) if "smtp" in data else None
    reminders = _reminders(Section(data.get("reminders", {}), "reminders"))
    invitations = _invitations(Section(data.get("invitations", {}), "invitations"))
    digest = _digest(Section(data.get("digest", {}), "digest"), network)
    recurrence = _recurrence(Section(data.get("recurrence", {}), "recurrence"))
    retention = _retention(Section(data.get("retention", {}), "retention"))
    limits = _limits(Section(data.get("limits", {}), "limits"))
    web = _web(Section(data.get("web", {}), "web")) if "web" in data else None
    texts = _texts(Section(data.get("texts", {}), "texts"), network.language)
    network = Network(**{**network.__dict__, "texts": texts})
    templates_dir = _templates_dir(Section(data.get("templates", {}), "templates"), base_dir)
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
        invitations=invitations,
        web=web,
        templates_dir=templates_dir,
    )


def _network(s: Section) -> Network:
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
        signup_address=s.email("signup_address", REQUIRED),
        coordinator=s.email("coordinator", REQUIRED),
        short_name=s.text("short_name", ""),
    )
    s.done()
    return network


def _venue(s: Section, language: str) -> Venue:
    venue = Venue(
        name=_localized(s, "name", language, REQUIRED),
        address=_localized(s, "address", language, REQUIRED),
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


def _meeting(s: Section, base_dir: Path, language: str) -> Meeting:
    capacity = s.number("capacity", None, minimum=1)
    attachment = s.text("followup_attachment")
    meeting = Meeting(
        date=s.date("date", REQUIRED),
        theme=_localized(s, "theme", language, REQUIRED),
        speakers=_speakers(s, language),
        place=_localized(s, "place", language),
        note=_localized(s, "note", language),
        capacity=capacity,
        status=s.choice("status", MEETING_STATUSES, "confirmed"),
        followup=s.text("followup"),
        followup_attachment=base_dir / attachment if attachment else None,
    )
    s.done()
    return meeting


# --- texts per language -------------------------------------------------------------------------------------

_PER_LANGUAGE = 'a string, or a table per language like { nl = "...", fr = "...", en = "..." }'


@overload
def _localized(s: Section, key: str, language: str, default: None = None) -> str | None: ...
@overload
def _localized(s: Section, key: str, language: str, default: Required) -> str: ...
def _localized(s: Section, key: str, language: str, default: Required | None = None) -> str | None:
    """A text given once, or per language: `theme = "..."` or `theme = { nl = "...", fr = "..." }`. A
    table must hold the network's `language`, which is the text stored and shown where no other fits."""
    value = s._get(key, (str, dict), default, _PER_LANGUAGE)
    if not isinstance(value, dict):
        return s.text(key, default)
    texts = _language_table(s, key, value, str, "a string")
    if language not in texts:
        raise ConfigError(
            f"{s.key(key)} gives {', '.join(sorted(texts))} but not {language}, the network's language: "
            f'add {language} = "..." (mail in a language not given shows it)'
        )
    return Localized(texts[language], texts)


def _language_table(s: Section, key: str, table: dict[str, Any], kind: type, what: str) -> dict[str, Any]:
    unknown = sorted(set(table) - set(LANGUAGES))
    if unknown:
        raise ConfigError(
            f"{s.key(key)}: unknown language {unknown[0]!r}; the keys are languages: {', '.join(LANGUAGES)}"
        )
    for lang, text in table.items():
        if not isinstance(text, kind) or isinstance(text, str) and not text.strip():
            raise ConfigError(f"{s.key(key)}.{lang} must be {what}, not empty, got {text!r}")
    return table


def _speakers(s: Section, language: str) -> tuple[str, ...]:
    """`speakers`: a list of names, each a string or a table per language, or a table of lists per language
    (`{ nl = ["A (Dokters van de Wereld)"], fr = ["A (Médecins du Monde)"] }`). One string is refused: "Ine,
    Bart" could be one name or two."""
    value = s._get("speakers", (list, dict), [], "a list of strings")
    if isinstance(value, dict):
        lists = _language_table(s, "speakers", value, list, "a list of names")
        if language not in lists:
            raise ConfigError(
                f"{s.key('speakers')}: give the list in {language}, the network's language, too"
            )
        counts = {len(names) for names in lists.values()}
        if len(counts) != 1 or not all(isinstance(n, str) for names in lists.values() for n in names):
            raise ConfigError(
                f"{s.key('speakers')}: give each language the same number of names, as strings, in the same "
                f"order, got {value!r}"
            )
        return tuple(
            Localized(name, {lang: names[i] for lang, names in lists.items()})
            for i, name in enumerate(lists[language])
        )
    speakers = []
    for index, item in enumerate(value, start=1):
        if isinstance(item, str):
            speakers.append(item)
        elif isinstance(item, dict):
            texts = _language_table(s, f"speakers {index}", item, str, "a string")
            if language not in texts:
                raise ConfigError(f"{s.key('speakers')}: speaker {index} needs a name in {language} too")
            speakers.append(Localized(texts[language], texts))
        else:
            raise ConfigError(
                f'{s.key("speakers")} must be a list of names, like ["a", "b"], or {_PER_LANGUAGE}, '
                f"got {value!r}"
            )
    return tuple(speakers)


def _texts(s: Section, language: str) -> Texts:
    texts = Texts(signature=_localized(s, "signature", language), contact=_localized(s, "contact", language))
    s.done()
    return texts


def _templates_dir(s: Section, base_dir: Path) -> Path | None:
    value = s.text("dir")
    s.done()
    if value is None:
        return None
    path = (base_dir / value).resolve()
    if not path.is_dir():
        raise ConfigError(
            f"templates.dir: {path} is not a folder; give the folder of your own templates (named as "
            "mailflow's own, e.g. reminder.txt), absolute or relative to the config file's folder"
        )
    return path


def _organisation(s: Section) -> Organisation:
    organisation = Organisation(
        name=s.text("name", REQUIRED),
        aliases=s.strings("aliases"),
        domains=tuple(d.lower().lstrip("@") for d in s.strings("domains")),
        municipality=s.text("municipality"),
    )
    s.done()
    return organisation


def _tls(s: Section, host: str, default_port: dict[str, int]) -> tuple[str, int]:
    tls = s.choice("tls", TLS_MODES, "ssl")
    if tls == "none" and host not in LOOPBACK_HOSTS:
        raise ConfigError(
            f'{s.name}.tls = "none" is refused for {host}: passwords would cross the network in clear; '
            f'use tls = "ssl" or "starttls" (plain text is allowed for 127.0.0.1 and localhost only)'
        )
    return tls, s.number("port", default_port[tls], minimum=1)


def _ca_file(s: Section, base_dir: Path) -> Path | None:
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


def _imap(s: Section, base_dir: Path) -> Imap:
    host = s.text("host", REQUIRED)
    tls, port = _tls(s, host, {"ssl": 993, "starttls": 143, "none": 143})
    imap = Imap(
        host=host,
        port=port,
        tls=tls,
        username=s.text("username", REQUIRED),
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


def _smtp(s: Section, base_dir: Path, network: Network) -> Smtp:
    host = s.text("host", REQUIRED)
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


def _reminders(s: Section) -> Reminders:
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


def _invitations(s: Section) -> Invitations:
    invitations = Invitations(
        days_before=s.number("days_before", 21, minimum=1), at=s.clock("at", dt.time(10, 0))
    )
    s.done()
    return invitations


def _digest(s: Section, network: Network) -> DigestSettings:
    digest = DigestSettings(
        to=s.email("to", network.coordinator),
        at=s.clock("at", dt.time(8, 0)),
        send_when_empty=s._get("send_when_empty", bool, False, "true or false"),
    )
    s.done()
    return digest


def _recurrence(s: Section) -> Recurrence:
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


def _retention(s: Section) -> Retention:
    retention = Retention(
        raw_days=s.number("raw_days", Retention.raw_days, minimum=1),
        member_months=s.number("member_months", Retention.member_months, minimum=1),
    )
    s.done()
    return retention


def _limits(s: Section) -> Limits:
    limits = Limits(
        replies_per_address_per_day=s.number(
            "replies_per_address_per_day", Limits.replies_per_address_per_day, minimum=1
        ),
        replies_per_hour=s.number("replies_per_hour", Limits.replies_per_hour, minimum=1),
    )
    s.done()
    return limits


def _web(s: Section) -> Web:
    """`[web]`: where `mailflow web` listens ("127.0.0.1:8025", "[::1]:8025"), the coordinator's password."""
    listen = s.text("listen", "127.0.0.1:8025")
    host, colon, port_text = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(
            f'web.listen must be an address and a port, like "127.0.0.1:8025" or "[::1]:8025", got {listen!r}'
        )
    proxy = s.text("trusted_proxy")
    web = Web(
        host=host,
        port=int(port_text),
        password=s.secret("password"),
        secure_cookies=s._get("secure_cookies", bool, False, "true or false"),
        trusted_proxy=proxy.strip() if proxy else None,
        session_minutes=s.number("session_minutes", 60, minimum=1),
    )
    s.done()
    if not web.password:
        raise ConfigError(
            "web: give password_env or password_command: the coordinator's password for the web page "
            "(the password itself never sits in the file)"
        )
    return web
