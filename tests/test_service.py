"""The daemon: `mailflow run` answers new mail while it runs and stops cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import schedule
from helpers import COORDINATOR, default_meetings, wait_for_first_pass

from mailflow.usecases.passes import guarded

MAIL = Path(__file__).parent / "mail"
# The daemons run on this clock (`mailflow run --now`), not the wall clock: 07:00, before the day's digest at
# 08:00.
NOW = "2025-12-15T07:00:00+01:00"
MEETINGS = default_meetings(dt.date(2025, 12, 15))


@pytest.mark.servers  # a `mailflow run` daemon
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_daemon_answers_new_mail_and_stops_cleanly(tmp_path, imap, smtp_sink, make_config, stop_signal):
    config = make_config(
        imap, smtp_sink, f"sqlite:///{tmp_path}/mailflow.db", imap={"poll_interval": 1}, meetings=MEETINGS
    )
    daemon = subprocess.Popen(
        [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--now", NOW],
        env=os.environ.copy(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_first_pass(f"sqlite:///{tmp_path}/mailflow.db")  # it marks where new mail starts
        imap.append("INBOX", (MAIL / "001-wvg-one-sentence.eml").read_bytes())
        try:
            smtp_sink.wait_for(1, timeout=30)
        except TimeoutError:
            daemon.kill()
            print(daemon.stderr.read())
            raise
        daemon.send_signal(stop_signal)
        assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    log = daemon.stderr.read()
    daemon.stderr.close()
    assert "stopping after the current mail" in log
    assert "mailflow stopped" in log
    assert "Traceback" not in log
    # The one reply; at some hours the day's digest to the coordinator may go too.
    assert [r.rcpt_tos for r in smtp_sink.messages if COORDINATOR not in r.rcpt_tos] == [
        ["griet.bauwens@gmail.com"]
    ]


@pytest.mark.servers  # a `mailflow run` daemon
def test_a_second_instance_on_the_same_mailbox_and_database_refuses_to_start(
    imap, smtp_sink, database_url, make_config
):
    config = make_config(imap, smtp_sink, database_url, meetings=MEETINGS)
    first = subprocess.Popen(
        [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--now", NOW],
        env=os.environ.copy(),
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_first_pass(database_url)
        second = subprocess.run(
            [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--once", "--now", NOW],
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2
        assert "another mailflow is already running for this mailbox and database" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=15) == 0
    after = subprocess.run(
        [sys.executable, "-m", "mailflow", "run", "--config", str(config), "--once", "--now", NOW],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert after.returncode == 0, after.stderr


def test_a_failing_job_is_logged_and_runs_again_without_stopping_the_others(caplog):
    runs = {"broken": 0, "fine": 0}

    def broken() -> None:
        runs["broken"] += 1
        raise RuntimeError("the database went away")

    def fine() -> None:
        runs["fine"] += 1

    scheduler = schedule.Scheduler()
    scheduler.every(60).seconds.do(guarded, "reminders", broken)
    scheduler.every(60).seconds.do(guarded, "digest", fine)
    scheduler.run_all()
    scheduler.run_all()
    assert runs == {"broken": 2, "fine": 2}
    assert len(scheduler.jobs) == 2 and all(job.next_run is not None for job in scheduler.jobs)
    assert (
        "job reminders failed: RuntimeError: the database went away; it runs again at its next slot"
        in caplog.text
    )
