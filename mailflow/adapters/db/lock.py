"""One mailflow at a time per mailbox and database: an advisory lock in PostgreSQL, an flock beside SQLite."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mailflow.adapters.db.engine import short_error
from mailflow.errors import LockLost, StoreError


class InstanceLock:
    """One mailflow at a time per mailbox and database: `with InstanceLock(sessions, name) as lock: ...`.

    PostgreSQL: a session advisory lock, held by one connection and released by the server if the process
    dies. When the database restarts, that session (and the lock) is gone: `hold()` takes it again, or says
    that another mailflow got it meanwhile. SQLite: an flock on a file beside the database, likewise released
    on death. Entering raises StoreError when the lock is taken.
    """

    def __init__(self, sessions: sessionmaker[Session], name: str) -> None:
        self.engine: Engine = sessions.kw["bind"]
        digest = hashlib.sha256(name.encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.path = Path(f"{self.engine.url.database}.{digest.hex()[:12]}.lock")
        self.connection: sa.Connection | None = None
        self.lock_file: Any = None

    def __enter__(self) -> Self:
        if self.engine.dialect.name == "postgresql":
            if not self._take_advisory():
                raise _taken()
        elif self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            self.lock_file = open(self.path, "a+b")  # held open until __exit__
            try:
                fcntl.flock(self.lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.lock_file.close()
                raise _taken() from None
        return self  # a private in-memory database cannot be shared: nothing to lock

    def __exit__(self, *exc_info: object) -> None:
        if self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):  # a lost connection took the lock with it
                self.connection.scalar(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            self._drop_connection()
        if self.lock_file is not None:
            fcntl.flock(self.lock_file, fcntl.LOCK_UN)
            self.lock_file.close()

    def hold(self) -> None:
        """Make sure the lock is still ours. Raises StoreError while the database is unreachable, and LockLost
        when another mailflow took the lock while ours was gone with the database."""
        if self.engine.dialect.name != "postgresql":
            return  # an flock lives as long as this process
        if self.connection is not None:
            try:
                self.connection.scalar(sa.text("SELECT 1"))
                return
            except SQLAlchemyError:
                self._drop_connection()  # the database went away, and the lock with its session
        if not self._take_advisory():
            raise LockLost(
                "another mailflow took this mailbox and database while the database was away; this one stops"
            )

    def _take_advisory(self) -> bool:
        """Try to take the advisory lock on a connection of its own; False when another session holds it."""
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise StoreError(f"database: {short_error(exc)}") from None
        try:
            taken = connection.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        except SQLAlchemyError as exc:
            connection.close()
            raise StoreError(f"database: {short_error(exc)}") from None
        if not taken:
            connection.close()
            return False
        self.connection = connection
        return True

    def _drop_connection(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self.connection.invalidate()
                self.connection.close()
            self.connection = None


def _taken() -> StoreError:
    return StoreError("another mailflow is already running for this mailbox and database")
