"""`mailflow check` warns about meetings in the past or off the rhythm's weekday, and says why a database
directory cannot be written."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mailflow.adapters.config_file import load_config
from mailflow.usecases.check import meeting_warnings, rule_weekdays


def _meetings(*dates: str) -> list[dict[str, Any]]:
    return [{"date": date, "theme": f"Thema {n}"} for n, date in enumerate(dates, start=1)]


def _config(tmp_path: Path, meetings: list[dict[str, Any]], rule: str) -> Any:
    lines = [
        "[network]",
        'name = "Leernetwerk In-Gent"',
        'signup_address = "leernetwerk@in-gent.example"',
        'coordinator = "coordinator@in-gent.example"',
        "[venue]",
        'name = "Buurthuis De Sleutel"',
        'address = "Voorbeeldstraat 12, 9000 Gent"',
        'start = "19:30"',
        "[recurrence]",
        f'rule = "{rule}"',
    ]
    for meeting in meetings:
        lines += ["[[meetings]]", f"date = {meeting['date']}", f'theme = "{meeting["theme"]}"']
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path)


def test_rule_weekdays() -> None:
    assert rule_weekdays("FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TU") == {1}
    assert rule_weekdays("FREQ=WEEKLY;BYDAY=MO,TH") == {0, 3}
    assert rule_weekdays("FREQ=MONTHLY;INTERVAL=2") == set()


def test_past_and_off_weekday_meetings_are_warned_about(tmp_path: Path) -> None:
    # 2027-01-12 and 2027-03-09 are Tuesdays; 2027-05-12 a Wednesday; 2026-11-10 a Tuesday in the past.
    config = _config(
        tmp_path, _meetings("2026-11-10", "2027-01-12", "2027-03-09", "2027-05-12"), "FREQ=MONTHLY;BYDAY=+2TU"
    )
    warnings = meeting_warnings(config, dt.date(2026, 12, 1))
    assert len(warnings) == 2, warnings
    past, wednesday = warnings
    assert past.startswith("meeting 1 (2026-11-10) is in the past")  # counted as people count
    assert "where the proposed rhythm starts" in past
    assert wednesday.startswith("meeting 4 (2027-05-12) is on a Wednesday")
    assert "Tuesday" in wednesday and "recurrence.rule" in wednesday


def test_without_a_weekday_in_the_rule_the_other_meetings_say_which_day(tmp_path: Path) -> None:
    config = _config(tmp_path, _meetings("2027-01-12", "2027-03-09", "2027-05-12"), "FREQ=MONTHLY;INTERVAL=2")
    (warning,) = meeting_warnings(config, dt.date(2026, 12, 1))
    assert "meeting 3 (2027-05-12) is on a Wednesday, but 2 of the 3 meetings says Tuesday" in warning


def test_good_meetings_give_no_warning(tmp_path: Path) -> None:
    config = _config(tmp_path, _meetings("2027-01-12", "2027-03-09"), "FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TU")
    assert meeting_warnings(config, dt.date(2026, 12, 1)) == []


@pytest.mark.servers
def test_a_read_only_database_directory_is_explained(tmp_path, imap, smtp_sink, make_config) -> None:
    """As systemd's ProtectSystem=strict leaves the default path beside the config: read-only."""
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    config = make_config(imap, smtp_sink, f"sqlite:///{db_dir}/mailflow.db")
    command = [sys.executable, "-m", "mailflow", "check", "--config", str(config)]
    if os.geteuid() == 0:  # root writes anywhere a mode allows nothing: mount a read-only file system there
        if shutil.which("unshare") is None:
            pytest.skip("unshare is not installed (util-linux)")
        command = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"', str(db_dir)]
        command += [sys.executable, "-m", "mailflow", "check", "--config", str(config)]
        why = "read-only file system"
    else:
        db_dir.chmod(0o555)
        why = "may not write it"
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    lines = done.stdout.splitlines()
    (warning,) = [line for line in lines if line.startswith("WARN database:")]
    assert str(db_dir) in warning and why in warning and "/var/lib/mailflow" in warning
    assert any(line.startswith("FAIL database:") for line in lines), done.stdout
    assert done.returncode == 1
    assert "ok   imap" in done.stdout and "Traceback" not in done.stderr
