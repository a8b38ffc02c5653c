"""Fixtures with real servers on 127.0.0.1: IMAP (Dovecot, else pymap), an SMTP sink, PostgreSQL; and a real
browser (Chromium).

MAILFLOW_TEST_IMAP=pymap|dovecot forces the IMAP server. MAILFLOW_REQUIRE_SERVERS=1 (CI) makes a missing
Dovecot, PostgreSQL or Chromium, and any skipped test, a failure.

Two lanes: every test that starts a server carries the `servers` mark (set here from its fixtures, or written
on tests that start one themselves), so `pytest -m "not servers"` is the fast lane. A server started by a test
without the mark fails that test, so the fast lane stays free of servers.

MAILFLOW_TEST_INSTALLED=1 (CI) makes sure the tests ran against the installed mailflow, not the checkout.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from helpers import ImapBox, MakeConfig, TlsFiles, make_tls_files, write_config
from servers import Dovecot, Postgres, dovecot_binary, postgres_bindir
from wiretap import Wiretap

import mailflow
from mailflow.testing.servers import PymapServer, SmtpSink

REQUIRE_SERVERS = os.environ.get("MAILFLOW_REQUIRE_SERVERS") == "1"
CHECKOUT = Path(__file__).resolve().parent.parent

# Fixtures that start a server; a test using one, directly or through another fixture, is in the servers lane.
SERVER_FIXTURES = frozenset(
    {"imap_server", "imap", "own_imap_server", "imap_tls_server", "smtp_sink", "postgres_server", "chromium"}
)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("MAILFLOW_TEST_INSTALLED") == "1":
        where = Path(mailflow.__file__).resolve()
        if where.is_relative_to(CHECKOUT / "mailflow"):  # the sources; a venv inside the checkout is fine
            raise pytest.UsageError(
                f"MAILFLOW_TEST_INSTALLED=1, but mailflow was imported from the checkout ({where}), "
                "not from the installed wheel: run from outside the checkout's sys.path "
                "(PYTHONSAFEPATH=1 python -m pytest)"
            )


def _starts_a_server(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & SERVER_FIXTURES:
        return True
    # database_url runs a test on SQLite and on PostgreSQL; only the PostgreSQL run needs a server.
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("database_url") == "postgresql"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _starts_a_server(item):
            item.add_marker(pytest.mark.servers)


# --- the fast lane starts no server -------------------------------------------------------------------------

_current_test: pytest.Item | None = None  # the test being set up, run or torn down; None between tests


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    global _current_test
    _current_test = item
    try:
        return (yield)
    finally:
        _current_test = None


def _refuse_unmarked(what: str) -> None:
    test = _current_test
    if test is not None and test.get_closest_marker("servers") is None:
        pytest.fail(
            f"{test.nodeid} starts {what} but has no `servers` mark: add @pytest.mark.servers, "
            "or start it through a server fixture (conftest.SERVER_FIXTURES), "
            "so that `pytest -m 'not servers'` starts no server",
            pytrace=False,
        )


def _guard(owner: Any, name: str, what: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _refuse_unmarked(what)
        return original(*args, **kwargs)

    setattr(owner, name, guarded)


# Every server a test can start: the server classes, the relay, and any other listening socket (an HTTP
# server, a port that never answers). Patched for the whole session; outside a test they behave as before.
for _owner, _what in [
    (Dovecot, "Dovecot"),
    (Postgres, "PostgreSQL"),
    (PymapServer, "pymap"),
    (SmtpSink, "an SMTP sink"),
]:
    _guard(_owner, "start", _what)
_guard(Wiretap, "__init__", "a TLS relay (Wiretap)")
_guard(socket.socket, "listen", "a listening socket")


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
    """A private IMAP server of the session's kind, for tests that stop or restart it; wrap it in ImapBox to
    seed it."""
    server = _new_imap_server()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA (trustme) and a server certificate for 127.0.0.1/localhost: `.ca_file .cert_file
    .key_file`."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def imap_tls_server(tls_files: TlsFiles) -> Iterator[Dovecot]:
    """Dovecot with the `tls_files` certificate: STARTTLS on `.port`, implicit TLS on `.tls_port` (pymap has
    neither)."""
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
    """A PostgreSQL cluster in a temp dir; `.url`, `.create_database(name=None) -> url`, `.stop()`,
    `.start()`."""
    if postgres_bindir() is None:
        _missing("PostgreSQL not installed: no initdb/pg_ctl (apt-get install postgresql)")
    server = Postgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def chromium() -> SimpleNamespace:
    """Debian's Chromium and its ChromeDriver, for the tests that look at a page in a real browser:
    `.browser` and `.driver` (paths). A browser is a process outside the test too: the servers lane."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/lib/chromium/chromedriver" if os.access("/usr/lib/chromium/chromedriver", os.X_OK) else None
    )
    if browser is None or driver is None:
        _missing("Chromium or its driver not installed (apt-get install chromium chromium-driver)")
    return SimpleNamespace(browser=browser, driver=driver)


@pytest.fixture
def make_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeConfig:
    """Writes a config.toml for the test's servers, shaped like config.example.toml (see
    helpers.write_config).

    `make_config(imap, smtp_sink, database_url=None, *, directory=tmp_path, **overrides)` returns its path;
    the database defaults to a SQLite file beside it, and the IMAP password goes into an environment variable
    that is unset after the test.
    """

    def make(
        imap: Any,
        smtp: Any,
        database_url: str | None = None,
        /,
        *,
        directory: Path | None = None,
        **overrides: Any,
    ) -> Path:
        folder = directory or tmp_path
        url = database_url or f"sqlite:///{folder}/mailflow.db"
        return write_config(folder, imap, smtp, url, monkeypatch, **overrides)

    return make


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
