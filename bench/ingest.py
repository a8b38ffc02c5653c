"""Ingestion benchmark: mailflow's pass over a backlog of N registration mails against the floor of fetching
and parsing them, for several N, on SQLite and on PostgreSQL.

    python bench/ingest.py [--sizes 500,2000,5000,10000] [--databases sqlite,postgresql] [--members 10000]
                           [--python PATH]

For each size, N mails (the registrations of tests/mail, each with its own sender and Message-ID) go into a
Dovecot folder. The floor is a bare imapclient UID FETCH BODY.PEEK[] of them in batches plus the standard
library's parse of each. mailflow's pass is `mailflow run --once` on a fresh database that an empty pass
has set up: fetch, understand, store, queue the replies, move, and send them to a local aiosmtpd sink (in
this process). The workload is fixed, whatever day it runs (see workload.py).

Printed per run: wall time, mails/s, the ratio to the floor, the pass's CPU time per mail, and its peak RSS.
Then whether the cost per mail grows with the backlog (the largest size against the smallest, start-up left
out) and with the members held (a pass over the smallest size on a database that already holds --members
members, each with a registration, their mail and a reply of the last day). Aims: within 3x of the floor on
SQLite at 2,000 mails (2x better), PostgreSQL within 1.5x of SQLite, the cost per mail flat from 500 to
10,000, peak RSS under 150 MB at 10,000. --python runs another venv's mailflow (to compare with a release).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from servers import dovecot_binary, postgres_bindir
from workload import (
    Dovecot,
    DurablePostgres,
    Run,
    bench_config,
    fill_members,
    floor,
    load,
    mailflow_once,
    registrations,
    varied,
)

from mailflow.testing.servers import SmtpSink

PYTHON = sys.executable  # whose mailflow runs the passes (--python)


@dataclass
class Result:
    database: str
    mails: int
    members: int
    floor_seconds: float
    run: Run
    replies: int

    @property
    def ratio(self) -> float:
        return self.run.seconds / self.floor_seconds


def fresh_url(database: str, workdir: Path, postgres: DurablePostgres | None, name: str) -> str:
    if database == "sqlite":
        return f"sqlite:///{workdir}/{name}.db"
    assert postgres is not None
    return postgres.create_database(name)


def measure(
    server: Dovecot,
    sink: SmtpSink,
    database: str,
    mails: list[bytes],
    floor_seconds: float,
    workdir: Path,
    postgres: DurablePostgres | None,
    members: int = 0,
) -> Result:
    """One pass over `mails` on a fresh database (set up by an empty pass, then filled with `members`)."""
    name = f"{database}_{len(mails)}_{members}"
    folder = f"signup-{name}"
    url = fresh_url(database, workdir, postgres, f"bench_{name}")
    load(server, folder, [])
    config = bench_config(workdir / name, server, sink, url, folder)
    mailflow_once(config, PYTHON)  # migrates, writes the meetings down, notes where reading starts
    if members:
        fill_members(url, members)
    load(server, folder, mails)
    sink.clear()
    run = mailflow_once(config, PYTHON)
    replies = len(sink.messages)
    sink.clear()
    return Result(database, len(mails), members, floor_seconds, run, replies)


def start_up(
    server: Dovecot, sink: SmtpSink, database: str, workdir: Path, pg: DurablePostgres | None
) -> Run:
    """An empty pass on a database already set up (start-up, login, the jobs finding nothing): the fastest
    of three."""
    url = fresh_url(database, workdir, pg, f"bench_{database}_empty")
    load(server, f"empty-{database}", [])
    config = bench_config(workdir / f"empty-{database}", server, sink, url, f"empty-{database}")
    mailflow_once(config, PYTHON)
    return min((mailflow_once(config, PYTHON) for _ in range(3)), key=lambda run: run.seconds)


def per_mail(result: Result, startup: Run) -> tuple[float, float]:
    """Milliseconds per mail, wall and CPU, with an empty pass's left out."""
    run = result.run
    return (
        1000 * (run.seconds - startup.seconds) / result.mails,
        1000 * (run.cpu_seconds - startup.cpu_seconds) / result.mails,
    )


def print_result(result: Result, startup: Run) -> None:
    run = result.run
    wall, cpu = per_mail(result, startup)
    print(
        f"{result.database:<11}{result.mails:>7}{result.members:>9}{result.floor_seconds:>9.2f}"
        f"{run.seconds:>12.2f}{result.mails / run.seconds:>9.0f}{result.ratio:>7.1f}"
        f"{wall:>9.2f}{cpu:>9.2f}{run.peak_mb:>8.0f} MB"
        f"{'' if result.replies == result.mails else f'  ({result.replies} replies!)'}",
        flush=True,
    )


def verdicts(results: list[Result], startups: dict[str, Run]) -> None:
    """Whether the cost per mail grows, judged on CPU time (a shared machine makes wall time wander)."""
    print()
    for database, startup in startups.items():
        plain = [r for r in results if r.database == database and not r.members]
        plain.sort(key=lambda r: r.mails)
        if len(plain) >= 2:
            first, last = plain[0], plain[-1]
            (wall_a, cpu_a), (wall_b, cpu_b) = per_mail(first, startup), per_mail(last, startup)
            grows = "flat" if cpu_b <= cpu_a * 1.15 else "grows with the backlog"
            print(
                f"{database}: CPU {cpu_a:.2f} ms/mail at {first.mails} -> {cpu_b:.2f} at {last.mails} "
                f"({100 * (cpu_b / cpu_a - 1):+.0f}%; wall {wall_a:.2f} -> {wall_b:.2f}): {grows}"
            )
        for with_members in (r for r in results if r.database == database and r.members):
            without = next((r for r in plain if r.mails == with_members.mails), None)
            if without is None:
                continue
            (wall_a, cpu_a), (wall_b, cpu_b) = per_mail(without, startup), per_mail(with_members, startup)
            grows = "flat" if cpu_b <= cpu_a * 1.15 else "grows with the members"
            print(
                f"{database}: CPU {cpu_a:.2f} ms/mail with no member held -> {cpu_b:.2f} with "
                f"{with_members.members} ({100 * (cpu_b / cpu_a - 1):+.0f}%; "
                f"wall {wall_a:.2f} -> {wall_b:.2f}): {grows}"
            )
    sqlite = {r.mails: r for r in results if r.database == "sqlite" and not r.members}
    for result in results:
        if result.database == "postgresql" and not result.members and result.mails in sqlite:
            ratio = result.run.seconds / sqlite[result.mails].run.seconds
            print(f"postgresql / sqlite at {result.mails}: {ratio:.2f}x wall time  (aim: <= 1.5)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the summary, wrapped
    parser.add_argument("--sizes", default="2000", help="backlog sizes, comma-separated (default 2000)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="sqlite and/or postgresql")
    parser.add_argument("--members", type=int, default=10_000, help="members held for the last run (0: none)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose mailflow runs")
    args = parser.parse_args()
    global PYTHON
    PYTHON = args.python
    sizes = [int(size) for size in args.sizes.split(",")]
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    if dovecot_binary() is None:
        print("bench/ingest.py needs Dovecot: apt-get install dovecot-imapd", file=sys.stderr)
        return 2
    if "postgresql" in databases and postgres_bindir() is None:
        print("no PostgreSQL (apt-get install postgresql): SQLite only", file=sys.stderr)
        databases.remove("postgresql")
    templates = registrations()
    results: list[Result] = []
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = stack.enter_context(Dovecot())
        sink = stack.enter_context(SmtpSink())
        pg = stack.enter_context(DurablePostgres()) if "postgresql" in databases else None
        startups = {database: start_up(server, sink, database, workdir, pg) for database in databases}
        for database, run in startups.items():
            print(
                f"start-up ({database}): an empty pass takes {run.seconds:.2f} s "
                f"({run.cpu_seconds:.2f} s of CPU)"
            )
        print(
            f"\n{'database':<11}{'mails':>7}{'members':>9}{'floor s':>9}{'mailflow s':>12}{'mails/s':>9}"
            f"{'ratio':>7}{'ms/mail':>9}{'cpu ms':>9}{'peak RSS':>11}"
        )
        for size in sizes:
            mails = varied(templates, size, tag=f"s{size}-")
            load(server, f"floor-{size}", mails)
            floor_seconds = floor(server, f"floor-{size}")
            for database in databases:
                result = measure(server, sink, database, mails, floor_seconds, workdir, pg)
                results.append(result)
                print_result(result, startups[database])
        if args.members:
            size = sizes[0]
            mails = varied(templates, size, tag=f"m{size}-")
            load(server, f"floor-m{size}", mails)
            floor_seconds = floor(server, f"floor-m{size}")
            for database in databases:
                result = measure(server, sink, database, mails, floor_seconds, workdir, pg, args.members)
                results.append(result)
                print_result(result, startups[database])
    print(
        "\nratio: the pass's wall time over the floor's (bare FETCH BODY.PEEK[] + email.message_from_bytes);"
        " ms/mail and cpu ms: the pass's wall and CPU time less an empty pass's, per mail"
    )
    verdicts(results, startups)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
