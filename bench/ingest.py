"""Ingestion benchmark: mailflow's pass over N registration mails against the floor of fetching and parsing
them.

    python bench/ingest.py [--count 2000]

Loads N mails (the registrations of tests/mail with varied senders and Message-IDs) into a Dovecot folder,
then times (1) the floor: a bare imapclient UID FETCH BODY.PEEK[] of them all in batches plus the standard
library's parse of each with policy.default, and (2) `mailflow run --once` on the same mails in a fresh folder
(fetch, understand, store, queue replies, move; the replies go to a local aiosmtpd sink). Prints both rates,
their ratio and mailflow's peak memory (max RSS of the child process). Aim: within 3x of the floor and under
150 MB.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imapclient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import write_config
from servers import Dovecot, dovecot_binary

from mailflow.testing.servers import SmtpSink

MAIL = ROOT / "tests" / "mail"
BATCH = 500


def registrations() -> list[bytes]:
    import json

    labels = json.loads((MAIL / "labels.json").read_text(encoding="utf-8"))
    return [
        (MAIL / name).read_bytes() for name, label in sorted(labels.items()) if label["intent"] == "register"
    ]


def varied(templates: list[bytes], count: int) -> list[bytes]:
    """`count` distinct mails: each template with its own sender and Message-ID, as if from `count`
    volunteers."""
    mails = []
    for i in range(count):
        raw = templates[i % len(templates)]
        raw = re.sub(rb"(?im)^(Message-ID:\s*<)", rb"\g<1>bench%d." % i, raw, count=1)
        raw = re.sub(rb"(?im)^(From:.*<)([^@>]+)@", rb"\g<1>\g<2>.%d@" % i, raw, count=1)
        mails.append(raw)
    return mails


def load(server: Dovecot, folder: str, mails: list[bytes]) -> None:
    with imapclient.IMAPClient(server.host, port=server.port, ssl=False) as client:
        client.login(server.username, server.password)
        if not client.folder_exists(folder):
            client.create_folder(folder)
        for start in range(0, len(mails), BATCH):
            client.multiappend(folder, mails[start : start + BATCH])


def floor(server: Dovecot, folder: str) -> float:
    started = time.perf_counter()
    with imapclient.IMAPClient(server.host, port=server.port, ssl=False) as client:
        client.login(server.username, server.password)
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        for start in range(0, len(uids), BATCH):
            for data in client.fetch(uids[start : start + BATCH], ["BODY.PEEK[]"]).values():
                email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
    return time.perf_counter() - started


def mailflow_pass(server: Dovecot, sink: SmtpSink, folder: str, workdir: Path) -> tuple[float, int]:
    config = write_config(
        workdir,
        server,
        sink,
        f"sqlite:///{workdir}/bench.db",
        imap={"folder": folder, "since": "2000-01-01", "batch_size": BATCH},
        # Every mail answered, as the rate is about: the hourly cap would hold all but 60.
        limits={"replies_per_hour": 1_000_000},
    )
    command = [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--once"]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=os.environ.copy(), stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])  # the summary, wrapped
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    if dovecot_binary() is None:
        print("bench/ingest.py needs Dovecot: apt-get install dovecot-imapd", file=sys.stderr)
        return 2
    mails = varied(registrations(), args.count)
    with tempfile.TemporaryDirectory() as tmp, Dovecot() as server, SmtpSink() as sink:
        load(server, "floor", mails)
        load(server, "signup", mails)
        floor_seconds = floor(server, "floor")
        mailflow_seconds, peak_kb = mailflow_pass(server, sink, "signup", Path(tmp))
        replies = sink.wait_for(args.count, timeout=60)
    floor_rate, mailflow_rate = args.count / floor_seconds, args.count / mailflow_seconds
    print(f"mails            {args.count}")
    print(f"floor            {floor_rate:8.0f} mails/s  (bare FETCH BODY.PEEK[] + email.message_from_bytes)")
    print(
        f"mailflow         {mailflow_rate:8.0f} mails/s  (run --once: fetch, parse, store, queue, move, send;"
        f" {len(replies)} replies)"
    )
    print(f"ratio            {floor_rate / mailflow_rate:8.1f} x slower than the floor  (aim: <= 3)")
    print(f"peak memory      {peak_kb / 1024:8.0f} MB  (max RSS of the mailflow process; aim: < 150)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
