"""Who a mail is about: the sender, a colleague registered with or instead of them, or the writer of a forward.

Pure: no network, no clock. Names come from the sender's own words (an intro, a form block, the signature), then the
From and Cc display names, a vCard and the address; never from quoted text, greetings or disclaimers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from mailflow.parsing import names as nm
from mailflow.parsing import organisations as orgs
from mailflow.parsing.headers import sender_of
from mailflow.parsing.intent import CANCEL_STRONG, CANCEL_WEAK, REGISTER_STRONG, REGISTER_WEAK
from mailflow.parsing.mime import VCard
from mailflow.parsing.result import Intent, ParseContext, Person
from mailflow.parsing.structure import Forwarded, is_closing, split_signature
from mailflow.parsing.text import fold, sentences

INTRO = re.compile(
    r"(?i:\b(?:ik ben|ik heet|mijn naam is|je m['’]appelle|mon nom est|je suis|my name is|i am|i['’]m|this is|"
    r"hier is|moi c['’]est)\s+)"
)
FORM_LINE = re.compile(r"^\s*[-*•]?\s*([^\W\d_][^\W\d_ ./'’-]*(?:[ /'’-][^\W\d_]+){0,3})\s*:\s*(\S.*?)\s*$")
FORM_FULL = {"naam", "name", "nom", "volledige naam", "full name", "nom complet", "naam en voornaam",
             "nom et prenom", "deelnemer", "participant"}
FORM_FIRST = {"voornaam", "prenom", "first name", "given name", "roepnaam"}
FORM_LAST = {"achternaam", "familienaam", "surname", "last name", "family name", "nom de famille"}
FORM_ORG = {"organisatie", "organisation", "organization", "vereniging", "association", "asbl", "vzw", "werkgroep",
            "groep", "organisme", "structure", "dienst", "instelling", "service", "group", "groupe", "org"}
GREETING = re.compile(
    r"^(?:dag|beste|lieve|hallo|hoi|hey|hi|hello|dear|bonjour|bonsoir|chere?|geachte|goedemorgen|goedemiddag|"
    r"goedenavond|goeiedag|goedendag|salut)\b[ ,]*(.*)$",
    re.IGNORECASE,
)
RELATION = re.compile(
    r"(?i:\b(?:(?:mijn|onze|ons|my|our|ma|mon|mes|notre|nos)\s+(?:nieuwe\s+|new\s+|nouvelle\s+|nouveau\s+)?"
    r"(collega's|collegas|collega|colleagues|colleague|coll[eè]gues|coll[eè]gue|vrijwilligers|vrijwilliger|"
    r"vrijwilligster|volunteer|b[eé]n[eé]vole|stagiair|stagiaire|buurvrouw|buurman|neighbou?r|voisine?|partner|"
    r"vriendin|vriend|friend|amie?|man|vrouw|echtgenote|echtgenoot|husband|wife|mari|femme|dochter|zoon|daughter|"
    r"son|fille|fils)|(namens|au nom de|on behalf of)|"
    r"(?:een|one|un|une) (?:(vrijwilliger|vrijwilligster|collega|volunteer|colleague|b[eé]n[eé]vole|coll[eè]gue)"
    r"(?: van ons| of ours| de chez nous)|van onze (vrijwilligers|collega's|volunteers|b[eé]n[eé]voles)|"
    r"of our (volunteers|colleagues)|de nos (b[eé]n[eé]voles|coll[eè]gues)))\b[,:]?\s+)"
)
SAME_ORG_RELATIONS = {"collega", "collega's", "collegas", "colleague", "colleagues", "collègue", "collegue",
                      "collègues", "collegues", "vrijwilliger", "vrijwilligers", "vrijwilligster", "volunteer",
                      "volunteers", "benevoles",
                      "bénévole", "benevole", "stagiair", "stagiaire", "namens", "au nom de", "on behalf of"}
JOINT_AFTER = re.compile(r"(?i:^\s*(?:en ik|and i|and me|et moi|en mezelf|en mijzelf)\b)")
JOINT_BEFORE = re.compile(r"(?i:\b(?:ik|ikzelf|mezelf|mijzelf|moi|moi-m[eê]me|myself|me|i)\s+(?:en|et|and)\s+)")
WITH = re.compile(r"(?i:\b(?:samen met|together with|along with|ensemble avec|avec|with|met)\s+)")
JOINT_MARKER = re.compile(
    r"\b(?:en ik|and i|and me|et moi|wij|we|nous|samen met (?:mij|mezelf)|together with me|ensemble|allebei|"
    r"kom\w* (?:[\w,]+ ){0,3}(?:samen )?met (?:mijn|onze)|come (?:[\w,]+ ){0,2}with my|"
    r"viendr\w* (?:[\w,]+ ){0,2}avec (?:ma|mon|mes)|"
    r"beiden|allemaal|both of us|tous les deux|toutes les deux|met z'n tweeen|met ons tweeen|mezelf|mijzelf|ikzelf|"
    r"myself|moi-meme|met twee|a deux|the two of us)\b"
)
# The writer in the first person. Dutch "je" is "you": only French "je" + a verb of wanting or coming counts.
SELF = re.compile(r"\b(?:(?:ik|mij|me|mezelf|mijzelf|ikzelf|i|myself|moi)\b|j'|je (?:m'|me |souhait\w*|voudr\w*|"
                  r"aimer\w*|viens|viendr\w*|serai|participe\w*|compte))")
ORG_AFTER_NAME = re.compile(r"\s*,?\s*(?:van|from|of|de|d'|bij|at|with|chez)\s+(?:de |het |the |l'|la |le )?", re.IGNORECASE)
CC_MENTION = re.compile(r"\b(?:in cc|in kopie|cc|en copie|in copy|copied|gekopieerd)\b")
THIRD_PERSON = re.compile(r"\b(?:haar|hem|hij|zij|ze|she|her|him|he|il|elle|lui|son|sa)\b")
OUR_PEOPLE = re.compile(
    r"\b(?:van onze (?:vrijwilligers|medewerkers|leden|collega's)|onze (?:vrijwilliger|vrijwilligster|medewerker|"
    r"collega)|one of our (?:volunteers|members|staff|colleagues)|our (?:volunteer|colleague)|une? de nos "
    r"(?:benevoles|collegues|membres)|notre (?:benevole|collegue)|mijn collega|ma collegue|mon collegue|"
    r"my colleague|bij ons|chez nous|with us)\b"
)
TITLE = re.compile(r"^(?:(?:dr|dhr|mevr|mevrouw|meneer|mr|mrs|ms|prof|me|mme|mlle|m|ir|ing|lic|drs)\.?\s+)+", re.IGNORECASE)
ROLE_MAILBOX = re.compile(r"^(?:info|contact|secretariaat|secretariat|admin|office|bureau|hello|hallo|mail|post|"
                          r"team|onthaal|accueil|welkom|vrijwilligers|volunteers|benevoles|algemeen|general|"
                          r"coordinatie|coordination|noreply|no-reply)\b")
BULLET = re.compile(r"^\s*(?:[-*•·–]|\d{1,2}[.)])\s+(\S.*)$")
TITLE_WORDS = {"dr", "dhr", "mevr", "mr", "mrs", "ms", "prof", "me", "mme", "mlle", "ir", "ing", "lic", "drs"}
STOP_AFTER_NAME = {"en", "and", "et", "van", "bij", "from", "of", "de", "die", "who", "qui", "uit", "met", "with"}
MAX_PEOPLE = 10


@dataclass
class Candidate:
    name: str
    source: str  # form, intro, signature, display, vcard, address, first-name, mention, cc, forward
    confidence: float


@dataclass
class SenderFacts:
    """What the mail tells about its sender."""

    address: str | None
    display: str | None
    full: Candidate | None = None
    first_name: str | None = None
    organisation: str | None = None
    org_source: str = ""
    personal: bool = False
    reasons: list[str] = field(default_factory=list)


def name_at(text: str, allow_lower: bool) -> list[str]:
    """The name-like words at the start of `text` ("Griet Bauwens, vrijwilliger" -> [Griet, Bauwens])."""
    words = re.findall(r"[^\W\d_][\w'’\-]*|[,.;:!?()\n]", text[:120])
    taken: list[str] = []
    for word in words:
        if not word[0].isalpha() or len(taken) >= 5:
            break
        folded = fold(word)
        if taken and folded in STOP_AFTER_NAME and (word[0].islower() or allow_lower) and (
            len(taken) >= 2 or folded not in nm.PARTICLES
        ):
            break
        if word[0].isupper() or (nm.is_particle(word) and taken) or allow_lower:
            taken.append(word)
            continue
        break
    while taken and nm.is_particle(taken[-1]):
        taken.pop()
    return taken if nm.looks_like_name(taken, allow_lower=allow_lower) else []


def names_listed(text: str) -> list[list[str]]:
    """The names at the start of `text`, also a list: "Lies Janssens en Tom Peeters" -> two names."""
    found: list[list[str]] = []
    rest = text
    for _ in range(5):
        tokens = name_at(rest, allow_lower=False)
        if not tokens:
            break
        found.append(tokens)
        position = rest.find(tokens[-1]) + len(tokens[-1])
        joiner = re.match(r"\s*(?:,|en|and|et|&)\s+", rest[position:])
        if not joiner:
            break
        rest = rest[position + joiner.end():]
    return found


def name_before(text: str) -> list[str]:
    """The name-like words at the end of `text` ("Helaas moeten Hans Deprez" -> [Hans, Deprez])."""
    words = re.findall(r"[^\W\d_][\w'’\-]*", text[-80:])
    taken: list[str] = []
    for word in reversed(words):
        if len(taken) >= 4:
            break
        if word[0].isupper() and fold(word) not in nm.NOT_NAME or (nm.is_particle(word) and taken):
            taken.insert(0, word)
            continue
        break
    while taken and nm.is_particle(taken[0]) and len(taken) > 1 and taken[0].islower():
        taken.pop(0)
    return taken if nm.looks_like_name(taken) else []


def _known_tokens(address: str | None, display: str | None) -> set[str]:
    tokens = {fold(t) for t in nm.tokens_of(display or "")}
    if address:
        tokens |= {p for p in re.split(r"[._\-+\d]", address.split("@")[0].lower()) if len(p) >= 2}
    return tokens


def form_fields(text: str) -> dict[str, str]:
    """ "Naam: X", "Organisatie: Y", "Nom : Z": the first value of each form-like field, keyed by folded label."""
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        match = FORM_LINE.match(line)
        if match:
            key = fold(match.group(1)).strip()
            if key in FORM_FULL | FORM_FIRST | FORM_LAST | FORM_ORG:
                fields.setdefault(key, match.group(2).strip())
    return fields


def _form_name(fields: dict[str, str]) -> str | None:
    first = next((fields[k] for k in FORM_FIRST if k in fields), None)
    last = next((fields[k] for k in FORM_LAST if k in fields), None)
    full = next((fields[k] for k in FORM_FULL if k in fields), None)
    if first and (last or full):
        return nm.normal_case(f"{first} {last or full}")
    if full:
        tokens = nm.tokens_of(full)
        if nm.looks_like_name(tokens, allow_lower=full.islower()) and len(tokens) >= 2:
            return nm.normal_case(" ".join(tokens))
    return None


def signature_names(signature: str) -> tuple[str | None, str | None, int]:
    """(full name, first name, index of the line after the name) in a signature block."""
    lines = [line.strip() for line in signature.split("\n")]
    full: str | None = None
    first: str | None = None
    after = 0
    for index, line in enumerate(lines):
        if not line:
            continue
        if is_closing(line):
            # "Groetjes Ilhame", "Groeten, Wim": a name after the closing words on the same line.
            tail = re.split(r"[,!]\s*|\s+(?=[A-Z][^\s]*$)", line.rstrip(" ,.!"))[-1].strip()
            tokens = nm.tokens_of(tail)
            if tokens and tail != line.rstrip(" ,.!") and nm.looks_like_name(tokens):
                first = first or tokens[0]
                after = index + 1
            continue
        # "Dr. Anna Peeters", "Anna Peeters - vrijwilliger Rode Kruis": the name is the first segment, no title.
        first_segment = re.split(r"\s+[-–|]\s+|\s*\|\s*|,\s+", line)[0]
        segment = TITLE.sub("", first_segment)
        tokens = nm.tokens_of(segment)
        if segment.endswith(("?", ":")) or "@" in line or not nm.looks_like_name(tokens, allow_lower=False):
            if full or first:
                break
            continue
        if len(tokens) >= 2:
            full = nm.normal_case(" ".join(tokens))
            after = index + 1 if first_segment == line else index  # the rest of the line may be the organisation
            break
        first = first or nm.normal_case(tokens[0])
        after = index + 1
    return full, first, after


def _intro_name(body_sentences: Sequence[str], known: set[str]) -> tuple[str | None, str | None]:
    """The name in "Ik ben X", "Je m'appelle X", "My name is X", and an organisation right after it ("van Y")."""
    for sentence in body_sentences:
        for match in INTRO.finditer(sentence):
            rest = sentence[match.end():]
            tokens = name_at(rest, allow_lower=False)
            if not tokens and rest[:1].islower():
                lower = name_at(rest, allow_lower=True)[:4]
                # All-lower-case mails ("ik ben ahmed el amrani"): only when the From name or address agrees.
                if lower and fold(lower[0]) in known and len(lower) >= 2:
                    tokens = lower
            if tokens and (len(tokens) >= 2 or fold(tokens[0]) in known):
                after = rest[rest.find(tokens[-1]) + len(tokens[-1]):]
                return nm.normal_case(" ".join(tokens)), org_after_name(after)
    return None, None


def org_after_name(text: str) -> str | None:
    """ "van Buurtwerk Muide", "from Refugee Support Ghent" right after a name: the organisation."""
    match = ORG_AFTER_NAME.match(text)
    if not match:
        return None
    rest = text[match.end():]
    return orgs.capture_org(rest, lowercase_mail=rest[:1].islower())


def sender_facts(body: str, signature: str, address: str | None, display: str | None,
                 vcards: Sequence[VCard], context: ParseContext,
                 body_sentences: Sequence[str] | None = None) -> SenderFacts:
    """The sender's name, first name and organisation as the mail gives them, with how sure each is."""
    facts = SenderFacts(address=address, display=display)
    known = _known_tokens(address, display)
    if body_sentences is None:
        body_sentences = sentences(body)
    fields = form_fields(body + "\n" + signature)
    sig_full, sig_first, sig_after = signature_names(signature)
    display_name = nm.from_display_name(display)
    if address and ROLE_MAILBOX.match(address.split("@")[0]):
        display_name = None  # "Buurtwerk De Kring <info@...>": the display name is the organisation, not a person
    vcard = next((v for v in vcards if v.name), None)
    candidates: list[Candidate] = []
    form_name = _form_name(fields)
    if form_name:
        candidates.append(Candidate(form_name, "form", 0.95))
    intro, intro_org = _intro_name(body_sentences, known)
    if intro and " " in intro:
        candidates.append(Candidate(intro, "intro", 0.95))
    if sig_full:
        agrees = bool({fold(t) for t in sig_full.split()} & known)
        if agrees or not (display_name and len(display_name.split()) >= 2):
            candidates.append(Candidate(sig_full, "signature", 0.9 if agrees or not known else 0.75))
    if display_name and len(display_name.split()) >= 2:
        candidates.append(Candidate(display_name, "display", 0.9))
    if vcard and vcard.name:
        candidates.append(Candidate(nm.normal_case(vcard.name), "vcard", 0.85))
    first = sig_first or (display_name if display_name and " " not in display_name else None)
    if first is None and intro and " " not in intro:
        first = intro
    local = nm.from_local_part(address, first)
    if local:
        candidates.append(Candidate(local, "address", 0.6))
        facts.reasons.append("surname read from the mail address")
    if first:
        candidates.append(Candidate(nm.normal_case(first), "first-name", 0.5))
    if candidates:
        best = candidates[0]
        # The same person spelled better elsewhere (capitals, accents from the display name) wins the spelling.
        for other in candidates[1:]:
            if nm.same_person(other.name, best.name) and _better_cased(other.name, best.name):
                best = Candidate(other.name, best.source, best.confidence)
        best.name = nm.first_name_first(best.name, sig_first or (intro if intro and " " not in intro else None))
        facts.full = best
        if best.source == "first-name":
            facts.reasons.append("only a first name found")
    facts.first_name = first or (facts.full.name.split()[0] if facts.full else None)
    # Organisation: "op persoonlijke titel" overrules everything the signature or domain suggests.
    folded_body = fold(body)
    if orgs.PERSONAL.search(folded_body):
        facts.personal = True
        facts.reasons.append("comes on a personal title")
        return facts
    organisations = context.organisations
    form_org = next((fields[k] for k in FORM_ORG if k in fields), None)
    sig_lines = signature.split("\n")[sig_after:]
    person_tokens = {fold(t) for t in (facts.full.name.split() if facts.full else [])} | TITLE_WORDS

    def found() -> Iterator[tuple[str | None, str]]:  # in order of trust, read only as far as needed
        yield form_org, "form"
        yield intro_org, "sentence"
        for sentence in body_sentences:
            if not sentence.rstrip().endswith("?"):
                yield orgs.org_in_sentence(sentence), "sentence"
        yield orgs.org_from_signature(sig_lines, person_tokens), "signature"
        yield next((v.organisation for v in vcards if v.organisation), None), "vcard"

    for raw, source in found():
        organisation = orgs.normalise_org(raw, organisations)
        if organisation and not _is_own_org(organisation, context):
            facts.organisation, facts.org_source = organisation, source
            break
    if facts.organisation is None:
        domain_org = orgs.organisation_for_domain(address, organisations)
        if domain_org:
            facts.organisation, facts.org_source = domain_org, "domain"
            facts.reasons.append("organisation guessed from the mail domain")
    return facts


def _is_own_org(organisation: str, context: ParseContext) -> bool:
    folded = fold(organisation).replace(" ", "")
    own_domains = {a.rsplit("@", 1)[-1].split(".")[0] for a in context.own_addresses if "@" in a}
    if context.own_domain:
        own_domains.add(context.own_domain.split(".")[0])
    return any(d and d.replace("-", "") == folded.replace("-", "") for d in own_domains)


def _better_cased(candidate: str, current: str) -> bool:
    def score(name: str) -> int:
        return sum(1 for t in name.split() if t[:1].isupper() and not t.isupper()) + sum(
            1 for ch in name if not ch.isascii())
    return score(candidate) > score(current)


@dataclass
class Mention:
    tokens: list[str]
    sentence: str
    kind: str  # relation, joint, with
    relation: str = ""


def mentions_in(body_sentences: Sequence[str]) -> list[Mention]:
    """Other people the sender writes about: "mijn collega X", "X en ik", "samen met X"."""
    found: list[Mention] = []
    for sentence in body_sentences:
        for match in RELATION.finditer(sentence):
            relation = fold(next(g for g in match.groups() if g))
            for tokens in names_listed(sentence[match.end():]):
                found.append(Mention(tokens, sentence, "relation", relation))
        colon = sentence.find(":")
        # "Wij schrijven ons in voor 12 mei: Jan Peeters en Lies Maes" (not a form field like "Naam: X")
        if colon > 0 and len(sentence[:colon].split()) >= 3 and (
            REGISTER_STRONG.search(fold(sentence[:colon])) or CANCEL_STRONG.search(fold(sentence[:colon]))
        ):
            for tokens in names_listed(sentence[colon + 1:]):
                found.append(Mention(tokens, sentence, "list"))
        for match in JOINT_BEFORE.finditer(sentence):
            tokens = name_at(sentence[match.end():], allow_lower=False)
            if tokens:
                found.append(Mention(tokens, sentence, "joint"))
        for match in re.finditer(r"(?i)\b(?:en ik|and i|and me|et moi|en mezelf)\b", sentence):
            tokens = name_before(sentence[: match.start()])
            if tokens:
                found.append(Mention(tokens, sentence, "joint"))
        for match in WITH.finditer(sentence):
            if match.group(0).lower().strip() in ("met", "with", "avec") and not re.search(
                r"(?i)\b(?:kom|come|viens|viendrai|komen|samen)\b", sentence[: match.start()]
            ):
                continue
            tokens = name_at(sentence[match.end():], allow_lower=False)
            if tokens:
                found.append(Mention(tokens, sentence, "with"))
    return found


def _intent_in(sentence: str, intent: Intent) -> bool:
    folded = fold(sentence)
    if intent is Intent.CANCEL:
        return bool(CANCEL_STRONG.search(folded) or CANCEL_WEAK.search(folded))
    return bool(REGISTER_STRONG.search(folded) or REGISTER_WEAK.search(folded))


def _cc_person(first: str, cc: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    for display, address in cc:
        name = nm.from_display_name(display)
        if name and fold(name.split()[0]) == fold(first):
            return name, address
    return None


def read_people(intent: Intent, body: str, signature: str, facts: SenderFacts, forwards: Sequence[Forwarded],
                cc: Sequence[tuple[str, str]], context: ParseContext,
                body_sentences: Sequence[str] | None = None) -> tuple[list[Person], list[str]]:
    """Everyone the mail registers, cancels for, unsubscribes or erases, with their organisation."""
    reasons = list(facts.reasons)
    sender = _sender_person(facts)
    if intent in (Intent.UNSUBSCRIBE, Intent.ERASE):
        return ([sender] if sender else []), reasons
    if intent not in (Intent.REGISTER, Intent.CANCEL):
        return [], []
    if body_sentences is None:
        body_sentences = sentences(body)
    folded_body = fold(body)
    greeted = _greeted_tokens(body)
    own = set(context.own_addresses)
    cc = [(d, a) for d, a in cc if a not in own and a != facts.address]
    people: list[Person] = []
    joint = False
    third_party = False
    group_org: str | None = None
    sender_tokens = {fold(t) for t in (facts.full.name.split() if facts.full else [])}
    if facts.first_name:
        sender_tokens.add(fold(facts.first_name))
    for mention in mentions_in(body_sentences):
        name_tokens = mention.tokens
        folded_tokens = {fold(t) for t in name_tokens}
        after = mention.sentence[mention.sentence.find(name_tokens[-1]) + len(name_tokens[-1]):]
        named_org = orgs.normalise_org(org_after_name(after), context.organisations)
        if named_org and mention.kind in ("joint", "list"):
            group_org = group_org or named_org  # "Jan Peeters en Lies Maes van Buurtwerk Rabot": both of them
        if folded_tokens & greeted or folded_tokens <= sender_tokens:
            continue  # the coordinator greeted, or the sender ("Ik ben Anna en ik ...")
        cc_hit = CC_MENTION.search(fold(mention.sentence))
        in_intent = _intent_in(mention.sentence, intent)
        if mention.kind == "relation" and not (in_intent or cc_hit or JOINT_AFTER.search(
                mention.sentence[mention.sentence.find(name_tokens[-1]) + len(name_tokens[-1]):])):
            continue
        if mention.kind == "with" and not in_intent:
            continue
        third_party = True
        if mention.kind in ("joint", "with") or JOINT_AFTER.search(
                mention.sentence[mention.sentence.find(name_tokens[-1]) + len(name_tokens[-1]):]):
            joint = True
        name = nm.normal_case(" ".join(name_tokens))
        email = None
        confidence = 0.9
        hit = _cc_person(name_tokens[0], cc)
        if hit and (len(name_tokens) == 1 or nm.same_person(hit[0], name) or fold(hit[0]).startswith(fold(name))):
            name, email = hit
        elif len(name_tokens) == 1:
            confidence = 0.5
            reasons.append("a colleague named by first name only")
        shares = mention.kind in ("joint", "with", "list") or mention.relation in SAME_ORG_RELATIONS
        organisation = named_org or _own_org_of(mention.sentence, context) or (
            facts.organisation if shares else None)
        people.append(Person(name=name, organisation=organisation, email=email, confidence=confidence))
    for line in body.split("\n"):
        # A list of people ("- Anna Peeters", "2. Bram De Wilde (Buurtwerk X)") registers (or excuses) them all.
        bullet = BULLET.match(line)
        tokens = name_at(bullet.group(1), allow_lower=False) if bullet else []
        if len(tokens) >= 2:
            name = nm.normal_case(" ".join(tokens))
            rest = bullet.group(1)[bullet.group(1).find(tokens[-1]) + len(tokens[-1]):]  # type: ignore[union-attr]
            own_org = orgs.normalise_org(re.sub(r"^[\s,(–|-]+|\)\s*$", "", rest), context.organisations)
            people.append(Person(name=name, organisation=own_org or facts.organisation, confidence=0.85))
            third_party = True
    if not people and cc and CC_MENTION.search(folded_body) and intent is Intent.REGISTER:
        for display, address in cc[:3]:
            name = nm.from_display_name(display)
            if name:
                people.append(Person(name=name, organisation=facts.organisation, email=address, confidence=0.7))
                third_party = True
    forwarded = _forwarded_people(intent, body, facts, forwards, context)
    if forwarded:
        people.extend(forwarded)
        third_party = True
    intent_sentences = [s for s in body_sentences if _intent_in(s, intent)]
    if any(JOINT_MARKER.search(fold(s)) for s in intent_sentences):
        joint = True
    mentioned = {id(m.sentence) for m in mentions_in(body_sentences)} if third_party else set()
    if any(SELF.search(fold(s)) and id(s) not in mentioned for s in intent_sentences):
        joint = True  # "Ik schrijf me in. Mijn collega X komt ook.": the sender is in it too
    if sender and group_org and sender.organisation is None and not facts.personal:
        sender = Person(sender.name, group_org, sender.email, sender.confidence)
    if sender and (not third_party or joint):
        people.insert(0, sender)
    unique: list[Person] = []
    for person in people:
        if not any(nm.same_person(person.name, p.name) for p in unique):
            unique.append(person)
    return unique[:MAX_PEOPLE], reasons


def _own_org_of(sentence: str, context: ParseContext) -> str | None:
    """An organisation the mention's own sentence names for them ("die bij X werkt")."""
    found = orgs.org_in_sentence(sentence)
    return orgs.normalise_org(found, context.organisations) if found else None


def _sender_person(facts: SenderFacts) -> Person | None:
    if facts.full is None:
        if not facts.address:
            return None
        local = facts.address.split("@")[0]
        guess = nm.normal_case(" ".join(p for p in re.split(r"[._\-+\d]+", local) if p)) or local
        return Person(name=guess, organisation=facts.organisation, email=facts.address, confidence=0.3)
    confidence = facts.full.confidence
    if facts.org_source == "domain":
        confidence = min(confidence, 0.6)
    return Person(name=facts.full.name, organisation=None if facts.personal else facts.organisation,
                  email=facts.address, confidence=confidence)


def _greeted_tokens(body: str) -> set[str]:
    """The words of the greeting ("Dag Hilde," "Bonjour Madame Cnudde"): the coordinator, never a person to add."""
    tokens: set[str] = set()
    for line in body.split("\n")[:3]:
        match = GREETING.match(line.strip())
        if match:
            tokens |= {fold(t) for t in nm.tokens_of(match.group(1))}
    return tokens


def _forwarded_people(intent: Intent, body: str, facts: SenderFacts, forwards: Sequence[Forwarded],
                      context: ParseContext) -> list[Person]:
    """The writer of a forwarded request, when the forward asks to register (or excuse) them."""
    people: list[Person] = []
    folded_body = fold(body)
    own = set(context.own_addresses)
    for forward in forwards:
        address, display = sender_of(forward.from_header)
        if not address or address in own or address == facts.address:
            continue
        text_body, text_signature = split_signature(forward.text)
        inner = sender_facts(text_body, text_signature, address, display, (), context)
        if inner.full is None:
            continue
        first = fold(inner.full.name.split()[0])
        about_them = bool(THIRD_PERSON.search(folded_body)) or first in folded_body
        asks = _intent_in(forward.text, intent) or _intent_in(body, intent)
        if not (about_them and asks):
            continue
        organisation = inner.organisation
        if organisation is None and not inner.personal and OUR_PEOPLE.search(folded_body):
            organisation = facts.organisation
        people.append(Person(name=inner.full.name, organisation=organisation, email=address,
                             confidence=min(inner.full.confidence, 0.9)))
    return people
