"""The commands as Unix tools, without servers: forget takes an address only, the config is found without
--config, pipes end quietly, exit codes are documented, times are local, outbox retry says why it will not
resend, and a proposed meeting has an empty list."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import EXAMPLE_CONFIG

from mailflow import cli
from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import models
from mailflow.cli import demo, main
from mailflow.core.vocabulary import MailKind, OutboxStatus
from mailflow.usecases.context import build_app

ROOT = Path(__file__).resolve().parent.parent
# The example's meetings are 2027-01-12 and 2027-03-09; its rhythm proposes 2027-05-11.
NOW = "2026-12-01T09:00:00+01:00"
SENT_AT = dt.datetime(2026, 11, 20, 9, 5, tzinfo=dt.UTC)  # 10:05 in Ghent (CET)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The example config as a user copies it, with its database in tmp_path (no server is reached)."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
        '# url = "sqlite:////var/lib/mailflow/mailflow.db"', f'url = "sqlite:///{tmp_path}/mailflow.db"'
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def no_standard_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No config is found by the fallback unless the test puts one there."""
    monkeypatch.delenv(cli.CONFIG_ENV, raising=False)
    monkeypatch.setattr(cli, "STANDARD_CONFIGS", (tmp_path / "etc" / "config.toml", Path("config.toml")))
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")


def _outbox_row(config: Path, status: OutboxStatus, **values: object) -> int:
    now = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    with build_app(load_config(config)) as app, app.sessions.begin() as db:
        row = models.OutboxMessage(
            key=f"test:{status}:{values.get('kind', 'register')}",
            kind=MailKind.REGISTER,
            recipient="an.peeters@example.org",
            message_id="<test@in-gent.example>",
            raw=b"Subject: test\r\n\r\ntest\r\n",
            status=status,
            attempts=1,
            next_attempt_at=now,
            expires_at=now + dt.timedelta(days=5),
            created_at=now,
        )
        for key, value in values.items():
            setattr(row, key, value)
        db.add(row)
        db.flush()
        return row.id


# forget


@pytest.mark.parametrize(
    "argument",
    ["Kris Dewulf", "Caritas", "kris", "@example.org", "a@example.org, b@example.org", "<a@example.org>", ""],
)
def test_forget_refuses_anything_but_one_address_before_reading_the_config(argument, tmp_path, capsys):
    missing = tmp_path / "no-such-config.toml"  # never read: the refusal comes first
    assert main(["forget", "--config", str(missing), argument]) == 2
    err = capsys.readouterr().err
    assert "forget takes one email address" in err and "nothing was deleted" in err
    assert "mailflow members" in err  # the hint: where to find the address
    assert "not found" not in err


def test_forget_accepts_an_address_as_written():
    assert cli.forget_address("  An.Peeters@Example.org ") == "an.peeters@example.org"


# exit codes


def test_help_documents_the_exit_codes_and_the_readme_says_the_same(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in ("0", "1", "2", "130", "141"):
        assert re.search(rf"^  {code} +\S", out, re.MULTILINE), code
        assert f"| {code} |" in readme, code
    assert "MAILFLOW_CONFIG" in out


def test_a_usage_error_exits_2(config, capsys):
    assert main(["members", "--config", str(config), "--meeting", "next tuesday"]) == 2
    assert "--meeting must be a date" in capsys.readouterr().err
    assert main(["meetings", "--config", str(config), "--now", "tomorrow"]) == 2


# finding the config


def test_mailflow_config_names_the_file(config, no_standard_config, monkeypatch, capsys):
    monkeypatch.setenv(cli.CONFIG_ENV, str(config))
    assert main(["meetings", "--now", NOW]) == 0
    assert "2027-01-12  confirmed" in capsys.readouterr().out


def test_the_config_in_the_current_folder_is_found(config, no_standard_config, monkeypatch, capsys):
    monkeypatch.chdir(config.parent)
    assert main(["meetings", "--now", NOW]) == 0
    assert "2027-03-09  confirmed" in capsys.readouterr().out


def test_config_wins_over_the_environment(config, no_standard_config, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(cli.CONFIG_ENV, str(tmp_path / "missing.toml"))
    assert main(["meetings", "--config", str(config), "--now", NOW]) == 0


def test_no_config_anywhere_says_where_it_was_looked_for(no_standard_config, capsys):
    assert main(["meetings"]) == 2
    err = capsys.readouterr().err
    assert "--config FILE" in err and "MAILFLOW_CONFIG" in err and "./config.toml" in err


def test_an_error_names_the_file_found_by_the_fallback(no_standard_config, monkeypatch, tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text("[network\n", encoding="utf-8")
    monkeypatch.setenv(cli.CONFIG_ENV, str(broken))
    assert main(["meetings"]) == 2
    err = capsys.readouterr().err
    assert f"(config {broken}, found by $MAILFLOW_CONFIG" in err


# pipes


def test_a_reader_that_stops_early_ends_the_command_quietly(config):
    """`mailflow meetings | head -0`: the reader has gone before mailflow writes."""
    with subprocess.Popen(
        [sys.executable, "-m", "mailflow", "meetings", "--config", str(config), "--now", NOW],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        err = process.stderr.read().decode()
        assert process.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_a_closed_pipe_is_exit_141_in_process(config, monkeypatch):
    class Closed:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["meetings", "--config", str(config), "--now", NOW]) == 141


# times and the outbox


def test_the_outbox_shows_local_times_with_the_zone(config, capsys):
    row = _outbox_row(config, OutboxStatus.PENDING)
    assert main(["outbox", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "next try" in lines[0] and "UTC" not in lines[0]
    assert lines[1].split()[0] == str(row) and "2026-11-20 10:00 CET" in lines[1]


def test_retry_of_a_sent_mail_says_when_it_went(config, capsys):
    row = _outbox_row(config, OutboxStatus.SENT, sent_at=SENT_AT)
    assert main(["outbox", "--config", str(config), "retry", str(row)]) == 2
    err = capsys.readouterr().err
    assert f"outbox message {row} (register to an.peeters@example.org) was sent already" in err
    assert "on 2026-11-20 10:05 CET" in err and "not sent twice" in err
    assert "no outbox message" not in err


def test_retry_of_an_unknown_id_says_so(config, capsys):
    assert main(["outbox", "--config", str(config), "retry", "99"]) == 2
    assert "there is no outbox message 99 in this database" in capsys.readouterr().err


def test_retry_of_an_expired_reminder_says_its_meeting_began(config, capsys):
    row = _outbox_row(config, OutboxStatus.EXPIRED, kind=MailKind.REMINDER)
    assert main(["outbox", "--config", str(config), "retry", str(row)]) == 2
    assert "expired: its meeting began" in capsys.readouterr().err


def test_retry_of_a_cancelled_mail_says_why_not(config, capsys):
    row = _outbox_row(config, OutboxStatus.CANCELLED)
    assert main(["outbox", "--config", str(config), "retry", str(row)]) == 2
    assert "was cancelled" in capsys.readouterr().err


def test_retry_of_an_expired_reply_gives_it_a_new_lifetime(config, capsys):
    row = _outbox_row(config, OutboxStatus.EXPIRED)
    assert main(["outbox", "--config", str(config), "retry", str(row)]) == 0
    assert "goes out with the next pass (it had expired" in capsys.readouterr().out
    assert main(["outbox", "--config", str(config), "retry", str(row)]) == 0
    assert "already waiting" in capsys.readouterr().out


# members of a meeting


def test_members_of_a_proposed_meeting_is_an_empty_list_that_says_why(config, capsys):
    assert main(["meetings", "--config", str(config), "--now", NOW]) == 0
    assert "2027-05-11  proposed" in capsys.readouterr().out
    assert main(["members", "--config", str(config), "--meeting", "2027-05-11", "--now", NOW]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["name  organisation  email  status  since"]
    assert "proposed by [recurrence], not confirmed yet" in err


def test_members_of_a_date_without_a_meeting_is_an_error(config, capsys):
    assert main(["members", "--config", str(config), "--meeting", "2027-05-12", "--now", NOW]) == 2
    assert "no meeting on 2027-05-12" in capsys.readouterr().err


# the demo


@pytest.mark.servers  # pymap and an SMTP sink, started by the demo itself
def test_the_demo_explains_each_mail_removes_its_folder_and_says_what_next(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv(demo.PASSWORD_ENV, "")  # restored after the test
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert out.count("read as register") == 3
    assert "out-of-office: NOT answered, on purpose" in out and "RFC 3834" in out
    # The sample people's database went with the demo's folder (the IMAP server's own folder is its business).
    assert list(tmp_path.glob("mailflow-demo-*")) == []
    after = out[out.index("Next, on your own mailbox") :].splitlines()[1:]
    commands = [command for command in (line.split("#")[0].strip() for line in after) if command]
    assert commands == ["cp config.example.toml config.toml", "mailflow check", "mailflow run --once"]


@pytest.mark.servers
def test_the_demo_keeps_its_folder_when_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(demo.PASSWORD_ENV, "")
    assert main(["demo", "--keep", str(tmp_path / "kept")]) == 0
    assert (tmp_path / "kept" / "demo.db").exists() and (tmp_path / "kept" / "mailflow-demo.toml").exists()
    assert f"kept in {tmp_path / 'kept'}" in capsys.readouterr().out


# deploy


def test_the_unit_keeps_the_database_where_the_service_may_write():
    unit = (ROOT / "deploy" / "mailflow.service").read_text(encoding="utf-8")
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")
    )
    assert settings["ProtectSystem"] == "strict"
    assert settings["StateDirectory"] == "mailflow"  # /var/lib/mailflow, writable by the service
    assert settings["EnvironmentFile"] == "/etc/mailflow/secrets.env"
    assert "--config /etc/mailflow/config.toml" in settings["ExecStart"]
    example = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    assert '# url = "sqlite:////var/lib/mailflow/mailflow.db"' in example
    secrets = (ROOT / "deploy" / "secrets.env").read_text(encoding="utf-8")
    assert "0600" in secrets
    names = re.findall(r'password_env = "(\w+)"', example)
    assert names and all(f"\n{name}=" in secrets for name in names)


def test_the_readme_cron_line_reads_the_secrets_and_names_the_venv():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    cron = [line for line in readme.splitlines() if line.lstrip().startswith("*/5 ")]
    assert len(cron) == 1
    assert ". /etc/mailflow/secrets.env;" in cron[0] and "set -a" in cron[0]
    assert "/opt/mailflow/venv/bin/mailflow run" in cron[0]
