"""Plain-text helpers every reading step shares: accent folding, paragraphs and sentences.

Pure: no network, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+")
_BLANK = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f]+")
_TRAILING = re.compile(r" +\n")
# Emoji and pictographs carry no words; they would only upset a sentence split.
_SYMBOLS = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower-case without accents ("Séance" -> "seance"), so that keyword rules match however a mail spells."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def clean_spaces(text: str) -> str:
    """One space for any run of spaces, tabs or no-break spaces; lines stripped at the right."""
    if not text.isascii():
        text = _SYMBOLS.sub(" ", text)
    return _TRAILING.sub("\n", _SPACES.sub(" ", text)).rstrip()


def paragraphs(text: str) -> list[str]:
    """Blocks separated by blank lines, stripped, without the empty ones."""
    return [block.strip() for block in _BLANK.split(text) if block.strip()]


def sentences(text: str) -> list[str]:
    """The sentences of a text: hard-wrapped lines are joined back, short lines (form fields, lists) stay apart."""
    result: list[str] = []
    for block in paragraphs(text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        joined: list[str] = []
        previous = ""
        for line in lines:
            # A line that goes on in lower case, or after a full-width line, continues the previous sentence
            # (a hard wrap at 72 columns); short lines that start upper case (form fields, lists) stay apart.
            if joined and not previous.endswith((".", "!", "?", ":", ",")) and (
                line[:1].islower() or len(previous) >= 60
            ):
                joined[-1] += " " + line
            else:
                joined.append(line)
            previous = line
        for line in joined:
            result.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return result
