"""The language of what the sender wrote: Dutch, French or English, by counting their most common little
words.

Pure: no network, no clock. A counter, not a model: mails here are short and in three known languages, and it
reads thousands of mails a second. Dutch, the network's language, wins ties.
"""

from __future__ import annotations

import re

from mailflow.core.parsing.text import fold

# fmt: off
STOP_WORDS = {
    "nl": frozenset([
        "het", "een", "en", "ik", "je", "jij", "jullie", "u", "wij", "we", "zij", "ze", "hij", "van", "voor",
        "met", "op", "aan", "niet", "wel", "graag", "dat", "die", "dit", "deze", "ben", "bent", "zijn", "heb",
        "hebben", "heeft", "er", "nog", "al", "ook", "maar", "naar", "om", "te", "wil", "wilt", "kan", "kun",
        "kunnen", "mij", "me", "mijn", "onze", "ons", "zou", "zouden", "worden", "wordt", "wat", "waar",
        "hoe", "wanneer", "bij", "tot", "dank", "bedankt", "groeten", "groetjes", "beste", "dag", "hallo",
        "hoi", "goede", "vriendelijke", "alvast", "even", "mee", "uit", "over", "sessie", "leernetwerk",
        "vrijwilliger", "inschrijven", "komen", "kom", "zal", "moet", "geen", "heel", "veel", "ook", "daar",
        "hier", "dus", "omdat", "want", "als", "nu", "keer", "uur", "jaar", "mag",
    ]),
    "fr": frozenset([
        "le", "la", "les", "un", "une", "des", "et", "je", "tu", "il", "elle", "nous", "vous", "du", "pour",
        "avec", "sur", "pas", "ne", "que", "qui", "est", "suis", "sont", "mon", "ma", "mes", "votre", "vos",
        "notre", "nos", "merci", "bonjour", "au", "aux", "dans", "ce", "cette", "ces", "mais", "ou", "donc",
        "car", "comme", "tres", "bien", "aussi", "plus", "etre", "avoir", "fait", "faire", "seance", "reseau",
        "benevole", "inscrire", "souhaiterais", "aimerais", "cordialement", "madame", "monsieur", "depuis",
        "chez", "leur", "leurs", "sans", "peut", "j'ai", "c'est", "m'appelle", "d'avance", "y", "en",
    ]),
    "en": frozenset([
        "the", "a", "an", "and", "i", "you", "we", "he", "she", "they", "of", "for", "with", "on", "to",
        "not", "is", "am", "are", "was", "my", "your", "our", "their", "would", "like", "will", "be", "this",
        "that", "it", "at", "from", "have", "has", "had", "do", "does", "can", "could", "should", "thanks",
        "thank", "hello", "hi", "dear", "regards", "kind", "best", "please", "session", "network",
        "volunteer", "join", "register", "about", "so", "but", "if", "or", "just", "also", "very", "what",
        "when", "where", "which", "who", "how", "here", "there", "i'm", "i'd", "i'll", "don't", "can't",
        # Short phone mails: "Count me in!", "Sign me up", "See you there".
        "me", "in", "count", "sign", "up", "see", "yes", "attend", "attending", "meeting", "come",
    ]),
}
# fmt: on
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_WEIGHTS: dict[str, tuple[bool, bool, bool]] = {
    word: (word in STOP_WORDS["nl"], word in STOP_WORDS["fr"], word in STOP_WORDS["en"])
    for words in STOP_WORDS.values()
    for word in words
}


LEAD_WORDS = 40  # the first words count double: the sender's own lines open the text


def _little_words(text: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """How many known little words of the text are Dutch, French and English: among its first words, and
    among the rest (of 400)."""
    words = _WORD.findall(fold(text.replace("’", "'")[:3000]))[:400]
    return _tally(words[:LEAD_WORDS]), _tally(words[LEAD_WORDS:])


def _tally(words: list[str]) -> tuple[int, int, int]:
    hits = list(filter(None, map(_WEIGHTS.get, words)))
    if not hits:
        return 0, 0, 0
    dutch, french, english = zip(*hits, strict=True)
    return sum(dutch), sum(french), sum(english)


def language_of(text: str) -> str:
    """ "nl", "fr" or "en": the language with the most stop words, the first lines counting double."""
    return _language(_little_words(text))


def _language(little_words: tuple[tuple[int, int, int], tuple[int, int, int]]) -> str:
    lead, rest = little_words
    counts = [2.0 * first + later for first, later in zip(lead, rest, strict=True)]
    best = max(range(3), key=lambda lang: (counts[lang], lang == 0))
    return ("nl", "fr", "en")[best] if counts[best] > 0 else "nl"


CLEAR_WORDS = 3  # little words it takes to tell a language: "Thanks!" or "Ik kom!" is too short


def language_is_clear(text: str) -> bool:
    """Whether the text says enough to tell its language: a few little words, most of them of one language."""
    return _clear(_little_words(text))


def _clear(little_words: tuple[tuple[int, int, int], tuple[int, int, int]]) -> bool:
    lead, rest = little_words
    ranked = sorted((first + later for first, later in zip(lead, rest, strict=True)), reverse=True)
    return ranked[0] >= CLEAR_WORDS and ranked[0] > ranked[1]


def read_language(text: str) -> tuple[str, bool]:
    """`language_of` and `language_is_clear` of one text, its words read once."""
    little_words = _little_words(text)
    return _language(little_words), _clear(little_words)
