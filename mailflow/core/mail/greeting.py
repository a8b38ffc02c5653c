"""Whom a mail speaks to: the first names it greets ("Dag Jan," rather than "Dag Jan De Smet,") and how many
people it is for, which decides between "je" and "jullie" in Dutch.

Pure: names in, words out. The first names come from the parser's word list (core/parsing/data).
"""

from __future__ import annotations

from collections.abc import Sequence

import babel.lists

from mailflow.core.parsing import lexicon
from mailflow.core.parsing.names import from_display_name, is_particle

__all__ = ["first_name", "greeting_name"]


def first_name(name: str) -> str:
    """The name to greet someone by: the first word of "Jan De Smet", also written "DE SMET Jan" or
    "Smet, Jan"; the whole name when mailflow cannot tell which word is the first name (one it does not know,
    as "Xiomara Ntumba"), since a greeting by a surname is worse than a full one."""
    words = name.split()
    if len(words) < 2:
        return name.strip()
    ordered = (from_display_name(name) or name).split()
    first = ordered[0]
    if not is_particle(first) and lexicon.is_first_name(first):
        return first
    return name.strip()


def greeting_name(names: Sequence[str], language: str) -> str | None:
    """ "Jan", "Jan en Anna", "Jan, Anna et Bart": the first names of the people a mail is for, or None."""
    firsts = [first_name(name) for name in names if name.strip()]
    if not firsts:
        return None
    return babel.lists.format_list(firsts, locale="en_GB" if language == "en" else language)
