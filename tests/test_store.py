"""The store on SQLite and PostgreSQL: migrations build exactly the models' schema, and times come back
aware."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from mailflow.adapters.db import agenda, migrations, models, queries
from mailflow.adapters.db.engine import close_database, create_engine, open_database, schema_revision
from mailflow.errors import StoreError


@pytest.fixture
def sessions(database_url):
    sessions = open_database(database_url)
    yield sessions
    close_database(sessions)


def test_migrations_build_the_models_schema(sessions):
    with sessions.kw["bind"].connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), models.Base.metadata)
    assert differences == []


def test_opening_twice_is_harmless(database_url, sessions):
    again = open_database(database_url)
    close_database(again)


def test_times_are_stored_in_utc_and_come_back_aware(sessions):
    brussels = dt.timezone(dt.timedelta(hours=1))
    with sessions.begin() as db:
        db.add(
            models.Meeting(
                date=dt.date(2026, 1, 13),
                starts_at=dt.datetime(2026, 1, 13, 19, 30, tzinfo=brussels),
                theme="Dringende medische hulp",
                speakers=["Nora Jacobs"],
            )
        )
    with sessions() as db:
        meeting = agenda.meeting_on(db, dt.date(2026, 1, 13))
        assert meeting.starts_at == dt.datetime(2026, 1, 13, 18, 30, tzinfo=dt.UTC)
        assert meeting.speakers == ["Nora Jacobs"]


def test_naive_times_are_refused(sessions):
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as db:
        db.add(
            models.Meeting(date=dt.date(2026, 1, 13), starts_at=dt.datetime(2026, 1, 13, 19, 30), theme="x")
        )


def test_an_outbox_key_is_queued_once(sessions):
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for _ in range(2):
        with sessions.begin() as db:
            queries.enqueue(
                db,
                key="reply:7",
                kind="register",
                recipient="ine@example.org",
                message_id="<a@b>",
                raw=b"x",
                now=now,
                expires_at=None,
            )
    with sessions() as db:
        assert db.query(models.OutboxMessage).count() == 1


def test_a_broken_url_is_a_clear_error():
    with pytest.raises(StoreError, match="database URL cannot be used"):
        open_database("nosuchdb://nowhere")


@pytest.mark.parametrize(
    "a, b",
    [
        ("Rosa De Clercq", "DE CLERCQ Rosa"),
        ("Jean-Philippe Vanderstraeten", "jean philippe vanderstraeten"),
        ("François Lefèvre", "Francois Lefevre"),
    ],
)
def test_name_key_matches_spellings_of_one_name(a, b):
    assert queries.name_key(a) == queries.name_key(b)


def test_head_names_the_newest_migration():
    # The engine skips Alembic for a database at HEAD: a new migration must move HEAD too.
    scripts = ScriptDirectory(str(Path(migrations.__file__).parent))
    assert scripts.get_current_head() == migrations.HEAD


def test_a_database_one_migration_behind_is_brought_to_head(database_url):
    # A database an older mailflow left behind: opening it must migrate, not take it for up to date.
    engine = create_engine(database_url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    previous = ScriptDirectory.from_config(config).get_revision(migrations.HEAD).down_revision
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, previous)
    assert schema_revision(engine) == previous
    engine.dispose()
    sessions = open_database(database_url)
    try:
        assert schema_revision(sessions.kw["bind"]) == migrations.HEAD
        with sessions.kw["bind"].connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), models.Base.metadata) == []
    finally:
        close_database(sessions)
