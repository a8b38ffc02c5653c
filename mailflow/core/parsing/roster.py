"""Who a mail puts forward besides (or instead of) its writer: lists and tables of names, a person registered
on someone's behalf, and the sentences that leave the writer, or a named person, out.

Pure: no network, no clock. A coordinator reads "Namens onze directeur, Filip Vanhoutte, ..." as Filip's
registration, "Zelf kan ik niet" as the writer staying home, and a pasted table (one cell a line, as Outlook
flattens it) as the people in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailflow.core.parsing import names as nm
from mailflow.core.parsing.lexicon import is_function
from mailflow.core.parsing.text import Keywords, fold

# The writer acts for someone else: "namens", "in naam van", "on behalf of", "au nom de", "de la part de".
PROXY = Keywords(
    r"namens|in naam van|on behalf of|au nom de|de la part de",
    ignore_case=True,
    suffix=r"\s+(?:(?:mijn|onze|ons|my|our|ma|mon|mes|notre|nos)\s+(?:[^\W\d_][\w'’-]*\s+){0,3}?[^\W\d_][\w'’-]*\s*,\s*)?",
)
# A registration verb with a titled person: "inscrire Monsieur Yonas Gebremedhin", "register Mrs X".
TITLED = Keywords(
    r"inscrire|inschrijven|aanmelden|registreren|register|sign up|enroll|inscris",
    ignore_case=True,
    suffix=r"\s+(?=(?:monsieur|madame|mevrouw|meneer|mr|mrs|ms|m\.|mme|dhr\.?|de heer)\s)",
)
# The writer leaves themself out: "zelf kan ik niet", "ik kom zelf niet mee binnen", "I won't be attending
# myself", "je ne pourrai malheureusement pas me libérer", "Zelf ben ik die week met verlof".
WRITER_OUT = re.compile(
    r"\b(?:zelf (?:kan|kom|ben|zal|ga) ik (?:\w+ ){0,6}?(?:niet|met verlof|afwezig)|"
    r"ik (?:kan|kom|ben|zal|ga) (?:er )?(?:\w+ ){0,2}?zelf (?:\w+ ){0,3}?niet|"
    r"ikzelf (?:kan|kom|ben) (?:\w+ ){0,3}?niet|ik (?:kan|kom) (?:helaas |zelf )*niet mee|"
    r"i (?:won't|will not|can't|cannot|can not) (?:be attending|attend|make it|come|join)"
    r"(?: \w+){0,3}? myself|"
    r"i(?:'m| am) afraid i can't make it|i won't be (?:attending|there|coming)|not (?:me|myself),|"
    r"je ne (?:pourrai|peux|serai|viendrai) (?:\w+ ){0,2}?pas (?:etre des votres|me liberer|venir|"
    r"etre present|participer)|pour ma part,? je ne|moi-meme,? je ne)"
)
# The writer speaks for more than themself: "we komen allebei", "wij kunnen niet", "nous venons tous les
# deux", "we both can't make it". An answer to a mail naming two people sharing an address then means both.
SEVERAL = re.compile(
    r"\b(?:we|wij|ons|onze|allebei|alle ?twee|beiden|samen|nous|tous les deux|toutes les deux|ensemble|"
    r"us|both|together|the two of us)\b"
)


def speaks_for_several(text: str) -> bool:
    """Whether the writer's own text speaks in the plural ("we", "nous", "both")."""
    return bool(SEVERAL.search(fold(text)))


# The writer is in it after all: "en ikzelf", "moi aussi", "(ikzelf)".
WRITER_IN = re.compile(r"\b(?:en ikzelf|ikzelf ook|en ik(?:zelf)? kom|et moi|and myself|and me|ook ik)\b")
# A named person who does not come ("..., maar zij kan helaas niet") or speaks ("is one of the speakers").
NEGATED = re.compile(
    r"\b(?:zij|hij|ze|she|he|il|elle) (?:kan|kunnen|komt|can't|cannot|won't|will not|ne peut|ne pourra|"
    r"ne viendra)(?: \w+){0,2}? (?:niet|not|pas)\b|\b(?:zij|hij|ze|she|he) (?:can't|cannot|won't)\b"
)
SPEAKER = re.compile(
    r"\b(?:is|zijn|est|sont) (?:een van de |one of the |l'un des |l'une des |a |an |een |un |une )?"
    r"(?:sprekers?|speakers?|spreekster|intervenants?|intervenantes?|orat\w+|gastspreker)\b"
)
ROSTER_HEADERS = {
    "naam", "name", "nom", "functie", "function", "fonction", "rol", "role", "team", "e-mail", "email",
    "mail", "organisatie", "organisation", "organization", "afdeling", "dienst", "service", "telefoon",
    "phone", "gsm", "tel", "prenom", "voornaam",
}  # fmt: skip
# What opens a list item before the name: the writer or a relation ("moi-même,", "mijn collega").
LEAD = re.compile(
    r"^(?i:(?:moi-m[eê]me|moi|ikzelf|ik|myself|me|mezelf)\s*[,:(]\s*|(?:mijn|onze|my|our|ma|mon|notre|nos)\s+"
    r"[^\W\d_][\w'’-]*\s+)"
)
HEADER_ROW = re.compile(r"(?im)^\s*(?:naam|name|nom)\s*$|^\s*(?:naam|name|nom)\s+\w+")
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_BULLET = re.compile(r"^(?:[-*•·–]|\d{1,2}[.)])\s+")
_WORDS = re.compile(r"[\w-]+")


@dataclass
class Listed:
    name: str
    detail: str  # the rest of the line: a role, a team, an organisation
    email: str | None


def proxy_names(sentence: str) -> list[list[str]]:
    """The people a sentence names as the ones the writer acts for."""
    found: list[list[str]] = []
    for pattern in (PROXY, TITLED):
        for _, end in pattern.spans(sentence):
            tokens = nm.name_at(sentence[end:], allow_lower=False)
            if tokens:
                found.append(tokens)
    return found


def writer_out(text: str) -> bool:
    folded = fold(text)
    return bool(WRITER_OUT.search(folded)) and not WRITER_IN.search(folded)


def not_coming(after_name: str) -> bool:
    """The clause after a name says they do not come ("..., maar zij kan helaas niet")."""
    return bool(NEGATED.search(fold(after_name)))


def speaks(after_name: str) -> bool:
    """The clause after a name says they are a speaker that evening: they do not register."""
    return bool(SPEAKER.search(fold(after_name)))


def roster(body: str) -> list[Listed]:
    """The people of a list or table introduced by a line ending in ":" or a header row ("Naam Functie
    Team"); one a line, or a table flattened to one cell a line. Prose ends it."""
    if ":" not in body and not HEADER_ROW.search(body):
        return []  # no list opens here: the common case, read cheaply
    lines = [line.strip() for line in body.split("\n")]
    people: list[Listed] = []
    active = False
    for line in lines:
        bullet = _BULLET.match(line)
        bare = line[bullet.end() :] if bullet else line
        words = _WORDS.findall(bare.lower())
        if not bare:
            continue
        if bare.endswith(":") or (words and all(w in ROSTER_HEADERS for w in words)):
            active = True
            continue
        if not active:
            continue
        item = LEAD.sub("", bare)  # "moi-même, Bernard Leloup", "ma collègue Fatou Diop"
        tokens = nm.name_at(item, allow_lower=False)
        rest = item[item.find(tokens[-1]) + len(tokens[-1]) :] if tokens else item
        detail = rest.strip(" \t,;:()–—-|")
        address = ADDRESS.search(rest)
        if len(tokens) >= 2 and _detail_ok(detail):
            people.append(
                Listed(nm.normal_case(" ".join(tokens)), detail, address.group(0) if address else None)
            )
            continue
        if people and (ADDRESS.fullmatch(bare) or len(words) <= 5 and not bare.endswith((".", "?", "!"))):
            if ADDRESS.fullmatch(bare) and people[-1].email is None:
                people[-1].email = bare.lower()
            continue  # a cell of the row above: a role, an address
        if not bullet and (len(words) > 5 or bare.endswith((".", "?", "!"))):
            active = False
    return people


def _detail_ok(detail: str) -> bool:
    """What follows a name in a list: nothing, a role or team, an address, an aside; not a sentence."""
    if not detail or ADDRESS.search(detail) or is_function(detail):
        return True
    return len(detail.split()) <= 6 and not detail.endswith((".", "?", "!"))
