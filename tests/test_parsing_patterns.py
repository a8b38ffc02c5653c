"""The parser's fast patterns find what the patterns as written find: ASCII twins, lowered twins, keyword
families grouped and spread by first letter, families scanned over joined sentences, and accent folding."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import random
import re
import unicodedata
from pathlib import Path

import pytest

from mailflow.core import parsing
from mailflow.core.parsing.text import Joined, Keywords, Pattern, fold, sentences

CORPUS = Path(__file__).parent / "corpus"
# Text the twins must read like the patterns as written: separators \s matches for Unicode, letters whose
# other case is ASCII (Kelvin, long s, dotted I), capitals, and the characters folding keeps.
ODD_TEXTS = [
    "Ik  schrijf\x1cme in,\x1dmaar\x1ekan\x1fniet; namens\x1cFilip Peeters",
    "KELVIN \u212a kan niet, \u017fign up, \u0130nschrijven, NAMENS ONZE DIRECTEUR, FILIP VANHOUTTE, komt",
    "Inschrijven: Jan Peeters en Lies Maes\nVan: Anna <a@example.org>\nMaar ik kom toch niet.",
    "je m\u2019appelle H\u00e9l\u00e8ne, b\u00e9n\u00e9vole chez Caritas \u00e0 l\u2019asbl; i\u2019m in",
    "mailer-daemon@example.org <>\tPostmaster\u00a0MAIL DELIVERY SUBSYSTEM",
]


@functools.cache
def _texts() -> list[str]:
    raw = [path.read_text(encoding="latin-1") for path in sorted(CORPUS.glob("*.eml"))]
    return raw + [fold(text) for text in raw] + ODD_TEXTS + [fold(text) for text in ODD_TEXTS]


def _patterns() -> dict[str, Pattern | Keywords]:
    found: dict[str, Pattern | Keywords] = {}
    for module in pkgutil.iter_modules(parsing.__path__):
        loaded = importlib.import_module(f"{parsing.__name__}.{module.name}")
        for name, value in vars(loaded).items():
            if isinstance(value, Pattern | Keywords) and id(value) not in map(id, found.values()):
                found[f"{module.name}.{name}"] = value
    return found


def _matches(found: object) -> list[tuple[tuple[int, int], str, tuple[str | None, ...]]]:
    return [(m.span(), m.group(0), m.groups()) for m in found]  # type: ignore[attr-defined]


def test_there_are_patterns_with_twins_and_lowered_twins():
    patterns = [p.pattern if isinstance(p, Keywords) else p for p in _patterns().values()]
    assert len(patterns) > 30
    assert any(p.ascii is not p.unicode and not p.lowered for p in patterns)
    assert any(p.lowered for p in patterns)


@pytest.mark.parametrize("name, pattern", sorted(_patterns().items()))
def test_the_twins_find_what_the_pattern_as_written_finds(name, pattern):
    compiled = pattern.pattern if isinstance(pattern, Keywords) else pattern
    for text in _texts():
        expected = _matches(compiled.unicode.finditer(text))
        assert _matches(pattern.finditer(text)) == expected, (name, text[:80])
        assert pattern.spans(text) == [span for span, _, _ in expected], (name, text[:80])
        found = pattern.search(text)
        assert (found.span() if found else None) == (expected[0][0] if expected else None), (name, text[:80])
        if isinstance(pattern, Pattern) and not pattern.unicode.groups:
            assert pattern.split(text) == pattern.unicode.split(text), (name, text[:80])


def test_a_twin_reads_the_separators_as_spaces_like_unicode():
    assert Pattern(r"a\sb").search("a\x1cb") is not None
    assert Pattern(r"a[^\s]b").search("a\x1fb") is None
    assert Pattern(r"a\Sb").search("a\x1db") is None


def test_a_lowered_pattern_gives_matches_of_the_text_itself():
    proxy = Pattern(r"(?i:\bnamens\s+(\w+))", lowered=True)
    found = proxy.search("Dag, NAMENS Filip")
    assert found is not None and found.group(1) == "Filip" and found.span() == (5, 17)
    # Not ignoring case as a whole: no lowered twin. Patterns compile when first used (the test below uses
    # every one of the parser's), so that is when it is refused.
    wrong = Pattern(r"(?i:namens) Filip", lowered=True)
    with pytest.raises(ValueError):
        wrong.search("namens Filip")


def _former_grouped(alternatives: list[str], depth: int = 2) -> str:
    """The families' grouping before alternatives that open with a group were spread: those came last."""
    groups: dict[str, list[str]] = {}
    rest: list[str] = []
    for alternative in alternatives:
        first = alternative[:1]
        if first.isalpha() and first.islower() and alternative[1:2] not in ("?", "*", "{", "+"):
            groups.setdefault(first, []).append(alternative[1:])
        else:
            rest.append(alternative)
    branches = []
    for first, tails in groups.items():
        inner = _former_grouped(tails, depth - 1) if depth > 1 and len(tails) > 1 else "|".join(tails)
        branches.append(f"{first}(?:{inner})")
    return "|".join(branches + rest)


def test_spreading_a_family_keeps_the_order_its_alternatives_are_tried_in():
    """Random families whose alternatives overlap (groups, optional groups, classes): the same matches as
    the grouping that tried the alternatives opening with a group last."""
    rnd = random.Random(5)
    pieces = ["kan", "ka", "kunnen", "k", "an", "niet", "wel", "(?:kan|ka)", "(?:k|ka)?", "[kl]", "(?:an )?"]
    pieces.append(r"\w*")
    words = ["kan", "ka", "kunnen", "kanniet", "niet", "wel", "lan", "an", "k", "kan niet", "ka wel"]
    checked = 0
    while checked < 300:
        alternatives = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 3))) for _ in range(5)]
        if any(re.fullmatch(alternative, "") for alternative in alternatives):
            continue  # a family's phrase is never empty
        checked += 1
        family = Keywords("|".join(alternatives))
        former = re.compile(rf"\b(?:{_former_grouped(alternatives)})")
        for _ in range(20):
            text = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 6)))
            assert _matches(family.finditer(text)) == _matches(former.finditer(text)), (alternatives, text)


def test_families_within_lines_find_in_joined_sentences_what_each_sentence_holds():
    from mailflow.core.parsing import intent

    families = [f for f in vars(intent).values() if isinstance(f, Keywords) and f.within_lines]
    assert intent.REGISTER_STRONG in families and intent.CANCEL_WEAK not in families  # CANCEL_WEAK reads "$"
    for path in sorted(CORPUS.glob("*.eml")):
        folded = [fold(s) for s in sentences(path.read_text(encoding="latin-1"))]
        joined = Joined(folded)
        for family in families:
            at_once = {joined.index_at(start) for start, _ in family.spans(joined.text)}
            assert at_once == {i for i, s in enumerate(folded) if family.search(s)}, path.name


@functools.cache
def _latin_letters() -> dict[int, str]:
    table = {}
    for code in range(0xC0, 0x250):
        base = "".join(c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c))
        if len(base) == 1 and base.isascii():
            table[code] = base
    return table


def _former_fold(text: str, every_mark: bool = False) -> str:
    """Folding as it was written before: a table of the Latin letters first, then the decomposition."""
    text = text.translate(_latin_letters())
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    if every_mark:
        return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    marks = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
    return marks.sub("", decomposed).casefold()


def test_folding_decomposes_like_the_former_table_of_latin_letters():
    rnd = random.Random(7)
    alphabet = [chr(c) for c in range(0x20, 0x250)] + [chr(c) for c in range(0x300, 0x370)]
    alphabet += list("ΆέΩЙйЁё\u05b0\u064b\u0e31ﬁ²™ẞßİıſ\u212a\u1ab0\u1dc0\u20d0\ufe20ǅ\u0345\u0323")
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 8)))
        for every_mark in (False, True):
            assert fold(text, every_mark=every_mark) == _former_fold(text, every_mark), repr(text)
