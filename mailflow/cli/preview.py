"""`mailflow preview`: every mail mailflow writes, in every language, rendered with invented people and the
config's network, venue, meetings, texts and templates, written to a folder to look at:
`<language>/<kind>.eml` (open it in a mail program) and `<language>/<kind>.html` (open it in a browser).
No database, no network.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailflow.settings import Config
from mailflow.usecases.preview import write_previews

Say = Callable[[str], object]

HELP = "write every mail, in every language, with invented people to a folder: .eml and .html to look at"


def add_parser(commands: Any, config_help: str, handler: Callable[[argparse.Namespace], int]) -> None:
    """The `preview` subcommand, on the `mailflow` command's subparsers."""
    p = commands.add_parser("preview", help=HELP, description=HELP)
    p.add_argument("--config", metavar="FILE", help=config_help)
    p.add_argument("--out", required=True, metavar="DIR", help="the folder to write into (made if missing)")
    p.add_argument("--now", help=argparse.SUPPRESS)
    p.set_defaults(handler=handler)


def preview(config: Config, out: Path, today: dt.date, say: Say) -> int:
    """Write the previews; says how many files went where. Returns the exit status."""
    written = write_previews(config, out, today)
    languages = sorted({path.parent.name for path in written})
    say(f"wrote {len(written)} files to {out}: one .eml and one .html per mail, in {', '.join(languages)}")
    return 0
