"""Query plans: the statements a pass makes most, against a database that has served 10,000 members.

    python bench/plans.py [--members 10000] [--databases sqlite,postgresql]

Fills a fresh database (SQLite, and PostgreSQL with fsync on) with --members members, each with a
registration, their mail and a reply of the last day (workload.fill_members), then runs the hot queries
through mailflow's own functions, catches the SQL they send, and prints each one's plan (SQLite's EXPLAIN
QUERY PLAN, PostgreSQL's EXPLAIN ANALYZE) with its time per call. A plan that scans a whole table or sorts
where an index would do is what to look for.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import sqlalchemy as sa
from servers import postgres_bindir
from sqlalchemy import event
from sqlalchemy.orm import Session
from workload import MEETINGS, NOW, DurablePostgres, fill_members

from mailflow.adapters.db import agenda, batch, delivery, models, queries
from mailflow.adapters.db.engine import close_database, open_database
from mailflow.core.vocabulary import REPLY_KINDS, MailKind

UTC_NOW = dt.datetime.fromisoformat(NOW).astimezone(dt.UTC)
CALLS = 20


def write_meetings(url: str) -> None:
    """The bench's meetings, as a pass would have written them down."""
    sessions = open_database(url)
    try:
        with sessions.begin() as db:
            for i, meeting in enumerate(MEETINGS):
                day = meeting["date"]
                db.add(
                    models.Meeting(
                        date=day,
                        starts_at=dt.datetime.combine(day, dt.time(18, 30), tzinfo=dt.UTC),
                        theme=meeting["theme"],
                        speakers=meeting["speakers"],
                        capacity=meeting.get("capacity"),
                        status="confirmed",
                        uid=f"bench-{i}@in-gent.example",
                        sequence=0,
                        walk_ins=0,
                    )
                )
    finally:
        close_database(sessions)


@contextlib.contextmanager
def caught(db: Session) -> Iterator[list[tuple[str, Any]]]:
    """The statements sent on the Session's connection meanwhile, with their parameters."""
    statements: list[tuple[str, Any]] = []
    engine = db.get_bind()

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def explain(db: Session, statement: str, parameters: Any) -> list[str]:
    cursor = db.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    if db.get_bind().dialect.name == "sqlite":
        cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return ["  " * (row[1] > 0) + row[3] for row in cursor.fetchall()]
    cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statement, parameters)
    return [row[0] for row in cursor.fetchall()]


def hot_queries(db: Session) -> list[tuple[str, Callable[[], object]]]:
    meeting = agenda.meeting_on(db, MEETINGS[0]["date"])
    assert meeting is not None
    meetings = agenda.all_meetings(db)
    address = "lid.5000@members.example.org"
    hour, day = UTC_NOW - dt.timedelta(hours=1), UTC_NOW - dt.timedelta(hours=24)

    def in_batch(question: Callable[[batch.Batch], object]) -> Callable[[], object]:
        def ask() -> object:
            kept = batch.start(db, [address, "new@example.org"])
            try:
                return question(kept)
            finally:
                batch.stop(db)

        return ask

    return [
        (
            "the replies of the last hour (count_replies)",
            lambda: queries.count_replies(db, REPLY_KINDS, hour),
        ),
        (
            "the replies to one address in a day (count_replies)",
            lambda: queries.count_replies(db, REPLY_KINDS, day, address),
        ),
        (
            "the last reply to one address (latest_reply)",
            lambda: queries.latest_reply(db, REPLY_KINDS, address, day),
        ),
        (
            "a batch's replies of the last hour (batch: count_replies)",
            in_batch(lambda b: b.count_replies(db, REPLY_KINDS, hour, None)),
        ),
        (
            "a batch's replies to its addresses (batch: latest_reply)",
            in_batch(lambda b: b.latest_reply(db, REPLY_KINDS, address, day)),
        ),
        ("places taken (places_taken)", lambda: agenda.places_taken(db, meeting)),
        ("the waiting list (waiting_for)", lambda: agenda.waiting_for(db, meeting)),
        ("a batch's places (batch: count)", in_batch(lambda b: b.count(db, meeting, "registered", ()))),
        ("a batch's members (batch: members_at)", in_batch(lambda b: b.members_at(db, address))),
        (
            "a batch's known mails (known_inbound)",
            lambda: queries.known_inbound(
                db, "signup", 7, list(range(1, 501)), [f"{i:064x}" for i in range(500)]
            ),
        ),
        ("the due outbox (due_outbox)", lambda: delivery.due_outbox(db, UTC_NOW)),
        (
            "the next page of it (due_outbox after)",
            lambda: delivery.due_outbox(db, UTC_NOW, after=(UTC_NOW, 5)),
        ),
        (
            "invitations done (members_mailed)",
            lambda: queries.members_mailed(db, MailKind.INVITATION, meetings),
        ),
        ("reminders done (reminders_done)", lambda: queries.reminders_done(db, [m.date for m in meetings])),
        (
            "the mail an answer answers (answered_mail)",
            lambda: queries.answered_mail(db, ["<earlier.5000@in-gent.example>"], ["register"]),
        ),
    ]


def report(url: str, database: str) -> None:
    sessions = open_database(url)
    try:
        with sessions() as db:
            for title, question in hot_queries(db):
                with caught(db) as statements:
                    question()
                started = time.perf_counter()
                for _ in range(CALLS):
                    question()
                    db.rollback()
                per_call = 1000 * (time.perf_counter() - started) / CALLS
                print(f"\n{database}: {title}: {per_call:.2f} ms per call")
                for statement, parameters in statements:
                    print("  " + " ".join(statement.split())[:300])
                    for line in explain(db, statement, parameters):
                        print("    " + line)
                db.rollback()
    finally:
        close_database(sessions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    databases = [d for d in args.databases.split(",") if d]
    if "postgresql" in databases and postgres_bindir() is None:
        databases.remove("postgresql")
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        pg = stack.enter_context(DurablePostgres()) if "postgresql" in databases else None
        for database in databases:
            url = f"sqlite:///{workdir}/plans.db" if database == "sqlite" else pg.create_database()  # type: ignore[union-attr]
            write_meetings(url)
            fill_members(url, args.members)
            if database == "postgresql":
                with sa.create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
                    connection.exec_driver_sql("ANALYZE")  # as autovacuum would have by now
            report(url, database)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
