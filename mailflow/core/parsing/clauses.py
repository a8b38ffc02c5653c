"""Reading a mail clause by clause: where one statement ends and a contrasting one starts, and the word
classes whose meaning depends on the clause around them (negation, "before I register", one occasion or for
good, a cancellation taken back).

Pure: no network, no clock. Patterns match accent-folded lower case (`text.fold`).
"""

from __future__ import annotations

import re

from mailflow.core.parsing.text import Joined, Keywords, Pattern

QUESTION_WORDS = Keywords(
    r"(?:een|enkele|paar|twee|drie|nog) (?:\w+ )?vra(?:ag|agje|gen)\b|vraagje|ik vroeg me af|"
    r"(?:une|quelques|deux) (?:petites? )?questions?|je me demandais|"
    r"(?:one|two|some|quick) (?:\w+ )?questions?\b|a (?:\w+ )?question\b|i was wondering"
)
# A question that is the request itself ("Mag ik mij inschrijven?", "Could you add her to the list?").
REQUEST_QUESTION = Keywords(
    r"(?:mag|kan|kun|zou|wil|zouden|mogen|kunnen|willen) (?:\w+ ){0,6}(?:inschrijven|aanmelden|zetten|komen|"
    r"afmelden|uitschrijven|halen|schrappen|verwijderen|wissen|noteren|toevoegen|opgeven|deelnemen|aansluiten|"
    r"omzetten|overzetten|verzetten|verplaatsen)|"
    r"op de lijst|van de (?:\w+ )?lijst|"
    r"(?:pourr|pourri|voudr|puis)\w* (?:\w+ ){0,4}(?:inscri|ajout|retir|noter)|"
    r"(?:could|can|would|may) (?:\w+ ){0,4}(?:add|register|sign|put|remove|take|pass on|come|join)"
)
# "Kan ik komen als ik geen vrijwilliger ben?" asks; "Mag ik mij inschrijven als vrijwilliger?" (as) does not.
CONDITION_IN_QUESTION = re.compile(
    r"\b(?:als (?:ik|je|jij|u|we|wij|dat|het|er|ze|zij|hij)|indien|if|"
    r"si (?:je|j'|c'|on|vous|nous|ce|ca|elle|il)|"
    r"s'il)\b"
)
ALTERNATIVE = re.compile(
    r"(?:,|\b) ?(?:of|or|ou) (?:moet|moeten|kan|mag|is|zijn|voor|do|should|must|is|faut|dois)\b"
)
CONDITIONAL = re.compile(r"^(?:en |and |et )?(?:als|indien|wanneer|zodra|if|once|si|des que|lorsque)\b")
HEDGE = Keywords(
    r"overweg\w*|denken erover|twijfel\w*|considering|thinking about|envisag\w*|hesit\w*|"
    r"misschien later|peut-etre plus tard|(?:zou|zouden|would|serais) (?:\w+ )?dan\b|in dat geval|"
    r"if so\b|dans ce cas"
)
NEXT_TIME = Keywords(
    r"volgende keer|een volgende keer|next time|la prochaine fois|later dit jaar|tot de volgende|"
    r"a la prochaine(?! (?:seance|session|reunion|rencontre|soiree))|(?:at|to) a later (?:session|meeting)|"
    r"catch up (?:at|next)",
    suffix=r"\b",
)
# Someone else's invitation ("Inschrijven kan via onze website") or what already happened ("ik kon er toen
# niet bij zijn", "ik heb een mail gestuurd om me in te schrijven") is no request.
INVITATION = Keywords(
    r"inschrijven (?:kan|via|door|is mogelijk|tot)\b|schrijf (?:je|u) (?:\w+ )?in via|inschrijving via|"
    r"inscri(?:ption|vez-vous|re) (?:\w+ )?(?:via|sur|en ligne)|register (?:here|at|via|online|now)|"
    r"register (?:today|before)|sign up (?:here|at|via|now|today)|seats are limited|places are limited|"
    r"places limitees|plaatsen zijn beperkt|jullie zijn (?:\w+ ){0,2}welkom|iedereen is welkom|"
    r"you are (?:\w+ )?welcome to|registration (?:is|via|through|at|here|link|form)\b|"
    r"inschrijv\w* (?:is|zijn|gratis|kan|via|op onze)\b|inscription (?:est|gratuite|via|sur)\b"
)
PAST_ABSENCE = Keywords(
    r"kon|konden|could|couldn't|n'ai pas pu|vorige (?:keer|sessie)|last time|la derniere fois|toen",
    suffix=r"\b",
)
PAST_REGISTRATION = Keywords(
    r"(?:heb|hebben) (?:\w+ ){0,6}(?:gestuurd|gemaild|ingeschreven|aangemeld)|al ingeschreven|"
    r"already (?:registered|signed up)|deja inscrit\w*",
    suffix=r"\b",
)
# A question about registering in general ("je inschrijven in een CVO") asks no request; one that names
# the writer or the people they register ("mag je hem er nog bijzetten?") does.
FIRST_PERSON = re.compile(
    r"\b(?:ik|me|mij|mezelf|mijn|ons|onze|we|wij|hem|haar|hen|i|us|my|our|him|her|them|moi|nous)\b|\bm'"
)
GENERIC_PERSON = re.compile(r"\b(?:je|jij|u|men|one|you|on)\b")
NEGATION = re.compile(r"\b(?:niet|geen|not|cannot|nooit|never|ne|nog niet)\b|\bn'|n't\b")
# Erasing, read with the negation in its clause: "I am not asking you to delete anything".
ERASE_VERB = Keywords(
    r"verwijder\w*|wis(?:sen|t)?\b|gewist|wissing|schrap\w*|vernietig\w*|vergeten|bestanden|"
    r"supprim\w*|effac\w*|oubli|delete\w*|erase\w*|remove\w*|forgotten|erasure"
)
# Words that leave the network in one sentence and cancel one meeting in another: Flemish "uitschrijven voor
# dinsdag" and Belgian "me retirer de la liste pour cette fois" are excuses for one meeting; "van de lijst"
# may be the meeting's list or the mailing list. Read with the rest of the mail (`_leave_or_cancel`).
AMBIGUOUS_LEAVE = Keywords(
    r"uitschrijv\w*|uit te schrijven|schrij[fv]\w* (?:\w+ ){0,3}uit\b|uitgeschreven\b|desinscri\w*|"
    r"(?:van|uit|af) (?:de|jullie|julder|ulder|uw|het|je) (?:\w+ ){0,2}lijste?n?\b|"
    r"schrap\w* (?:\w+ ){0,4}lijst|retirer (?:\w+ ){0,4}liste|supprimer (?:\w+ ){0,3}liste|"
    r"remove (?:me|us|her|him) from|take (?:me|us) off"
)
LEAVING_FOR_GOOD = re.compile(
    r"\b(?:mailing\w*|nieuwsbrief|newsletter|mails?|e-?mails?|berichten|uitnodigingen|invitations|"
    r"meer|langer|longer|plus|adressen\w*|(?:leer)?netwerk|reseau|network|mailinglijst|verzendlijst)\b"
)
# No longer, at all: a cancel that says so leaves the network ("ik ga niet meer kunnen komen").
FOR_GOOD = re.compile(r"\b(?:niet meer|nooit meer|no longer|not anymore|any ?more|ne \w+ plus|plus jamais)\b")
# One occasion: "voor deze keer", "pour cette fois-ci", "for this one".
ONE_OCCASION = re.compile(
    r"\b(?:deze keer|die keer|voor (?:deze|die|de volgende|die) (?:sessie|avond|bijeenkomst)|"
    r"cette fois|pour (?:cette|la prochaine) (?:seance|session|soiree|fois)|this time|(?:this|that) one)\b"
)
NAMES_A_SESSION = re.compile(
    r"\d|\b(?:januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|"
    r"november|december|janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|"
    r"novembre|decembre|january|february|march|june|july|august|october|morgen|dinsdag|"
    r"mardi|tuesday|tomorrow|demain)\b"
)
# Not a request to us: "voor ik mij inschrijf", "before I sign up", "avant de m'inscrire", "zij schrijft zich
# zelf in", someone who registers on their own.
NOT_A_REQUEST = Keywords(
    r"(?:voor|voordat|alvorens|before|avant (?:de|que)) (?:\w+ ){0,3}"
    r"(?:inschrij\w*|in te schrijven|aanmeld\w*|"
    r"aan te melden|regist\w*|sign\w* up|inscri\w*|m'inscri\w*|join\w*)|"
    r"zich (?:\w+ ){0,2}zelf\b|zelf (?:\w+ ){0,2}(?:inschrijven|aanmelden)|herself|himself|themselves|"
    r"elle-meme|lui-meme|eux-memes"
)
# A cancellation taken back: "mag je mijn afmelding vergeten", "ignore my previous mail".
CANCEL_WITHDRAWN = Keywords(
    r"(?:afmelding|annulatie|annulering|annulation|cancellation|verontschuldiging)\w* (?:\w+ ){0,2}"
    r"(?:vergeten|negeren|intrekken|ongedaan|schrappen|annuleren|ignore|oublier|ignorer|disregard|withdraw)|"
    r"(?:vergeet|negeer|ignore|disregard|oubliez|ignorez) (?:\w+ ){0,3}(?:afmelding|annul\w*|cancel\w*|"
    r"vorige (?:mail|bericht)|previous (?:mail|email|message)|message precedent)"
)
# The writer excludes only themself while registering others: "zelf ben ik er niet bij".
SELF_EXCLUDED = re.compile(r"^(?:(?:en|maar|mais|but|and) )?(?:zelf|ikzelf|moi-meme|myself|i myself)\b")
# Where one statement ends and a contrasting one starts: "ik kan niet op 13 januari, maar schrijf me in voor
# maart", "I can't come on the 13th, but register me for March".
_CONTRAST_WORDS = (
    r"maar|doch|echter|daarentegen|anderzijds|but|however|though|instead|mais|par contre|cependant|"
    r"en revanche|toutefois|pourtant"
)
CONTRAST = Pattern(rf"(?:[,;:]\s*|\s+-\s+|\s)(?=(?:{_CONTRAST_WORDS})\b)|;\s*", re.IGNORECASE, lowered=True)
# Every cut is at a ";" or before one of the words: a sentence with neither (most) is passed over at once.
_CONTRAST_WORD = re.compile(_CONTRAST_WORDS)
# Words that name a time: a request that names one wins over an apology for another.
TIME_WORDS = re.compile(
    r"\b(?:\d{1,2}(?:[/.-]\d{1,2})?|januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|"
    r"november|december|janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    r"january|february|march|june|july|august|october|dinsdag|mardi|tuesday|morgen|demain|tomorrow)\b"
)


def split_clauses(sentence: str) -> list[str]:
    """A sentence cut before each contrast word ("..., maar ...", "... but ..."), words kept."""
    if sentence.isascii() and ";" not in sentence and not _CONTRAST_WORD.search(sentence.lower()):
        parts = [sentence.strip()]
    else:
        parts = [part.strip() for part in CONTRAST.split(sentence)]
    return [part for part in parts if part] or [sentence]


def time_words(folded: str) -> set[str]:
    """The days, months and weekdays a folded clause names."""
    return set(TIME_WORDS.findall(folded))


def hits(pattern: Keywords, joined: Joined, negatable: bool = False) -> set[int]:
    """Indices of the clauses where `pattern` matches (one scan of the whole text); optionally not negated
    within the clause."""
    found: set[int] = set()
    for match in pattern.finditer(joined.text):
        index = joined.index_at(match.start())
        start = max(joined.starts[index], match.start() - 40)
        if negatable and NEGATION.search(joined.text, start, match.end()):
            continue  # "ne pourrai pas assister", "ik ben er niet aanwezig" is no registration
        found.add(index)
    return found


def leave_or_cancel(folded: str) -> str:
    """What an ambiguous leaving word means in its clause: "unsubscribe", "cancel" or "" (ask the mail)."""
    if ONE_OCCASION.search(folded):
        return "cancel"  # "me retirer de la liste pour cette fois-ci"
    if LEAVING_FOR_GOOD.search(folded):
        return "unsubscribe"  # "uitschrijven uit het leernetwerk", "geen mails meer"
    return "cancel" if NAMES_A_SESSION.search(folded) else ""  # "uitschrijven voor dinsdag"
