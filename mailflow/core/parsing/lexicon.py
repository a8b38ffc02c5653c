"""The word lists under data/: first names, job titles and departments, places. Read once, folded.

Pure: the files ship with the package (pyproject package-data) and are read with importlib.resources.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from mailflow.core.parsing.text import fold


def _words(filename: str) -> frozenset[str]:
    text = resources.files("mailflow.core.parsing.data").joinpath(filename).read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(fold(line) for line in lines if line and not line.startswith("#"))


FIRST_NAMES = _words("first_names.txt")
PLACES = _words("places.txt")
_FUNCTIONS = _words("functions.txt")
_EXACT = frozenset(w for w in _FUNCTIONS if "*" not in w)
_PREFIXES = tuple(sorted(w[:-1] for w in _FUNCTIONS if w.endswith("*") and not w.startswith("*")))
_SUFFIXES = tuple(sorted(w[1:] for w in _FUNCTIONS if w.startswith("*")))
_DEPARTMENTS = frozenset(
    {"afdeling", "afdelingen", "dienst", "diensten", "team", "teams", "cel", "departement", "department"}
    | {"dept", "sector", "unit", "desk", "service", "services", "cellule", "pole", "equipe", "bureau"}
)


_ACTIVITIES = frozenset(
    {"accueil", "onthaal", "permanence", "permanentie", "secretariaat", "secretariat", "administratie"}
    | {"reception", "boekhouding", "communicatie"}
)


def is_first_name(word: str) -> bool:
    """A common first name ("Bram", "Fatima", "Jean-Pierre": each part of a double name counts)."""
    folded = fold(word).strip(".")
    return folded in FIRST_NAMES or ("-" in folded and fold(folded.split("-")[0]) in FIRST_NAMES)


def is_place(text: str) -> bool:
    return " ".join(fold(text).split()) in PLACES


def _word_is_function(word: str) -> bool:
    if word in _EXACT or any(word.startswith(p) for p in _PREFIXES):
        return True
    return any(word.endswith(s) and len(word) > len(s) + 2 for s in _SUFFIXES)


@lru_cache(maxsize=1024)
def is_function(text: str) -> bool:
    """A job title, role or department ("maatschappelijk werker", "dienst Welzijn", "Coordinatrice des
    bénévoles", "team Onthaal", "Senior project manager"): what someone does, not for whom."""
    words = fold(text).replace("(", " ").replace(")", " ").split()
    words = [w.strip(".,:;") for w in words if w.strip(".,:;")]
    if not words:
        return False
    phrase = " ".join(words)
    for start in (phrase, " ".join(words[1:])):  # "social worker", "Senior project manager"
        if any(start == w or start.startswith(w + " ") for w in _EXACT if " " in w):
            return True
        if any(start.startswith(p) for p in _PREFIXES if " " in p):
            return True
    if words[0] in _ACTIVITIES and len(words) > 1:
        # "permanence du jeudi", "onthaal nieuwkomers" are tasks; "Accueil Solidaire" is a name.
        second = text.split()[1]
        return second[:1].islower()
    if _word_is_function(words[0]):
        return True
    # "Senior coordinator", "juridisch adviseur": one qualifying word, then a title (not a department:
    # "Hope Team" may be a name).
    return len(words) >= 2 and words[1] not in _DEPARTMENTS and _word_is_function(words[1])
