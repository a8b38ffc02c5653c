"""Reading one TOML table key by key, so that every error names `section.key` and says what is wrong."""

from __future__ import annotations

import datetime as dt
import difflib
import enum
from typing import Any, Final, overload

from mailflow.errors import ConfigError
from mailflow.settings import Secret


class Required(enum.Enum):
    """The default of a key that must be given: its absence is an error."""

    REQUIRED = enum.auto()


REQUIRED: Final = Required.REQUIRED


class Section:
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
        """The value at `key`, one of `kinds`; `default` when the key is absent, unless that is REQUIRED."""
        self.read.add(key)
        if key not in self.table:
            if default is REQUIRED:
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
    def text(self, key: str, default: str | Required) -> str: ...
    def text(self, key: str, default: str | Required | None = None) -> str | None:
        value: str | None = self._get(key, str, default, "a string")
        if isinstance(value, str) and value != default and not value.strip():
            raise ConfigError(f"{self.key(key)} must not be empty: give a value, or leave the key out")
        return value

    @overload
    def number(self, key: str, default: None = None, minimum: int = 0) -> int | None: ...
    @overload
    def number(self, key: str, default: int | Required, minimum: int = 0) -> int: ...
    def number(self, key: str, default: int | Required | None = None, minimum: int = 0) -> int | None:
        value: int | None = self._get(key, int, default, "a whole number")
        if isinstance(value, int) and value < minimum:
            raise ConfigError(f"{self.key(key)} must be >= {minimum}, got {value}")
        return value

    @overload
    def choice(self, key: str, choices: tuple[str, ...], default: None = None) -> str | None: ...
    @overload
    def choice(self, key: str, choices: tuple[str, ...], default: str | Required) -> str: ...
    def choice(self, key: str, choices: tuple[str, ...], default: str | Required | None = None) -> str | None:
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
    def date(self, key: str, default: dt.date | Required) -> dt.date: ...
    def date(self, key: str, default: dt.date | Required | None = None) -> dt.date | None:
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
    def clock(self, key: str, default: dt.time | Required) -> dt.time: ...
    def clock(self, key: str, default: dt.time | Required | None = None) -> dt.time | None:
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
    def email(self, key: str, default: str | Required) -> str: ...
    def email(self, key: str, default: str | Required | None = None) -> str | None:
        value = self.text(key, default)
        if isinstance(value, str) and not looks_like_address(value):
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
        no_unknown_keys(self.table, self.read, self.name, self.numbered)


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def no_unknown_keys(table: dict[str, Any], known: set[str], where: str, numbered: bool = False) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        place = f"{where}: " if numbered else f"{where}." if where else ""
        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        guess = f" did you mean {place}{close[0]}?" if close else f" known here: {', '.join(sorted(known))}"
        raise ConfigError(f"unknown key {place}{unknown[0]} (a typo?{guess})")


def tables(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"{key} must be written as [[{key}]] tables")
    return value


def looks_like_address(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() or c in '<>,;"' for c in value))
