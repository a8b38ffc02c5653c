"""Fixtures with real servers on 127.0.0.1: IMAP (Dovecot, else pymap), an SMTP sink, PostgreSQL.

MAILFLOW_TEST_IMAP=pymap|dovecot forces the IMAP server. MAILFLOW_REQUIRE_SERVERS=1 (CI) makes a missing
Dovecot or PostgreSQL, and any skipped test, a failure.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import ImapBox, TlsFiles, make_tls_files
from servers import Dovecot, Postgres, dovecot_binary, postgres_bindir

from mailflow.testing.servers import PymapServer, SmtpSink

REQUIRE_SERVERS = os.environ.get("MAILFLOW_REQUIRE_SERVERS") == "1"


def _missing(reason: str) -> None:
    """Skip, or fail when CI asked for every server."""
    if REQUIRE_SERVERS:
        pytest.fail(f"{reason} (MAILFLOW_REQUIRE_SERVERS=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # CI must not go green on a partial run: with MAILFLOW_REQUIRE_SERVERS=1 every skip is a failure.
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if REQUIRE_SERVERS and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but MAILFLOW_REQUIRE_SERVERS=1 forbids skips: {reason}"


def _imap_kind() -> str:
    forced = os.environ.get("MAILFLOW_TEST_IMAP", "").strip().lower()
    if forced not in ("", "dovecot", "pymap"):
        pytest.fail(f"MAILFLOW_TEST_IMAP must be dovecot or pymap, got {forced!r}", pytrace=False)
    if forced == "pymap":
        return "pymap"
    if dovecot_binary() is not None:
        return "dovecot"
    if forced == "dovecot" or REQUIRE_SERVERS:
        pytest.fail("Dovecot not installed (apt-get install dovecot-imapd)", pytrace=False)
    return "pymap"


def _new_imap_server() -> Dovecot | PymapServer:
    return Dovecot() if _imap_kind() == "dovecot" else PymapServer()


@pytest.fixture(scope="session")
def imap_server() -> Iterator[Dovecot | PymapServer]:
    """The session's IMAP server: `.host .port .username .password .kind` ("dovecot" or "pymap")."""
    server = _new_imap_server()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def imap(imap_server: Dovecot | PymapServer) -> Iterator[ImapBox]:
    """The test user's mailbox, emptied before the test: only INBOX, and no mail in it. UIDs are not reset."""
    if not imap_server.running:
        imap_server.start()  # a previous test stopped the session server and failed before restarting it
    box = ImapBox(imap_server)
    try:
        box.reset()
        yield box
    finally:
        box.close()


@pytest.fixture
def own_imap_server() -> Iterator[Dovecot | PymapServer]:
    """A private IMAP server of the session's kind, for tests that stop or restart it; wrap it in ImapBox to seed it."""
    server = _new_imap_server()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA (trustme) and a server certificate for 127.0.0.1/localhost: `.ca_file .cert_file .key_file`."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def imap_tls_server(tls_files: TlsFiles) -> Iterator[Dovecot]:
    """Dovecot with the `tls_files` certificate: STARTTLS on `.port`, implicit TLS on `.tls_port` (pymap has neither)."""
    if dovecot_binary() is None:
        _missing("Dovecot not installed: the IMAP TLS tests need it (apt-get install dovecot-imapd)")
    server = Dovecot(tls_cert=tls_files.cert_file, tls_key=tls_files.key_file)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP server that keeps every message: `.messages`, `.wait_for(n)`, `.mode` for staged failures."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """A PostgreSQL cluster in a temp dir; `.url`, `.create_database(name=None) -> url`, `.stop()`, `.start()`."""
    if postgres_bindir() is None:
        _missing("PostgreSQL not installed: no initdb/pg_ctl (apt-get install postgresql)")
    server = Postgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: SQLite in tmp_path, and a fresh PostgreSQL database; tests using it run on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/mailflow.db"
        return
    server: Postgres = request.getfixturevalue("postgres_server")
    if not server.data.joinpath("postmaster.pid").exists():
        server.start()  # a previous test stopped the session cluster and failed before restarting it
    url = server.create_database()
    yield url
    # The cluster is thrown away at the end of the session anyway.
    with contextlib.suppress(psycopg.Error):
        server.drop_database(url.rsplit("/", 1)[1])


def pytest_report_header(config: Any) -> str:
    imap = os.environ.get("MAILFLOW_TEST_IMAP") or ("dovecot" if dovecot_binary() else "pymap")
    pg = "yes" if postgres_bindir() else "no (postgresql tests skip)"
    return f"mailflow: IMAP server {imap}, PostgreSQL {pg}, MAILFLOW_REQUIRE_SERVERS={int(REQUIRE_SERVERS)}"
