"""Opening the database: the engine, SQLite's pragmas, the Alembic upgrade,
and scrubbing SQLite after a deletion."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mailflow.adapters.db import migrations
from mailflow.errors import StoreError


def open_database(url: str) -> sessionmaker[Session]:
    """Connect, bring the schema up to date with Alembic, and return a session factory. Raises StoreError."""
    try:
        engine = create_engine(url)
        where = engine.url.render_as_string(hide_password=True)
    except OSError as exc:  # the folder of a SQLite file could not be made
        raise StoreError(_sqlite_trouble(url, short_error(exc))) from None
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(
            f"database URL cannot be used ({short_error(exc)}): write database.url like "
            "sqlite:////var/lib/mailflow/mailflow.db or postgresql+psycopg://user@host/mailflow"
        ) from None
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        if engine.dialect.name == "sqlite":
            raise StoreError(_sqlite_trouble(url, short_error(exc))) from exc
        raise StoreError(f"database {where}: {short_error(exc)}") from exc
    return sessionmaker(engine, expire_on_commit=False)


def close_database(sessions: sessionmaker[Session]) -> None:
    """Close every pooled connection of a factory made by open_database."""
    engine = sessions.kw.get("bind")
    if engine is not None:
        engine.dispose()


def create_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(connection: Any) -> None:
    # pysqlite starts transactions on its own schedule, which breaks SAVEPOINT; SQLAlchemy's documented recipe
    # is to switch that off (isolation_level None, below) and say BEGIN ourselves.
    connection.exec_driver_sql("BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    # WAL lets the admin commands read while the daemon writes; FULL makes a commit survive a power cut,
    # which the outbox relies on (a reply is only as safe as the row that says it is owed).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Deleted rows are overwritten with zeros, so that forgetting a person also leaves nothing in the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def scrub(sessions: sessionmaker[Session]) -> None:
    """After deleting personal data: copy SQLite's write-ahead log into the file and empty it, so that no old
    copy of a deleted row stays in the -wal file. PostgreSQL reuses the space of deleted rows after its
    (auto)vacuum."""
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        return
    connection = engine.raw_connection()  # outside a transaction, which a checkpoint must be
    try:
        connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def upgrade(engine: Engine) -> None:
    """Run the Alembic migrations up to the newest, unless the database is there already."""
    if schema_revision(engine) == migrations.HEAD:
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    alembic_config = AlembicConfig()
    alembic_config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        alembic_config.attributes["connection"] = connection
        command.upgrade(alembic_config, "head")


def schema_revision(engine: Engine) -> str | None:
    """The revision Alembic last brought the database to; None for a new database."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _sqlite_trouble(url: str, error: str) -> str:
    """Which file SQLite could not open or write, and why: the folder missing, not a folder, or not writable
    (as systemd's ProtectSystem=strict makes every path outside ReadWritePaths)."""
    path = Path(url.removeprefix("sqlite:///")).absolute()
    folder = path.parent
    fix = "set database.url to a writable place (sqlite:////var/lib/mailflow/mailflow.db for the service)"
    if folder.exists() and not folder.is_dir():
        why = f"{folder} is a file, not a folder"
    elif not folder.exists():
        why = f"the folder {folder} does not exist and cannot be created"
    elif problem := _cannot_write_in(folder):
        why = f"the folder {folder} is not writable for this user ({problem})"
        fix = (
            f"make {folder} writable for the user mailflow runs as (ReadWritePaths= for a service), or {fix}"
        )
    elif path.exists() and not os.access(path, os.R_OK | os.W_OK):
        why = f"the file {path} is not readable and writable for this user"
        fix = f"give the user mailflow runs as read and write access to {path}, or {fix}"
    else:
        return f"database {path}: SQLite cannot use it ({error}); is the disk full, or the file damaged?"
    return f"database {path}: SQLite cannot use it ({error}): {why}; {fix}"


def _cannot_write_in(folder: Path) -> str:
    # Trying is the only sure test: os.access says yes to root on a read-only mount.
    try:
        with tempfile.TemporaryFile(dir=folder):
            return ""
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def short_error(exc: BaseException) -> str:
    # The first line of a driver error; SQLAlchemy appends the statement and its parameters,
    # which may hold personal data.
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0][:200] if text else type(exc).__name__
