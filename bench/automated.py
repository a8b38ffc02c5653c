"""Automated-mail benchmark: a real pass over bounces and auto-replies, none of which may ever be answered.

    python bench/automated.py [--corpus ../shared/corpus/automated] [--show]

APPENDs every .eml of the corpus (real bounces, delivery reports, feedback reports and auto-replies
collected by other projects; some without headers) to a Dovecot folder (pymap when Dovecot is absent), then
runs `mailflow run --config ... --once` over it with an aiosmtpd sink as SMTP, `[imap] since` so the mail
already there is read, and the hourly cap lifted (as bench/ingest.py does), so that nothing but the reading
holds a reply back. Prints the replies that reached the sink (must be 0), the intents mailflow stored (mails
with the same bytes, such as the LF, CRLF and CR copies of one message, are read once), and the seconds the
pass took. `--show` also lists the mails not read as bounce or auto-reply, with the rule that decided.
Exits 1 when any reply went out.
"""

from __future__ import annotations

import argparse
import collections
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import imapclient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import replies, write_config
from servers import Dovecot, dovecot_binary

from mailflow.testing.servers import PymapServer, SmtpSink

CORPUS = ROOT.parent / "shared" / "corpus" / "automated"
FOLDER = "automated"
QUIET_INTENTS = ("bounce", "auto_reply")


def corpus_mails(corpus: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every .eml under `corpus`, as they are: LF, CRLF and CR-only copies alike."""
    return [(str(path.relative_to(corpus)), path.read_bytes()) for path in sorted(corpus.rglob("*.eml"))]


def as_delivered(raw: bytes) -> bytes:
    """The mail with CRLF line ends, as an MTA would store it."""
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def load(server: Any, mails: list[tuple[str, bytes]]) -> list[str]:
    """APPEND each mail to FOLDER as it is, else with CRLF line ends; the names refused both ways."""
    refused = []
    with imapclient.IMAPClient(server.host, port=server.port, ssl=False) as client:
        client.login(server.username, server.password)
        if not client.folder_exists(FOLDER):
            client.create_folder(FOLDER)
        for name, raw in mails:
            for attempt in (raw, as_delivered(raw)):
                try:
                    client.append(FOLDER, attempt)
                    break
                except imapclient.exceptions.IMAPClientError:
                    continue
            else:
                refused.append(name)
    return refused


def mailflow_pass(server: Any, sink: SmtpSink, workdir: Path, database: Path) -> float:
    config = write_config(
        workdir,
        server,
        sink,
        f"sqlite:///{database}",
        imap={"folder": FOLDER, "since": "2000-01-01", "batch_size": 500},
        # Nothing but the reading may hold a reply back: the hourly cap would hide all but 60.
        limits={"replies_per_hour": 1_000_000},
    )
    command = [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--once"]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=os.environ.copy(), stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def stored(database: Path) -> tuple[collections.Counter[str], list[tuple[str, str]], int]:
    """(intents of the mails read, (intent, reason) of those neither bounce nor auto-reply, outbox rows that
    answer a mail)."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT coalesce(intent, status), coalesce(reason, '') FROM inbound_messages"
        ).fetchall()
        replies = db.execute("SELECT count(*) FROM outbox WHERE key LIKE 'reply:%'").fetchone()[0]
    intents = collections.Counter(str(intent) for intent, _ in rows)
    odd = [(str(intent), str(reason)) for intent, reason in rows if intent not in QUIET_INTENTS]
    return intents, odd, int(replies)


def imap_server() -> AbstractContextManager[Any]:
    return Dovecot() if dovecot_binary() is not None else PymapServer()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--show", action="store_true", help="list the mails not read as bounce or auto-reply")
    args = parser.parse_args()
    mails = corpus_mails(args.corpus)
    if not mails:
        print(f"no .eml files under {args.corpus}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, imap_server() as server, SmtpSink() as sink:
        refused = load(server, mails)
        database = Path(tmp) / "automated.db"
        seconds = mailflow_pass(server, sink, Path(tmp), database)
        time.sleep(1.0)  # a reply still on its way to the sink would count
        received = replies(sink)  # the coordinator's digest, which lists what went to review, is no answer
        intents, odd, reply_rows = stored(database)
    print(f"server           {getattr(server, 'kind', 'dovecot')}")
    print(f"mails            {len(mails)} ({len(refused)} refused by the IMAP server)")
    print(f"pass             {seconds:8.1f} s  (run --once: fetch, parse, store, move)")
    print(f"replies at sink  {len(received):8d}  (must be 0)")
    print(f"reply rows       {reply_rows:8d}  (outbox rows answering a mail, sent or not)")
    print("intents          " + ", ".join(f"{name} {count}" for name, count in intents.most_common()))
    for name in refused:
        print(f"  refused: {name}")
    if args.show:
        for intent, reason in sorted(odd):
            print(f"  {intent:12s} {reason}")
    return 1 if received or reply_rows else 0


if __name__ == "__main__":
    raise SystemExit(main())
