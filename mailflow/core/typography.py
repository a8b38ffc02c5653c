"""The finishing touches of written French, and dates as people write them, for every text mailflow writes.

French: the particle before a value put into a sentence is elided when the value starts with a vowel
("que Amélie" -> "qu'Amélie", "au Atelier" -> "à l'Atelier"), and a narrow no-break space (U+202F) holds
the high signs ; : ! ? and the guillemets « » to their word, so that no phone ever starts a line with one.
Both happen once, where the text is put together (the catalogues' gettext, the subjects) and where the mail
is finished, so a translator or a coordinator's own template writes plain spaces, or none.

Pure: strings in, strings out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import babel.dates
from markupsafe import Markup

__all__ = [
    "NNBSP",
    "elide_before_values",
    "fill",
    "finish",
    "french_spacing",
    "long_date",
    "short_date",
    "starts_with_vowel",
]

NNBSP = "\u202f"  # NARROW NO-BREAK SPACE: before ; : ! ? and inside « », as French typography sets them

# --- elision ------------------------------------------------------------------------------------------------

# A particle followed by a value's placeholder: "%(names)s" in a catalogue's text, "{name}" in Python's.
_BEFORE_VALUE = re.compile(
    r"(?<![\w'’])(?P<particle>[Qq]ue|[Dd]e|[Ll]e|[Ll]a|[Jj]e|[Nn]e|[Ss]e|[Cc]e|[Mm]e|[Tt]e|[Aa]u|[Dd]u)"
    r" (?P<value>%\((?P<name>\w+)\)s|\{(?P<brace>\w+)\})"
)
# "au" and "du" are "à le" and "de le": before a vowel they become "à l'" and "de l'".
_CONTRACTED = {"au": "à l'", "Au": "À l'", "du": "de l'", "Du": "De l'"}
_VOWELS = frozenset("aeiouàâäéèêëîïôöûùüœæ")
_TAG = re.compile(r"<[^>]*>")


def starts_with_vowel(value: object) -> bool:
    """Whether a value (a name, markup, a date) starts with a vowel sound in writing: its first letter,
    after any tags. An "h" does not count: "de Hilde", as mute and aspirated h cannot be told apart; nor
    does an address, which is spelt out, not read ("de eva@example.org")."""
    text = _TAG.sub("", str(value)).lstrip(" \"'“«\u00a0\u202f")
    return bool(text) and text[0].lower() in _VOWELS and "@" not in text.split(" ", 1)[0]


def elide_before_values(text: str, values: Mapping[str, object]) -> str:
    """French `text` (a catalogue's translation or a subject) with the particle before each placeholder
    elided when that placeholder's value starts with a vowel: "que %(names)s" -> "qu'%(names)s" for
    "Amélie". Placeholders stay, to be filled by the caller."""

    def elide(match: re.Match[str]) -> str:
        name = match.group("name") or match.group("brace")
        if name not in values or not starts_with_vowel(values[name]):
            return match.group(0)
        particle = match.group("particle")
        return _CONTRACTED.get(particle, particle[:-1] + "'") + match.group("value")

    elided = _BEFORE_VALUE.sub(elide, text)
    return Markup(elided) if isinstance(text, Markup) else elided


def fill(text: str, language: str, **values: object) -> str:
    """A Python-side text ("{day}", "{name}") filled in, with the French particles elided first."""
    if language == "fr":
        text = elide_before_values(text, values)
    return text.format(**values)


# --- spacing ------------------------------------------------------------------------------------------------

# What is never touched: tags, entities and URLs in HTML; addresses and URLs everywhere.
_PROTECTED = re.compile(
    r"<[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|\w+);|(?:https?|mailto):[^\s<>\"]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
)
_SPACES = "[ \u00a0\u202f\t]"
# A high sign after a word, a closing bracket or quote (or a tag, an address: the start of the text between
# them), with a plain space or none; the sign is followed by a space, the end or a closing sign, so "19:30",
# "3:2" and "?!" inside a word stay as they are.
_HIGH_SIGN = re.compile(rf"(?:(?<=[\w)\]»”’%])|^)(?:{_SPACES})?([;:!?])(?=[\s)\]»”\"<.,;:!?]|$)")
_AFTER_OPENING = re.compile(rf"«(?:{_SPACES})?")
_BEFORE_CLOSING = re.compile(rf"(?:{_SPACES})?»")


_SIGNS = frozenset(";:!?«»")


def _space_french(text: str) -> str:
    if _SIGNS.isdisjoint(text):  # most pieces between the tags of an HTML mail hold none of the signs
        return text
    text = _HIGH_SIGN.sub(NNBSP + r"\1", text)
    text = _AFTER_OPENING.sub("«" + NNBSP, text)
    return _BEFORE_CLOSING.sub(NNBSP + "»", text)


def french_spacing(text: str) -> str:
    """French text (plain or HTML) with a narrow no-break space before ; : ! ? and inside « »: the plain
    space a translator typed becomes one, a missing one is added. Tags, entities, URLs and addresses are
    left alone, so "https://", "mailto:" and "&amp;" stay whole."""
    out: list[str] = []
    last = 0
    for match in _PROTECTED.finditer(text):
        out.append(_space_french(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_space_french(text[last:]))
    return "".join(out)


def finish(text: str, language: str) -> str:
    """A finished text (a mail's body, a subject, a calendar's description) with its language's typography."""
    return french_spacing(text) if language == "fr" else text


# --- dates --------------------------------------------------------------------------------------------------

# English in the British order, as Belgium writes it: "Tuesday 10 March 2026", not "Tuesday, March 10, 2026".
_LOCALES = {"en": "en_GB"}


def long_date(day: dt.date, language: str) -> str:
    """ "dinsdag 10 maart 2026", "mardi 10 mars 2026" ("dimanche 1er mars 2026"), "Tuesday 10 March 2026"."""
    pattern = "EEEE d'er' MMMM y" if language == "fr" and day.day == 1 else "EEEE d MMMM y"
    return babel.dates.format_date(day, pattern, locale=_LOCALES.get(language, language))


def short_date(day: dt.date, language: str) -> str:
    """A date for a subject line: "di 10 maart", "mar. 10 mars" ("dim. 1er mars"), "Tue 10 March"."""
    pattern = "EEE d'er' MMMM" if language == "fr" and day.day == 1 else "EEE d MMMM"
    return babel.dates.format_date(day, pattern, locale=_LOCALES.get(language, language))
