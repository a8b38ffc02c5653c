"""How fast mailflow reads mail: the labelled corpus repeated to 10,000 mails, parsed on one core.

    python bench/parse.py [--mails 10000] [--corpus tests/corpus]

Prints mails per second and the corpus score line (the same metrics as the project's scorer).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "corpus"))

from scoring import load_context, score_corpus

from mailflow.core.parsing import parse_message


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "corpus")
    args = parser.parse_args()
    labels = json.loads((args.corpus / "labels.json").read_text(encoding="utf-8"))
    raws = [(args.corpus / name).read_bytes() for name in sorted(labels)]
    context = load_context(args.corpus / "corpus.toml")
    for raw in raws:  # warm caches and imports, as a running daemon has
        parse_message(raw, context)
    batch = (raws * (args.mails // len(raws) + 1))[: args.mails]
    start, cpu_start = time.perf_counter(), time.process_time()
    for raw in batch:
        parse_message(raw, context)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # CPU time is what one core spends; wall time also counts whatever else the machine was doing.
    print(
        f"parsed {len(batch)} mails: {len(batch) / cpu:.0f} mails/s of CPU time on one core "
        f"({len(batch) / elapsed:.0f} mails/s wall clock)"
    )
    print(score_corpus(args.corpus, context).line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
