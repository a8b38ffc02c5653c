"""The `mailflow` command: reads the config once, wires the parts together, and turns errors into one clear line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from mailflow import __version__
from mailflow.config import Config, load_config
from mailflow.errors import MailflowError
from mailflow.parsing import ParseContext, parse_message

log = logging.getLogger("mailflow")


def parse_context(config: Config | None) -> ParseContext:
    """What the parser may know from the config: meetings, organisations and our own addresses."""
    if config is None:
        return ParseContext()
    own = {config.network.signup_address.lower(), config.network.coordinator.lower()}
    if config.smtp is not None:
        own.add(config.smtp.sender.lower())
    return ParseContext(
        meetings=config.meetings,
        organisations=config.organisations,
        own_addresses=tuple(sorted(own)),
        own_domain=config.network.signup_address.rpartition("@")[2].lower(),
    )


def cmd_parse(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else None
    context = parse_context(config)
    for name in args.files:
        try:
            raw = Path(name).read_bytes()
        except OSError as exc:
            print(f"mailflow parse: {name}: {exc.strerror}", file=sys.stderr)
            return 1
        parsed = parse_message(raw, context)
        row = {
            "file": name,
            "intent": str(parsed.intent),
            "people": [{"name": p.name, "organisation": p.organisation} for p in parsed.people],
            "meeting_date": parsed.meeting_date.isoformat() if parsed.meeting_date else None,
            "language": parsed.language,
            "has_question": parsed.has_question,
            "confidence": round(parsed.confidence, 2),
        }
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            people = "; ".join(f"{p['name']} ({p['organisation'] or '-'})" for p in row["people"]) or "-"
            print(f"{name}: {row['intent']} {row['language']} {row['meeting_date'] or '-'} {people}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailflow", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mailflow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details (never personal data)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("parse", help="show how mailflow reads .eml files (nothing is stored or sent)")
    p.add_argument("--json", action="store_true", help="one JSON object per file and line")
    p.add_argument("--config", help="config file; its meetings resolve dates named by month or theme")
    p.add_argument("files", nargs="+", metavar="FILE.eml")
    p.set_defaults(handler=cmd_parse)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.handler(args)
    except MailflowError as exc:
        print(f"mailflow {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
