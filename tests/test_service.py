"""The daemon: `mailflow run` answers new mail while it runs and stops cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import write_config

MAIL = Path(__file__).parent / "mail"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_daemon_answers_new_mail_and_stops_cleanly(tmp_path, imap, smtp_sink, monkeypatch, stop_signal):
    config = write_config(tmp_path, imap, smtp_sink, f"sqlite:///{tmp_path}/mailflow.db", monkeypatch,
                          imap={"poll_interval": 1})
    daemon = subprocess.Popen([sys.executable, "-m", "mailflow", "run", "--config", str(config)],
                              env=os.environ.copy(), stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)  # the first pass marks where new mail starts
        imap.append("INBOX", (MAIL / "001-wvg-one-sentence.eml").read_bytes())
        smtp_sink.wait_for(1, timeout=30)
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
    assert len(smtp_sink.messages) == 1
