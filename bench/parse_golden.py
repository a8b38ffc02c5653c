"""Whether a change to the parser changes any reading: every ParsedMessage of a set of mails, as JSON,
against a reference written before the change.

    python bench/parse_golden.py --write /tmp/before.jsonl      # on the code before the change
    python bench/parse_golden.py --check /tmp/before.jsonl      # after it: lists every mail read differently

The mails: tests/corpus, tests/mail and mailflow/samples, and the shared corpora next to the repository (dev,
dev2, automated; the automated mails also with CRLF line ends), each read with the corpus's network and with
an empty context. `--inputs FILE` adds the (raw, context) pairs a run of the tests gave the parser, recorded
with this module as a pytest plugin (before the change, with the reference):

    RECORD_TO=/tmp/inputs.pkl PYTHONPATH=bench python -m pytest -p parse_golden -m "not servers" -q

Each mail is read twice, so that a memo filled by the first reading cannot change the second unseen.
Exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "corpus"))

from scoring import load_context

from mailflow.core.parsing import ParseContext, ParsedMessage, parse_message

SHARED = ROOT.parent / "shared" / "corpus"
FOLDERS = [
    ROOT / "tests" / "corpus",
    ROOT / "tests" / "mail",
    ROOT / "mailflow" / "samples",
    SHARED / "dev",
    SHARED / "dev2",
    SHARED / "automated",
]


def as_json(parsed: ParsedMessage) -> str:
    """Every field of the reading, extra included, in a stable text."""
    return json.dumps(dataclasses.asdict(parsed), sort_keys=True, default=str, ensure_ascii=False)


def inputs(extra: Path | None) -> Iterator[tuple[str, bytes, ParseContext]]:
    """(key, raw, context) of every mail to compare."""
    network = load_context(ROOT / "tests" / "corpus" / "corpus.toml")
    for folder in FOLDERS:
        if not folder.is_dir():
            print(f"missing, skipped: {folder}", file=sys.stderr)
            continue
        for path in sorted(folder.rglob("*.eml")):
            raw = path.read_bytes()
            variants = [("", raw)]
            if folder.name == "automated":
                crlf = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
                variants.append(("crlf:", crlf))
            for prefix, data in variants:
                yield f"{prefix}{path}", data, network
                yield f"{prefix}empty-context:{path}", data, ParseContext()
    if extra is not None:
        recorded: list[tuple[bytes, ParseContext]] = pickle.loads(extra.read_bytes())
        for number, (raw, context) in enumerate(recorded):
            yield f"recorded:{number}", raw, context


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="write the readings to this file")
    mode.add_argument("--check", type=Path, help="compare the readings with this file")
    parser.add_argument("--inputs", type=Path, help="pickled (raw, context) pairs to add")
    args = parser.parse_args()
    readings: dict[str, str] = {}
    for key, raw, context in inputs(args.inputs):
        first = as_json(parse_message(raw, context))
        readings[key] = first if as_json(parse_message(raw, context)) == first else "UNSTABLE " + first
    if args.write:
        args.write.write_text("".join(json.dumps([k, v]) + "\n" for k, v in readings.items()))
        print(f"wrote {len(readings)} readings to {args.write}")
        return 0
    reference: dict[str, Any] = dict(json.loads(line) for line in args.check.read_text().splitlines())
    differ = [key for key in reference.keys() | readings.keys() if reference.get(key) != readings.get(key)]
    for key in sorted(differ):
        print(f"{key}\n  before: {reference.get(key)}\n  after:  {readings.get(key)}")
    print(f"{len(readings)} readings, {len(differ)} different from {args.check}")
    return 1 if differ else 0


# --- as a pytest plugin: record what the tests give the parser ----------------------------------------------

_RECORDED: list[tuple[bytes, ParseContext]] = []


def pytest_configure(config: Any) -> None:
    if not os.environ.get("RECORD_TO"):
        return
    from mailflow.core.parsing import message

    read = message._parse

    def recording(raw: bytes, context: ParseContext) -> ParsedMessage:
        _RECORDED.append((bytes(raw), context))
        return read(raw, context)

    message._parse = recording


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    target = os.environ.get("RECORD_TO")
    if not target:
        return
    kept: dict[tuple[bytes, bytes], tuple[bytes, ParseContext]] = {}
    for raw, context in _RECORDED:
        try:
            kept.setdefault((raw, pickle.dumps(context)), (raw, context))
        except (pickle.PicklingError, TypeError, AttributeError):
            continue  # a context built for one test that pickle cannot keep
    Path(target).write_bytes(pickle.dumps(list(kept.values())))


if __name__ == "__main__":
    raise SystemExit(main())
