"""Alembic environment.

mailflow passes its own connection in (adapters.db.engine.upgrade), and nothing else here applies. From a
checkout, `alembic` (alembic.ini at the repo root) passes none: then this connects by itself, to `-x url=...`,
else MAILFLOW_DATABASE_URL, else a throwaway SQLite file in the temp dir, so that `alembic upgrade head` and
`alembic revision --autogenerate` work without a mailflow config.
"""

import os
import tempfile

import sqlalchemy as sa
from alembic import context

from mailflow.adapters.db.models import Base


def _run(connection: sa.Connection) -> None:
    # render_as_batch: SQLite alters a table by copying it, and autogenerate must write migrations that do so.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    given = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("MAILFLOW_DATABASE_URL")
    return given or f"sqlite:///{os.path.join(tempfile.gettempdir(), 'mailflow-alembic.db')}"


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = sa.create_engine(_url())
    try:
        with engine.begin() as own:
            _run(own)
    finally:
        engine.dispose()
