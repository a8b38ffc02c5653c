"""The admin commands after a real pass: members (table and CSV), outbox and retry, forget."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import COORDINATOR

from mailflow.adapters.db import models
from mailflow.cli import main

MAIL = Path(__file__).parent / "mail"
MEETINGS = [{"date": dt.date(2026, 1, 13), "theme": "Dringende medische hulp", "speakers": []}]
NOW = "2025-12-15T09:00:00+01:00"
SENDER = "griet.bauwens@gmail.com"


@pytest.fixture
def registered(tmp_path, imap, smtp_sink, make_config):
    config = make_config(
        imap, smtp_sink, f"sqlite:///{tmp_path}/mailflow.db", imap={"since": "2000-01-01"}, meetings=MEETINGS
    )
    imap.append("INBOX", (MAIL / "001-wvg-one-sentence.eml").read_bytes())
    assert main(["run", "--config", str(config), "--once", "--now", NOW]) == 0
    return config


def test_members_as_table_and_csv(registered, capsys):
    assert main(["members", "--config", str(registered)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "organisation", "email", "status", "since"]
    assert SENDER in lines[1] and all(line == line.rstrip() for line in lines)

    assert main(["members", "--config", str(registered), "--meeting", "2026-01-13", "--csv"]) == 0
    out = capsys.readouterr().out
    # The sign-in sheet the digest attaches: a byte order mark for Excel, ";" for a Belgian locale, the
    # meeting on top, then the columns in the network's language.
    assert out.startswith("\ufeffLeernetwerk In-Gent;Intekenlijst\r\n")
    rows = list(csv.reader(io.StringIO(out.removeprefix("\ufeff"), newline=""), delimiter=";"))
    assert rows[1] == ["Datum", "dinsdag 13 januari 2026"]
    header = rows.index(["Nr.", "Naam", "Organisatie", "E-mail", "Aanwezig", "Handtekening"])
    people = [row for row in rows[header + 1 :] if any(row)]
    assert [row[3] for row in people] == [SENDER] and people[0][0].isdigit()


def test_members_of_an_unknown_meeting_is_a_clear_error(registered, capsys):
    assert main(["members", "--config", str(registered), "--meeting", "2026-02-03"]) == 2
    assert "no meeting on 2026-02-03" in capsys.readouterr().err


def test_outbox_lists_failures_and_retry_sends_again(tmp_path, imap, smtp_sink, make_config, capsys):
    config = make_config(
        imap, smtp_sink, f"sqlite:///{tmp_path}/mailflow.db", imap={"since": "2000-01-01"}, meetings=MEETINGS
    )
    imap.append("INBOX", (MAIL / "001-wvg-one-sentence.eml").read_bytes())
    smtp_sink.mode = "5xx"
    main(["run", "--config", str(config), "--once", "--now", NOW])
    capsys.readouterr()
    assert main(["outbox", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:4] == ["1", "register", "failed", "1"]

    smtp_sink.mode = None
    assert main(["outbox", "--config", str(config), "retry", "1"]) == 0  # due now, on the real clock
    assert main(["run", "--config", str(config), "--once"]) == 0
    # The pass also sends the day's digest to the coordinator; the reply went exactly once.
    assert [r.rcpt_tos for r in smtp_sink.messages if COORDINATOR not in r.rcpt_tos] == [
        ["griet.bauwens@gmail.com"]
    ]
    assert main(["outbox", "--config", str(config), "retry", "1"]) == 2  # sent: never twice
    assert "not sent twice" in capsys.readouterr().err


def test_forget_leaves_nothing_of_the_person(registered, tmp_path, capsys):
    assert main(["forget", "--config", str(registered), SENDER]) == 0
    assert "forgot 1 member(s)" in capsys.readouterr().out
    engine = sa.create_engine(f"sqlite:///{tmp_path}/mailflow.db")
    with engine.connect() as connection:
        for table in models.Base.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                assert "bauwens" not in repr(row).lower(), table.name
    engine.dispose()
