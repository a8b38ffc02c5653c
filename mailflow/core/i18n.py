"""The words of mailflow's mails in nl, fr and en:
the gettext catalogues in `mailflow/locale`, one per language.

The msgids are English, as in Django and pretix: en.po leaves them untranslated and English mail is the msgid
itself; nl.po and fr.po translate every one. CONTRIBUTING.md ("Translations") says how to change a text.

Reads files on first use only (then cached per language), so importing this module stays pure.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

import babel.support
import jinja2
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup

from mailflow.core.typography import elide_before_values
from mailflow.settings import LANGUAGES

__all__ = ["DOMAIN", "LOCALE_DIR", "install_gettext", "po_path", "translations"]

DOMAIN = "mailflow"
LOCALE_DIR = Path(__file__).parents[1] / "locale"  # mailflow/locale
# The network's default language (config), and what the old per-language dictionaries fell back to.
FALLBACK = "nl"


def po_path(language: str) -> Path:
    """ "mailflow/locale/nl/LC_MESSAGES/mailflow.po"."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def translations(language: str) -> babel.support.Translations:
    """The catalogue of `language`; a language mailflow does not write in gets nl's."""
    return _compiled(language if language in LANGUAGES else FALLBACK)


@functools.cache
def _compiled(language: str) -> babel.support.Translations:
    # Compiled here, in memory, from the .po the wheel ships: no build step to forget, and no .mo in git that
    # can lag behind its .po. It costs about 10 ms per language, once per process, at its first mail.
    with po_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    mo = io.BytesIO()
    # Leaves out fuzzy and untranslated entries, as msgfmt does: those fall back to the English msgid.
    write_mo(mo, catalog)
    mo.seek(0)
    return babel.support.Translations(mo, domain=DOMAIN)


def install_gettext(env: jinja2.Environment) -> None:
    """gettext for `{% trans %}`, `_()`, `pgettext()` in `env` (which has the jinja2.ext.i18n extension).

    One environment serves every language, so each call takes the catalogue of the rendering's `language`.
    Newstyle, as Jinja's own: the translation is formatted here, its values escaped in HTML as `{{ value }}`
    would be; in French the particle before a value is elided first ("que %(names)s" -> "qu'Amélie").
    """
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext, npgettext=_npgettext, newstyle=True
    )
    # Jinja's newstyle wrappers format without seeing the language; these do the same, and elide.
    env.globals.update(gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext, npgettext=_npgettext)


def _format(context: jinja2.runtime.Context, text: str, variables: dict[str, Any]) -> str:
    """What Jinja's newstyle gettext does with a translation, and French elision before it."""
    language = context["language"]
    rv: str = Markup(text) if context.eval_ctx.autoescape else text
    if language == "fr":
        rv = elide_before_values(rv, variables)
    # Always a format string, even without variables, as in Jinja: "%%" is a percent sign.
    return rv % variables


@jinja2.pass_context
def _gettext(context: jinja2.runtime.Context, message: str, **variables: Any) -> str:
    return _format(context, translations(context["language"]).gettext(message), variables)


@jinja2.pass_context
def _ngettext(context: jinja2.runtime.Context, singular: str, plural: str, n: int, **variables: Any) -> str:
    variables.setdefault("num", n)
    return _format(context, translations(context["language"]).ngettext(singular, plural, n), variables)


@jinja2.pass_context
def _pgettext(context: jinja2.runtime.Context, msgctxt: str, message: str, **variables: Any) -> str:
    variables.setdefault("context", msgctxt)
    # typed as object in Babel
    text = str(translations(context["language"]).pgettext(msgctxt, message))
    return _format(context, text, variables)


@jinja2.pass_context
def _npgettext(
    context: jinja2.runtime.Context, msgctxt: str, singular: str, plural: str, n: int, **variables: Any
) -> str:
    variables.setdefault("context", msgctxt)
    variables.setdefault("num", n)
    text = translations(context["language"]).npgettext(msgctxt, singular, plural, n)
    return _format(context, text, variables)
