"""How fast mailflow reads mail: the labelled corpus repeated to 10,000 mails, parsed on one core.

    python bench/parse.py [--mails 10000] [--rounds 5] [--corpus tests/corpus]

Prints mails per second and CPU milliseconds per mail, then the corpus score line (the same metrics as the
project's scorer). The mails are parsed in `--rounds` rounds: on a machine others share, the best round says
what the parser costs, the whole run what it cost this time (CPU time is steadier than wall-clock time, but
still grows when other processes share the core's caches).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "corpus"))

from scoring import load_context, score_corpus

from mailflow.core.parsing import ParseContext, parse_message


def cpu_per_mail(raws: list[bytes], context: ParseContext) -> tuple[float, float]:
    """(CPU seconds, wall-clock seconds) of parsing `raws` once, per mail."""
    start, cpu_start = time.perf_counter(), time.process_time()
    for raw in raws:
        parse_message(raw, context)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return cpu / len(raws), elapsed / len(raws)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds the mails are parsed in")
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "corpus")
    args = parser.parse_args()
    labels = json.loads((args.corpus / "labels.json").read_text(encoding="utf-8"))
    raws = [(args.corpus / name).read_bytes() for name in sorted(labels)]
    context = load_context(args.corpus / "corpus.toml")
    for raw in raws:  # warm caches and imports, as a running daemon has
        parse_message(raw, context)
    batch = (raws * (args.mails // len(raws) + 1))[: args.mails]
    rounds = max(1, min(args.rounds, len(batch)))
    size = len(batch) // rounds
    timings = [cpu_per_mail(batch[i * size : (i + 1) * size], context) for i in range(rounds)]
    cpu = statistics.fmean(c for c, _ in timings)
    wall = statistics.fmean(w for _, w in timings)
    best, median = min(c for c, _ in timings), statistics.median(c for c, _ in timings)
    # CPU time is what one core spends; wall time also counts whatever else the machine was doing.
    print(
        f"parsed {size * rounds} mails: {1 / cpu:.0f} mails/s of CPU time on one core "
        f"({1 / wall:.0f} mails/s wall clock)"
    )
    print(
        f"CPU per mail: {cpu * 1e3:.3f} ms; over {rounds} rounds best {best * 1e3:.3f} ms "
        f"({1 / best:.0f} mails/s), median {median * 1e3:.3f} ms"
    )
    print(score_corpus(args.corpus, context).line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
