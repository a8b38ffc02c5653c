"""Credentials: XOAUTH2 with a token command (a new token fetched when the server refuses the old one), and no
secret ever in a log, an error or a traceback.

IMAP XOAUTH2 runs against Dovecot's oauth2 passdb, which asks a small local token-introspection endpoint
(RFC 7662) whether a token is valid; SMTP XOAUTH2 against aiosmtpd with an XOAUTH2 mechanism, answering
refusals with a JSON challenge as Gmail does.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from helpers import TlsFiles
from servers import Dovecot, dovecot_binary

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import queries
from mailflow.adapters.db.engine import close_database, open_database
from mailflow.adapters.imap import Inbox
from mailflow.adapters.secrets import reveal
from mailflow.adapters.smtp import SmtpOutbox
from mailflow.errors import DeliveryError, MailboxError
from mailflow.settings import Secret
from mailflow.testing.servers import SmtpSink
from mailflow.usecases.outgoing import REPLY_LIFETIME

TOKEN_HELPER = """\
import pathlib, sys
# An OAuth2 token helper: each call hands out the next token of `tokens` (the last one again when they \
run out),
# as a helper does whose cached token expired and who fetches a new one when asked again.
folder = pathlib.Path(sys.argv[1])
calls = folder / "calls"
n = len(calls.read_text().splitlines()) if calls.exists() else 0
calls.write_text("called\\n" * (n + 1))
tokens = (folder / "tokens").read_text().split()
print(tokens[min(n, len(tokens) - 1)])
"""


class TokenCommand:
    """A token command for the config, reading the tokens a test writes; `.calls` counts how often it ran."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "helper.py").write_text(TOKEN_HELPER)
        self.command = f"{sys.executable} {folder / 'helper.py'} {folder}"

    def hand_out(self, *tokens: str) -> None:
        (self.folder / "tokens").write_text("\n".join(tokens) + "\n")
        (self.folder / "calls").unlink(missing_ok=True)

    @property
    def calls(self) -> int:
        calls = self.folder / "calls"
        return len(calls.read_text().splitlines()) if calls.exists() else 0


@pytest.fixture
def token_command(tmp_path: Path) -> TokenCommand:
    return TokenCommand(tmp_path / "token-helper")


class Introspection:
    """RFC 7662 token introspection on 127.0.0.1: a token is active only while it is `.valid`."""

    def __init__(self) -> None:
        self.valid = ""
        self.asked: list[str] = []
        introspection = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                token = form.get("token", [""])[0]
                introspection.asked.append(token)
                active = bool(token) and token == introspection.valid
                body = json.dumps(
                    {"active": True, "username": "signup"} if active else {"active": False}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/introspect"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def introspection() -> Iterator[Introspection]:
    endpoint = Introspection()
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module")
def oauth2_imap(introspection: Introspection, tls_files: TlsFiles) -> Iterator[Dovecot]:
    """Dovecot over TLS that takes XOAUTH2 tokens, checked by the introspection endpoint."""
    if dovecot_binary() is None:
        pytest.skip("Dovecot not installed: IMAP XOAUTH2 needs its oauth2 passdb")
    server = Dovecot(
        tls_cert=tls_files.cert_file, tls_key=tls_files.key_file, oauth2_introspection_url=introspection.url
    )
    try:
        server.start()
        yield server
    finally:
        server.close()


NO_SMTP = SimpleNamespace(host="127.0.0.1", port=25)


def _imap_settings(make_config, server, tls_files, token_command):
    config = load_config(
        make_config(
            server,
            NO_SMTP,
            smtp=None,
            imap={
                "tls": "ssl",
                "port": server.tls_port,
                "ca_file": tls_files.ca_file,
                "password_env": None,
                "oauth2_token_command": token_command.command,
            },
        )
    )
    return config.imap


def _smtp_settings(make_config, sink, tls_files, token_command):
    imap = SimpleNamespace(host="127.0.0.1", port=143, username="signup", password="unused")
    config = load_config(
        make_config(
            imap,
            sink,
            smtp={
                "tls": "starttls",
                "ca_file": tls_files.ca_file,
                "username": "leernetwerk@in-gent.example",
                "oauth2_token_command": token_command.command,
            },
        )
    )
    return config.smtp


# --- XOAUTH2: a refused token is replaced once --------------------------------------------------------------


@pytest.mark.servers  # Dovecot with XOAUTH2 and its token endpoint
def test_imap_xoauth2_fetches_a_new_token_when_the_old_one_is_refused(
    make_config, oauth2_imap, introspection, tls_files, token_command
):
    introspection.valid, introspection.asked = "tok-fresh-2", []
    token_command.hand_out("tok-expired-1", "tok-fresh-2")
    with Inbox(_imap_settings(make_config, oauth2_imap, tls_files, token_command)) as inbox:
        assert inbox.client is not None and inbox.client.folder_exists("INBOX")
    assert token_command.calls == 2
    assert introspection.asked == ["tok-expired-1", "tok-fresh-2"]


@pytest.mark.servers  # Dovecot with XOAUTH2 and its token endpoint
def test_imap_xoauth2_gives_up_after_one_new_token(
    make_config, oauth2_imap, introspection, tls_files, token_command
):
    introspection.valid, introspection.asked = "tok-nobody-has", []
    token_command.hand_out("tok-a", "tok-b", "tok-c")
    with pytest.raises(MailboxError, match="login refused for the configured user"):
        Inbox(_imap_settings(make_config, oauth2_imap, tls_files, token_command)).connect()
    assert token_command.calls == 2
    assert introspection.asked == ["tok-a", "tok-b"]


@pytest.mark.servers  # its own SMTP sink with TLS
def test_smtp_xoauth2_fetches_a_new_token_when_the_old_one_is_refused(make_config, tls_files, token_command):
    token_command.hand_out("tok-expired-1", "tok-fresh-2")
    with SmtpSink(
        tls_context=tls_files.server_context(), require_starttls=True, oauth2_token=lambda: "tok-fresh-2"
    ) as sink:
        settings = _smtp_settings(make_config, sink, tls_files, token_command)
        with SmtpOutbox(settings) as outbox:
            outbox.connect().send(b"Subject: x\r\n\r\nok\r\n", settings.sender, "ine@example.org")
        assert len(sink.wait_for(1)) == 1
        assert (token_command.calls, sink.oauth2_attempts) == (2, 2)


@pytest.mark.servers  # its own SMTP sink with TLS
def test_smtp_xoauth2_gives_up_after_one_new_token(make_config, tls_files, token_command):
    token_command.hand_out("tok-a", "tok-b", "tok-c")
    with SmtpSink(
        tls_context=tls_files.server_context(), require_starttls=True, oauth2_token=lambda: "tok-nobody-has"
    ) as sink:
        settings = _smtp_settings(make_config, sink, tls_files, token_command)
        with pytest.raises(DeliveryError, match=r"login refused for the configured user \(535\)"):
            SmtpOutbox(settings).connect()
        assert (token_command.calls, sink.oauth2_attempts) == (2, 2)
        assert sink.messages == []


@pytest.mark.servers  # Dovecot with XOAUTH2 and its token endpoint
def test_a_refused_password_is_not_asked_for_again(
    tmp_path, make_config, oauth2_imap, tls_files, token_command
):
    # Only a token goes stale by itself; a wrong password stays wrong, and asking again could lock the
    # account.
    token_command.hand_out("wrong-password")
    config = load_config(
        make_config(
            oauth2_imap,
            NO_SMTP,
            f"sqlite:///{tmp_path}/m.db",
            smtp=None,
            imap={
                "tls": "ssl",
                "port": oauth2_imap.tls_port,
                "ca_file": tls_files.ca_file,
                "password_env": None,
                "password_command": token_command.command,
            },
        )
    )
    with pytest.raises(MailboxError, match="login refused"):
        Inbox(config.imap).connect()
    assert token_command.calls == 1


# --- no secret in logs, errors or tracebacks ----------------------------------------------------------------

IMAP_SECRET = "imap-Secret-4c9e1f"
SMTP_SECRET = "smtp-Secret-77ab2d"
TOKEN_SECRET = "tok-Secret-e5d0c3"


def _run(args: list[str], env: dict[str, str]) -> str:
    """`mailflow -v ...` in a child process at DEBUG level; returns everything it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "mailflow", "-v", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr


def _encodings(secret: str, user: str) -> list[str]:
    """The secret as it is sent: plain, and inside the base64 of AUTH PLAIN and XOAUTH2."""
    blobs = [f"\0{user}\0{secret}", f"user={user}\x01auth=Bearer {secret}\x01\x01"]
    return [secret, base64.b64encode(secret.encode()).decode()] + [
        base64.b64encode(b.encode()).decode() for b in blobs
    ]


def _queue_one_reply(database_url: str) -> None:
    """A due outbox row, so that `run --once` opens SMTP and logs in."""
    sessions = open_database(database_url)
    now = dt.datetime.now(dt.UTC)
    with sessions.begin() as db:
        queries.enqueue(
            db,
            key="reply:test",
            kind="register",
            recipient="ine@example.org",
            message_id="<t@x>",
            raw=b"Subject: x\r\n\r\nok\r\n",
            now=now,
            expires_at=now + REPLY_LIFETIME,
        )
    close_database(sessions)


@pytest.mark.servers  # SMTP sinks, Dovecot with XOAUTH2, `mailflow run`
def test_refused_logins_at_debug_level_never_show_the_secrets(
    tmp_path, make_config, imap, tls_files, oauth2_imap, introspection
):
    db = f"sqlite:///{tmp_path}/m.db"
    _queue_one_reply(db)
    env = {"MAILFLOW_T_IMAP": IMAP_SECRET, "MAILFLOW_T_SMTP": SMTP_SECRET, "MAILFLOW_T_TOKEN": TOKEN_SECRET}
    outputs = []
    with (
        SmtpSink(
            tls_context=tls_files.server_context(), require_starttls=True, auth={"mailer": "the-right-one"}
        ) as password_sink,
        SmtpSink(
            tls_context=tls_files.server_context(),
            require_starttls=True,
            oauth2_token=lambda: "another-token",
        ) as token_sink,
    ):
        smtp = {"tls": "starttls", "ca_file": tls_files.ca_file, "username": "mailer"}
        passwords = make_config(
            imap,
            password_sink,
            db,
            directory=tmp_path / "passwords",
            imap={"password_env": "MAILFLOW_T_IMAP"},  # the wrong password for Dovecot
            smtp={**smtp, "password_env": "MAILFLOW_T_SMTP"},
        )
        introspection.valid = "another-token"
        tokens = make_config(
            oauth2_imap,
            token_sink,
            db,
            directory=tmp_path / "tokens",
            imap={
                "tls": "ssl",
                "port": oauth2_imap.tls_port,
                "ca_file": tls_files.ca_file,
                "password_env": None,
                "oauth2_token_env": "MAILFLOW_T_TOKEN",
            },
            smtp={**smtp, "oauth2_token_env": "MAILFLOW_T_TOKEN"},
        )
        for config in (passwords, tokens):
            outputs.append(_run(["run", "--once", "--config", str(config)], env))
            outputs.append(_run(["check", "--config", str(config)], env))
        assert password_sink.messages == [] and token_sink.messages == []
        assert token_sink.oauth2_attempts == 4  # run and check, each a token and a retry
    assert TOKEN_SECRET in introspection.asked  # the secrets did reach the servers...
    log = "\n".join(outputs)
    assert "login refused for the configured user" in log
    for secret, user in (
        (IMAP_SECRET, "signup"),
        (SMTP_SECRET, "mailer"),
        (TOKEN_SECRET, "signup"),
        (TOKEN_SECRET, "mailer"),
    ):
        for form in _encodings(secret, user):
            assert form not in log, f"{secret} shown as {form}"  # ...and never the log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    "command",
    [
        "sh -c 'echo {secret}; exit 1'",  # prints the secret, then fails
        "sh -c 'echo {secret} >&2; kill -9 $$'",  # says it on stderr, then dies
        "/nonexistent/password-helper {secret}",  # the secret as an argument of a command that is not there
    ],
)
def test_a_failing_password_command_never_shows_its_output(tmp_path, make_config, imap, smtp_sink, command):
    secret = "cmd-Secret-31f7a0"
    config = make_config(
        imap,
        smtp_sink,
        f"sqlite:///{tmp_path}/m.db",
        imap={"password_env": None, "password_command": command.format(secret=secret)},
    )
    for args in (["run", "--once"], ["check"]):
        output = _run([*args, "--config", str(config)], {})
        assert "password command" in output
        assert secret not in output
        assert "Traceback" not in output


def test_a_revealed_secret_is_in_no_repr(monkeypatch):
    monkeypatch.setenv("MAILFLOW_T_SECRET", IMAP_SECRET)
    secret = Secret(env="MAILFLOW_T_SECRET")
    assert reveal(secret) == IMAP_SECRET
    assert IMAP_SECRET not in repr(secret) and IMAP_SECRET not in str(secret)
