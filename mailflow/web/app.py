"""The web page as a WSGI application (Flask): the guard every request passes, the login and logout, the
headers of every response, the access log, and the error pages.

The guard: a page needs a signed-in session (else a redirect to the login, or 401 for anything but a GET), and
every request that may change something needs the session's CSRF token. The access log holds the method, the
path without its query string and the status; never a form, a name or an address.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

import babel.dates
import jinja2
from flask import Flask, Response, g, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers.response import Response as BaseResponse

from mailflow.core import i18n
from mailflow.core.mail.templates import longdate
from mailflow.settings import Web
from mailflow.usecases.context import App
from mailflow.web import mails, pages_meetings, pages_members, pages_outbox, pages_review
from mailflow.web.desk import EXTENSION, Desk, _, desk
from mailflow.web.security import (
    POLICY,
    SESSION_COOKIE,
    Password,
    Sessions,
    Throttle,
    Timer,
    WebSession,
    csrf_matches,
)
from mailflow.web.words import words

log = logging.getLogger(__name__)
access = logging.getLogger("mailflow.web.access")

PUBLIC = ("login", "static")  # the endpoints a visitor without a session may reach
SAFE_METHODS = ("GET", "HEAD")
FORM_LIMIT = 256 * 1024  # bytes of a request body: forms only, no uploads


def create_app(
    app: App,
    password: Password,
    clock: Callable[[], dt.datetime],
    *,
    settings: Web | None = None,
    timer: Timer = time.monotonic,
) -> Flask:
    """The web page of `app`'s database and mailbox, with the coordinator's `password`."""
    settings = settings or app.config.web or Web()
    web = Flask(__name__, static_folder="static", template_folder="templates")
    web.config.update(
        MAX_CONTENT_LENGTH=FORM_LIMIT, MAX_FORM_MEMORY_SIZE=FORM_LIMIT, TRAP_HTTP_EXCEPTIONS=False
    )
    # The catalogues' words in the page, as in the mails; the same whitespace options as babel.cfg says.
    web.jinja_options = {
        **web.jinja_options,
        "extensions": ["jinja2.ext.i18n"],
        "undefined": jinja2.StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    i18n.install_gettext(web.jinja_env)
    web.jinja_env.filters.update(longdate=longdate, day=_day, when=_when)
    sessions = Sessions(settings.session_minutes * 60.0, timer)
    web.extensions[EXTENSION] = Desk(app, clock, settings, password, sessions, Throttle(timer))
    for pages in (pages_meetings, pages_members, pages_review, pages_outbox):
        web.register_blueprint(pages.pages)
    web.before_request(_guard)
    web.after_request(_finish)
    web.context_processor(_layout)
    web.register_error_handler(Exception, _failed)
    web.add_url_rule("/login", "login", _login, methods=["GET", "POST"])
    web.add_url_rule("/logout", "logout", _logout, methods=["POST"])
    web.add_url_rule("/", "home", lambda: redirect(url_for("meetings.overview")))
    return web


# --- every request ------------------------------------------------------------------------------------------


def _guard() -> Response | BaseResponse | tuple[str, int] | None:
    """Runs before every request: find its session, refuse what it may not do."""
    session = desk().sessions.get(request.cookies.get(SESSION_COOKIE))
    g.web_session = session
    if request.endpoint not in PUBLIC and (session is None or not session.signed_in):
        if request.method in SAFE_METHODS:
            return redirect(url_for("login"))
        return _error_page(401)
    if request.method not in SAFE_METHODS and (
        session is None or not csrf_matches(session, request.form.get("csrf"))
    ):
        log.warning("%s %s refused: no valid CSRF token", request.method, request.path)
        return _error_page(403)
    return None


def _finish(response: Response) -> Response:
    """Runs after every request: the headers that keep the page to itself, and the access log line."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", POLICY)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"  # pages hold personal data: no copy in any cache
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    # The path only: a query string may carry what a person typed.
    access.info("%s %s %s", request.method, request.path, response.status_code)
    return response


def _layout() -> dict[str, object]:
    """What every template may use."""
    d = desk()
    session: WebSession | None = g.get("web_session")
    signed_in = session is not None and session.signed_in
    notes: list[tuple[str, str]] = []
    if session is not None and signed_in:
        notes, session.notes = session.notes, []
    return {
        "language": d.language,
        "network_name": d.app.config.network.name,
        "signed_in": signed_in,
        "csrf_token": session.csrf if session is not None else "",
        "csrf": lambda: (
            Markup('<input type="hidden" name="csrf" value="%s">') % (session.csrf if session else "")
        ),
        "words": words() if signed_in else {},
        "notes": notes,
        "review_count": mails.count_waiting(d.app) if signed_in else 0,
    }


def _failed(exc: Exception) -> Response | tuple[str, int]:
    if isinstance(exc, HTTPException):
        return _error_page(exc.code or 500)
    # The type only: a database error's message quotes the values of its statement, names included.
    log.error("%s %s failed: %s", request.method, request.path, type(exc).__name__)
    return _error_page(500)


def _error_message(code: int) -> str:
    messages = {
        401: _("Please log in first."),
        403: _("This form had expired or did not come from this page. Go back, reload it and try again."),
        404: _("There is nothing here (any more)."),
        405: _("That cannot be done here."),
        413: _("That is more than this page takes."),
    }
    return messages.get(code) or _("Something went wrong on mailflow's side; nothing was changed.")


def _error_page(code: int) -> tuple[str, int]:
    return render_template("error.html", code=code, message=_error_message(code)), code


# --- login and logout ---------------------------------------------------------------------------------------


def _login() -> Response | BaseResponse | tuple[str, int]:
    d = desk()
    session: WebSession | None = g.web_session
    if session is not None and session.signed_in:
        return redirect(url_for("meetings.overview"))
    if request.method == "GET":
        fresh = session is None
        session = session or d.sessions.start(signed_in=False)
        g.web_session = session
        response = Response(render_template("login.html", failed=False, csrf_token=session.csrf))
        return _with_cookie(response, session) if fresh else response
    assert session is not None  # the guard refuses a POST without a session
    client = request.remote_addr or "unknown"
    if d.throttle.blocked(client):
        log.warning("login refused: too many failed logins")
        return render_template("login.html", failed=True, csrf_token=session.csrf), 429
    if not d.password.matches(request.form.get("password", "")):
        d.throttle.failed(client)
        log.warning("login failed")
        return render_template("login.html", failed=True, csrf_token=session.csrf), 401
    d.throttle.succeeded(client)
    d.sessions.end(session.id)
    signed_in = d.sessions.start(signed_in=True)  # a new id: one known before the login is worth nothing now
    log.info("logged in")
    return _with_cookie(redirect(url_for("meetings.overview")), signed_in)


def _logout() -> BaseResponse:
    session: WebSession | None = g.web_session
    if session is not None:
        desk().sessions.end(session.id)
    response = redirect(url_for("login"))
    response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(), httponly=True, samesite="Strict")
    log.info("logged out")
    return response


def _with_cookie(response: BaseResponse, session: WebSession) -> BaseResponse:
    """The session's cookie: out of reach of scripts, never sent by another site, over HTTPS only when the
    page is served that way (or [web] secure_cookies says so); it ends with the browser."""
    response.set_cookie(
        SESSION_COOKIE, session.id, path="/", secure=_secure(), httponly=True, samesite="Strict"
    )
    return response


def _secure() -> bool:
    return desk().settings.secure_cookies or request.is_secure


# --- filters ------------------------------------------------------------------------------------------------


@jinja2.pass_context
def _day(context: jinja2.runtime.Context, value: dt.date) -> str:
    """ "12 jan 2027": a date in a table."""
    return babel.dates.format_date(value, "medium", locale=context["language"])


@jinja2.pass_context
def _when(context: jinja2.runtime.Context, value: dt.datetime | None) -> str:
    """ "12 jan 2027 10:00": a stored time in the network's time zone."""
    if value is None:
        return "–"
    local = value.astimezone(desk().app.config.network.timezone)
    return f"{babel.dates.format_date(local.date(), 'medium', locale=context['language'])} {local:%H:%M}"
