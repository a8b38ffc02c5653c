"""Alembic environment: mailflow passes its own connection in (store.upgrade); nothing here reads a config file."""

from alembic import context

from mailflow.adapters.db.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
