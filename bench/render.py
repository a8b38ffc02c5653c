"""Rendering benchmark: N register replies (nl, fr, en in turn) through render_reply and message_bytes.

    python bench/render.py [--count 2000] [--repeat 3] [--profile]

Every reply has its own recipient, name, Message-ID and parent id, so nothing can be served whole from a
cache; the meeting is the same, as it is in a real pass. Prints replies/s and ms/reply (wall clock and CPU
time, best of the repeats, since a shared machine makes single runs noisy). Aim: under 3 ms per reply.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mailflow.core.mail import compose, render, templates
from mailflow.core.parsing.result import Person
from mailflow.settings import Meeting, Network, Venue

BRUSSELS = ZoneInfo("Europe/Brussels")
NOW = dt.datetime(2025, 12, 1, 9, 15, tzinfo=dt.UTC)
SENDER = "leernetwerk@in-gent.example"
NETWORK = Network(
    name="Leernetwerk Mensen Zonder Wettig Verblijf",
    timezone=BRUSSELS,
    language="nl",
    signup_address=SENDER,
    coordinator="coordinator@in-gent.example",
)
VENUE = Venue(
    name="Campus Sint-Annaplein",
    address="Sint-Annaplein 31, 9000 Gent",
    start=dt.time(19, 30),
    end=dt.time(22, 0),
)
MEETING = Meeting(
    date=dt.date(2026, 1, 13), theme="Dringende medische hulp", speakers=("Anouk Baert", "Mieke Declerck")
)
NAMES = ("Lotte Verhaegen", "Élise Dubois-Noël", "Jonas Claeys", "Sam O'Neill")
LANGUAGES = ("nl", "fr", "en")


def replies(count: int) -> list[render.Reply]:
    meeting = render.meeting_details(MEETING, VENUE, NETWORK)
    return [
        render.Reply(
            kind="register",
            language=LANGUAGES[i % 3],
            to_address=f"volunteer{i}@example.org",
            to_name=NAMES[i % len(NAMES)],
            people=(Person(NAMES[i % len(NAMES)], "Vluchtelingenwerk Vlaanderen"),),
            meeting=meeting,
            unsure=i % 5 == 0,
            in_reply_to=f"<CAQZeb5Cgp{i}=KWPN=ApkCJ@mail.gmail.example>",
            references=(f"<root{i}@example.org>",),
            subject="Inschrijving leernetwerk",
        )
        for i in range(count)
    ]


def run(count: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds to render and serialise `count` replies (after a warm-up reply per
    language)."""
    env = templates.make_environment()
    batch = replies(count)
    for reply in batch[:3]:
        compose.message_bytes(
            render.render_reply(
                env, reply, network=NETWORK, sender=SENDER, message_id="<warm@in-gent.example>", now=NOW
            )
        )
    started, started_cpu = time.perf_counter(), time.process_time()
    total = 0
    for i, reply in enumerate(batch):
        message = render.render_reply(
            env, reply, network=NETWORK, sender=SENDER, message_id=f"<reply-{i}@in-gent.example>", now=NOW
        )
        total += len(compose.message_bytes(message))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    assert total > count * 1000  # each reply is a few kB: nothing was skipped
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--profile", action="store_true", help="one run under cProfile; the 25 costliest calls"
    )
    args = parser.parse_args()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run, args.count)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        return
    runs = [run(args.count) for _ in range(args.repeat)]
    for elapsed, cpu in runs:
        print(
            f"{args.count} replies in {elapsed:.2f} s: {args.count / elapsed:.0f} replies/s, "
            f"{1000 * elapsed / args.count:.2f} ms/reply ({1000 * cpu / args.count:.2f} ms CPU)"
        )
    elapsed, cpu = min(runs)
    print(
        f"best: {args.count / elapsed:.0f} replies/s, {1000 * elapsed / args.count:.2f} ms/reply, "
        f"{1000 * min(c for _, c in runs) / args.count:.2f} ms CPU/reply"
    )


if __name__ == "__main__":
    main()
