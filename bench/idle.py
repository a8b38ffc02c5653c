"""Idle memory: the daemon's resident memory waiting in IMAP IDLE, on an empty folder and after it answered a
backlog.

    python bench/idle.py [--count 2000] [--database sqlite|postgresql]

Starts the test Dovecot and an aiosmtpd sink, runs the daemon (`mailflow run` at the bench's fixed moment,
workload.py) on an empty folder and reads its RSS once it waits for mail by IDLE; then APPENDs --count
registrations, waits until every reply arrived at the sink and the daemon waits in IDLE again, and reads its
RSS once it has logged nothing for 5 s (the highest of the readings over the next 10 s). Aim: under 60 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from servers import dovecot_binary, postgres_bindir
from workload import NOW, Dovecot, DurablePostgres, bench_config, load, registrations, varied

from mailflow.testing.servers import SmtpSink

IDLING = "waiting for mail by IDLE"


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def wait_for_log(log_path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log_path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    tail = log_path.read_text(errors="replace")[-2000:]
    raise SystemExit(f"the daemon did not log {text!r} within {timeout:.0f} s; its log ends:\n{tail}")


def wait_for_quiet(log_path: Path, seconds: float, timeout: float) -> None:
    """Wait until the log has not grown for `seconds`: the daemon has nothing left to do."""
    deadline = time.monotonic() + timeout
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_size = log_path.stat().st_size
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return
        time.sleep(0.2)
    raise SystemExit(f"the daemon kept logging for {timeout:.0f} s; see {log_path}")


def settled_rss(pid: int, seconds: float = 5.0) -> float:
    """The highest of the readings over a few seconds of idling."""
    readings = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        readings.append(rss_mb(pid))
        time.sleep(0.5)
    return max(readings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if dovecot_binary() is None:
        print("bench/idle.py needs Dovecot: apt-get install dovecot-imapd", file=sys.stderr)
        return 2
    if args.database == "postgresql" and postgres_bindir() is None:
        print("no PostgreSQL (apt-get install postgresql)", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = stack.enter_context(Dovecot())
        sink = stack.enter_context(SmtpSink())
        if args.database == "postgresql":
            url = stack.enter_context(DurablePostgres()).create_database()
        else:
            url = f"sqlite:///{workdir}/idle.db"
        load(server, "signup", [])
        config = bench_config(workdir, server, sink, url, "signup")
        log_path = workdir / "daemon.log"
        with open(log_path, "wb") as log_file:
            daemon = subprocess.Popen(
                [sys.executable, "-P", "-m", "mailflow", "run", "--config", str(config), "--now", NOW],
                env=os.environ.copy(),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_log(log_path, IDLING, timeout=60)
            empty = settled_rss(daemon.pid)
            load(server, "signup", varied(registrations(), args.count))
            started = time.monotonic()
            sink.wait_for(args.count, timeout=600)
            answered = time.monotonic() - started
            wait_for_quiet(log_path, seconds=5.0, timeout=120)  # the pass ended: waiting in IDLE again
            after = settled_rss(daemon.pid, seconds=10.0)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
    print(f"daemon RSS idling on an empty folder        {empty:6.0f} MB")
    print(f"daemon RSS idling after {args.count:>5} mails       {after:6.0f} MB  (aim: < 60)")
    print(f"({args.count} mails answered in {answered:.1f} s, {args.database})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
