"""People's names as mails write them: display names, signatures, intros, address local parts,
and normal capitals.

Pure: no network, no clock. "Geldhof, Tom" -> "Tom Geldhof", "VANDERSTRAETEN Jean-Philippe" ->
"Jean-Philippe Vanderstraeten", "ahmed el amrani" -> "Ahmed el Amrani", "DE CLERCQ" -> "De Clercq".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from mailflow.core.parsing import lexicon
from mailflow.core.parsing.text import fold

# Surname particles. Flemish ones open the surname with a capital ("Rosa De Clercq", "Van den Broeck").
# fmt: off
PARTICLES = {
    "de", "van", "der", "den", "ter", "ten", "te", "le", "la", "du", "des", "di", "da", "del", "della", "von",
    "vom", "zu", "vande", "vanden", "vander", "dos", "das", "do", "y", "'t", "d'", "el", "al", "bin", "ben",
    "ibn", "abu", "bou",
}
# fmt: on
LOWER_PARTICLES = {
    "el",
    "al",
    "bin",
    "ibn",
    "abu",
    "bou",
    "y",
    "del",
    "della",
    "dos",
    "das",
    "do",
    "von",
    "zu",
}
# Words that start with a capital in mails but are never part of a person's name (folded): greetings,
# closings, pronouns, days and months, and the network's words, organisations, functions and places that look
# like names.
# fmt: off
NOT_NAME = {
    "dag", "beste", "hallo", "hoi", "hey", "hi", "hello", "dear", "bonjour", "bonsoir", "salut",
    "goedemorgen", "goedemiddag", "goedenavond", "goeiedag", "goedendag", "geachte", "madame", "monsieur",
    "mevrouw", "meneer", "mijnheer", "mr", "mrs", "ms", "dr", "dokter", "meester", "mme", "mlle", "m", "prof",
    "heer", "juffrouw", "groeten", "groetjes", "groet", "vriendelijke", "hartelijke", "met", "cordialement",
    "regards", "kind", "best", "thanks", "thank", "merci", "bedankt", "dank", "cheers", "sincerely",
    "amicalement", "bien", "alvast", "tot", "i'm", "i’m", "i'd", "i'll", "c'est", "j'ai", "je m'appelle",
    "ik", "je", "jij", "u", "wij", "we", "zij", "hij", "ze", "i", "you", "she", "he", "they", "il", "elle",
    "nous", "vous", "mijn", "my", "mon", "ma", "mes", "onze", "our", "notre", "het", "een", "the", "a",
    "this", "dit", "deze", "die", "dat", "en", "and", "et", "of", "or", "ou", "maar", "but", "mais", "ook",
    "also", "aussi", "sorry", "helaas", "graag", "hierbij", "bij", "voor", "van", "in", "op", "aan", "ps",
    "nb", "tel", "gsm", "team", "info", "secretariaat", "admin", "support", "desk", "beheer", "office",
    "service", "dienst", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday", "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december", "janvier", "fevrier", "mars", "avril",
    "juin", "juillet", "aout", "septembre", "octobre", "novembre", "decembre", "january", "february", "march",
    "june", "july", "august", "october", "leernetwerk", "netwerk", "network", "reseau", "sessie", "session",
    "seance", "vzw", "asbl", "ocmw", "caw", "campus", "gent", "gand", "ghent", "brussel", "bruxelles",
    "brussels", "vlaanderen", "belgie", "belgique", "belgium", "coordinator", "coordinatrice", "coordinateur",
    "medewerker", "stafmedewerker", "vrijwilliger", "vrijwilligster", "volunteer", "benevole", "advocaat",
    "advocaten", "maatschappelijk", "werker", "directeur", "directrice", "voorzitter", "secretaris",
    "verantwoordelijke", "teamverantwoordelijke", "manager", "officer", "assistant", "assistent",
    "psycholoog", "huisarts", "leerkracht", "student", "outlook", "microsoft", "gmail", "iphone", "android",
    "samsung", "yahoo", "mail", "email", "e-mail", "www", "http", "nieuwsbrief", "newsletter", "uitnodiging",
    "herinnering", "inschrijving", "inscription", "registration", "vraag", "question", "afwezig", "absent",
    "verzonden", "envoye", "sent", "disclaimer", "vrouw", "man", "echtgenote", "echtgenoot", "collega",
    "collega's", "moeder", "vader", "schoonmoeder", "buurvrouw", "buurman", "fam", "familie", "famille",
    "family", "ondergetekende", "commission", "commissie",
}
# A word ending like this names a group, not a person ("Sint-Vincentiusvereniging", "Sint-Martinusparochie").
_GROUP_WORD = re.compile(r"\w{4}(?:vereniging|parochie|werking|werkgroep|centrum|netwerk|school)$")
# fmt: on
# Words after which a name has ended ("Griet Bauwens en ik", "Bert Cools van Welkom in Wevelgem").
STOP_AFTER_NAME = {
    "en",
    "and",
    "et",
    "van",
    "bij",
    "from",
    "of",
    "de",
    "die",
    "who",
    "qui",
    "uit",
    "met",
    "with",
}
_HYPHEN_BREAK = re.compile(r"(\w)-\s+(?=\w)")
_NAME_WORD = re.compile(r"[^\W\d_][\w'’\-]*")
_WORD_OR_STOP = re.compile(r"[^\W\d_][\w'’\-]*|[,.;:!?()\n]")  # a name's words, and what ends a name
_JOINER = re.compile(r"\s*(?:,|en|and|et|&)\s+")  # between the names of a list
_JOINS = re.compile(r"([-'’])")  # within one name: "Jean-Pierre", "D'Haene"
_WORD = re.compile(r"[^\W\d_][\w'’.\-]*", re.UNICODE)
_ORG_SUFFIX_IN_DISPLAY = re.compile(
    r"\s*(?:\||\s-\s|\s–\s|\s—\s|\(|\[|/|\bvia\b|\bnamens\b|\bfor\b|\bpour\b).*$", re.IGNORECASE
)


@lru_cache(maxsize=512)
def tokens_of(text: str) -> tuple[str, ...]:
    """The words of a name-like text, with "Claes- Haelvoet" (an HTML span break) joined back."""
    if "-" in text:
        text = _HYPHEN_BREAK.sub(r"\1-", text)
    return tuple(t.strip(".") if not t.endswith("'") else t for t in _WORD.findall(text))


def is_particle(token: str) -> bool:
    return fold(token) in PARTICLES


def looks_like_name(tokens: Sequence[str], allow_lower: bool = False) -> bool:
    """One to five words, each capitalised (or a particle), none of them a greeting, month, job or place."""
    if not 1 <= len(tokens) <= 5:
        return False
    real = [t for t in tokens if not is_particle(t)]
    if not real or is_particle(tokens[-1]) and len(tokens) > 1:
        return False
    for index, token in enumerate(tokens):
        folded = fold(token)
        if is_particle(token):
            continue
        after_particle = index > 0 and is_particle(tokens[index - 1])  # "De Meester", "Van Dag"
        if len(folded) == 1 and token.isupper() and token is not tokens[-1]:
            continue  # an initial: "J. Vanden Bussche"
        if folded in NOT_NAME and not after_particle or len(folded.replace("-", "").replace("'", "")) < 2:
            return False
        if _GROUP_WORD.search(folded):
            return False
        if not allow_lower and not token[0].isupper():
            return False
        if any(ch.isdigit() for ch in token):
            return False
    return True


def _cap(token: str) -> str:
    """One word in normal capitals: "d'haene" -> "D'Haene", "jean-philippe" -> "Jean-Philippe"."""
    parts = _JOINS.split(token.lower())
    out = []
    for index, part in enumerate(parts):
        if part in ("-", "'", "’"):
            out.append(part)
        elif index >= 2 and parts[index - 1] in "'’" and len(parts[index - 2]) > 1:
            out.append(part)  # "o'clock"-like apostrophes inside a word stay lower
        else:
            out.append(part[:1].upper() + part[1:])
    return "".join(out)


@lru_cache(maxsize=512)
def normal_case(name: str) -> str:
    """A name in normal capitals, leaving well-written mixed case alone but fixing ALL CAPS and all lower
    words."""
    tokens = tokens_of(name)
    if not tokens:
        return name.strip()
    mixed = any(t != t.upper() and t != t.lower() for t in tokens)
    out: list[str] = []
    previous_particle = False
    for index, token in enumerate(tokens):
        needs = token.isupper() and len(token) > 1 or token.islower() or not mixed
        if not needs:
            out.append(token)
            previous_particle = is_particle(token)
            continue
        folded = token.lower()
        if is_particle(token) and index > 0 and index < len(tokens) - 1:
            # Flemish surnames open with a capital particle ("De Clercq", "Van den Broeck"); Arabic and
            # Spanish particles stay lower ("Ahmed el Amrani").
            if folded in LOWER_PARTICLES or previous_particle:
                out.append(folded)
            else:
                out.append(_cap(folded))
            previous_particle = True
            continue
        out.append(_cap(token))
        previous_particle = False
    return " ".join(out)


@lru_cache(maxsize=512)
def from_display_name(display: str | None) -> str | None:
    """The person in a From/Cc display name, first name first, or None for a role or organisation mailbox."""
    if not display or "@" in display:
        return None
    text = display.strip().strip("'\"").strip()
    text = _ORG_SUFFIX_IN_DISPLAY.sub("", text).strip(" ,")
    if text.count(",") == 1:
        surname, given = (part.strip() for part in text.split(","))
        if surname and given and len(given.split()) <= 3 and len(surname.split()) <= 3:
            text = f"{given} {surname}"  # "Geldhof, Tom"
    tokens = tokens_of(text)
    if not looks_like_name(tokens, allow_lower=all(t.islower() for t in tokens)):
        return None
    # "VANDERSTRAETEN Jean-Philippe", "DE CLERCQ Rosa": a surname in capitals written first.
    caps = 0
    while caps < len(tokens) and tokens[caps].isupper() and len(tokens[caps]) > 1:
        caps += 1
    if 0 < caps < len(tokens) and not any(t.isupper() for t in tokens[caps:]):
        tokens = tokens[caps:] + tokens[:caps]
    return first_name_leads(normal_case(" ".join(tokens)))


@lru_cache(maxsize=512)
def first_name_leads(name: str) -> str:
    """ "Goethals Bram" -> "Bram Goethals", "Van Hecke Godelieve" -> "Godelieve Van Hecke": a name whose last
    word is a common first name and whose first is not is written surname first (Outlook display names,
    formal Flemish signatures)."""
    tokens = name.split()
    if len(tokens) < 2 or is_particle(tokens[-1]):
        return name
    if lexicon.is_first_name(tokens[-1]) and not any(lexicon.is_first_name(t) for t in tokens[:-1]):
        return " ".join([tokens[-1], *tokens[:-1]])
    return name


def from_local_part(address: str | None, first_name: str | None) -> str | None:
    """ "dirk.lefevere@" signed "Dirk" -> "Dirk Lefevere"; None unless the first name confirms the reading."""
    if not address or not first_name:
        return None
    local = address.split("@", 1)[0].lower()
    first = fold(first_name)
    parts = [p for p in re.split(r"[._\-+]", re.sub(r"\d+", "", local)) if p]
    if len(parts) >= 2 and parts[0] == first and all(len(p) >= 2 for p in parts[1:]) and len(parts) <= 3:
        return normal_case(" ".join([first_name] + parts[1:]))
    initials = "".join(word[:1] for word in re.split(r"[- ]+", first) if word)
    if len(parts) == 2 and parts[0] == initials and len(parts[1]) >= 3:
        return normal_case(
            f"{first_name} {parts[1]}"
        )  # "a.peeters@" signed "Anna", "jp.kabongo@" "Jean-Pierre"
    if len(parts) == 1 and parts[0].startswith(first) and len(parts[0]) - len(first) >= 3:
        return normal_case(f"{first_name} {parts[0][len(first) :]}")  # "wimhoste@" signed "Wim"
    return None


@lru_cache(maxsize=512)
def same_person(a: str, b: str) -> bool:
    """Two spellings of one name: the same words, in any order and capitals."""
    return sorted(fold(t) for t in tokens_of(a)) == sorted(fold(t) for t in tokens_of(b))


def first_name_first(name: str, first_name: str | None) -> str:
    """ "De Clercq Rosa" signed "Rosa" -> "Rosa De Clercq": the signed first name leads."""
    tokens = name.split()
    if (
        first_name
        and len(tokens) >= 2
        and fold(tokens[-1]) == fold(first_name)
        and fold(tokens[0]) != fold(first_name)
    ):
        return " ".join([tokens[-1]] + tokens[:-1])
    return name


# Titles before a name ("Mrs Denise Van Wassenhove", "Monsieur Yonas Gebremedhin", "dhr. Vanhoutte").
TITLES = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "mevrouw",
    "mevr",
    "meneer",
    "mijnheer",
    "dhr",
    "heer",
    "monsieur",
    "madame",
    "mademoiselle",
    "mme",
    "mlle",
    "m",
    "dr",
    "prof",
    "me",
}


def name_at(text: str, allow_lower: bool) -> list[str]:
    """The name-like words at the start of `text` ("Griet Bauwens, vrijwilliger" -> [Griet, Bauwens]);
    a title before them is left out ("Mrs Denise Van Wassenhove")."""
    words = _WORD_OR_STOP.findall(text[:120])
    while len(words) >= 2 and fold(words[0]) in TITLES and words[0][:1].isupper():
        words = words[2:] if words[1] == "." else words[1:]
    taken: list[str] = []
    for word in words:
        if not word[0].isalpha() or len(taken) >= 5:
            break
        folded = fold(word)
        if (
            taken
            and folded in STOP_AFTER_NAME
            and (word[0].islower() or allow_lower)
            and (len(taken) >= 2 or folded not in PARTICLES)
        ):
            break
        if word[0].isupper() or (is_particle(word) and taken) or allow_lower:
            taken.append(word)
            continue
        break
    while taken and is_particle(taken[-1]):
        taken.pop()
    return taken if looks_like_name(taken, allow_lower=allow_lower) else []


def names_listed(text: str, allow_lower: bool = False) -> list[list[str]]:
    """The names at the start of `text`, also a list: "Lies Janssens en Tom Peeters" -> two names. In a mail
    written without capitals (`allow_lower`) a name must open with a known first name ("jana de meester")."""
    found: list[list[str]] = []
    rest = text
    for _ in range(5):
        tokens = name_at(rest, allow_lower=False)
        if not tokens and allow_lower:
            tokens = name_at(rest, allow_lower=True)[:4]
            if not (len(tokens) >= 2 and lexicon.is_first_name(tokens[0])):
                tokens = []
        if not tokens:
            break
        found.append(tokens)
        position = rest.find(tokens[-1]) + len(tokens[-1])
        joiner = _JOINER.match(rest[position:])
        if not joiner:
            break
        rest = rest[position + joiner.end() :]
    return found


def name_before(text: str) -> list[str]:
    """The name-like words at the end of `text` ("Helaas moeten Hans Deprez" -> [Hans, Deprez])."""
    words = _NAME_WORD.findall(text[-80:])
    taken: list[str] = []
    for word in reversed(words):
        if len(taken) >= 4:
            break
        if word[0].isupper() and fold(word) not in NOT_NAME or (is_particle(word) and taken):
            taken.insert(0, word)
            continue
        break
    while taken and is_particle(taken[0]) and len(taken) > 1 and taken[0].islower():
        taken.pop(0)
    return taken if looks_like_name(taken) else []
