"""A theme proposed for a coming meeting, as a coordinator recognises one: "voorstel voor een thema: ...",
"ik stel voor om het eens te hebben over ...", "je propose le thème ...", "pourrait-on aborder ...",
"could a meeting be about ...". The group sets its own agenda; the theme is cut out in the sender's words.

Pure: no network, no clock. Patterns match accent-folded lower case (`text.fold`). A question about the
agenda ("wat is het thema?", "is er al een thema voor de volgende sessie?") proposes nothing, nor does a
wish about a meeting already planned ("komt in maart ook X aan bod?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailflow.core.parsing.clauses import NAMES_A_SESSION
from mailflow.core.parsing.text import REPLY_PREFIX, Keywords, fold, group_end, split_alternatives

# The words around a proposal, per language: a theme, a meeting, one still to come.
_THEME = r"(?:thema(?:'s|s)?|onderwerp(?:en)?|themes?|sujets?|topics?)"
_MEETING_NL = r"(?:bijeenkomst(?:en)?|sessies?|avond(?:en)?|edities?|samenkomst(?:en)?|keer)"
_MEETING_FR = r"(?:seances?|sessions?|reunions?|rencontres?|soirees?|editions?)"
_MEETING_EN = r"(?:meetings?|sessions?|evenings?|gatherings?)"
_MEETING = rf"(?:{_MEETING_NL}|{_MEETING_FR}|{_MEETING_EN})"
_COMING_NL = r"(?:volgende|toekomstige|komende|latere|nieuwe|andere)"
_COMING_FR = r"(?:prochaines?|futures?|autres?)"
_COMING_EN = r"(?:future|next|coming|later|upcoming|following|another)"
_COMING = rf"(?:{_COMING_NL}|{_COMING_FR}|{_COMING_EN})"
# Dutch ways of saying "I propose": "ik stel voor", "stellen we voor", "ik zou (graag) willen voorstellen".
_I_PROPOSE_NL = (
    r"(?:(?:ik|we|wij) stel(?:len)? (?:\w+ ){0,2}voor|stel(?:len)? (?:ik|we|wij) (?:\w+ ){0,2}voor|"
    r"(?:ik|we|wij) (?:\w+ ){0,2}(?:zou|zouden|wil|willen|wou|wilde) (?:graag |willen |wel |eens |ook )*"
    r"voorstellen|"
    r"(?:zou|zouden|wil|willen|wou|wilde) (?:ik|we|wij) (?:graag |willen |wel |eens |ook )*voorstellen)"
)


def _spread(source: str) -> str:
    """The same alternation with each leading group spread out ("(?:ik|we) stel" -> "ik stel|we stel"),
    so that Keywords can group every alternative under its first letters: a long family stays fast."""
    spread: list[str] = []
    pending = split_alternatives(source)
    while pending:
        alternative = pending.pop(0)
        end = group_end(alternative) if alternative.startswith("(?:") else -1
        if end < 0 or alternative[end + 1 : end + 2] in ("?", "*", "+", "{"):
            spread.append(alternative)  # no leading group, or an optional one: nothing to spread
            continue
        pending[:0] = [head + alternative[end + 1 :] for head in split_alternatives(alternative[3:end])]
    return "|".join(spread)


# Statements that propose; the theme follows the match ("voorstel voor een thema: huisvesting").
_PROPOSING_PHRASES = (
    # nl: a proposal, suggestion or idea for a theme, or for a meeting still to come
    r"(?:voorstel|suggestie|idee|tip)(?:je)?(?: (?:voor|van|als|tot))? (?:een |het )?"
    rf"(?:nieuw |volgend |ander |mogelijk )?{_THEME}|"
    rf"(?:voorstel|suggestie|idee)(?:je)? voor (?:een |de )?{_COMING_NL} {_MEETING_NL}|"
    r"thema-?(?:voorstel|suggestie|idee)(?:en|s)?|"
    # "misschien iets voor een volgende sessie: ...", "an idea for a future meeting: ..." (with its colon)
    r"(?:iets|een idee|een tip|a suggestion|an idea|une idee|une suggestion) (?:voor|for|pour) "
    rf"(?:een|de|a|the|une|la) {_COMING} {_MEETING} ?:|"
    # "ik zou graag een thema voorstellen", "als thema stel ik voor", "ik stel het thema ... voor"
    rf"(?:ik|we|wij) (?:\w+ ){{0,3}}(?:een|als) (?:\w+ )?{_THEME} "
    r"(?:voor(?:stellen|stelt|dragen)|aan(?:brengen|reiken)|suggereren)\b|"
    rf"(?:ik|we|wij) stel(?:len)? (?:graag |ook |dus |hierbij |bij deze )*(?:het|als|een) {_THEME}|"
    rf"(?:als|een|mogelijk|nieuw) (?:\w+ )?{_THEME} (?:\w+ ){{0,2}}(?:stel|stellen|zou|zouden|wil|suggereer)"
    r" (?:ik|we|wij) (?:\w+ ){0,2}voor(?:stellen)?\b|"
    # "ik stel voor om het eens te hebben over", "... dat we eens stilstaan bij", "... een sessie te wijden"
    rf"{_I_PROPOSE_NL}(?: om| dat)?(?: we| wij)?(?: het| eens| een keer| ook| ooit| nog)*"
    rf"(?: (?:in|op) een {_COMING_NL} {_MEETING_NL})?(?: eens)? (?:te )?"
    r"(?:(?:hebben|praten|spreken|werken|nadenken|discussieren) over|stil (?:te )?staan bij|stilstaan bij)|"
    rf"{_I_PROPOSE_NL} (?:om |dat )?(?:we |wij )?(?:het |eens |een keer )*over|"
    rf"{_I_PROPOSE_NL} (?:als thema|een {_MEETING_NL}|om (?:eens |een keer )?een {_MEETING_NL})"
    r"(?: te (?:wijden|houden|organiseren|besteden))? (?:over|rond|aan)|"
    # "een bijeenkomst te wijden aan", "een sessie te besteden aan"
    rf"{_MEETING_NL} (?:\w+ ){{0,2}}(?:te )?(?:wijden|besteden) aan|"
    r"(?:zou|zouden|wil|willen) (?:\w+ ){0,2}graag (?:eens |ook eens |nog eens )?een "
    rf"(?:\w+ )?{_MEETING_NL}(?: \w+)? (?:over|rond)|"
    rf"(?:idee|tip|suggestie) ?(?:om|:) (?:\w+ ){{0,2}}een (?:\w+ )?{_MEETING_NL} "
    r"(?:over|rond|te wijden aan)|"
    # "het zou fijn zijn als er eens een sessie over ... kwam"
    r"(?:het zou|zou het|het lijkt me|lijkt het me) (?:\w+ ){0,2}(?:interessant|zinvol|nuttig|goed|fijn|leuk|"
    r"boeiend|waardevol|handig|een idee|een goed idee) (?:\w+ ){0,2}(?:om|als|dat) (?:\w+ ){0,4}"
    rf"{_MEETING_NL}(?: \w+){{0,2}} (?:over|rond|(?:te )?(?:wijden|besteden) aan)|"
    # fr
    rf"(?:proposition|suggestion|idee)s?(?: de| d'un| d'une| pour un| pour le| comme)? (?:nouveau )?{_THEME}|"
    rf"(?:proposition|suggestion|idee)s? pour (?:une|la|les) {_COMING_FR} {_MEETING_FR}|"
    r"(?:je|nous) (?:vous )?(?:propose|proposons|suggere|suggerons)(?: comme| le| un| pour)? "
    rf"(?:\w+ )?{_THEME}|"
    r"(?:je|nous) (?:vous )?(?:propose|proposons|suggere|suggerons) (?:de |d')"
    r"(?:parler (?:de|du|des|d')|aborder|traiter|discuter (?:de|du|des|d')|"
    rf"consacrer (?:une|la) (?:\w+ )?{_MEETING_FR} (?:a|au|aux))|"
    r"(?:j'aimerais|je voudrais|nous aimerions|nous voudrions|je souhaite|je souhaiterais|"
    rf"nous souhaitons) (?:vous )?(?:proposer|suggerer) (?:un |le |comme )?(?:\w+ )?{_THEME}|"
    r"(?:j'aimerais|je voudrais|nous aimerions|nous voudrions|je souhaiterais) (?:qu'on|que l'on|que nous) "
    r"(?:parle|aborde|traite|discute|parlions|abordions)(?: de| du| des| d')?|"
    rf"comme {_THEME},? (?:je|nous) (?:vous )?(?:propose|proposons|suggere|suggerons)|"
    rf"{_MEETING_FR} (?:\w+ ){{0,2}}(?:consacree|dediee)s? (?:a|au|aux)|"
    rf"{_MEETING_FR} (?:\w+ ){{0,2}}(?:pourrai(?:t|ent) )?port(?:er|ant|erait) sur|"
    r"(?:ce serait|ca serait|il serait) (?:\w+ ){0,2}(?:bien|interessant|utile|chouette|super|important) "
    rf"(?:de|d') (?:faire|organiser|prevoir|consacrer|avoir) (?:une|un) (?:\w+ )?{_MEETING_FR} "
    r"(?:sur|a|au|aux|consacree a)|"
    r"(?:ce serait|ca serait|il serait) (?:\w+ ){0,2}(?:bien|interessant|utile|important|pertinent) "
    r"(?:de |d')"
    r"(?:aborder|traiter|parler (?:de|du|des|d')|discuter (?:de|du|des|d'))|"
    # en
    rf"{_THEME} (?:suggestion|proposal|idea)s?|"
    rf"(?:suggestion|proposal|idea)s? (?:for|of) (?:a |the |another )?(?:new )?{_THEME}|"
    rf"(?:suggestion|proposal|idea)s? for (?:a|the|an|one of the) {_COMING_EN} {_MEETING_EN}|"
    r"(?:i|we)(?:'d| would)? (?:like to |want to |wish to )?(?:propose|suggest) "
    rf"(?:a |the |as a |as the |another |a new )?{_THEME}|"
    r"(?:i|we)(?:'d| would)? (?:like to |want to |wish to )?(?:propose|suggest) (?:that )?(?:we |you )?"
    rf"(?:discuss|cover|address|talk about|have an? (?:\w+ )?{_MEETING_EN} (?:on|about)|"
    rf"(?:an? |an extra )?(?:\w+ )?{_MEETING_EN} (?:on|about|dedicated to|devoted to))|"
    rf"(?:dedicate|devote) (?:a|one|the next|a future) (?:\w+ )?{_MEETING_EN} to|"
    r"(?:i|we)(?:'d| would) (?:love|like|welcome|appreciate) (?:to see |to have )?(?:a|an|one) "
    rf"(?:\w+ )?{_MEETING_EN} (?:on|about)|"
    rf"(?:a|one of the|the next|a future|an upcoming) (?:\w+ )?{_MEETING_EN} (?:could|would|might) "
    r"(?:\w+ )?(?:cover|address|focus on|be about|look at|deal with)"
)
PROPOSING = Keywords(_spread(_PROPOSING_PHRASES))
# Questions that propose: "kunnen we het eens hebben over ...?", "pourrait-on aborder ...?", "could a meeting
# be about ...?". They may open a sentence that starts with a question word ("wat denken jullie van ...").
_ASKING_PHRASES = (
    r"(?:kunnen|zouden|konden|kan|zou) (?:we|wij|jullie|men) (?:het )?(?:\w+ ){0,5}"
    r"(?:(?:hebben|praten|spreken) over|stil (?:\w+ )?staan bij|stilstaan bij)|"
    r"(?:we|wij) (?:zouden|kunnen|konden) (?:het )?(?:\w+ ){0,4}(?:hebben|praten|spreken) over|"
    rf"(?:kunnen|zouden|konden|kan|zou) (?:we|wij|jullie|men|er) (?:\w+ ){{0,3}}een (?:\w+ )?{_MEETING_NL} "
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
    r"(?:could|can|might|would) (?:a|the next|a future|one of the next|one of the|an upcoming|a later|"
    rf"the following) (?:\w+ )?{_MEETING_EN} (?:\w+ ){{0,2}}(?:be (?:about|on|dedicated to|devoted to)|"
    r"cover|address|focus on|deal with|discuss)|"
    r"(?:could|can|shall) we (?:\w+ ){0,2}(?:discuss|talk about|cover|address|have an? "
    rf"(?:\w+ )?{_MEETING_EN} (?:on|about))|"
    rf"(?:how|what) about (?:a|an|one) (?:\w+ )?{_MEETING_EN} (?:on|about)|"
    r"(?:could|can|would) you (?:\w+ ){0,2}(?:organi[sz]e|plan|schedule|hold|consider|think about) "
    rf"(?:having |holding |organi[sz]ing )?(?:a|an|one) (?:\w+ )?{_MEETING_EN} (?:on|about)|"
    r"(?:it would be|it'd be|would it be) (?:\w+ ){0,2}(?:great|interesting|useful|nice|good|valuable|"
    rf"helpful|possible) to (?:have|organi[sz]e|hold|dedicate|devote) (?:a|an|one) (?:\w+ )?{_MEETING_EN} "
    r"(?:on|about|to)"
)
ASKING = Keywords(_spread(_ASKING_PHRASES))
# The theme named before the words that propose it: "zou X eens aan bod kunnen komen?", "X lijkt me een
# goed thema", "X would be a good topic", "le logement serait un bon thème", "kan X op de agenda?".
_OPENERS = (
    r"(?:(?:misschien|mss|ook|en|maar|volgens mij|ik denk dat|wat mij betreft|maybe|perhaps|and|but|i think|"
    r"peut-etre|et|mais|je pense que|a mon avis),? )*"
)
_NOT_A_THEME = r"(?!(?:voor|mijn|m'n|onze|ons|zijn|haar|hun|me|mij|mezelf|u|jullie|je|jou)\b)"
NAMED_FIRST = [
    re.compile(pattern)
    for pattern in (
        (
            r"(?:kan|kunnen|zou|zouden|mag|mogen) (?:er |jullie |we |wij )?(?:(?:ook |eens |niet )+)?"
            r"(?:het thema |het onderwerp )?(?P<theme>[^,;:]{3,80}?) (?:(?:eens|ook eens|een keer|ooit|"
            r"nog eens|ook) )?(?:aan bod (?:komen|kunnen komen)|op de agenda)"
        ),
        (
            rf"^{_OPENERS}(?P<theme>[^,;:]{{3,80}}?) (?:zou|lijkt) (?:me |mij |ons )?(?:ook )?"
            rf"(?:een|ook een) (?:\w+ ){{0,2}}{_THEME}"
        ),
        (
            rf"(?:zou|lijkt) (?:me |mij |ons )?(?P<theme>[^,;:]{{3,80}}?) (?:me |mij |ons )?(?:ook )?een "
            rf"(?:\w+ ){{0,2}}{_THEME} (?:zijn|voor|om)"
        ),
        (
            rf"^{_OPENERS}(?P<theme>[^,;:]{{3,80}}?) (?:would|could|might) (?:also )?(?:be|make) (?:a|an) "
            rf"(?:\w+ ){{0,2}}{_THEME}"
        ),
        (
            rf"^{_OPENERS}(?P<theme>[^,;:]{{3,80}}?) (?:serait|pourrait etre|ferait) (?:aussi )?un "
            rf"(?:\w+ ){{0,2}}{_THEME}"
        ),
        # "ik stel huisvesting voor als thema", "voor de volgende sessie zou ik graag X willen voorstellen";
        # only where a theme or a meeting is named ("ik zou u graag mijn collega voorstellen" introduces her)
        (
            rf"^(?=.*\b(?:{_THEME}|{_MEETING_NL})\b).*?\b(?:ik|we|wij) stel(?:len)? {_NOT_A_THEME}"
            r"(?P<theme>[^,;:]{3,80}?) voor(?: als (?:thema|onderwerp))?\b"
        ),
        (
            rf"^(?=.*\b(?:{_THEME}|{_MEETING_NL})\b).*?\b(?:(?:ik|we|wij) (?:zou|zouden|wil|willen|wou)|"
            rf"(?:zou|zouden|wil|willen|wou) (?:ik|we|wij)) (?:graag |ook |wel )*{_NOT_A_THEME}"
            r"(?P<theme>[^,;:]{3,80}?) (?:willen |graag )?voor(?:stellen|dragen)\b"
        ),
        r"(?:put|add|place) (?P<theme>[^,;:]{3,80}?) (?:on|to) the agenda",
        r"(?:mettre|inscrire) (?P<theme>[^,;:]{3,80}?) a l'ordre du jour",
    )
]
# Every phrase above holds one of these words; a sentence without any is passed over at once.
NAMED_ANCHORS = (
    "aan bod",
    "agenda",
    "ordre du jour",
    "stel",
    "thema",
    "onderwerp",
    "theme",
    "sujet",
    "topic",
)
ANCHORS = NAMED_ANCHORS + (
    "bijeenkomst", "sessie", "avond", "editie", "samenkomst", "keer", "seance", "session", "reunion",
    "rencontre", "soiree", "edition", "meeting", "evening", "gathering", "propos", "sugge", "parl",
    "abord", "trait", "discu", "over", "stil", "talk", "cover", "address",
)  # fmt: skip
ANCHOR = Keywords("|".join(re.escape(word) for word in ANCHORS), prefix="")
NAMED_ANCHOR = Keywords("|".join(re.escape(word) for word in NAMED_ANCHORS), prefix="")
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
    rf"(?:pour (?:une|la)|lors d'une|lors de la|a une|a la|dans une) (?:{_COMING_FR} )?{_MEETING_FR}\b|"
    rf"(?:for|at|in) (?:a|the|an|one of the) (?:{_COMING_EN} )?{_MEETING_EN}\b|"
    r"(?:het thema|het onderwerp|le theme|le sujet|the theme|the topic)\b|"
    r"(?:rond|over|suivant|on|about|called|namely|namelijk|a savoir)(?=\s|:|$))+",
)
# "le thème de l'accès aux soins", "het thema van de huisvesting": the theme's own name follows.
_OF = re.compile(r"(?<=theme|thema|sujet|topic) (?:van|de|du|des|of) |(?<=theme|sujet) d'")
# A theme given on the next line often opens with these words: "Ik denk aan ...", "Par exemple ...".
_INTRO = re.compile(
    r"(?:(?:ik denk aan|ik dacht aan|bijvoorbeeld|namelijk|het gaat (?:over|om)|je pense a|je pensais a|"
    r"par exemple|il s'agit d[ue]|i was thinking (?:of|about)|i'm thinking (?:of|about)|for example|"
    r"namely|it's about)[:,]?\s+)+"
)
_TAIL = re.compile(
    # Dutch puts the verb last: "om het eens over huisvesting te hebben", "een sessie over X kunnen houden"
    r"(?:\s+(?:eens|ook|nog|een keer|te|kunnen|willen|zouden|mogen|zou))*\s+"
    r"(?:(?:te|kunnen|willen|zouden|mogen)\s+(?:hebben|praten|spreken|doen|houden|zien|maken|geven)|"
    r"(?:georganiseerd|gehouden|ingepland|besproken|behandeld|gewijd|voorzien) (?:kunnen )?worden|"
    r"organiseren|inplannen|agenderen|bespreken|behandelen|aankaarten|wijden|voorstellen|voor|zien|krijgen|"
    r"bijwonen|volgen|meemaken|kwam|komt|zou komen)$|"
    r"\s+(?:(?:op|in|tijdens|voor) (?:een|de|een van de)|lors d'une|lors de la|a une|a la|pour une|pour la|"
    rf"dans une|au cours d'une|at|in|during|for) (?:{_COMING} )?{_MEETING}$|"
    r"\s+(?:eens|ooit|een keer|un jour|sometime|some day|one day)$"
)
# Where the theme ends: a reason or an aside that follows it.
_CUT = re.compile(
    r"\s*[.!?;(]|\s+[–—-]\s|,?\s+(?:omdat|want|aangezien|zodat|parce que|parce qu'|car|puisque|because|since|"
    r"as many|as we|as i|dat lijkt|cela me|that would|i think|ik denk|je pense)\b"
)
_QUOTES = "\"'«»“”„‘’ \t"
# A theme that opens with one of these words points back and names nothing ("could we discuss it on Tuesday?")
_NOTHING = frozenset(
    ("dat", "dit", "daar", "hier", "iets", "it", "this", "that", "these", "those", "something", "cela", "ca")
    + (
        "me",
        "mij",
        "mezelf",
        "mijzelf",
        "ons",
        "onszelf",
        "zich",
        "je",
        "jullie",
        "u",
    )  # "ik stel mij even voor"
)
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
    subject_theme = _subject_theme(subject)
    if subject_theme is not None:
        theme = subject_theme or _first_statement(sentences) or _clean(subject)
        return Proposal(theme, frozenset(), from_subject=True)
    return None


def _proposed_in(sentence: str) -> str | None:
    """The theme one sentence proposes ("" when it proposes one without naming it), or None."""
    folded = _fold(sentence)
    if not ANCHOR.search(folded):
        return None  # most sentences name no theme, meeting or proposing at all: passed over at once
    source = sentence if len(sentence) == len(folded) else folded
    opening = QUESTION_OPENING.match(folded)
    for family, asks in ((PROPOSING, False), (ASKING, True)):
        for match in family.finditer(folded):
            if NEGATED.search(folded[max(0, match.start() - 30) : match.start()]):
                continue  # "ik heb nog geen idee voor een thema"
            if opening is not None and not (asks and not folded[: match.start()].strip(" \"'*(-")):
                continue  # "is er al een thema voor de volgende sessie?" asks about the agenda
            theme = _theme_after(source, folded, match.end())
            if theme or not asks:
                return theme  # asking about "it" names nothing: "kunnen we het daar eens over hebben?"
    if opening is not None or not NAMED_ANCHOR.search(folded):
        return None
    for pattern in NAMED_FIRST:
        named = pattern.search(folded)
        if named is None or NEGATED.search(folded[max(0, named.start() - 30) : named.start()]):
            continue
        if NAMES_A_SESSION.search(folded):
            return None  # "komt in maart ook X aan bod?" asks about a meeting already planned
        theme = _named(source[named.start("theme") : named.end("theme")])
        if theme:
            return theme
    return None


def _fold(text: str) -> str:
    """Folded, with the typographic apostrophe phones write ("I’d", "j’aimerais") made plain."""
    return fold(text).replace("\u2019", "'")


def _theme_after(source: str, folded: str, end: int) -> str:
    """The words after a trigger, without the lead-in, the verb Dutch puts last, and any reason that
    follows."""
    of = _OF.match(folded, end)
    start = of.end() if of else end
    lead = _LEAD.match(folded, start)
    start = lead.end() if lead else start
    colon = folded.find(":", start, start + 40)
    if colon != -1:  # "... voor een thema voor de bijeenkomst in het najaar: huisvesting"
        lead = _LEAD.match(folded, colon)
        start = lead.end() if lead else colon + 1
    cut = _CUT.search(folded, start)
    stop = cut.start() if cut else len(folded)
    return _named(source[start:stop])


def _named(text: str) -> str:
    """A theme's words, without the verb Dutch puts last and the meeting it is meant for; "" when they only
    point back ("it", "dat")."""
    folded = _fold(text)
    source = text if len(text) == len(folded) else folded
    while (tail := _TAIL.search(folded)) is not None and tail.start() > 0:
        folded = folded[: tail.start()]
    theme = _clean(source[: len(folded)])
    words = _fold(theme).split()
    return "" if not words or words[0] in _NOTHING else theme


def _clean(text: str) -> str:
    text = " ".join(text.split()).strip(_QUOTES).rstrip(".,;:!?").strip(_QUOTES)
    if len(text) > MAX_THEME:
        text = text[:MAX_THEME].rsplit(" ", 1)[0] + " …"
    return text


def _subject_theme(subject: str) -> str | None:
    """The theme a new mail's subject proposes ("Voorstel thema: huisvesting", "Suggestion de thème"), ""
    when it names none, or None when the subject proposes nothing (or answers another mail)."""
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
        if len(sentence.split()) >= 2 and not sentence.rstrip().endswith(","):
            folded = _fold(sentence)
            intro = _INTRO.match(folded)
            start = intro.end() if intro and len(folded) == len(sentence) else 0
            cut = _CUT.search(folded, start)
            return _clean(sentence[start : cut.start() if cut else len(sentence)])
    return ""
