"""The command line: `mailflow check` says what works and what is wrong; `mailflow parse --json` prints the
contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mailflow.cli import main

MAIL = Path(__file__).parent / "mail"


def test_check_reports_each_part_ok(imap, smtp_sink, database_url, make_config, capsys):
    config = make_config(imap, smtp_sink, database_url)
    assert main(["check", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   config",
        "ok   templates",
        "ok   imap",
        "ok   smtp",
        "ok   database",
    ]


def test_check_says_what_is_wrong(tmp_path, imap, smtp_sink, make_config, monkeypatch, capsys):
    config = make_config(
        imap,
        smtp_sink,
        f"sqlite:///{tmp_path}/mailflow.db",
        imap={"password_env": "MAILFLOW_TEST_WRONG_PASSWORD", "folder": "Inschrijvingen"},
    )
    monkeypatch.setenv("MAILFLOW_TEST_WRONG_PASSWORD", "not-the-password")
    smtp_sink.stop()
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "FAIL imap:" in out and "login refused" in out
    assert "not-the-password" not in out
    assert "FAIL smtp:" in out and "cannot connect" in out
    assert "ok   database" in out


def test_check_on_a_broken_config(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text('[network]\nsignup_address = "leernetwerk@in-gent.example"\n', encoding="utf-8")
    assert main(["check", "--config", str(path)]) == 1
    assert "FAIL config: network.coordinator is missing" in capsys.readouterr().out


def test_parse_json_contract():
    files = sorted(str(p) for p in MAIL.glob("*.eml"))
    done = subprocess.run(
        [sys.executable, "-m", "mailflow", "parse", "--json", *files],
        capture_output=True,
        check=True,
        text=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["file"] for row in rows] == files
    for row in rows:
        assert row["intent"] in {
            "register",
            "cancel",
            "unsubscribe",
            "erase",
            "question",
            "auto_reply",
            "bounce",
            "other",
        }
        assert row["language"] in {"nl", "fr", "en"}
        assert row["meeting_date"] is None or len(row["meeting_date"]) == 10
        assert all(set(person) >= {"name", "organisation"} for person in row["people"])


def test_unknown_file_is_a_clear_error(capsys):
    assert main(["parse", "--json", "/nonexistent/mail.eml"]) == 1
    assert "No such file" in capsys.readouterr().err
