"""What keeps the web page safe, apart from Flask: the password check, the sessions (kept in memory, by random
id), CSRF tokens, login throttling, and the Content-Security-Policy of every response.

No database, no network, no clock of its own: a `timer` (monotonic seconds) is passed in, for the tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import os
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Timer = Callable[[], float]

SESSION_COOKIE = "mailflow_session"
ABSOLUTE_LIFETIME = 12 * 3600.0  # seconds: however busy, a session ends after a working day
SIGNED_OUT_LIFETIME = 15 * 60.0  # a login form's session (it holds only its CSRF token)
MAX_SIGNED_OUT = 1000  # login forms' sessions kept at once; beyond, the oldest go (no memory to exhaust)
MAX_PASSWORD = 1024  # characters of a login attempt that are looked at

# Failed logins within THROTTLE_WINDOW seconds before the login is refused, whatever the password: from one
# client address, and from all together (a guesser with many addresses).
THROTTLE_WINDOW = 15 * 60.0
FAILURES_PER_CLIENT = 5
FAILURES_IN_TOTAL = 20

# Every page: only the page's own origin, no inline script or style, no frames, forms post only to it.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class Password:
    """The coordinator's password, kept only as a salted scrypt hash; a login attempt is compared in
    constant time (hmac.compare_digest)."""

    def __init__(self, password: str) -> None:
        if not password:
            raise ValueError("the web page needs a password")
        self._salt = os.urandom(16)
        self._hash = self._derive(password)

    def _derive(self, text: str) -> bytes:
        # scrypt (RFC 7914), about 30 ms and 16 MiB: a guesser who gets this far pays for every try.
        return hashlib.scrypt(text.encode("utf-8"), salt=self._salt, n=2**14, r=8, p=1, dklen=32)

    def matches(self, attempt: str) -> bool:
        return hmac.compare_digest(self._derive(attempt[:MAX_PASSWORD]), self._hash)


@dataclass
class WebSession:
    """One browser's session: signed in, or only holding the CSRF token of the login form."""

    id: str
    csrf: str
    signed_in: bool
    started: float
    seen: float
    notes: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) for the next page, then gone


class Sessions:
    """The sessions, in memory: a restart signs everyone out, and nothing about them is written anywhere.

    Ids are 256 random bits (secrets.token_urlsafe); each has its own CSRF token. A session ends when it has
    not been used for `idle` seconds, after ABSOLUTE_LIFETIME, or at logout; signing in always starts a new
    one, so an id seen before the login is worth nothing after it.
    """

    def __init__(self, idle: float, timer: Timer = time.monotonic) -> None:
        self.idle, self.timer = idle, timer
        self._sessions: dict[str, WebSession] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> WebSession | None:
        """The live session with this id (and it counts as used now), or None."""
        if not session_id:
            return None
        now = self.timer()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            idle = self.idle if session.signed_in else SIGNED_OUT_LIFETIME
            if now - session.seen > idle or now - session.started > ABSOLUTE_LIFETIME:
                del self._sessions[session_id]
                return None
            session.seen = now
            return session

    def start(self, signed_in: bool) -> WebSession:
        now = self.timer()
        session = WebSession(secrets.token_urlsafe(32), secrets.token_urlsafe(32), signed_in, now, now)
        with self._lock:
            if not signed_in:
                self._make_room(now)
            self._sessions[session.id] = session
        return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def _make_room(self, now: float) -> None:
        signed_out = [s for s in self._sessions.values() if not s.signed_in]
        for session in signed_out:
            if now - session.seen > SIGNED_OUT_LIFETIME:
                del self._sessions[session.id]
        signed_out = sorted((s for s in self._sessions.values() if not s.signed_in), key=lambda s: s.seen)
        for session in signed_out[: max(0, len(signed_out) - MAX_SIGNED_OUT + 1)]:
            del self._sessions[session.id]


def csrf_matches(session: WebSession, given: str | None) -> bool:
    """Whether a form's token is its session's (compared in constant time)."""
    return bool(given) and hmac.compare_digest(session.csrf.encode(), (given or "").encode())


class Throttle:
    """Failed logins in the last THROTTLE_WINDOW seconds, per client address and in total."""

    def __init__(self, timer: Timer = time.monotonic) -> None:
        self.timer = timer
        self._per_client: dict[str, deque[float]] = {}
        self._total: deque[float] = deque()
        self._lock = threading.Lock()

    def blocked(self, client: str) -> bool:
        with self._lock:
            self._forget_old()
            mine = self._per_client.get(client, ())
            return len(mine) >= FAILURES_PER_CLIENT or len(self._total) >= FAILURES_IN_TOTAL

    def failed(self, client: str) -> None:
        now = self.timer()
        with self._lock:
            self._per_client.setdefault(client, deque()).append(now)
            self._total.append(now)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._per_client.pop(client, None)

    def _forget_old(self) -> None:
        since = self.timer() - THROTTLE_WINDOW
        for times in (self._total, *self._per_client.values()):
            while times and times[0] <= since:
                times.popleft()
        for client in [c for c, times in self._per_client.items() if not times]:
            del self._per_client[client]


_STYLE_ELEMENT = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')


def policy_for_own_page(page: str) -> str:
    """The policy for a page mailflow's own templates wrote with its styles inline (the printable sign-in
    sheet, the report): those styles by their SHA-256 (CSP level 3), and still no script at all.

    Values from mail never reach a style: the templates escape them, so they cannot add one either."""
    hashes = [_sha256(style) for style in _STYLE_ELEMENT.findall(page)]
    attributes = [_sha256(html.unescape(style)) for style in _STYLE_ATTRIBUTE.findall(page)]
    sources = " ".join(dict.fromkeys(hashes + attributes))
    if attributes:
        sources += " 'unsafe-hashes'"
    return POLICY.replace("style-src 'self'", f"style-src {sources}" if sources else "style-src 'none'")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
