"""The queries of sending the outbox: the rows that are due, a page at a time, and the mark of a mail sent,
on a connection whose commits do not wait for the disk.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from mailflow.adapters.db.models import OutboxMessage
from mailflow.core.vocabulary import OutboxStatus

# A due row: (id, kind, recipient, message_id, raw, attempts, next_attempt_at, expires_at, member_id).
Due = sa.Row[int, str, str, str, bytes, int, dt.datetime, dt.datetime | None, int | None]


def due_outbox(
    db: Session | sa.Connection,
    now: dt.datetime,
    limit: int = 100,
    after: tuple[dt.datetime, int] | None = None,
) -> list[Due]:
    """Pending rows whose time has come, oldest first; with `after` (next_attempt_at, id), those after it."""
    query = sa.select(
        OutboxMessage.id,
        OutboxMessage.kind,
        OutboxMessage.recipient,
        OutboxMessage.message_id,
        OutboxMessage.raw,
        OutboxMessage.attempts,
        OutboxMessage.next_attempt_at,
        OutboxMessage.expires_at,
        OutboxMessage.member_id,
    ).where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
    if after is not None:
        # The next page starts after the last row of the one before: no list of the rows seen that grows
        # (each length would be a new statement to prepare), and a row deferred meanwhile is not seen twice.
        at, last_id = after
        query = query.where(
            sa.or_(
                OutboxMessage.next_attempt_at > at,
                sa.and_(OutboxMessage.next_attempt_at == at, OutboxMessage.id > last_id),
            )
        )
    order = (OutboxMessage.next_attempt_at, OutboxMessage.id)
    return list(db.execute(query.order_by(*order).limit(limit)).all())


# Made once: a statement built per mail costs more than the UPDATE it sends.
_MARK_SENT = (
    sa.update(OutboxMessage)
    .where(OutboxMessage.id == sa.bindparam("outbox_id"))
    .values(status=OutboxStatus.SENT, sent_at=sa.bindparam("sent_at"), attempts=sa.bindparam("attempts"))
)


def mark_sent(connection: sa.Connection, outbox_id: int, now: dt.datetime, attempts: int) -> None:
    """Record a mail as sent, in one UPDATE on the connection, and commit: cheaper than a Session's flush
    and commit, which a send loop would pay per mail."""
    connection.execute(_MARK_SENT, {"outbox_id": outbox_id, "sent_at": now, "attempts": attempts})
    connection.commit()


@contextlib.contextmanager
def commits_not_awaited(sessions: sessionmaker[Session]) -> Iterator[sa.Connection]:
    """A connection of its own whose commits do not wait for the disk: for marking mail sent.

    Such a commit survives mailflow's own crash (it is with the database when the call returns); only a power
    cut or a crash of the machine in the next moments can lose it, and a lost "sent" costs a mail sent twice,
    never a mail lost. SQLite: synchronous=NORMAL (in WAL mode the commit is in the file, synced at the next
    checkpoint or synced commit); PostgreSQL: synchronous_commit off (the server syncs it within a fraction
    of a second). The connection gets its setting back before it returns to the pool.
    """
    engine = sessions.kw["bind"]
    with engine.connect() as connection:
        _synced(connection, False)
        try:
            yield connection
        finally:
            connection.rollback()
            if not connection.invalidated:
                _synced(connection, True)


def _synced(connection: sa.Connection, synced: bool) -> None:
    # On the driver's connection, outside any transaction: SQLite refuses to change it inside one, and a SET
    # in a transaction rolled back would be undone.
    driver: Any = connection.connection.driver_connection
    if connection.dialect.name == "sqlite":
        driver.execute(f"PRAGMA synchronous={'FULL' if synced else 'NORMAL'}")
    elif connection.dialect.name == "postgresql":
        driver.rollback()
        driver.execute("RESET synchronous_commit" if synced else "SET synchronous_commit TO off")
        driver.commit()
