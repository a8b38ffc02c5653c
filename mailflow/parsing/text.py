"""Plain-text helpers every reading step shares: accent folding, paragraphs and sentences.

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
    """ "é" -> "e", "Ç" -> "C": every Latin-1 and Latin Extended-A letter whose decomposition is one ASCII letter."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        base = "".join(c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c))
        if len(base) == 1 and base.isascii():
            table[code] = base
    return table


_LATIN_BASE = _latin_base_letters()
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


@lru_cache(maxsize=256)  # a few mails worth: shared by the rules reading one mail
def fold(text: str) -> str:
    """Lower-case without accents ("Séance" -> "seance"), so that keyword rules match however a mail spells."""
    if text.isascii():
        return text.lower()
    text = text.translate(_LATIN_BASE)  # "é" -> "e" for the Latin letters mails use, at C speed
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()


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


_LITERAL_CHARS = re.compile(r"[a-z0-9' &-]*")
_LEADING_GROUP = re.compile(r"^\(\?:((?:[a-z0-9' -]+\|)*[a-z0-9' -]+)\)")


def leading_literals(alternative: str) -> list[str]:
    """Text every match of one alternative starts with ("schrijf\\w* ...in" -> ["schrijf"]); [] when unknown."""
    alternative = alternative.removeprefix("\\b")
    group = _LEADING_GROUP.match(alternative)
    if group:  # "(?:graag|zou|wil) (?:\w+ ){0,4}ingeschreven" starts with one of three words
        rest = alternative[group.end() :]
        expanded = [leading_literals(word + rest) for word in group.group(1).split("|")]
        return [] if not all(expanded) else [literal for literals in expanded for literal in literals]
    literal = _LITERAL_CHARS.match(alternative).group(0)  # type: ignore[union-attr]
    following = alternative[len(literal) : len(literal) + 1]
    if following in ("?", "*", "{"):
        literal = literal[:-1]  # "questions?" only promises "question"
    if len(literal.rstrip(" ")) >= 2:
        literal = literal.rstrip(" ")
    return [literal] if len(literal) >= 2 else []  # "a " is a fine beginning, "a" too short to index


SHORT_TEXT = 200  # characters: below this a regular expression scans faster than the look-ups cost


_WORD_START = re.compile(r"\b\w\w?")


@lru_cache(maxsize=16)
def _word_index(text: str, lower: bool) -> dict[str, list[int]]:
    """Where the words of a text start, by their first two letters: built once per text, shared by every family."""
    index: dict[str, list[int]] = {}
    source = text.lower() if lower else text
    for match in _WORD_START.finditer(source):
        index.setdefault(match.group(), []).append(match.start())
    return index


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
    """A family of keyword patterns (an alternation), tried only where a word begins as one of them does.

    Each alternative's literal beginning ("schrijf" for "schrijf\\w* (?:\\w+ ){0,7}in") is looked up with
    `str.find`, many times faster than letting the regular expression try dozens of alternatives at every position;
    the matches are the same as `pattern.finditer` gives. Texts must be folded (`fold`), or pass `ignore_case` for
    patterns on the original text.
    """

    def __init__(self, source: str, ignore_case: bool = False, prefix: str = r"\b", suffix: str = "") -> None:
        # Alternatives grouped by their first letters ("a(?:anmelden|ansluiten)|d(?:eelnemen)"): the engine then
        # tries a handful of branches per position instead of every alternative.
        grouped = _grouped(split_alternatives(source.lower() if ignore_case else source))
        self.pattern = re.compile(f"{prefix}(?:{grouped}){suffix}", re.IGNORECASE if ignore_case else 0)
        self.plain = re.compile(f"{prefix}(?:{source}){suffix}", re.IGNORECASE if ignore_case else 0)
        self.ignore_case = ignore_case
        keys: set[str] = set()
        for alternative in split_alternatives(source):
            literals = leading_literals(alternative.lower() if ignore_case else alternative)
            if not literals:
                keys = set()  # an alternative that can start anywhere: always scan
                break
            # The first one or two word characters of the literal, as the word index has them ("m'y" -> "m").
            keys |= {_WORD_START.match(literal).group() for literal in literals}  # type: ignore[union-attr]
        self.keys = tuple(sorted(keys))

    def _starts(self, text: str) -> list[int] | None:
        """Positions where a word begins as an alternative can, in order; None when every position must be tried."""
        if not self.keys or len(text) < SHORT_TEXT:
            return None
        if self.ignore_case and len(text.lower()) != len(text):
            return None
        index = _word_index(text, self.ignore_case)
        return sorted(position for key in self.keys if key in index for position in index[key])

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """The matches from left to right, not overlapping: what `pattern.finditer` gives."""
        starts = self._starts(text)
        return self.pattern.finditer(text) if starts is None else self._matches_at(text, starts)

    def _matches_at(self, text: str, starts: list[int]) -> Iterator[re.Match[str]]:
        end = 0
        for start in starts:
            if start < end:
                continue
            match = self.pattern.match(text, start)
            if match:
                end = max(match.end(), start + 1)
                yield match

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        if pos or endpos is not None:
            return self.pattern.search(text, pos, len(text) if endpos is None else endpos)
        starts = self._starts(text)
        return self.pattern.search(text) if starts is None else next(self._matches_at(text, starts), None)

    def match(self, text: str) -> re.Match[str] | None:
        return self.pattern.match(text)
