"""Folder names as the config writes them ("mailflow/processed") work on every server: Dovecot's stock "."
separator, "/" as on Gmail and Exchange, a Courier-like "INBOX." prefix, and pymap; a name the server cannot
hold is refused by `mailflow check` with the folder, the separator and the fix."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import ImapBox, registration, replies
from servers import Dovecot, dovecot_binary

from mailflow.adapters.config_file import load_config
from mailflow.adapters.imap import Inbox
from mailflow.adapters.imap_names import Hierarchy, server_name
from mailflow.cli import main
from mailflow.errors import MailboxError
from mailflow.testing.servers import PymapServer

# --- the mapping, without a server --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "hierarchy", "expected"),
    [
        ("mailflow/processed", Hierarchy("."), "mailflow.processed"),
        ("mailflow/processed", Hierarchy("/"), "mailflow/processed"),
        ("mailflow/processed", Hierarchy(".", "INBOX."), "INBOX.mailflow.processed"),
        ("INBOX", Hierarchy(".", "INBOX."), "INBOX"),
        ("INBOX/signup", Hierarchy(".", "INBOX."), "INBOX.signup"),  # already under the prefix
        ("INBOX.signup", Hierarchy("."), "INBOX.signup"),  # no "/": the server's own name, as before
        ("Verwerkt", Hierarchy(None), "Verwerkt"),
        ("a/b/c", Hierarchy("\\"), "a\\b\\c"),
    ],
)
def test_config_names_map_to_the_servers_separator(folder: str, hierarchy: Hierarchy, expected: str) -> None:
    assert server_name(folder, hierarchy) == expected


@pytest.mark.parametrize(
    ("folder", "hierarchy", "words"),
    [
        ("mailflow/v1.2", Hierarchy("."), ["'mailflow/v1.2'", "'.'", '"mailflow/v1-2"']),
        ("mailflow/processed", Hierarchy(None), ["no folder hierarchy", '"mailflow-processed"']),
        ("mailflow//processed", Hierarchy("."), ["empty level"]),
        ("/processed", Hierarchy("/"), ["empty level"]),
    ],
)
def test_a_name_the_server_cannot_hold_is_explained(
    folder: str, hierarchy: Hierarchy, words: list[str]
) -> None:
    with pytest.raises(MailboxError) as raised:
        server_name(folder, hierarchy, "imap.processed_folder")
    for word in [*words, "imap.processed_folder"]:
        assert word in str(raised.value)


# --- on real servers ----------------------------------------------------------------------------------------

SERVERS = ["dovecot-dot", "dovecot-slash", "dovecot-inbox-prefix", "pymap"]


@pytest.fixture(params=SERVERS)
def any_imap(request: pytest.FixtureRequest) -> Iterator[ImapBox]:
    """A fresh mailbox on each kind of server users run."""
    kind = request.param
    server: Dovecot | PymapServer
    if kind == "pymap":
        server = PymapServer()
    else:
        if dovecot_binary() is None:
            pytest.skip("Dovecot not installed (apt-get install dovecot-imapd)")
        separator, prefix = {
            "dovecot-dot": (".", ""),
            "dovecot-slash": ("/", ""),
            "dovecot-inbox-prefix": (".", "INBOX."),
        }[kind]
        server = Dovecot(separator=separator, prefix=prefix)
    try:
        server.start()
        box = ImapBox(server)
        yield box
        box.close()
    finally:
        server.close()


def _check(config: Any, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", "--config", str(config)])
    return code, capsys.readouterr().out


@pytest.mark.servers
def test_check_then_run_works_with_the_example_folder_names(
    any_imap: ImapBox, smtp_sink: Any, make_config: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(any_imap, smtp_sink, imap={"since": "2000-01-01"})
    code, out = _check(config, capsys)
    assert code == 0, out
    assert "mailflow/processed" in out and "mailflow/review" in out and out.count(" created") == 2
    separator = any_imap.name("a/b")[len(getattr(any_imap.server, "prefix", "")) + 1]
    assert f"folder separator {separator!r}" in out
    # The folders now exist under the server's own names: a second check finds them.
    code, out = _check(config, capsys)
    assert code == 0 and " created" not in out and out.count(" found") == 2, out
    assert {"mailflow/processed", "mailflow/review"} <= set(any_imap.folders())

    any_imap.append("INBOX", registration(1, tag="sep"))
    any_imap.append("INBOX", registration(2, question=True, tag="sep"))
    assert main(["run", "--once", "--config", str(config)]) == 0
    assert len(replies(smtp_sink)) == 2
    assert (
        any_imap.count("INBOX"),
        any_imap.count("mailflow/processed"),
        any_imap.count("mailflow/review"),
    ) == (
        0,
        1,
        1,
    )


@pytest.mark.servers
def test_check_refuses_a_folder_name_the_server_cannot_hold(
    any_imap: ImapBox, smtp_sink: Any, make_config: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(any_imap, smtp_sink, imap={"processed_folder": "mailflow/v1.2"})
    code, out = _check(config, capsys)
    (fail,) = [line for line in out.splitlines() if line.startswith("FAIL imap:")] or [None]
    if any_imap.name("a/b").endswith("a/b"):
        # A "/" server may hold "v1.2" (pymap) or refuse the "." itself (Dovecot's maildir): then it says so.
        if fail is not None:
            assert "refused to create folder 'mailflow/v1.2'" in fail and "separator is '/'" in fail, fail
            assert "Character not allowed" in fail  # the server's own reason
    else:
        assert code == 1 and fail is not None, out
        for word in (
            "'mailflow/v1.2'",
            "imap.processed_folder",
            "separates folder levels with '.'",
            "mailflow/v1-2",
        ):
            assert word in fail
        assert any_imap.folders() == ["INBOX"]  # nothing half made
    assert code == (0 if fail is None else 1)
    assert "ok   smtp" in out and "ok   database" in out  # the other parts are still checked


@pytest.mark.servers
def test_mail_arriving_during_a_pass_wakes_the_next_wait_once(
    any_imap: ImapBox, smtp_sink: Any, make_config: Any
) -> None:
    """Mail announced while a pass ran is not announced again by IDLE: the wait finds it by UID SEARCH (public
    imapclient API, not imaplib's private untagged_responses), and only once."""
    config = load_config(str(make_config(any_imap, smtp_sink)))
    assert config.imap is not None
    stop = threading.Event()
    with Inbox(config.imap) as inbox:
        inbox.select()
        assert inbox.search_uids(1) == []  # the pass: nothing yet
        any_imap.append("INBOX", registration(3, tag="wake"))  # arrives after the pass's search...
        assert inbox.client is not None
        inbox.client.search(["UID", "1"])  # ...and is announced in answer to one of the pass's commands
        started = time.monotonic()
        assert inbox.wait_for_mail(5, stop) is True
        assert time.monotonic() - started < 1  # at once: IDLE would not have said it again
        assert inbox.select()[1] > 0 and inbox.search_uids(1) != []  # the next pass reads it
        if inbox.can_idle:
            assert inbox.wait_for_mail(1.5, stop) is False  # nothing new: no wake-up loop
