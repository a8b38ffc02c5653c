"""Plain-text helpers every reading step shares: accent folding, reply prefixes, paragraphs and sentences,
and the compiled patterns the rules read with (`Pattern`, `Keywords`): fast, and finding what they say.

Pure: no network, no clock.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from functools import cached_property, lru_cache
from typing import Any

# The spaces after a sentence's end: "(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+", written to open with the space, so
# that the engine skips to the spaces instead of trying the look-behinds at every character.
_SENTENCE_END = re.compile(r"\s(?:(?<=[.!?]\s)|(?<=[.!?][\"')\]]\s))\s*")
_BLANK = re.compile(r"\n\s*\n")
# A run of spaces, tabs or no-break spaces other than one plain space (which stays as it is): "[ \t...]+"
# replaced by one space gives the same text with far fewer replacements.
_SPACE = r"[ \t\u00a0\u2007\u202f]"
_SPACES = re.compile(rf"{_SPACE}(?:(?<=[\t\u00a0\u2007\u202f])|(?={_SPACE})){_SPACE}*")
_TRAILING = re.compile(r"  *\n")  # " +\n", opening with its first space for the engine's quick scan
# Emoji and pictographs carry no words; they would only upset a sentence split.
_SYMBOLS = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")


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
    # "é" -> "e" + U+0301, whose mark goes; a table of the Latin letters (str.translate) gives the same
    # letters, but reads a character at a time and takes three times as long on a mail's text.
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
        text = _SPACES.sub(" ", text)
    elif "  " in text or "\t" in text:  # an ASCII text has no other run to replace
        text = _SPACES.sub(" ", text)
    return (_TRAILING.sub("\n", text) if " \n" in text else text).rstrip()


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


_QUANTIFIERS = ("?", "*", "{", "+")


def _letter_led(alternative: str) -> bool:
    first = alternative[:1]
    return first.isalpha() and first.islower() and alternative[1:2] not in _QUANTIFIERS


def _grouped(alternatives: list[str], depth: int = 2, spread: bool = False) -> str:
    """An alternation with the alternatives that start with the same plain letter grouped under it.

    The others are tried last, in their order, at every position. With `spread`, those that open with a group
    ("(?:kan|kunnen) ...", "(?:leer)?netwerk ...") are spread into alternatives that open with a letter and
    tried last under each letter instead, as long as no alternative that cannot be spread comes before them:
    the engine then tries them only where their letter stands, and in the same order as before.
    """
    groups: dict[str, list[str]] = {}
    late: dict[str, list[str]] = {}
    rest: list[str] = []
    for alternative in alternatives:
        alternative = alternative.removeprefix("\\b")
        if _letter_led(alternative):
            groups.setdefault(alternative[0], []).append(alternative[1:])
            continue
        spread_out = _spread(alternative) if spread and not rest else None
        if spread_out is None:
            rest.append(alternative)
            continue
        for one in spread_out:
            late.setdefault(one[0], []).append(one[1:])
    branches = []
    for first in [*groups, *(letter for letter in late if letter not in groups)]:
        tails = groups.get(first, [])
        inner = _grouped(tails, depth - 1) if depth > 1 and len(tails) > 1 else "|".join(tails)
        branches.append(f"{first}(?:{'|'.join(([inner] if tails else []) + late.get(first, []))})")
    return "|".join(branches + rest)


def _spread(alternative: str, limit: int = 64) -> list[str] | None:
    """The alternative as alternatives that each open with a plain letter, in the order the engine tries them
    ("(?:ik|we) kom" -> "ik kom", "we kom"; "(?:leer)?netwerk" -> "leernetwerk", "netwerk"); None when it
    cannot be (an assertion, a class, a repeated group) or would make more than `limit`."""
    if _letter_led(alternative):
        return [alternative]
    letters = re.match(r"\[(\w+)\]", alternative)  # "[àa] x" -> "à x", "a x"
    if letters and letters[1].isalpha() and alternative[letters.end() :][:1] not in _QUANTIFIERS:
        return [letter + alternative[letters.end() :] for letter in dict.fromkeys(letters[1])]
    if not alternative.startswith("(?:"):
        return None
    end = group_end(alternative)
    if end < 0:
        return None
    heads, after = split_alternatives(alternative[3:end]), alternative[end + 1 :]
    if after[:1] == "?" and after[1:2] not in ("?", "+"):  # greedy and optional: with the group, then without
        tails = [head + after[1:] for head in heads] + [after[1:]]
    elif after[:1] in _QUANTIFIERS:
        return None
    else:
        tails = [head + after for head in heads]
    spread: list[str] = []
    for tail in tails:
        one = _spread(tail, limit)
        if one is None or len(spread) + len(one) > limit:
            return None
        spread += one
    return spread


# What `\s` also matches in ASCII text for Unicode patterns: the four information separators \x1c-\x1f.
_ASCII_SPACE = r"\s\x1c-\x1f"
# Inline ASCII, Unicode or locale flags, backreferences: patterns left without a twin.
_NO_TWIN = re.compile(r"\(\?[aiLmsux-]*[aLu]|\(\?P=|\\[1-9N]")


def _ascii_twin(source: str) -> str | None:
    r"""The pattern to compile with re.ASCII for ASCII text: `\s` spelled with the separators it also matches
    for Unicode, so that both read ASCII text alike; None where that cannot be spelled (`\S` in a class)."""
    out: list[str] = []
    index, in_class = 0, False
    while index < len(source):
        char = source[index]
        if char == "\\":
            escape = source[index : index + 2]
            if escape == r"\s":
                out.append(_ASCII_SPACE if in_class else f"[{_ASCII_SPACE}]")
            elif escape == r"\S":
                if in_class:
                    return None
                out.append(f"[^{_ASCII_SPACE}]")
            else:
                out.append(escape)
            index += 2
            continue
        out.append(char)
        index += 1
        if not in_class and char == "[":
            in_class = True
            for opening in ("^", "]"):  # "[^...]" and a "]" that opens a class are no ends of it
                if source.startswith(opening, index):
                    out.append(opening)
                    index += 1
        elif in_class and char == "]":
            in_class = False
    return "".join(out)


def _case_safe(source: str) -> bool:
    """Whether ignoring case treats ASCII text alike for Unicode and ASCII patterns: no character of the
    pattern has an ASCII letter among its other cases ("\u212a" Kelvin is "k", "\u017f" long s is "s")."""
    return not any(
        any(other.isascii() for other in char.lower() + char.upper() + char.casefold())
        for char in set(source)
        if not char.isascii()
    )


class Pattern:
    r"""A compiled regular expression that reads ASCII text with a faster twin: the same matches.

    On ASCII text `\w`, `\d`, `\b` and letter case mean the same for Unicode and for ASCII patterns, so a twin
    compiled for ASCII finds the same matches without the engine's Unicode tables. Most mail text is ASCII
    once folded; other text is read by the pattern as written.

    `lowered` serves a pattern that ignores case as a whole and writes no capitals: its twin reads the
    lower-cased text without ignoring case, faster still, and each match it finds is taken again from the
    text itself (at the same place, the same match), so that its groups keep their capitals.

    Both are compiled when first used: a pass with no mail to read (most `run --once` from cron) does not
    pay for compiling the parser's patterns, half a second, nor keep them.
    """

    def __init__(self, source: str, flags: int = 0, lowered: bool = False) -> None:
        self.pattern = source
        self._flags = flags
        self._lower = lowered

    @cached_property
    def unicode(self) -> re.Pattern[str]:
        return re.compile(self.pattern, self._flags)

    @cached_property
    def _twin(self) -> tuple[re.Pattern[str], bool]:
        """(the ASCII twin, whether it reads lower-cased text); the pattern itself where it has no twin."""
        source, flags = self.pattern, self._flags
        twin = None if _NO_TWIN.search(source) else _ascii_twin(source)
        ignores_case = bool(flags & re.IGNORECASE) or "(?i" in source
        if twin is None or ignores_case and not _case_safe(source):
            return self.unicode, False
        if self._lower:
            twin, flags = _lowered(twin, flags)
        return re.compile(twin, flags | re.ASCII), self._lower

    @cached_property
    def ascii(self) -> re.Pattern[str]:
        return self._twin[0]

    @cached_property
    def lowered(self) -> bool:
        return self._twin[1]

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        if not text.isascii():
            return self.unicode.search(text, pos, endpos)
        if not self.lowered:
            return self.ascii.search(text, pos, endpos)
        found = self.ascii.search(text.lower(), pos, endpos)
        return None if found is None else self._again(text, found, endpos)

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        if not text.isascii():
            return self.unicode.match(text, pos, endpos)
        if not self.lowered:
            return self.ascii.match(text, pos, endpos)
        found = self.ascii.match(text.lower(), pos, endpos)
        return None if found is None else self._again(text, found, endpos)

    def finditer(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        if not text.isascii():
            return self.unicode.finditer(text, pos, endpos)
        if not self.lowered:
            return self.ascii.finditer(text, pos, endpos)
        return (self._again(text, found, endpos) for found in self.ascii.finditer(text.lower(), pos, endpos))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each match, as `finditer` finds them, for rules that want no more: a lowered twin's
        matches need not be taken again from the text."""
        if text.isascii():
            return [found.span() for found in self.ascii.finditer(text.lower() if self.lowered else text)]
        return [found.span() for found in self.unicode.finditer(text)]

    def findall(self, text: str) -> list[Any]:
        return (self.ascii if text.isascii() and not self.lowered else self.unicode).findall(text)

    def split(self, text: str, maxsplit: int = 0) -> list[str]:
        if not text.isascii() or self.lowered and self.unicode.groups:
            return self.unicode.split(text, maxsplit)
        if not self.lowered:
            return self.ascii.split(text, maxsplit)
        # The pieces of the text itself between the matches found in its lower-cased copy.
        pieces: list[str] = []
        start = 0
        for found in self.ascii.finditer(text.lower()):
            if maxsplit and len(pieces) == maxsplit:
                break
            pieces.append(text[start : found.start()])
            start = found.end()
        pieces.append(text[start:])
        return pieces

    def sub(self, replacement: str, text: str) -> str:
        return (self.ascii if text.isascii() and not self.lowered else self.unicode).sub(replacement, text)

    def _again(self, text: str, found: re.Match[str], endpos: int) -> re.Match[str]:
        """The match the lowered twin found, taken from the text itself."""
        return self.unicode.match(text, found.start(), endpos) or found


def _lowered(twin: str, flags: int) -> tuple[str, int]:
    """The twin of a pattern that ignores case, for lower-cased text: not ignoring case."""
    whole = twin.startswith("(?i:") and group_end(twin) == len(twin) - 1 and twin.count("(?i") == 1
    capitals = any(char.isupper() for char in re.sub(r"\\.", "", twin))
    if not (flags & re.IGNORECASE or whole) or capitals:
        raise ValueError(f"not a pattern that ignores case as a whole, in lower case: {twin!r}")
    return ("(?:" + twin[4:] if whole else twin), flags & ~re.IGNORECASE


def group_end(source: str) -> int:
    """Where the group that opens `source` closes (escaped parentheses and character classes hold none)."""
    depth, index, in_class = 0, 0, False
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        else:
            depth += (char == "(") - (char == ")")
            if depth == 0:
                return index
        index += 1
    return -1


# What may match a line break, anchor at one, or look behind (read conservatively: "." also inside a class,
# any character written as a code).
_CROSSES_LINES = re.compile(r"\\[sSWDnAZx0-7]|[.^$\n]|\[\^|\(\?<[=!]")


class Keywords:
    """A family of keyword patterns (an alternation of phrases), compiled for speed.

    The alternatives are grouped by their first letters ("a(?:anmelden|ansluiten)|d(?:eelnemen)"), so the
    engine tries a handful of branches per position instead of dozens; the matches are those of the plain
    alternation. Texts must be folded (`fold`), or pass `ignore_case` for patterns on the original text.
    ASCII text is read by an ASCII twin of the pattern (`Pattern`): the same matches, found faster.
    """

    def __init__(self, source: str, ignore_case: bool = False, prefix: str = r"\b", suffix: str = "") -> None:
        self._source, self._prefix, self._suffix = source, prefix, suffix
        self.ignore_case = ignore_case
        # Whether a match stays within a line and reads nothing beyond it: nothing in the pattern can match
        # a line break, anchor at one or look behind. Then one scan of sentences joined by line breaks finds
        # in each the match a search of that sentence alone finds.
        self.within_lines = not _CROSSES_LINES.search(f"{prefix}{source}{suffix}")

    @cached_property
    def plain(self) -> re.Pattern[str]:
        """The plain alternation: the same matches as `pattern`."""
        flags = re.IGNORECASE if self.ignore_case else 0
        return re.compile(f"{self._prefix}(?:{self._source}){self._suffix}", flags)

    @cached_property
    def pattern(self) -> Pattern:
        """The alternatives grouped by their first letters (built when first used, as `Pattern` compiles)."""
        source = self._source.lower() if self.ignore_case else self._source
        # Spread alternatives would repeat their groups: a family with groups keeps its alternatives whole.
        grouped = _grouped(split_alternatives(source), spread=not self.plain.groups)
        flags = re.IGNORECASE if self.ignore_case else 0
        return Pattern(f"{self._prefix}(?:{grouped}){self._suffix}", flags, lowered=self.ignore_case)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.pattern.finditer(text)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each match: `finditer` for rules that want no more."""
        return self.pattern.spans(text)

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        return self.pattern.search(text, pos, len(text) if endpos is None else endpos)

    def match(self, text: str) -> re.Match[str] | None:
        return self.pattern.match(text)
