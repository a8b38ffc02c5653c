"""`mailflow web` as it runs: the real server (waitress) started as a process on a free port of 127.0.0.1, and
a plain HTTP client (http.client, no browser, no redirects followed). Every route of the app without a
session, CSRF refusals, the cookie behind a trusted TLS proxy, and what the server logs.

`WebServer` and `Http` are used by test_web_flows.py and test_web_browser.py too.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Self

import pytest
from test_web_pages import CSRF, PASSWORD, routes, write_config

from mailflow.adapters.config_file import load_config
from mailflow.usecases.context import build_app
from mailflow.web.app import create_app
from mailflow.web.security import SESSION_COOKIE, Password

pytestmark = pytest.mark.servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebServer:
    """`mailflow web --config CONFIG [--now NOW]` in a process of its own, until stop(). `url`, `log()`."""

    def __init__(
        self, config: Path, now: str | None = None, password: str = PASSWORD, env_name: str = ""
    ) -> None:
        self.config, self.now, self.password = config, now, password
        self.env_name = env_name or "MAILFLOW_TEST_WEB_PASSWORD"
        self.port = load_config(config).web.port  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = config.parent / f"web-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        command = [sys.executable, "-m", "mailflow", "web", "--config", str(self.config)]
        if self.now:
            command += ["--now", self.now]
        env = {**os.environ, self.env_name: self.password}
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"mailflow web ended at once:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"mailflow web did not listen within 60 s:\n{self.log()}")

    def stop(self) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Http:
    """A plain HTTP client with one cookie jar, that never follows a redirect."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str, list[str]]:
        """(status, headers, body, Set-Cookie headers)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            sent = dict(headers or {})
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form, doseq=True)
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            set_cookies = response.headers.get_all("Set-Cookie") or []
            for header in set_cookies:
                for name, morsel in SimpleCookie(header).items():
                    if morsel.value:
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
            found = CSRF.search(text)
            if found:
                self.csrf = found.group(1)
            return response.status, dict(response.headers.items()), text, set_cookies
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> tuple[int, dict[str, str], str, list[str]]:
        return self.request("GET", path, **kwargs)

    def post(
        self, path: str, form: dict[str, Any], **kwargs: Any
    ) -> tuple[int, dict[str, str], str, list[str]]:
        return self.request("POST", path, {"csrf": self.csrf, **form}, **kwargs)

    def log_in(self, password: str = PASSWORD) -> int:
        self.get("/login")
        status, headers, _, _ = self.post("/login", {"password": password})
        if status == 302:
            self.get(headers["Location"])  # the signed-in session's token
        return status


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, f"sqlite:///{tmp_path}/mailflow.db", web=web_section(free_port()))


def web_section(port: int, **keys: Any) -> dict[str, Any]:
    return {"listen": f"127.0.0.1:{port}", "password_env": "MAILFLOW_TEST_WEB_PASSWORD", **keys}


@pytest.fixture
def server(config: Path) -> Iterator[WebServer]:
    with WebServer(config, now="2027-01-05T10:00+01:00") as running:
        yield running


def test_every_route_of_the_app_refuses_a_client_without_a_session(config, server, monkeypatch):
    """The routes come from the app the server runs, so a route added later is checked too."""
    monkeypatch.setenv("MAILFLOW_TEST_WEB_PASSWORD", PASSWORD)
    with build_app(load_config(config)) as app:
        web = create_app(app, Password(PASSWORD), lambda: dt.datetime.now(dt.UTC))
        found = routes(web, app)  # adds Anna Peeters, registered, to the server's database
    assert len(found) > 20
    for method, path in found:
        client = Http(server.url)
        status, headers, body, _ = client.request(method, path, {} if method == "POST" else None)
        if path == "/login" or path.startswith("/static/"):
            assert status in (200, 403), (method, path, status)
        elif method == "GET":
            assert (status, headers.get("Location")) == (302, "/login"), (method, path, status)
        else:
            assert status == 401, (method, path, status)
        assert "Anna" not in body and "anna@example.org" not in body, (method, path)
    # The same paths with a session answer, so the refusals above were the guard's.
    client = Http(server.url)
    assert client.log_in() == 302
    assert client.get("/members")[0] == 200 and "Anna Peeters" in client.get("/members")[2]


def test_a_post_without_a_csrf_token_is_refused(server):
    client = Http(server.url)
    client.log_in()
    status, _, _, _ = client.request("POST", "/members/new", {"name": "Mallory", "email": "m@example.org"})
    assert status == 403
    status, _, _, _ = client.request(
        "POST", "/members/new", {"csrf": "0" * 43, "name": "Mallory", "email": "m@example.org"}
    )
    assert status == 403
    assert "Mallory" not in client.get("/members")[2]
    status, _, _, _ = client.post("/members/new", {"name": "Mo Jansen", "email": "mo@example.org"})
    assert status == 302 and "Mo Jansen" in client.get("/members")[2]


def test_login_cookie_and_logout_over_http(server):
    client = Http(server.url)
    _, _, _, cookies = client.get("/login")
    before = client.cookies[SESSION_COOKIE]
    assert any("HttpOnly" in c and "SameSite=Strict" in c and "Secure" not in c for c in cookies)
    assert client.post("/login", {"password": "wrong"})[0] == 401
    status, _, _, cookies = client.post("/login", {"password": PASSWORD})
    assert status == 302 and client.cookies[SESSION_COOKIE] != before
    client.get("/meetings")
    assert client.post("/logout", {})[0] == 302
    assert client.get("/meetings")[0] == 302


def test_behind_a_trusted_proxy_the_cookie_is_secure_and_the_client_is_the_forwarded_one(tmp_path):
    """X-Forwarded-Proto from the proxy makes the request HTTPS; from anyone else it is ignored."""
    port = free_port()
    trusted = write_config(
        tmp_path, f"sqlite:///{tmp_path}/mailflow.db", web=web_section(port, trusted_proxy="127.0.0.1")
    )
    with WebServer(trusted) as running:
        client = Http(running.url)
        _, headers, _, cookies = client.get(
            "/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"}
        )
        assert any("Secure" in c for c in cookies) and "Strict-Transport-Security" in headers
        # Throttling counts the forwarded client: five failures lock 192.0.2.7 out, not 192.0.2.8.
        for _ in range(5):
            client.post("/login", {"password": "wrong"}, headers={"X-Forwarded-For": "192.0.2.7"})
        assert (
            client.post("/login", {"password": PASSWORD}, headers={"X-Forwarded-For": "192.0.2.7"})[0] == 429
        )
        other = Http(running.url)
        other.get("/login", headers={"X-Forwarded-For": "192.0.2.8"})
        assert (
            other.post("/login", {"password": PASSWORD}, headers={"X-Forwarded-For": "192.0.2.8"})[0] == 302
        )
    untrusted_dir = tmp_path / "untrusted"
    untrusted_dir.mkdir()
    plain = write_config(untrusted_dir, f"sqlite:///{tmp_path}/mailflow.db", web=web_section(free_port()))
    with WebServer(plain) as running:
        _, headers, _, cookies = Http(running.url).get("/login", headers={"X-Forwarded-Proto": "https"})
        assert not any("Secure" in c for c in cookies) and "Strict-Transport-Security" not in headers


def test_the_server_log_names_no_one_and_no_query_string(server):
    client = Http(server.url)
    client.log_in()
    client.post("/members/new", {"name": "Zoë Vermeulen", "email": "zoe.vermeulen@example.org"})
    client.post("/members", {"search": "Vermeulen"})
    client.get("/members?search=zoe.vermeulen%40example.org")
    client.get("/report?first=2026-01-01&last=2026-12-31")
    assert server.stop() == 0
    log = server.log()
    assert "POST /members/new 302" in log and "GET /members 200" in log and "GET /report 302" in log
    assert "web change: member_added" in log
    for personal in ("Zo", "Vermeulen", "zoe", "search", "?", PASSWORD):
        assert personal not in log, personal


def test_a_wrong_password_source_stops_the_start_with_one_line(tmp_path):
    config = write_config(
        tmp_path,
        f"sqlite:///{tmp_path}/mailflow.db",
        web=web_section(free_port(), password_env="MAILFLOW_TEST_NO_SUCH_VARIABLE"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "mailflow", "web", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert re.search(
        r"web.password_env: the environment variable MAILFLOW_TEST_NO_SUCH_VARIABLE is not set", done.stderr
    )
