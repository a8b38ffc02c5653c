"""What every page of the web page works with: the Desk (the App, the clock, the sessions, the password), the
coordinator's language, notes shown on the next page, and reading a form's fields.

Pages import this module, and the app factory wires it; it imports no page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import babel.support
from flask import current_app, g, request

from mailflow.core import i18n
from mailflow.settings import LANGUAGES, Web
from mailflow.usecases.context import App
from mailflow.web.security import Password, Sessions, Throttle, WebSession

EXTENSION = "mailflow"  # the Desk's key in Flask's app.extensions


@dataclass
class Desk:
    """The parts the web page works with, one per server."""

    app: App
    clock: Callable[[], dt.datetime]
    settings: Web
    password: Password
    sessions: Sessions
    throttle: Throttle

    @property
    def language(self) -> str:
        language = self.app.config.network.language
        return language if language in LANGUAGES else i18n.FALLBACK

    @property
    def translations(self) -> babel.support.Translations:
        return i18n.translations(self.language)


def desk() -> Desk:
    return cast(Desk, current_app.extensions[EXTENSION])


def now() -> dt.datetime:
    return desk().clock()


def _(text: str) -> str:
    """A text of the page in the coordinator's language (a msgid of the catalogues)."""
    return desk().translations.gettext(text)


def session() -> WebSession:
    """The signed-in session of this request (the guard in app.py lets no other request reach a page)."""
    found: WebSession | None = g.get("web_session")
    assert found is not None and found.signed_in
    return found


def note(text: str, kind: str = "done") -> None:
    """Something to tell the coordinator on the next page: "done", or "problem"."""
    session().notes.append((kind, text))


# --- forms --------------------------------------------------------------------------------------------------


def field(name: str, limit: int = 500) -> str:
    """A form field as text on one line with single spaces, at most `limit` characters ("" when absent)."""
    return " ".join(request.form.get(name, "").split())[:limit]


def number(name: str) -> int | None:
    """A form field that holds a whole number (an id, a count), or None."""
    value = request.form.get(name, "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def numbers(name: str) -> set[int]:
    """The whole numbers in a form field given several times (checkboxes)."""
    return {int(v) for v in request.form.getlist(name) if v.strip().isdigit() and len(v.strip()) < 10}
