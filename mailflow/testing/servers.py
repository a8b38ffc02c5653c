"""Throwaway mail servers on 127.0.0.1: an aiosmtpd sink and a pymap IMAP server,
for `mailflow demo` and the tests.

Nothing in the mail pipeline depends on this module; it only gives the pipeline something real to talk to.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import imapclient
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # exactly the bytes after DATA, dot-unstuffed


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt as the sink answered it: a refused RCPT, or the reply to DATA."""

    recipient: str
    code: int


class _SinkHandler:
    """aiosmtpd hooks: keep what arrives, or fail the way the sink's `mode` and the recipient's local part
    ask."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        # Required AUTH checked here, not with aiosmtpd's auth_required: without STARTTLS that one warns,
        # and the suite turns warnings into errors.
        if (self.sink.auth is not None or self.sink.oauth2_token is not None) and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        local = address.rpartition("@")[0].lower()
        if local.startswith("reject5"):
            self.sink._attempted(address, 550)
            return "550 5.1.1 No such user (test)"
        if local.startswith("defer4"):
            self.sink._attempted(address, 450)
            return "450 4.2.1 Mailbox busy, try later (test)"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await self._answer_DATA(server, envelope)
        self.sink._attempted(",".join(envelope.rcpt_tos), int(reply[:3]))
        return reply

    async def _answer_DATA(self, server: SMTP, envelope: Envelope) -> str:
        mode = self.sink.mode
        if self.sink._stalling():
            # A server hanging before its answer to DATA: the client waits with the message unacknowledged.
            self.sink.stalled.set()
            while not self.sink._released.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Stalled, then dropped (test)"
        if mode == "4xx":
            return "451 4.3.0 Temporary failure (test)"
        if mode == "5xx":
            return "554 5.6.0 Rejected (test)"
        if mode == "421":
            # aiosmtpd pushes our reply right after we return; close on the next loop turn,
            # after it is written.
            transport = server.transport
            if transport is not None:
                server.loop.call_soon(transport.close)
            return "421 4.3.2 Service shutting down (test)"
        content = envelope.original_content or b""
        self.sink._keep(Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content)))
        return "250 OK: queued"


class _OAuth2SinkHandler(_SinkHandler):
    """Also offers AUTH XOAUTH2, accepting only the token the sink's `oauth2_token()` names at that moment."""

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        # "AUTH XOAUTH2 <base64>", or the base64 answer to an empty challenge
        if len(args) > 1:
            response = base64.b64decode(args[1])
        else:
            challenged = await server.challenge_auth("")
            if not isinstance(challenged, bytes):
                return AuthResult(success=False, handled=True)  # aborted: aiosmtpd has answered
            response = challenged
        fields = response.split(b"\x01")
        token = next((f.removeprefix(b"auth=Bearer ") for f in fields if f.startswith(b"auth=Bearer ")), b"")
        self.sink.oauth2_attempts += 1
        assert self.sink.oauth2_token is not None
        if token.decode("utf-8", "replace") == self.sink.oauth2_token():
            return AuthResult(success=True, auth_data=token)
        # As Gmail does: the error as a JSON challenge, to which the client answers with an empty line.
        await server.challenge_auth('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}')
        return AuthResult(success=False, handled=False)


class SmtpSink:
    """An in-process SMTP server that keeps every message; thread-safe.

    `mode` stages failures at DATA: None (accept), "4xx" (451), "5xx" (554), "421" (421, then the connection
    closes). Recipients whose local part starts with `reject5` get 550 at RCPT, those starting with `defer4`
    get 450. `stall_after(n)` accepts n more messages, then leaves the next DATA unanswered until `release()`
    (`stalled` is set meanwhile). `attempts` lists every answer to DATA and every refused RCPT.
    `tls_context` offers STARTTLS (or, with `implicit_tls=True`, TLS from the first byte); `auth` is {user:
    password} and makes AUTH required before MAIL. `oauth2_token` makes AUTH XOAUTH2 required and accepts only
    the token it returns at that moment; `oauth2_attempts` counts the tries.
    """

    def __init__(
        self,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        auth: dict[str, str] | None = None,
        implicit_tls: bool = False,
        port: int | None = None,
        oauth2_token: Callable[[], str] | None = None,
    ) -> None:
        self.host = HOST
        self.oauth2_token = oauth2_token
        self.oauth2_attempts = 0
        self.port = port or free_port()
        self.mode: str | None = None
        self.auth = dict(auth) if auth else None
        self._received: list[Received] = []
        self._attempts: list[Attempt] = []
        self._changed = threading.Condition()
        self._stall_at: int | None = None  # DATA stalls once this many messages were accepted
        self.stalled = threading.Event()
        self._released = threading.Event()
        kwargs: dict[str, Any] = {}
        if tls_context is not None and implicit_tls:
            kwargs["ssl_context"] = tls_context
        elif tls_context is not None:
            kwargs["tls_context"] = tls_context
            kwargs["require_starttls"] = require_starttls
        if self.auth is not None:
            kwargs["authenticator"] = self._authenticate
            # With this on, AUTH is only offered after STARTTLS, as on a real submission server; aiosmtpd
            # does not count implicit TLS as TLS here.
            kwargs["auth_require_tls"] = tls_context is not None and not implicit_tls
        if oauth2_token is not None:
            kwargs["auth_require_tls"] = tls_context is not None and not implicit_tls
        # server_hostname: the default, socket.getfqdn(), can hang on a DNS lookup.
        handler = _OAuth2SinkHandler(self) if oauth2_token is not None else _SinkHandler(self)
        self._controller = Controller(
            handler, hostname=self.host, port=self.port, server_hostname="localhost", **kwargs
        )
        self._running = False

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        # handled=False: aiosmtpd then answers 535 itself; with the default, smtplib sees a bare disconnect.
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.auth is not None
            and self.auth.get(auth_data.login.decode("utf-8", "replace"))
            == auth_data.password.decode("utf-8", "replace")
        )
        return AuthResult(success=ok, handled=False)

    def _keep(self, received: Received) -> None:
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()

    def _attempted(self, recipient: str, code: int) -> None:
        with self._changed:
            self._attempts.append(Attempt(recipient, code))

    def _stalling(self) -> bool:
        with self._changed:
            return self._stall_at is not None and len(self._received) >= self._stall_at

    def stall_after(self, count: int) -> None:
        """Accept `count` more messages, then hold the next DATA unanswered until `release()`."""
        with self._changed:
            self._stall_at = len(self._received) + count
        self.stalled.clear()
        self._released.clear()

    def release(self) -> None:
        """End a stall: the held DATA gets 451 (its client is usually gone by then) and later ones are
        accepted."""
        with self._changed:
            self._stall_at = None
        self._released.set()

    def start(self) -> Self:
        self._controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        if self._running:
            self._running = False
            self.release()
            self._controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[Received]:
        """A snapshot of what arrived so far, oldest first."""
        with self._changed:
            return list(self._received)

    @property
    def attempts(self) -> list[Attempt]:
        """A snapshot of every answer given to DATA and every refused RCPT, oldest first."""
        with self._changed:
            return list(self._attempts)

    def clear(self) -> None:
        with self._changed:
            self._received.clear()
            self._attempts.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `count` messages arrived; return them all. Raises TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._received) >= count, timeout):
                raise TimeoutError(
                    f"SMTP sink got {len(self._received)} of {count} messages within {timeout} s"
                )
            return list(self._received)


class PymapServer:
    """pymap's in-memory `dict` backend as a subprocess, with one user and an empty INBOX.

    State lives in the process: `stop()` then `start()` gives the same port and an empty mailbox again.
    """

    kind = "pymap"

    def __init__(
        self, username: str = "signup", password: str | None = None, port: int | None = None
    ) -> None:
        self.host = HOST
        self.port = port or free_port()
        self.username = username
        self.password = password or secrets.token_urlsafe(12)
        self._dir = Path(tempfile.mkdtemp(prefix="mailflow-pymap-"))
        self._log = self._dir / "pymap.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Self:
        # Without --demo-data the dict backend starts with an empty INBOX and no other folders.
        # Only the IMAP service: others (admin, managesieve) would open ports of their own when their extras
        # exist.
        command = [
            sys.executable, "-c", "import sys; from pymap.main import main; sys.exit(main())",
            "--host", self.host, "--port", str(self.port), "--no-tls",
            "--no-service", "admin", "--no-service", "managesieve", "--no-service", "swim",
            "dict", "--demo-user", self.username, "--demo-password", self.password,
        ]  # fmt: skip
        with open(self._log, "ab") as log:
            self._proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for_login(self.host, self.port, self.username, self.password, timeout, self._proc, self._log)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill the server and wait for it; the port is free afterwards."""
        proc, self._proc = self._proc, None
        stop_process(proc, grace=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """Stop and remove the temporary directory."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def stop_process(proc: subprocess.Popen[bytes] | None, grace: float) -> None:
    """Ask a server process to stop (SIGTERM), give it `grace` seconds, then kill it; wait for it anyway."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for_login(
    host: str,
    port: int,
    username: str,
    password: str,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    ssl_port: bool = False,
) -> None:
    """Retry an IMAP LOGIN until it works: the port opens before the server can authenticate.

    Raises RuntimeError with the server's log tail if the process dies or `timeout` passes.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"IMAP server on port {port} exited with {proc.returncode}\n{_tail(log)}")
        try:
            context = _no_verify_context() if ssl_port else None
            client = imapclient.IMAPClient(host, port=port, ssl=ssl_port, ssl_context=context, timeout=2)
            try:
                client.login(username, password)
            finally:
                _close_quietly(client)
            return
        except (OSError, imaplib.IMAP4.error) as exc:  # refused, or dropped before auth was ready
            last = exc
            time.sleep(0.05)
    raise RuntimeError(f"IMAP server on port {port} not ready after {timeout} s: {last!r}\n{_tail(log)}")


def _no_verify_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _close_quietly(client: imapclient.IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error):
        with contextlib.suppress(OSError):
            client.shutdown()


def _tail(log: Path | None, lines: int = 20) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


__all__ = ["HOST", "Attempt", "PymapServer", "Received", "SmtpSink", "free_port", "wait_for_login"]
