"""Plain-text helpers every reading step shares: accent folding, paragraphs and sentences.

Pure: no network, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+")
_BLANK = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f]+")
_TRAILING = re.compile(r" +\n")
# Emoji and pictographs carry no words; they would only upset a sentence split.
_SYMBOLS = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]")


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


def split_alternatives(source: str) -> list[str]:
    """The top-level alternatives of a regular-expression source ("a|b(?:c|d)" -> ["a", "b(?:c|d)"])."""
    parts: list[str] = []
    current: list[str] = []
    depth, index, in_class = 0, 0, False
    while index < len(source):
        char = source[index]
        if char == "\\":
            current.append(source[index: index + 2])
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
        rest = alternative[group.end():]
        expanded = [leading_literals(word + rest) for word in group.group(1).split("|")]
        return [] if not all(expanded) else [literal for literals in expanded for literal in literals]
    literal = _LITERAL_CHARS.match(alternative).group(0)  # type: ignore[union-attr]
    following = alternative[len(literal): len(literal) + 1]
    if following in ("?", "*", "{"):
        literal = literal[:-1]  # "questions?" only promises "question"
    if len(literal.rstrip(" ")) >= 2:
        literal = literal.rstrip(" ")
    return [literal] if len(literal) >= 2 else []  # "a " is a fine beginning, "a" too short to index


SHORT_TEXT = 200  # characters: below this a regular expression scans faster than the look-ups cost
_NOT_WORD_CHAR = re.compile(r"[\W_]")
_ASCII_NOT_WORD = {code: " " for code in range(128) if not (chr(code).isalnum())}


@lru_cache(maxsize=32)
def _words_spaced(text: str, lower: bool) -> str | None:
    """The text with every non-word character a space, one space in front: " ik schrijf me in." -> "  ik schrijf
    me in " keeps every position (+1), so a word beginning is found with `str.find`. None if lower-casing would
    shift positions."""
    if lower:
        lowered = text.lower()
        if len(lowered) != len(text):
            return None
        text = lowered
    if text.isascii():
        return " " + text.translate(_ASCII_NOT_WORD)  # the common case, far faster than a regular expression
    return " " + _NOT_WORD_CHAR.sub(" ", text)


class Keywords:
    """A family of keyword patterns (an alternation), tried only where a word begins as one of them does.

    Each alternative's literal beginning ("schrijf" for "schrijf\\w* (?:\\w+ ){0,7}in") is looked up with
    `str.find`, many times faster than letting the regular expression try dozens of alternatives at every position;
    the matches are the same as `pattern.finditer` gives. Texts must be folded (`fold`), or pass `ignore_case` for
    patterns on the original text.
    """

    def __init__(self, source: str, ignore_case: bool = False, prefix: str = r"\b", suffix: str = "") -> None:
        self.pattern = re.compile(f"{prefix}(?:{source}){suffix}", re.IGNORECASE if ignore_case else 0)
        self.ignore_case = ignore_case
        beginnings: set[str] = set()
        for alternative in split_alternatives(source):
            literals = leading_literals(alternative.lower() if ignore_case else alternative)
            if not literals:
                beginnings = set()  # an alternative that can start anywhere: always scan
                break
            beginnings |= {" " + _NOT_WORD_CHAR.sub(" ", literal) for literal in literals}
        self.beginnings = tuple(sorted(beginnings))

    def _starts(self, text: str) -> list[int] | None:
        """Positions where a word begins as an alternative can, in order; None when every position must be tried."""
        if not self.beginnings or len(text) < SHORT_TEXT:
            return None
        spaced = _words_spaced(text, self.ignore_case)
        if spaced is None:
            return None
        found: set[int] = set()
        for beginning in self.beginnings:
            index = spaced.find(beginning)
            while index >= 0:
                found.add(index)  # " lit" at index i of the spaced text: the word starts at i in `text`
                index = spaced.find(beginning, index + 1)
        return sorted(found)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        starts = self._starts(text)
        if starts is None:
            yield from self.pattern.finditer(text)
            return
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
        return next(self.finditer(text), None)

    def match(self, text: str) -> re.Match[str] | None:
        return self.pattern.match(text)
