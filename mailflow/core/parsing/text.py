"""Plain-text helpers every reading step shares: accent folding, reply prefixes, paragraphs and sentences.

Pure: no network, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from functools import lru_cache

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+")
_BLANK = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f]+")
_TRAILING = re.compile(r" +\n")
# Emoji and pictographs carry no words; they would only upset a sentence split.
_SYMBOLS = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")


def _latin_base_letters() -> dict[int, str]:
    """ "é" -> "e", "Ç" -> "C": every Latin-1 and Latin Extended-A letter whose decomposition is one ASCII
    letter."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        base = "".join(c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c))
        if len(base) == 1 and base.isascii():
            table[code] = base
    return table


_LATIN_BASE = _latin_base_letters()
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


@lru_cache(maxsize=256)  # a few mails worth: shared by the rules reading one mail; see parsing.clear_caches
def fold(text: str, *, every_mark: bool = False) -> str:
    """Lower-case without accents ("Séance" -> "seance"), so that keyword rules match however a mail spells.

    The one accent folding of mailflow. By default it drops the marks of the Latin, Greek and Cyrillic
    letters keyword rules read; `every_mark` drops every combining mark, of any script (vowel signs too), for
    keys that must stay as they are stored: a member's name key, the digest's sort order.
    """
    if text.isascii():
        return text.lower()
    text = text.translate(_LATIN_BASE)  # "é" -> "e" for the Latin letters mails use, at C speed
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    if every_mark:
        return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _COMBINING.sub("", decomposed).casefold()


# Reply prefixes mail clients put in front of a subject: Re, RE, Aw (German), Antw/Antwoord (Dutch),
# Réf/Rép (French), SV/VS (Nordic), with an optional count ("Re[2]:"), as often as they were stacked.
# For the subject as written, not folded: the accented alternatives match accented prefixes.
REPLY_PREFIX = re.compile(
    r"^(?:\s*(?:re|aw|antw|antwoord|réf|ref|rép|rep|sv|vs)\s*(?:\[\d+\])?\s*:)+\s*", re.IGNORECASE
)


def clean_spaces(text: str) -> str:
    """One space for any run of spaces, tabs or no-break spaces; lines stripped at the right."""
    if not text.isascii():
        text = _SYMBOLS.sub(" ", text)
    return _TRAILING.sub("\n", _SPACES.sub(" ", text)).rstrip()


def paragraphs(text: str) -> list[str]:
    """Blocks separated by blank lines, stripped, without the empty ones."""
    return [block.strip() for block in _BLANK.split(text) if block.strip()]


def sentences(text: str) -> list[str]:
    """The sentences of a text: hard-wrapped lines are joined back, short lines (form fields, lists) stay
    apart."""
    result: list[str] = []
    for block in paragraphs(text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        joined: list[str] = []
        previous = ""
        for line in lines:
            # A line that goes on in lower case, or after a full-width line, continues the previous sentence
            # (a hard wrap at 72 columns); short lines that start upper case (form fields, lists) stay apart.
            if (
                joined
                and not previous.endswith((".", "!", "?", ":", ","))
                and (line[:1].islower() or len(previous) >= 60)
            ):
                joined[-1] += " " + line
            else:
                joined.append(line)
            previous = line
        for line in joined:
            result.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return result


class Joined:
    """Sentences joined by newlines, so a pattern scans them all at once and each hit knows its sentence."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self.sentences = list(sentences)
        self.text = "\n".join(self.sentences)
        self.starts: list[int] = []
        offset = 0
        for sentence in self.sentences:
            self.starts.append(offset)
            offset += len(sentence) + 1

    def index_at(self, position: int) -> int:
        """The index of the sentence holding a position of `text`."""
        return bisect_right(self.starts, position) - 1

    def end_of(self, index: int) -> int:
        """Where sentence `index` ends in `text`."""
        return self.starts[index] + len(self.sentences[index])


def split_alternatives(source: str) -> list[str]:
    """The top-level alternatives of a regular-expression source ("a|b(?:c|d)" -> ["a", "b(?:c|d)"])."""
    parts: list[str] = []
    current: list[str] = []
    depth, index, in_class = 0, 0, False
    while index < len(source):
        char = source[index]
        if char == "\\":
            current.append(source[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def _grouped(alternatives: list[str], depth: int = 2) -> str:
    """An alternation with the alternatives that start with the same plain letter grouped under it."""
    groups: dict[str, list[str]] = {}
    rest: list[str] = []
    for alternative in alternatives:
        alternative = alternative.removeprefix("\\b")
        first = alternative[:1]
        if first.isalpha() and first.islower() and alternative[1:2] not in ("?", "*", "{", "+"):
            groups.setdefault(first, []).append(alternative[1:])
        else:
            rest.append(alternative)
    branches = []
    for first, tails in groups.items():
        inner = _grouped(tails, depth - 1) if depth > 1 and len(tails) > 1 else "|".join(tails)
        branches.append(f"{first}(?:{inner})")
    return "|".join(branches + rest)


class Keywords:
    """A family of keyword patterns (an alternation of phrases), compiled for speed.

    The alternatives are grouped by their first letters ("a(?:anmelden|ansluiten)|d(?:eelnemen)"), so the
    engine tries a handful of branches per position instead of dozens; the matches are those of the plain
    alternation. Texts must be folded (`fold`), or pass `ignore_case` for patterns on the original text.
    """

    def __init__(self, source: str, ignore_case: bool = False, prefix: str = r"\b", suffix: str = "") -> None:
        flags = re.IGNORECASE if ignore_case else 0
        grouped = _grouped(split_alternatives(source.lower() if ignore_case else source))
        self.pattern = re.compile(f"{prefix}(?:{grouped}){suffix}", flags)
        self.plain = re.compile(
            f"{prefix}(?:{source}){suffix}", flags
        )  # the same matches, kept for the tests
        self.ignore_case = ignore_case

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.pattern.finditer(text)

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        return self.pattern.search(text, pos, len(text) if endpos is None else endpos)

    def match(self, text: str) -> re.Match[str] | None:
        return self.pattern.match(text)
