"""The web page in-process (Flask's test client, no socket): every route behind the login, CSRF tokens,
sessions, login throttling, escaping of hostile names, the headers of every response, the access log, and the
events each change leaves for the digest. SQLite in tmp_path; the real server is in test_web_server.py."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import COORDINATOR, SIGNUP_ADDRESS, to_toml

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import models
from mailflow.core.vocabulary import EventKind, RegistrationStatus
from mailflow.usecases import calendar_jobs
from mailflow.usecases.context import App, build_app
from mailflow.usecases.meeting_changes import sync_meetings
from mailflow.web import security
from mailflow.web.app import create_app
from mailflow.web.security import SESSION_COOKIE, Password

PASSWORD = "correct horse battery staple"
NOW = dt.datetime(2027, 1, 5, 9, 0, tzinfo=dt.UTC)
MEETINGS = [
    {"date": dt.date(2026, 11, 10), "theme": "Samen sterk in de buurt"},  # past
    {"date": dt.date(2027, 1, 12), "theme": "Dringende medische hulp", "capacity": 2},
    {"date": dt.date(2027, 3, 9), "theme": "Toegang tot onderwijs"},
]
# As tests/test_render.py's HOSTILE_NAMES: markup and template syntax that must stay text.
HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "{% raw %}",
    "{% endraw %}{{ 7*7 }}",
    "<b>&amp;</b>",
]
HOSTILE = " ".join(HOSTILE_NAMES)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def write_config(folder: Path, database_url: str, **sections: Any) -> Path:
    """A config with three meetings (one past) and a [web] section; `sections` add or replace tables."""
    document = {
        "network": {
            "name": "Leernetwerk In-Gent",
            "language": "nl",
            "signup_address": SIGNUP_ADDRESS,
            "coordinator": COORDINATOR,
        },
        "venue": {"name": "Campus Sint-Annaplein", "address": "Sint-Annaplein 31, 9000 Gent"},
        "database": {"url": database_url},
        "web": {"password_env": "MAILFLOW_TEST_WEB_PASSWORD"},
        "meetings": MEETINGS,
        **sections,
    }
    path = folder / "config.toml"
    path.write_text(to_toml(document), encoding="utf-8")
    return path


class Clock:
    """The time the page reads (`now`) and the monotonic seconds its sessions count in (`timer`)."""

    def __init__(self) -> None:
        self.now, self.seconds = NOW, 1000.0

    def timer(self) -> float:
        return self.seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    with build_app(load_config(write_config(tmp_path, f"sqlite:///{tmp_path}/mailflow.db"))) as app:
        sync_meetings(app, NOW)
        yield app


@pytest.fixture
def web(app: App, clock: Clock) -> Flask:
    return create_app(app, Password(PASSWORD), lambda: clock.now, timer=clock.timer)


def token(page: str) -> str:
    found = CSRF.search(page)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def log_in(client: FlaskClient) -> str:
    """Log in; returns the CSRF token of the signed-in session."""
    login = client.get("/login")
    done = client.post("/login", data={"csrf": token(login.text), "password": PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/meetings"
    return token(client.get("/meetings").text)


@pytest.fixture
def client(web: Flask) -> FlaskClient:
    return web.test_client()


def add_member(app: App, name: str, email: str, organisation: str | None = None, **fields: Any) -> int:
    with app.sessions.begin() as db:
        member = models.Member(
            email=email,
            name=name,
            name_key=name.lower(),
            organisation=organisation,
            language="nl",
            status="active",
            unsure=fields.pop("unsure", False),
            undeliverable=False,
            created_at=NOW,
            last_heard_at=NOW,
        )
        db.add(member)
        db.flush()
        return member.id


def meeting_id(app: App, day: dt.date) -> int:
    with app.sessions() as db:
        return next(m.id for m in db.query(models.Meeting) if m.date == day)


def register(app: App, member: int, day: dt.date, status: str = RegistrationStatus.REGISTERED) -> int:
    with app.sessions.begin() as db:
        row = models.Registration(
            member_id=member,
            meeting_id=meeting_id(app, day),
            status=status,
            created_at=NOW,
            updated_at=NOW,
        )
        db.add(row)
        db.flush()
        return row.id


def routes(web: Flask, app: App) -> list[tuple[str, str]]:
    """(method, path) for every route of the page, with real ids filled in."""
    member = add_member(app, "Anna Peeters", "anna@example.org")
    registration = register(app, member, dt.date(2027, 1, 12))
    values = {
        "meeting_id": meeting_id(app, dt.date(2027, 1, 12)),
        "member_id": member,
        "registration_id": registration,
        "inbound_id": 1,
        "outbox_id": 1,
        "action": "cancel",
        "first": "2026-01-01",
        "last": "2027-12-31",
        "name": "report.html",
        "filename": "desk.css",
    }
    found = []
    for rule in web.url_map.iter_rules():
        path = rule.rule
        for argument in rule.arguments:
            path = re.sub(rf"<(?:\w+:)?{argument}>", str(values[argument]), path)
        found += [(method, path) for method in sorted(rule.methods or ()) if method in ("GET", "POST")]
    return found


# --- the login guards every page ----------------------------------------------------------------------------


def test_every_route_but_the_login_and_the_style_sheet_needs_a_session(web, app, client):
    """Enumerated from the app itself, so a route added later is checked too."""
    found = routes(web, app)
    assert len(found) > 20
    for method, path in found:
        with client.open(path, method=method) as response:
            text = response.text
        if path == "/login" or path.startswith("/static/"):
            assert response.status_code in (200, 403), (method, path)  # a POST without a token is refused
            continue
        if method == "GET":
            assert response.status_code == 302 and response.headers["Location"] == "/login", (method, path)
        else:
            assert response.status_code == 401, (method, path)
        assert "Anna" not in text and "anna@example.org" not in text


def test_an_unknown_path_without_a_session_goes_to_the_login_too(client):
    response = client.get("/members/999/anything")
    assert response.status_code == 302 and response.headers["Location"] == "/login"


# --- CSRF ---------------------------------------------------------------------------------------------------


def test_a_post_without_the_session_token_is_refused_and_changes_nothing(web, app, client):
    member = add_member(app, "Anna Peeters", "anna@example.org")
    log_in(client)
    for data in ({}, {"csrf": ""}, {"csrf": "forged"}):
        response = client.post(f"/members/{member}/edit", data={**data, "name": "Mallory"})
        assert response.status_code == 403
    with app.sessions() as db:
        assert db.get(models.Member, member).name == "Anna Peeters"
        assert not db.query(models.Event).filter_by(kind=EventKind.WEB_CHANGE).count()


def test_the_login_form_needs_its_token_too(client):
    client.get("/login")
    assert client.post("/login", data={"password": PASSWORD}).status_code == 403


def test_another_sessions_token_is_refused(web, app):
    member = add_member(app, "Anna Peeters", "anna@example.org")
    first, second = web.test_client(), web.test_client()
    stolen = log_in(first)
    log_in(second)
    assert second.post(f"/members/{member}/edit", data={"csrf": stolen, "name": "X"}).status_code == 403


# --- sessions -----------------------------------------------------------------------------------------------


def cookie_header(response: Any) -> str:
    (header,) = [v for k, v in response.headers.items() if k == "Set-Cookie" and SESSION_COOKIE in v]
    return header


def test_the_session_cookie_is_httponly_strict_and_new_at_login(client):
    before = cookie_header(client.get("/login"))
    assert "HttpOnly" in before and "SameSite=Strict" in before and "Path=/" in before
    assert "Secure" not in before  # plain HTTP on loopback, secure_cookies false
    old_id = client.get_cookie(SESSION_COOKIE).value
    done = client.post("/login", data={"csrf": token(client.get("/login").text), "password": PASSWORD})
    after = cookie_header(done)
    new_id = client.get_cookie(SESSION_COOKIE).value
    assert new_id != old_id and len(new_id) >= 40
    assert "HttpOnly" in after and "SameSite=Strict" in after
    # The id known before the login is worth nothing after it.
    client.set_cookie(SESSION_COOKIE, old_id)
    assert client.get("/meetings").status_code == 302


def test_the_cookie_is_secure_behind_tls_or_when_the_config_says_so(app, clock):
    web = create_app(app, Password(PASSWORD), lambda: clock.now, timer=clock.timer)
    client = web.test_client()
    over_tls = client.get("/login", base_url="https://desk.in-gent.example")
    assert "Secure" in cookie_header(over_tls)
    assert over_tls.headers["Strict-Transport-Security"].startswith("max-age=")
    from mailflow.settings import Web

    forced = create_app(app, Password(PASSWORD), lambda: clock.now, settings=Web(secure_cookies=True))
    assert "Secure" in cookie_header(forced.test_client().get("/login"))


def test_a_session_ends_when_unused_and_after_a_day_and_at_logout(client, clock):
    csrf = log_in(client)
    clock.seconds += 59 * 60
    assert client.get("/meetings").status_code == 200  # used: counts from now
    clock.seconds += 61 * 60
    assert client.get("/meetings").status_code == 302  # an hour unused ([web] session_minutes = 60)

    csrf = log_in(client)
    for _ in range(14):
        clock.seconds += 55 * 60
        client.get("/meetings")
    assert client.get("/meetings").status_code == 302  # used all the time, but twelve hours are over

    csrf = log_in(client)
    response = client.post("/logout", data={"csrf": csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/meetings").status_code == 302


# --- login throttling ---------------------------------------------------------------------------------------


def attempt(client: FlaskClient, password: str, address: str = "192.0.2.1") -> Any:
    form = client.get("/login", environ_base={"REMOTE_ADDR": address})
    return client.post(
        "/login", data={"csrf": token(form.text), "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_five_failures_from_an_address_lock_it_out_for_a_quarter_of_an_hour(web, clock):
    client = web.test_client()
    answers = [attempt(client, f"guess {n}") for n in range(5)]
    assert [a.status_code for a in answers] == [401] * 5
    locked = attempt(client, PASSWORD)
    assert locked.status_code == 429
    # One message for a wrong password and a lock: it tells a guesser nothing.
    message = "Wrong password, or too many tries"
    assert all(message in a.text for a in [*answers, locked]) or all(
        "Verkeerd wachtwoord" in a.text for a in [*answers, locked]
    )
    assert attempt(web.test_client(), PASSWORD, "192.0.2.2").status_code == 302  # another address may
    clock.seconds += security.THROTTLE_WINDOW + 1
    assert attempt(client, PASSWORD).status_code == 302


def test_failures_from_many_addresses_lock_the_login_for_everyone(web):
    for n in range(security.FAILURES_IN_TOTAL):
        attempt(web.test_client(), "guess", f"198.51.100.{n}")
    assert attempt(web.test_client(), PASSWORD, "203.0.113.9").status_code == 429


# --- what every response carries ----------------------------------------------------------------------------


def test_every_page_has_a_strict_policy_and_no_outside_asset(web, app, client):
    log_in(client)
    for method, path in routes(web, app):
        if method != "GET":
            continue
        with client.get(path) as response:
            text = response.text
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        if response.mimetype == "text/html":
            assert "<script" not in text.lower(), path
            assert not re.search(r'(?:src|href)="(?:https?:)?//', text), path
            assert not re.search(r'\sstyle="', text) or "'unsafe-hashes'" in policy, path
        if not path.startswith("/static/"):
            assert response.headers["Cache-Control"] == "no-store", path


def test_the_printable_sheet_and_the_report_allow_only_their_own_styles(web, app, client):
    log_in(client)
    day = meeting_id(app, dt.date(2027, 1, 12))
    for path in (f"/meetings/{day}/sheet.html", "/report/2026-01-01/2027-12-31/report.html"):
        policy = client.get(path).headers["Content-Security-Policy"]
        assert "style-src 'sha256-" in policy and "script-src 'self'" in policy


# --- hostile names stay text --------------------------------------------------------------------------------


def test_hostile_names_render_as_text_on_every_page(web, app, client):
    member = add_member(app, HOSTILE, "mo@example.org", organisation="Org " + HOSTILE, unsure=True)
    register(app, member, dt.date(2027, 1, 12))
    register(app, add_member(app, "<i>Wacht</i>", "w@example.org"), dt.date(2027, 1, 12), "waiting")
    csrf = log_in(client)
    day = meeting_id(app, dt.date(2027, 1, 12))
    pages = [
        client.get("/members").text,
        client.post("/members", data={"csrf": csrf, "search": "<script>"}).text,
        client.get(f"/members/{member}").text,
        client.get(f"/members/{member}/forget").text,
        client.get(f"/meetings/{day}").text,
        client.get(f"/meetings/{day}/sheet.html").text,
    ]
    for page in pages:
        assert "<script>" not in page and "<b>&amp;</b>" not in page and "<i>" not in page
        assert "49" not in page
    assert all("&lt;script&gt;alert(1)&lt;/script&gt;" in page for page in pages)
    assert "{{ 7*7 }}" in pages[2] and "{% raw %}" in pages[2]


# --- the access log -----------------------------------------------------------------------------------------


def test_the_access_log_has_method_path_and_status_and_nothing_typed(web, app, client, caplog):
    member = add_member(app, "Anna Peeters", "anna@example.org")
    caplog.set_level(logging.DEBUG)
    csrf = log_in(client)
    client.post("/members", data={"csrf": csrf, "search": "Peeters"})
    client.get("/members?search=anna@example.org")
    client.post(f"/members/{member}/edit", data={"csrf": csrf, "name": "Anna Peeters-Claes"})
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /members 200" in text and "GET /members 200" in text
    assert f"POST /members/{member}/edit 302" in text
    for secret in ("Peeters", "anna@", "search=", PASSWORD, csrf):
        assert secret not in text


# --- changes leave an event for the digest, without personal data -------------------------------------------


def test_a_correction_is_one_event_naming_the_fields_not_their_values(web, app, client, clock):
    member = add_member(app, "anna peters", "anna@example.org", unsure=True)
    csrf = log_in(client)
    response = client.post(
        f"/members/{member}/edit",
        data={"csrf": csrf, "name": "Anna Peeters", "organisation": "WVG", "language": "fr"},
    )
    assert response.status_code == 302
    with app.sessions() as db:
        row = db.get(models.Member, member)
        assert (row.name, row.organisation, row.language, row.unsure) == ("Anna Peeters", "WVG", "fr", False)
        assert row.name_key == "anna peeters"
        (event,) = db.query(models.Event).filter_by(kind=EventKind.WEB_CHANGE).all()
        assert event.detail == "member_edited: name,organisation,language,unsure"
        assert event.member_id == member and event.at == NOW
    preview = calendar_jobs.preview_digest(app, NOW + dt.timedelta(hours=1))
    assert "1 wijziging" in preview or "1 change" in preview


def test_a_hostile_mail_in_review_renders_as_text(web, app, client):
    raw = (
        b"From: =?utf-8?q?=3Cscript=3Ealert(1)=3C/script=3E_{{_7*7_}}?= <mo@example.org>\r\n"
        b"To: leernetwerk@in-gent.example\r\n"
        b"Subject: <b>&amp;</b> {% raw %} <img src=x onerror=alert(1)>\r\n"
        b"Message-ID: <hostile-1@example.org>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Is er parking?</p><script>alert(2)</script><iframe src='https://evil.example'></iframe>\r\n"
    )
    with app.sessions.begin() as db:
        row = models.InboundMessage(
            mailbox="INBOX",
            uidvalidity=1,
            uid=7,
            sha256="0" * 64,
            size=len(raw),
            status="review",
            intent="question",
            reason="question",
            attempts=0,
            moved=True,
            received_at=NOW,
            processed_at=NOW,
            sender="mo@example.org",
            raw=raw,
        )
        db.add(row)
        db.flush()
        inbound = row.id
    log_in(client)
    pages = [client.get("/review").text, client.get(f"/review/{inbound}").text]
    for page in pages:
        assert "<script>" not in page and "<b>" not in page and "<img" not in page and "<iframe" not in page
        assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in page and "49" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1] and "Is er parking?" in pages[1]
