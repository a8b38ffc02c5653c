"""Latency benchmark: how soon a registration is answered while `mailflow run` waits in IMAP IDLE.

    python bench/latency.py [--seconds 60] [--rate 1]

Starts the test Dovecot and an aiosmtpd sink, runs the daemon (`mailflow run`) against them, then APPENDs a
new registration every 1/rate seconds for --seconds, each from its own sender. For each mail it measures the
time from the APPEND's completion to the reply arriving at the SMTP server, and prints p50, p95 and max. Aim:
p95 under 2 s (Dovecot itself takes about 0.5 s to tell an idling client of new mail).
"""

from __future__ import annotations

import argparse
import email.utils
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import imapclient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import write_config
from servers import Dovecot, dovecot_binary

from mailflow.testing.servers import SmtpSink


def registration(i: int) -> tuple[str, bytes]:
    """A registration from volunteer number i, with its own address (the reply's recipient identifies it)."""
    address = f"vrijwilliger.{i}@example.org"
    message = EmailMessage()
    message["From"] = email.utils.formataddr((f"Vrijwilliger {i}", address))
    message["To"] = "leernetwerk@in-gent.example"
    message["Subject"] = "Inschrijving"
    message["Date"] = email.utils.formatdate(localtime=True)
    message["Message-ID"] = email.utils.make_msgid(domain="example.org")
    message.set_content(
        "Beste,\n\nGraag schrijf ik me in voor de volgende bijeenkomst van het leernetwerk.\n\n"
        f"Met vriendelijke groeten,\nVrijwilliger {i}\nVluchtelingenwerk Vlaanderen\n"
    )
    return address, bytes(message)


def watch(sink: SmtpSink, arrived: dict[str, float], stop: threading.Event) -> None:
    """Stamp each reply with the moment it is seen at the sink (polled every 2 ms)."""
    seen = 0
    while not stop.is_set():
        messages = sink.messages
        for received in messages[seen:]:
            arrived.setdefault(received.rcpt_tos[0], time.monotonic())
        seen = len(messages)
        time.sleep(0.002)


def wait_for_log(log_path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log_path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise SystemExit(f"the daemon did not log {text!r} within {timeout:.0f} s; see {log_path}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=float, default=1.0, help="registrations per second")
    args = parser.parse_args()
    if dovecot_binary() is None:
        print("bench/latency.py needs Dovecot: apt-get install dovecot-imapd", file=sys.stderr)
        return 2
    count = int(args.seconds * args.rate)
    with tempfile.TemporaryDirectory() as tmp, Dovecot() as server, SmtpSink() as sink:
        workdir = Path(tmp)
        # Every registration answered, whatever --seconds and --rate: the hourly cap would hold all but 60.
        config = write_config(
            workdir, server, sink, f"sqlite:///{workdir}/bench.db", limits={"replies_per_hour": 1_000_000}
        )
        log_path = workdir / "daemon.log"
        with open(log_path, "wb") as log_file:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "mailflow", "run", "--config", str(config)],
                env=os.environ.copy(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_log(log_path, "waiting for mail by IDLE", timeout=60)
            arrived: dict[str, float] = {}
            appended: dict[str, float] = {}
            stop = threading.Event()
            watcher = threading.Thread(target=watch, args=(sink, arrived, stop), daemon=True)
            watcher.start()
            with imapclient.IMAPClient(server.host, port=server.port, ssl=False) as client:
                client.login(server.username, server.password)
                started = time.monotonic()
                for i in range(count):
                    time.sleep(max(0.0, started + i / args.rate - time.monotonic()))
                    address, raw = registration(i)
                    client.append("INBOX", raw)
                    appended[address] = time.monotonic()
            deadline = time.monotonic() + 30
            while len(arrived) < count and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            watcher.join()
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
    latencies = [arrived[address] - at for address, at in appended.items() if address in arrived]
    print(f"registrations    {count} ({args.rate:g}/s for {args.seconds} s), {len(latencies)} answered")
    if not latencies:
        return 1
    print(f"p50              {statistics.median(latencies):6.2f} s")
    print(f"p95              {percentile(latencies, 0.95):6.2f} s  (aim: < 2 s with IDLE)")
    print(f"max              {max(latencies):6.2f} s")
    return 0 if len(latencies) == count else 1


if __name__ == "__main__":
    raise SystemExit(main())
