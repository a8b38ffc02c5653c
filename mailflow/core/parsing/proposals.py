"""A theme proposed for a coming meeting, as a coordinator recognises one: "voorstel voor een thema: ...",
"ik stel voor om het eens te hebben over ...", "je propose le thème ...", "pourrait-on aborder ...",
"could a meeting be about ...". The group sets its own agenda; the words of the theme are cut out as written.

Pure: no network, no clock. Patterns match accent-folded lower case (`text.fold`); a question about the
agenda ("wat is het thema?", "is er al een thema voor de volgende sessie?") proposes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailflow.core.parsing.text import REPLY_PREFIX, Keywords, fold

# The words around a proposal, per language: a theme, a meeting, one still to come.
_THEME = r"(?:thema(?:'s|s)?|onderwerp(?:en)?|theme?s?|sujets?|topics?)"
_MEETING_NL = r"(?:bijeenkomst(?:en)?|sessie(?:s)?|avond(?:en)?|editie(?:s)?|samenkomst(?:en)?|keer)"
_MEETING_FR = r"(?:seances?|sessions?|reunions?|rencontres?|soirees?|editions?)"
_MEETING_EN = r"(?:meetings?|sessions?|evenings?|gatherings?)"
_COMING_NL = r"(?:volgende|toekomstige|komende|latere|nieuwe|andere)"
_COMING_FR = r"(?:prochaines?|futures?|autres?)"
_COMING_EN = r"(?:future|next|coming|later|upcoming|following|another)"

# Statements that propose; the theme follows the match ("voorstel voor een thema: huisvesting").
PROPOSING = Keywords(
    # nl: a proposal, suggestion or idea for a theme, or for a meeting still to come
    rf"(?:voorstel|suggestie|idee|tip)(?:je)?(?: (?:voor|van|als|tot))? (?:een |het )?"
    rf"(?:nieuw |volgend |ander |mogelijk )?{_THEME}|"
    rf"(?:voorstel|suggestie|idee)(?:je)? voor (?:een |de )?{_COMING_NL} {_MEETING_NL}|"
    r"thema-?(?:voorstel|suggestie|idee)(?:en|s)?|"
    # "ik zou graag een thema voorstellen", "als thema stel ik voor", "ik stel het thema ... voor"
    rf"(?:ik|we|wij) (?:\w+ ){{0,3}}(?:een|als) (?:\w+ )?{_THEME} "
    r"(?:voor(?:stellen|stelt|dragen)|aan(?:brengen|reiken)|suggereren)\b|"
    rf"(?:ik|we|wij) stel(?:len)? (?:\w+ ){{0,2}}(?:het|als|een) {_THEME}|"
    rf"(?:als|een|mogelijk|nieuw) (?:\w+ )?{_THEME} (?:\w+ ){{0,2}}(?:stel|stellen|zou|zouden|wil|suggereer)"
    r" (?:ik|we|wij) (?:\w+ ){0,2}voor(?:stellen)?\b|"
    rf"(?:ik|we|wij) stel(?:len)? (?:\w+ ){{0,2}}voor(?: om| dat)?(?: we| wij)?(?: het| eens| een keer| ook| ooit)*"
    rf"(?: (?:in|op) een {_COMING_NL} {_MEETING_NL})?(?: eens)? (?:te )?"
    r"(?:hebben|praten|spreken|werken|nadenken|discussieren) over|"
    rf"(?:ik|we|wij) stel(?:len)? (?:\w+ ){{0,2}}voor (?:om |dat )?(?:we |wij )?(?:het |eens )*over|"
    rf"(?:ik|we|wij) stel(?:len)? (?:\w+ ){{0,2}}voor (?:als thema|een {_MEETING_NL}|om een {_MEETING_NL})"
    rf"(?: te (?:wijden|houden|organiseren|besteden))? (?:over|rond|aan)|"
    # "een bijeenkomst te wijden aan", "een sessie te besteden aan"
    rf"{_MEETING_NL} (?:\w+ ){{0,2}}(?:te )?(?:wijden|besteden) aan|"
    rf"(?:zou|zouden|wil|willen) (?:\w+ ){{0,2}}graag (?:eens |ook eens |nog eens )?een "
    rf"(?:\w+ )?{_MEETING_NL} (?:over|rond)|"
    # fr
    rf"(?:proposition|suggestion|idee)s? (?:de|d'un|d'une|pour un|pour le|comme) (?:nouveau )?{_THEME}|"
    rf"(?:proposition|suggestion|idee)s? pour (?:une|la|les) {_COMING_FR} {_MEETING_FR}|"
    rf"(?:je|nous) (?:vous )?(?:propose|proposons|suggere|suggerons)(?: comme| le| un| pour)? (?:\w+ )?{_THEME}|"
    rf"(?:je|nous) (?:vous )?(?:propose|proposons|suggere|suggerons) (?:de |d')"
    rf"(?:parler (?:de|du|des|d')|aborder|traiter|discuter (?:de|du|des|d')|"
    rf"consacrer (?:une|la) (?:\w+ )?{_MEETING_FR} (?:a|au|aux))|"
    r"(?:j'aimerais|je voudrais|nous aimerions|nous voudrions|je souhaite|je souhaiterais|"
    rf"nous souhaitons) (?:vous )?(?:proposer|suggerer) (?:un |le |comme )?(?:\w+ )?{_THEME}|"
    rf"comme {_THEME},? (?:je|nous) (?:vous )?(?:propose|proposons|suggere|suggerons)|"
    rf"{_MEETING_FR} (?:\w+ ){{0,2}}(?:consacree|dediee)s? (?:a|au|aux)|"
    # en
    rf"{_THEME} (?:suggestion|proposal|idea)s?|"
    rf"(?:suggestion|proposal|idea)s? (?:for|of) (?:a |the |another )?(?:new )?{_THEME}|"
    rf"(?:suggestion|proposal|idea)s? for (?:a|the|an|one of the) {_COMING_EN} {_MEETING_EN}|"
    r"(?:i|we)(?:'d| would)? (?:like to |want to |wish to )?(?:propose|suggest) "
    rf"(?:a |the |as a |as the |another |a new )?{_THEME}|"
    r"(?:i|we)(?:'d| would)? (?:like to |want to |wish to )?(?:propose|suggest) (?:that )?(?:we |you )?"
    rf"(?:discuss|cover|address|talk about|have an? (?:\w+ )?{_MEETING_EN} (?:on|about)|"
    rf"(?:an? |an extra )?(?:\w+ )?{_MEETING_EN} (?:on|about|dedicated to|devoted to))|"
    rf"(?:dedicate|devote) (?:a|one|the next|a future) (?:\w+ )?{_MEETING_EN} to"
)
# Questions that propose: "kunnen we het eens hebben over ...?", "pourrait-on aborder ...?", "could a meeting
# be about ...?". They may open a sentence that starts with a question word ("wat denken jullie van ...").
ASKING = Keywords(
    r"(?:kunnen|zouden|konden|kan|zou) (?:we|wij|jullie|men) (?:het )?(?:\w+ ){0,5}"
    r"(?:hebben|praten|spreken) over|"
    r"(?:we|wij) (?:zouden|kunnen|konden) (?:het )?(?:\w+ ){0,4}(?:hebben|praten|spreken) over|"
    rf"(?:kunnen|zouden|konden|kan|zou) (?:we|wij|jullie|men) (?:\w+ ){{0,3}}een (?:\w+ )?{_MEETING_NL} "
    r"(?:\w+ ){0,2}(?:over|rond|wijden aan)|"
    r"(?:zou|zouden) het (?:niet )?(?:\w+ )?(?:interessant|zinvol|nuttig|goed|fijn|leuk|een idee|waardevol|"
    r"boeiend|mogelijk) (?:zijn|wezen) (?:om )?(?:\w+ ){0,4}(?:(?:te )?(?:hebben|praten|spreken) over|"
    rf"{_MEETING_NL}(?: \w+){{0,2}} (?:over|rond|(?:te )?(?:wijden|besteden) aan))|"
    r"wat (?:\w+ )?(?:denk|dacht|denken|vind|vinden) (?:je|jij|jullie|u) van (?:een |eens een |het )?"
    rf"(?:\w+ )?(?:{_MEETING_NL} (?:over|rond)|{_THEME})|"
    # fr: "pourrait-on aborder", "pourrions-nous parler de", "serait-il possible de consacrer une séance à"
    r"(?:pourrait-on|pourrions-nous|pourriez-vous|peut-on|pourra-t-on|on pourrait|nous pourrions|"
    r"vous pourriez|serait-il (?:possible|interessant|utile|envisageable) (?:de|d')) ?(?:\w+ ){0,4}"
    r"(?:aborder|traiter|parler (?:de|du|des|d')|discuter (?:de|du|des|d')|"
    rf"consacrer (?:une|la|un) (?:\w+ )?{_MEETING_FR} (?:a|au|aux))|"
    # en: "could a meeting be about", "could we discuss", "how about a session on"
    rf"(?:could|can|might|would) (?:a|the next|a future|one of the next|one of the|an upcoming|a later|"
    rf"the following) (?:\w+ )?{_MEETING_EN} (?:\w+ ){{0,2}}(?:be (?:about|on|dedicated to|devoted to)|"
    r"cover|address|focus on|deal with|discuss)|"
    r"(?:could|can|shall) we (?:\w+ ){0,2}(?:discuss|talk about|cover|address|have an? "
    rf"(?:\w+ )?{_MEETING_EN} (?:on|about))|"
    rf"(?:how|what) about (?:a|an|one) (?:\w+ )?{_MEETING_EN} (?:on|about)|"
    r"(?:it would be|it'd be|would it be) (?:\w+ ){0,2}(?:great|interesting|useful|nice|good|valuable|"
    rf"helpful|possible) to (?:have|organi[sz]e|hold|dedicate|devote) (?:a|an|one) (?:\w+ )?{_MEETING_EN} "
    r"(?:on|about|to)"
)
# A sentence that opens with a question word asks about the agenda ("is er al een thema voor de volgende
# sessie?"); only an ASKING phrase at its very start still proposes ("wat denken jullie van ...").
QUESTION_OPENING = re.compile(
    r"^\W*(?:wat|welk|welke|wie|wanneer|waar|hoe|is er|zijn er|komt er|weet|weten|quel|quelle|quels|quelles|"
    r"qui|quand|ou|comment|y a-t-il|est-ce qu'il y a|what|which|who|when|where|is there|are there|"
    r"do you know|will there)\b"
)
# "ik heb (nog) geen idee voor een thema", "je n'ai pas d'idée de thème", "I have no topic suggestion"
NEGATED = re.compile(r"\b(?:geen|no|aucune?|pas|zonder|sans|without|not|niet|n't)\s+(?:d'|\w+\s+){0,2}$")

# What is cut from the words after the trigger, so that the theme remains as written.
_LEAD = re.compile(
    r"(?:\s|[:\-–—,]|"
    rf"(?:voor|op|in|tijdens) (?:een|de|een van de) (?:{_COMING_NL} )?{_MEETING_NL}\b|"
    rf"(?:pour|lors d'une|lors de la|a une|a la) (?:{_COMING_FR} )?{_MEETING_FR}\b|"
    rf"(?:for|at|in) (?:a|the|an|one of the) (?:{_COMING_EN} )?{_MEETING_EN}\b|"
    r"(?:het thema|het onderwerp|le theme|le sujet|the theme|the topic)\b|"
    r"(?:rond|over|suivant|on|about|called|namely|namelijk|a savoir)(?=\s|:|$))+",
)
# "le thème de l'accès aux soins", "het thema van de huisvesting": the theme's own name follows.
_OF = re.compile(r"(?<=theme|thema|sujet|topic) (?:van|de|du|des|of) |(?<=theme|sujet) d'")
_TAIL = re.compile(
    # Dutch puts the verb last: "om het eens over huisvesting te hebben", "een sessie over X kunnen houden"
    r"(?:\s+(?:eens|ook|nog|een keer|te|kunnen|willen|zouden|mogen|zou))*\s+"
    r"(?:(?:te|kunnen|willen|zouden|mogen)\s+(?:hebben|praten|spreken|doen|houden|zien|maken|geven)|"
    r"organiseren|inplannen|agenderen|bespreken|behandelen|aankaarten|wijden|voorstellen|voor|zien|krijgen|"
    r"bijwonen|volgen|meemaken)$|"
    rf"\s+(?:(?:op|in|tijdens|voor) (?:een|de|een van de)|lors d'une|lors de la|a une|a la|pour une|pour la|"
    rf"dans une|au cours d'une|at|in|during|for) (?:{_COMING_NL}|{_COMING_FR}|{_COMING_EN})? ?"
    rf"(?:{_MEETING_NL}|{_MEETING_FR}|{_MEETING_EN})$|"
    r"\s+(?:eens|ooit|een keer|un jour|sometime|some day|one day)$"
)
# Where the theme ends: a reason or an aside that follows it.
_CUT = re.compile(
    r"\s*[.!?;(]|\s+[–—-]\s|,?\s+(?:omdat|want|aangezien|zodat|parce que|parce qu'|car|puisque|because|since|"
    r"as many|as we|as i|dat lijkt|cela me|that would|i think|ik denk|je pense)\b"
)
_QUOTES = "\"'«»“”„‘’ \t"
# A theme that opens with one of these words points back and names nothing ("could we discuss it on Tuesday?").
_NOTHING = frozenset("dat dit daar hier iets it this that these those something cela ca ceci".split())
MAX_THEME = 200  # characters: a theme is a short phrase, not a letter


@dataclass(frozen=True)
class Proposal:
    """A theme the mail proposes: its words as written, and which sentences propose it (their question
    mark asks nothing of the coordinator)."""

    theme: str
    sentences: frozenset[int]
    from_subject: bool = False


def read_proposal(sentences: list[str], subject: str) -> Proposal | None:
    """The theme the sender's sentences (or, for a new mail, its subject) propose, or None."""
    found: list[tuple[int, str]] = []
    for number, sentence in enumerate(sentences):
        theme = _proposed_in(sentence)
        if theme is not None:
            found.append((number, theme))
    if found:
        numbers = frozenset(number for number, _ in found)
        theme = next((t for _, t in found if t), "")
        if not theme:
            # "Ik heb een voorstel voor een thema:" and the theme on the next line, or in the subject
            after = [s for i, s in enumerate(sentences) if i > min(numbers) and i not in numbers]
            theme = _subject_theme(subject) or _first_statement(after) or _clean(sentences[min(numbers)])
        return Proposal(theme, numbers)
    if subject and not REPLY_PREFIX.match(subject) and _subject_theme(subject) is not None:
        theme = _subject_theme(subject) or _first_statement(sentences)
        return Proposal(theme or _clean(subject), frozenset(), from_subject=True)
    return None


def _proposed_in(sentence: str) -> str | None:
    """The theme one sentence proposes ("" when it proposes one without naming it), or None."""
    folded = _fold(sentence)
    opening = QUESTION_OPENING.match(folded)
    for family, asks in ((PROPOSING, False), (ASKING, True)):
        for match in family.finditer(folded):
            if NEGATED.search(folded[max(0, match.start() - 30) : match.start()]):
                continue  # "ik heb nog geen idee voor een thema"
            if opening is not None and not (asks and not folded[: match.start()].strip(" \"'*(-")):
                continue  # "is er al een thema voor de volgende sessie?" asks about the agenda
            source = sentence if len(sentence) == len(folded) else folded
            theme = _theme_after(source, folded, match.end())
            if theme or not asks:
                return theme  # asking about "it" names nothing: "kunnen we het daar eens over hebben?"
    return None


def _fold(text: str) -> str:
    """Folded, with the typographic apostrophe phones write ("I’d", "j’aimerais") made plain."""
    return fold(text).replace("’", "'")


def _theme_after(source: str, folded: str, end: int) -> str:
    """The words after a trigger, without the lead-in, the verb Dutch puts last, and any reason that
    follows."""
    of = _OF.match(folded, end)
    start = of.end() if of else end
    lead = _LEAD.match(folded, start)
    start = lead.end() if lead else start
    cut = _CUT.search(folded, start)
    stop = cut.start() if cut else len(folded)
    tail_folded = folded[start:stop]
    while (tail := _TAIL.search(tail_folded)) is not None and tail.start() > 0:
        tail_folded = tail_folded[: tail.start()]
    theme = _clean(source[start : start + len(tail_folded)])
    words = _fold(theme).split()
    return "" if not words or words[0] in _NOTHING else theme  # "it on Tuesday" names no theme


def _clean(text: str) -> str:
    text = " ".join(text.split()).strip(_QUOTES).rstrip(".,;:!?").strip(_QUOTES)
    if len(text) > MAX_THEME:
        text = text[:MAX_THEME].rsplit(" ", 1)[0] + " …"
    return text


def _subject_theme(subject: str) -> str | None:
    """The theme a subject proposes ("Voorstel thema: huisvesting", "Suggestion de thème"), "" when it
    names none, or None when the subject proposes nothing."""
    if not subject or REPLY_PREFIX.match(subject):
        return None
    folded = _fold(subject)
    match = PROPOSING.search(folded)
    if match is None or NEGATED.search(folded[max(0, match.start() - 30) : match.start()]):
        return None
    source = subject if len(subject) == len(folded) else folded
    return _theme_after(source, folded, match.end())


def _first_statement(sentences: list[str]) -> str:
    """The first sentence that says something (not a greeting "Dag Hilde,"): the theme itself, often."""
    for sentence in sentences:
        words = sentence.split()
        if len(words) >= 2 and not sentence.rstrip().endswith(","):
            return _clean(_CUT.split(sentence, maxsplit=1)[0] or sentence)
    return ""
