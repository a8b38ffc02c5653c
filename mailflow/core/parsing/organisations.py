"""Organisations as mails name them: in a sentence ("vrijwilliger bij X"), a form field, a signature, a vCard.

Pure: no network, no clock. Names are normalised (no "vzw"/"asbl" affix, no department after a dash or bar,
normal capitals) and, when the config lists known organisations, abbreviations and mail domains map to their
name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mailflow.core.parsing.lexicon import is_first_name, is_function, is_place
from mailflow.core.parsing.names import NOT_NAME
from mailflow.core.parsing.structure import is_closing
from mailflow.core.parsing.text import Joined, Keywords, fold
from mailflow.settings import Organisation

# "op persoonlijke titel", "als individuele vrijwilliger": the person comes on their own account.
PERSONAL = re.compile(
    r"persoonlijke titel|als individu\w*|individuele vrijwilliger|niet via een (?:organisatie|vereniging)|"
    r"zonder (?:organisatie|vereniging)|geen (?:organisatie|vereniging)|in eigen naam|als (?:privepersoon|"
    r"particulier)|a titre (?:personnel|individuel|prive)|en tant que particulier|"
    r"sans (?:association|organisation)|"
    r"in a personal capacity|on my own behalf|as an individual|in my own name|"
    r"not (?:through|via|with) an organi[sz]ation"
)
# Words that announce where someone is active; the organisation follows a preposition.
ANCHOR = Keywords(
    r"vrijwilligers?(?:werk)?|vrijwilligster|actief|werkzaam|medewerkers?|werk|werken|werkt|coordineer|"
    r"coördineer|help\w*(?: \w+){0,3} mee|lid|stagiair\w*|engageer|engagement|allebei|beiden|samen|"
    r"b[ée]n[ée]vole?s?|membre|travaill\w*|tous (?:les )?deux|toutes (?:les )?deux|"
    r"volunteer\w*|work\w*|tutoring|member|active|coordinat\w*|coördinat\w*|engag[ée]e?|both|i['’]m|i am",
    ignore_case=True,
    suffix=r"\b",
)
PREPOSITION = re.compile(
    r"(?i:\b(?:bij|voor|van|in|via|chez|pour|de|du|avec|aupr[eè]s d[eu]|[àa](?= l)|au|aux|with|at|for|"
    r"through|of|in)\s+)(?:(?:de|het|la|le|les|l'|l’|the|een|onze|our|notre)\s+)?"
)
GENERIC_NOUN = re.compile(
    r"^(?:vzw|VZW|asbl|ASBL|v\.z\.w\.|vrijwilligersgroep|werkgroep|vereniging|organisatie|groep|project|association|"
    r"groupe|group|organi[sz]ation)\s+"
)
# fmt: off
GENERIC_WORDS = {
    "vzw", "asbl", "vrijwilligersgroep", "werkgroep", "vereniging", "organisatie", "groep", "project",
    "association", "groupe", "group", "organisation", "organization", "l'asbl", "l’asbl",
}
# fmt: on
AFFIX = re.compile(
    r"(?i)^(?:l['’]\s*)?(?:vzw|v\.z\.w\.?|asbl|a\.s\.b\.l\.?|npo|ngo)\s+|\s+(?:vzw|v\.z\.w\.?|asbl|a\.s\.b\.l\.?)$"
)
# fmt: off
CONNECTORS = {
    "in", "van", "voor", "de", "het", "en", "&", "du", "des", "la", "le", "et", "of", "the", "for", "and",
    "zonder", "sans", "without", "op", "aan", "'t", "der", "den",
}
# fmt: on
# fmt: off
STOP_LOWER = {
    "en", "maar", "waar", "om", "dus", "want", "die", "dat", "sinds", "al", "and", "where", "since", "et",
    "ou", "depuis", "mais", "qui", "we", "wij", "ik", "i", "je", "nous", "so", "zodat",
}
# fmt: on
# fmt: off
NOT_ORG = {
    "leernetwerk", "netwerk", "het leernetwerk", "jullie", "ons", "u", "team", "mijn team", "ons team",
    "deze", "dit", "dat", "december", "januari", "vorig jaar", "een", "zij", "hij", "gdpr", "avg", "rgpd",
}
# fmt: on
# Kinds of organisation: written in lower case before a name ("de vereniging Pamir", "l'école de devoirs
# « Le Tremplin »", "het taalcafé in Sint-Niklaas") or closing a compound ("Sint-Martinusparochie").
ORG_KIND = re.compile(
    r"(?:vzw|asbl|vereniging|werkgroep|parochie|netwerk|network|taalclub|taalcafe|huiswerkklas|huiswerkbegeleiding|"
    r"ecole de devoirs|buurtwerk|buurtwerking|buurtcentrum|buurthuis|ontmoetingshuis|voedselbank|"
    r"welzijnsschakels?|ocmw|cpas|caw|opvangcentrum|food bank|parish|parroquia|paroisse|association|"
    r"collectif|stichting|fondation|foundation|gemeente|stad|ville|commune|municipality|city of)"
)
_KIND_WORD = re.compile(rf"^{ORG_KIND.pattern}$")
_KIND_END = re.compile(rf"\w{{3}}{ORG_KIND.pattern}$")
_ACRONYM_KIND = {"vzw", "asbl", "ocmw", "cpas", "caw"}
# Before a kind of organisation: where someone is active ("bij", "in", "à l'", "at the").
_KIND_BEFORE = Keywords(
    r"(?:bij|in|van|voor|via|chez|[àa]|au|pour|at|with|for|from)\s+|(?=(?:onze|our|notre|nos)\s)",
    ignore_case=True,
    suffix=r"(?:(?:de|het|'t|t|den|la|le|les|the|een|onze|our|notre|ons|mijn|my|ma|mon)\s+|l['’]\s*)?",
)
# A trailing town phrase is where, not who: "Welzijnsschakel Het Anker in Lokeren".
_TOWN_TAIL = re.compile(r"(?i)\s+(?:in|uit|te|[àa]|at|from)\s+(?:de\s+|het\s+)?([\w'’ -]+?)\s*$")
_ASIDE = re.compile(r"\([^()\n]{1,40}\)")
_WINDOW_END = re.compile(r"[.;:()!?,\n]")
_BIJ = re.compile(r"\bbij\s+(?:(?:de|het)\s+)?(?=[A-Z0-9À-Þ])")
_SEGMENT_SPLIT = re.compile(r"\s+[|–—-]\s+|\s*\|\s*|\s*\(|\)\s*|,\s+")
_LEADING_AFFIX = re.compile(r"(?i)^(?:l['’]\s*)?(?:vzw|v\.z\.w\.|asbl)\s+")
_ORG_WORD = re.compile(r"[\w'’&+.\-]+|[(),;:!?]")  # the words of a name, and the marks that end it
_LINE_WORD = re.compile(r"[\w'’-]+")
_WORD = re.compile(r"\w+")


def _word_ok(word: str) -> bool:
    return bool(word) and (word[0].isupper() or word[0].isdigit() or word in ("&", "+"))


def capture_org(text: str, lowercase_mail: bool) -> str | None:
    """The organisation name at the start of `text`: capitalised words with small connectors
    ("Hand in Hand Gent")."""
    text = GENERIC_NOUN.sub("", text.strip())
    text = _LEADING_AFFIX.sub("", text)
    words = _ORG_WORD.findall(text)
    taken: list[str] = []
    for index, word in enumerate(words[:12]):
        if word in "(),;:!?" or (word.endswith(".") and word.lower() not in ("v.z.w.", "a.s.b.l.")):
            if word.endswith(".") and word not in "(),;:!?" and _word_ok(word) and not lowercase_mail:
                taken.append(word.rstrip("."))
            break
        lower = word.lower()
        if lowercase_mail:
            if lower in STOP_LOWER or len(taken) >= 6:
                break
            taken.append(word)
            continue
        if _word_ok(word):
            taken.append(word)
            continue
        following = words[index + 1] if index + 1 < len(words) else ""
        if taken and lower in CONNECTORS and _word_ok(following):
            taken.append(word)
            continue
        if _KIND_WORD.match(fold(word)) and _word_ok(following):
            taken.append(word)  # "Afghaanse vereniging Pamir", "Amnesty groep Gent"
            continue
        if lower in ("vzw", "asbl", "v.z.w"):
            taken.append(word)
        break
    while taken and taken[-1].lower() in CONNECTORS:
        taken.pop()
    name = " ".join(taken).strip()
    return name if plausible_org(name) else None


NUMBER_LIKE = re.compile(r"\d{4,}|\d+ ?[/.-] ?\d+|\d{2,} \d{2,}")
# An address line: a street word with a house number ("Kerkstraat 14", "rue Haute 12", "12 Church Road").
STREET = re.compile(
    r"(?:straat|laan|weg|plein|dreef|kaai|dijk|markt|steenweg|lei|rue|avenue|chaussee|boulevard|place|"
    r"quai|street|road|lane|square)\b\.? ?\d|^\d+\w? (?:\w+ )*(?:street|road|lane|avenue|square)\b|"
    r"^(?:rue|avenue|chaussee|boulevard|place|quai) .*\d"
)


def plausible_org(name: str | None) -> bool:
    """Not empty, not a place, a month, the network itself or a pronoun."""
    if not name:
        return False
    folded = fold(name).strip()
    bare = fold(AFFIX.sub("", name)).strip()
    if not bare or folded in NOT_ORG or bare in NOT_ORG or is_place(bare):
        return False
    words = bare.split()
    if len(words) == 1 and (words[0] in NOT_NAME and len(words[0]) > 4 or is_place(words[0])):
        return False
    # A phone number, a postcode, a date, an address, a job title or a department is never the organisation;
    # a short number in a name ("Buurtwerk 2B", "Vormingplus 3") may be.
    if NUMBER_LIKE.search(bare) or STREET.search(bare) or not any(ch.isalpha() for ch in bare):
        return False
    if is_function(name):
        return False
    return len(words) <= 8


def clean_org(name: str) -> str:
    """ "Werkgroep Vluchtelingen Gent vzw" -> "Werkgroep Vluchtelingen Gent";
    "CAW X – Onthaal Y" -> "CAW X"."""
    name = " ".join(name.replace("\u00a0", " ").split()).strip(" .,:;-–|")
    segments = [s.strip() for s in _SEGMENT_SPLIT.split(name) if s and s.strip()]
    if segments:
        name = segments[0]
    for _ in range(2):
        name = AFFIX.sub("", name).strip(" .,")
    name = re.sub(r"(?i)^(?:pour|voor|namens|for|on behalf of|au nom de)\s+", "", name)
    name = AFFIX.sub("", name).strip(" .,")
    name = _without_town(name)
    words = name.split()
    if words and (name.isupper() and len(name) > 5 or all(not w[:1].isupper() for w in words)):
        name = " ".join(_org_case(w, i) for i, w in enumerate(words))
    return name


def _without_town(name: str) -> str:
    """ "Welzijnsschakel Het Anker in Lokeren" -> "Welzijnsschakel Het Anker": a kind of organisation with its
    own name needs no town. Without that the town tells the branch and stays ("Rode Kruis in Deinze"), and a
    lone kind keeps it without "in" ("taalclub in Wetteren" -> "Taalclub Wetteren")."""
    tail = _TOWN_TAIL.search(name)
    if not tail or not is_place(tail.group(1)):
        return name
    head = name[: tail.start()].strip()
    words = head.split()
    kinds = [w for w in words if _KIND_WORD.match(fold(w)) or _KIND_END.search(fold(w))]
    if kinds and len(words) >= 2 and any(w[:1].isupper() and w not in kinds for w in words):
        return head
    if len(words) == 1 and kinds:
        return f"{head} {tail.group(1)}"
    return name


def _org_case(word: str, index: int) -> str:
    lower = word.lower()
    if index and lower in CONNECTORS:
        return lower
    return "-".join(part[:1].upper() + part[1:] for part in lower.split("-"))


def known_organisation(name: str | None, organisations: Sequence[Organisation]) -> str | None:
    """The configured name for an abbreviation or spelling ("WVG" -> "Werkgroep Vluchtelingen Gent"),
    else None."""
    if not name:
        return None
    wanted = _key(name)
    for organisation in organisations:
        for candidate in (organisation.name, *organisation.aliases):
            key = _key(candidate)
            if key and (key == wanted or wanted.startswith(key + " ")):
                return organisation.name
    return None


def organisation_for_domain(address: str | None, organisations: Sequence[Organisation]) -> str | None:
    """The configured organisation whose mail domain the address has, else None."""
    if not address or "@" not in address:
        return None
    domain = address.rsplit("@", 1)[1].lower()
    for organisation in organisations:
        for known in organisation.domains:
            known = known.lower().lstrip("@.")
            if domain == known or domain.endswith("." + known):
                return organisation.name
    return None


def _key(name: str) -> str:
    return " ".join(fold(AFFIX.sub("", name)).replace("-", " ").split())


def normalise_org(name: str | None, organisations: Sequence[Organisation]) -> str | None:
    """A cleaned organisation name, the configured one when known."""
    if not name:
        return None
    known = known_organisation(name, organisations)
    if known:
        return known
    cleaned = clean_org(name)
    known = known_organisation(cleaned, organisations)
    return known or (cleaned if plausible_org(cleaned) else None)


def org_in_sentence(sentence: str) -> str | None:
    """The organisation a sentence says someone is active for
    ("Ik ben vrijwilliger bij X", "I volunteer with X")."""
    return first_org([sentence])


def first_org(sentences: Sequence[str], skip_questions: bool = False) -> str | None:
    """The organisation the first sentence that names one says someone is active for; anchored readings
    ("vrijwilliger bij X") before a bare "bij X" in the same sentence. All sentences are scanned at once."""
    joined = Joined(sentences)
    text = joined.text
    candidates: list[tuple[int, int, int]] = []  # (sentence, rule, where the name starts): the order of trust
    # A short aside does not end the window: "we volunteer as interpreters (Ukrainian/Russian) for X".
    unbracketed = _ASIDE.sub(lambda m: " " * len(m.group(0)), text)
    for _, anchor_end in ANCHOR.spans(text):
        window = _WINDOW_END.split(unbracketed[anchor_end : anchor_end + 70], maxsplit=1)[0]
        for prep in PREPOSITION.finditer(window):
            position = anchor_end + prep.end()
            candidates.append((joined.index_at(position), 0, position))
    # "bij" + a capitalised name needs no anchor: "sinds vorig jaar bij Hand in Hand Gent".
    for match in _BIJ.finditer(text):
        candidates.append((joined.index_at(match.end()), 1, match.end()))
    # A kind of organisation with its name or town: "bij de vereniging Pamir", "in de Sint-Martinusparochie",
    # "à l'école de devoirs « Le Tremplin »", "van het ocmw brugge".
    for _, end in _KIND_BEFORE.spans(text):
        candidates.append((joined.index_at(end), 2, end))
    for index, rule, position in sorted(candidates):
        sentence = joined.sentences[index]
        if skip_questions and sentence.rstrip().endswith("?"):
            continue
        if rule == 2:
            name = kind_org(text[position : joined.end_of(index)])
            if name and plausible_org(name):
                return name
            continue
        lowercase = rule == 0 and sentence == sentence.lower()
        first_word = text[position : position + 30].split(" ", 1)[0]
        if not (
            lowercase or first_word[:1].isupper() or first_word[:1].isdigit() or first_word in GENERIC_WORDS
        ):
            continue  # "bij de dokter": an organisation starts with a capital, or "vzw", "werkgroep", ...
        name = capture_org(text[position : joined.end_of(index)], lowercase)
        if name and rule == 1 and " " not in name and not name.isupper():
            continue  # a bare "bij Hilde" is more often a person than an organisation; "bij WVG" is one
        if name:
            return name
    return None


_KIND_PHRASE = re.compile(rf"(?i)^((?:[\w'’-]+\s+)?{ORG_KIND.pattern}|[\w'’-]*{ORG_KIND.pattern})\b\s*")


def kind_org(text: str) -> str | None:
    """A kind of organisation with its name or town at the start of `text`: "vereniging Pamir in Oostende",
    "école de devoirs « Le Tremplin »", "taalclub in wetteren", "Sint-Martinusparochie"; a bare kind ("de
    vereniging", "het sociaal huis") is no one's organisation."""
    text = text.replace("«", " ").replace("»", " ").replace("\u00a0", " ").replace('"', " ")
    text = " ".join(text.split())
    kind = _KIND_PHRASE.match(fold(text))
    if not kind:
        return None
    head, rest = text[: kind.end(1)], text[kind.end() :]
    # A capitalised kind is a name ("bij t Ontmoetingshuis", "de Sint-Martinusparochie").
    compound = " " not in head and head[:1].isupper()
    if head[:1].isupper() and not compound and not _KIND_WORD.match(fold(head.split()[-1])):
        return None
    named = capture_org(rest, lowercase_mail=False) if rest[:1].isupper() else None
    place = ""
    # "CPAS de Forest", "OCMW van Gent": the town is part of the official name.
    of_town = re.match(r"(?i)(de|du|van|d['’])\s*([\w'’-]+(?:\s+[\w'’-]+)?)", rest)
    if not named and of_town and is_place(of_town.group(2).split()[0]):
        return f"{head} {of_town.group(1)} {of_town.group(2).split()[0]}".replace("' ", "'")
    # "in Sint-Niklaas", "brugge", "van de parochie in Izegem": the town, up to the end of the clause
    clause = re.split(r"[,.;:()!?]", rest, maxsplit=1)[0]
    starts = [0] + [m.end() for m in re.finditer(r"(?i)\b(?:in|uit|te|[àa])\s+", clause)]
    for start in starts:
        words = clause[start:].split()[:3]
        for size in (3, 2, 1):  # the longest place that fits
            if len(words) >= size and is_place(" ".join(words[:size])):
                place = " ".join(words[:size])
                break
        if place:
            break
    if not (named or place or compound):
        return None
    parts = [head] + ([named] if named else []) + ([place] if place and not named else [])
    name = " ".join(parts)
    words = name.split()
    if name == name.lower():
        words = [w.upper() if w in _ACRONYM_KIND else _org_case(w, i) for i, w in enumerate(words)]
    else:
        words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def org_from_signature(lines: Sequence[str], person_tokens: set[str]) -> str | None:
    """The organisation line of a signature: not the name, the function, a phone, an address or a web link."""
    plain: list[str] = []
    from_jobs: list[str] = []
    for line in lines:
        text = line.strip().strip("*_")
        if not text or "@" in text or "www." in text.lower() or "http" in text.lower() or is_closing(text):
            continue
        words = [fold(w) for w in _LINE_WORD.findall(text)]
        if words and (
            words[0] in ("fam", "familie", "famille", "family")
            or all(is_first_name(w) or w in ("en", "and", "et") for w in words)
        ):
            continue  # "Fam. Vandecasteele", "Karim en Leila": the people, not their organisation
        if not any("a" <= ch <= "z" for ch in fold(text)):
            continue  # the name again in another script ("Дмитро Савченко")
        if sum(ch.isdigit() for ch in text) >= 3 or text.endswith(("?", "!")) or len(text.split()) > 9:
            continue
        segments = [s.strip() for s in _SEGMENT_SPLIT.split(text) if s and s.strip()]
        # Not the name ("Anna Peeters - vrijwilliger Rode Kruis" keeps only what follows the name).
        segments = [s for s in segments if not {fold(w) for w in _WORD.findall(s)} <= person_tokens]
        if not segments:
            continue
        text = " | ".join(segments)
        if is_function(segments[0]):
            after_job = re.sub(
                r"^(?:[\w'’-]+\s+){0,2}?(?:bij|voor|van|chez|pour|at|for|with|–|-)?\s*(?=[A-Z])",
                "",
                segments[0],
                count=1,
            )
            if after_job != segments[0] and not is_function(after_job):
                from_jobs.append(after_job)
            from_jobs.extend(s for s in segments[1:] if not is_function(s))
            continue
        bare = AFFIX.sub("", text).lstrip("'’ ")  # "vzw Kleurrijk", "'t Anker vzw"
        if text.lower().startswith(("'t ", "’t ")):
            bare = text[3:]
        if bare[:1].isupper() or text.lower().startswith(("pour ", "voor ", "namens ", "for ")):
            plain.append(text)
    for candidate in plain + from_jobs:
        cleaned = clean_org(candidate)
        if plausible_org(cleaned) and not cleaned.endswith("."):
            return cleaned
    for line in lines:  # "(van het taalcafé in Sint-Niklaas)": a kind of organisation with its town
        text = re.sub(r"^[\s(]*(?:van|from|de|voor|for|pour)?\s*(?:het|de|'t|the|la|le|l['’])?\s*", "", line)
        found = kind_org(text.rstrip(" )"))
        if found:
            return found
    return None
