"""The Jinja environment every outgoing mail is rendered with: where the templates are (the coordinator's own
folder first, when the config names one, then the package's), the filters they use (dates, times and lists
of names in the mail's language), and gettext from the catalogues (core/i18n.py).

Pure: the templates are read from the package's own folder and the one the config names, nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import babel.lists
import jinja2
from markupsafe import Markup

import mailflow
from mailflow.core import i18n
from mailflow.core.typography import long_date, short_date
from mailflow.core.vocabulary import instruction_phrase
from mailflow.settings import LANGUAGES


def default_template_dirs() -> list[Path]:
    """The installed `mailflow/templates`, else the checkout's top-level `templates/`
    (only one: never a mix)."""
    package = Path(mailflow.__file__).parent
    return [path for path in (package / "templates", package.parent / "templates") if path.is_dir()][:1]


class TemplateLoader(jinja2.FileSystemLoader):
    """Templates from a folder; a name with a language in it, as each language once had its own file
    ("reply_register.nl.txt"), finds the one template of that kind ("reply_register.txt")."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        try:
            return super().get_source(environment, template)
        except jinja2.TemplateNotFound:
            parts = template.rsplit(".", 2)
            if len(parts) != 3 or parts[1] not in LANGUAGES:
                raise
            # The words still follow the context's `language`, as in every template.
            return super().get_source(environment, f"{parts[0]}.{parts[2]}")


def make_environment(template_dir: Path | None = None, overrides: Path | None = None) -> jinja2.Environment:
    """The Jinja environment for every outgoing mail: strict, HTML autoescaped, with date and time filters,
    and gettext in the language of the context (`{% trans %}`, `_()`, `pgettext()`, with the catalogues in
    i18n). A template in `overrides` (`[templates] dir`) is used instead of ours of the same name; ours
    serve the rest, so an override may extend or import them."""
    search_path = [template_dir] if template_dir is not None else default_template_dirs()
    if not search_path:
        raise FileNotFoundError("no templates folder found next to the mailflow package")
    loader: jinja2.BaseLoader = TemplateLoader(search_path)
    if overrides is not None:
        loader = jinja2.ChoiceLoader([TemplateLoader([overrides]), loader])
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    i18n.install_gettext(env)
    env.filters["longdate"] = longdate
    env.filters["shortdate"] = shortdate
    env.filters["clock"] = clock
    env.filters["namelist"] = namelist
    env.globals["instruction"] = instruction
    env.globals["meeting_piece"] = _meeting_pieces(env)
    return env


# What a meeting piece (templates/_meeting.*) may see: the meeting and the language, never a person.
MEETING_PIECE_VALUES = ("language", "meeting", "location", "map_url")


def _meeting_pieces(env: jinja2.Environment) -> Callable[..., str]:
    """`meeting_piece(name)` for the templates: the piece rendered with the meeting's values alone, once per
    meeting and language. The details take a fifth of a mail's rendering, and they are the same in every mail
    about that meeting; since the piece sees nothing else, no person's data can be kept here."""
    rendered: dict[tuple[Any, ...], str] = {}

    @jinja2.pass_context
    def meeting_piece(context: jinja2.runtime.Context, name: str) -> str:
        template = env.get_template(name)  # a new object when the file changed: the key changes with it
        values = {key: context.resolve(key) for key in MEETING_PIECE_VALUES}  # missing: StrictUndefined
        key = (template, *values.values())
        piece = rendered.get(key)
        if piece is None:
            if len(rendered) >= 64:  # a few meetings in three languages, two formats; a config reload adds
                rendered.clear()
            piece = rendered[key] = template.render(values)
        return Markup(piece) if context.eval_ctx.autoescape else piece

    return meeting_piece


@jinja2.pass_context
def instruction(context: jinja2.runtime.Context, what: str) -> str:
    """The reply our mails teach for `what` ("cancel", "leave", "erase") in the template's language."""
    return instruction_phrase(what, context["language"])


@jinja2.pass_context
def longdate(context: jinja2.runtime.Context, value: dt.date, locale: str | None = None) -> str:
    """ "dinsdag 13 januari 2026", "mardi 13 janvier 2026", "Tuesday 13 January 2026"
    (the template's language)."""
    return long_date(value, locale or context["language"])


@jinja2.pass_context
def shortdate(context: jinja2.runtime.Context, value: dt.date, locale: str | None = None) -> str:
    """ "di 13 januari", "mar. 13 janvier", "Tue 13 January"."""
    return short_date(value, locale or context["language"])


def clock(value: dt.datetime | dt.time) -> str:
    """ "19:30"."""
    return value.strftime("%H:%M")


@jinja2.pass_context
def namelist(context: jinja2.runtime.Context, people: Any, locale: str | None = None) -> str:
    """People's names as a sentence: "An, Bart en Carla", "An, Bart et Carla", "An, Bart and Carla"."""
    names = [person["name"] if isinstance(person, dict) else str(person) for person in people]
    language = locale or context["language"]
    return babel.lists.format_list(names, locale="en_GB" if language == "en" else language) if names else ""


def template_names(kind: str, language: str) -> tuple[str, str]:
    """The text and HTML template of a reply: "reply_register.txt", "reply_register.html".

    One pair serves every language (`language` no longer picks a file); the words come from the catalogues.
    Other mails follow the same "{what}.{txt|html}" pattern ("reminder.txt", "digest.html"); files starting
    with "_" are pieces they include.
    """
    return f"reply_{kind}.txt", f"reply_{kind}.html"


def tidy_text(text: str) -> str:
    """Plain text as a mail client shows it best: no trailing spaces, at most one blank line in a row.

    Templates stay readable (macros and blocks each on their own line) without counting newlines.
    """
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip("\n") + "\n"
