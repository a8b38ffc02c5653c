"""Who a mail is about: the sender, a colleague registered with or instead of them,
or the writer of a forward.

Pure: no network, no clock. Other people come from the sender's own sentences ("mijn collega X en ik", "samen
met X", a list of names), Cc display names and forwarded mails; never from quoted text, greetings or
disclaimers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from mailflow.core.parsing import lexicon
from mailflow.core.parsing import names as nm
from mailflow.core.parsing import organisations as orgs
from mailflow.core.parsing import roster as rs
from mailflow.core.parsing.headers import sender_of
from mailflow.core.parsing.intent import CANCEL_STRONG, CANCEL_WEAK, REGISTER_STRONG, REGISTER_WEAK
from mailflow.core.parsing.names import name_at, name_before, names_listed
from mailflow.core.parsing.result import Intent, ParseContext, Person
from mailflow.core.parsing.sender import SenderFacts, org_after_name, sender_facts
from mailflow.core.parsing.structure import Forwarded, split_signature
from mailflow.core.parsing.text import Joined, Keywords, fold, sentences

GREETING = re.compile(
    r"^(?:dag|beste|lieve|hallo|hoi|hey|hi|hello|dear|bonjour|bonsoir|chere?|geachte|goedemorgen|goedemiddag|"
    r"goedenavond|goeiedag|goedendag|salut)\b[ ,]*(.*)$",
    re.IGNORECASE,
)
RELATION = Keywords(
    r"(?:mijn|onze|ons|my|our|ma|mon|mes|notre|nos)\s+(?:nieuwe\s+|new\s+|nouvelle\s+|nouveau\s+)?"
    r"(collega's|collegas|collega|colleagues|colleague|coll[eè]gues|coll[eè]gue|vrijwilligers|vrijwilliger|"
    r"vrijwilligster|volunteer|b[eé]n[eé]vole|stagiair|stagiaire|buurvrouw|buurman|neighbou?r|voisine?|partner|"
    r"vriendin|vriend|friend|amie?|man|vrouw|echtgenote|echtgenoot|husband|wife|mari|femme|dochter|zoon|daughter|"
    r"son|fille|fils|schoonmoeder|schoonvader|schoonzus|schoonbroer|moeder|vader|mama|papa|zus|zuster|broer|"
    r"tante|oom|oma|opa|grootmoeder|grootvader|mother-in-law|father-in-law|mother|father|mum|mom|dad|sister|"
    r"brother|aunt|uncle|grandmother|grandfather|belle-m[eè]re|beau-p[eè]re|m[eè]re|p[eè]re|s(?:oe|œ)ur|"
    r"fr[eè]re|cli[eë]nte?|client|klant|cousine?|cousin|nicht|neef)|(namens|au nom de|on behalf of)|"
    r"(?:een|one|un|une) (?:(vrijwilliger|vrijwilligster|collega|volunteer|colleague|b[eé]n[eé]vole|"
    r"coll[eè]gue)(?: van ons| of ours| de chez nous)|van onze "
    r"(vrijwilligers|collega's|volunteers|b[eé]n[eé]voles)|"
    r"of our (volunteers|colleagues)|de nos (b[eé]n[eé]voles|coll[eè]gues))",
    ignore_case=True,
    suffix=r"\b[,:]?\s+",
)
# fmt: off
SAME_ORG_RELATIONS = {
    "collega", "collega's", "collegas", "colleague", "colleagues", "collègue", "collegue", "collègues",
    "collegues", "vrijwilliger", "vrijwilligers", "vrijwilligster", "volunteer", "volunteers", "benevoles",
    "bénévole", "benevole", "stagiair", "stagiaire", "namens", "au nom de", "on behalf of",
}
# fmt: on
JOINT_AFTER = re.compile(r"(?i:^\s*(?:en ik|and i|and me|et moi|en mezelf|en mijzelf)\b)")
JOINT_AFTER_NAME = Keywords(r"en ik|and i|and me|et moi|en mezelf", ignore_case=True, suffix=r"\b")
JOINT_BEFORE = Keywords(
    r"(?:ik|ikzelf|mezelf|mijzelf|moi|moi-m[eê]me|myself|me|i)\s+(?:en|et|and)",
    ignore_case=True,
    suffix=r"\s+",
)
# "samen met X", "ik kom met X": a plain "met"/"with" counts only after a verb of coming
# ("met de trein" is no one).
WITH = Keywords(
    r"samen met|together with|along with|ensemble avec|(?:kom\w*|come|coming|viens|viendr\w*)\s+"
    r"(?:[\w,]+\s+){0,2}?(?:met|with|avec)",
    ignore_case=True,
    suffix=r"\s+",
)
JOINT_MARKER = re.compile(
    r"\b(?:en ik|and i|and me|et moi|ik en|moi et|i and|me and|ondergetekende|undersigned|soussignee?|"
    r"wij|we|nous|samen met (?:mij|mezelf|mijn|onze)|together with (?:me|my)|ensemble|allebei|"
    r"kom\w* (?:[\w,]+ ){0,3}(?:samen )?met (?:mijn|onze)|come (?:[\w,]+ ){0,2}with my|"
    r"viendr\w* (?:[\w,]+ ){0,2}avec (?:ma|mon|mes)|"
    r"beiden|allemaal|both of us|tous les deux|toutes les deux|met z'n tweeen|met ons tweeen|mezelf|mijzelf|"
    r"ikzelf|myself|moi-meme|met twee|a deux|the two of us)\b"
)
# The writer in the first person. Dutch "je" is "you": only French "je" + a verb of wanting or coming counts.
SELF = re.compile(
    r"\b(?:(?:ik|mij|me|mezelf|mijzelf|ikzelf|i|myself|moi)\b|j'|je (?:m'|me |souhait\w*|voudr\w*|"
    r"aimer\w*|viens|viendr\w*|serai|participe\w*|compte))"
)
CC_MENTION = re.compile(r"\b(?:in cc|in kopie|cc|en copie|in copy|copied|gekopieerd)\b")
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
THIRD_PERSON = re.compile(r"\b(?:haar|hem|hij|zij|ze|she|her|him|he|il|elle|lui|son|sa)\b")
OUR_PEOPLE = re.compile(
    r"\b(?:van onze (?:nieuwe )?(?:vrijwilligers|vrijwilligsters|medewerkers|leden|collega's)|"
    r"onze (?:vrijwilliger|vrijwilligster|medewerker|"
    r"collega)|one of our (?:volunteers|members|staff|colleagues)|our (?:volunteer|colleague)|une? de nos "
    r"(?:benevoles|collegues|membres)|notre (?:benevole|collegue)|mijn collega|ma collegue|mon collegue|"
    r"my colleague|bij ons|chez nous|with us)\b"
)
NOT_WITH = re.compile(
    r"\b(?:ne (?:travaille|fait) pas (?:pour|partie)|(?:werkt|is) niet (?:bij|voor|van)|"
    r"not (?:with|for|part of)|"
    r"doesn't work (?:for|with)|geen lid van)\b"
)
FAMILY = re.compile(r"^(?i:fam(?:ilie)?\.?|famille|family)\s+([A-Z][\w'’ -]{1,40})$")
PAIR = re.compile(r"\b([A-Z][\w'’-]+)(?:\s*,)?\s+(?:en|and|et|&)\s+([A-Z][\w'’-]+)\b")
NAMED = Keywords(
    r"(?:haar|zijn|her|his|hun|sa|son) (?:naam|name|nom) (?:is|est)|(?:elle|il) s'appelle|"
    r"(?:zij|hij|ze) heet",
    ignore_case=True,
    suffix=r"\s+",
)
OURS = re.compile(r"\b(?:onze|ons|our|notre|nos)\b")  # "namens onze directeur": one of the writer's own
BULLET = re.compile(r"^\s*(?:[-*•·–]|\d{1,2}[.)])\s+(\S.*)$")
MAX_PEOPLE = 10


@dataclass
class Mention:
    tokens: list[str]
    sentence: str
    kind: str  # relation, joint, with, list
    relation: str = ""
    index: int = 0  # of the sentence

    @property
    def after(self) -> str:
        """The rest of the sentence after the name."""
        last = self.tokens[-1]
        return self.sentence[self.sentence.find(last) + len(last) :]


def mentions_in(body_sentences: Sequence[str]) -> list[Mention]:
    """Other people the sender writes about: "mijn collega X", "X en ik", "samen met X", "...: X en Y"."""
    joined = Joined(body_sentences)
    text = joined.text
    found: list[tuple[int, Mention]] = []

    def after(position: int) -> tuple[str, str, int]:
        index = joined.index_at(position)
        return joined.sentences[index], text[position : joined.end_of(index)], index

    lower = text == text.lower()  # a mail written without capitals: names are lower case too
    for match in RELATION.finditer(text):
        sentence, rest, index = after(match.end())
        relation = fold(next(g for g in match.groups() if g))
        found += [
            (match.end(), Mention(tokens, sentence, "relation", relation, index))
            for tokens in names_listed(rest, allow_lower=lower)
        ]
    for _, end in NAMED.spans(text):  # "Mijn vrouw haar naam is Monique Decock", "Elle s'appelle X"
        sentence, rest, index = after(end)
        tokens = name_at(rest, allow_lower=False)
        if tokens:
            found.append((end, Mention(tokens, sentence, "named", index=index)))
    for _, end in JOINT_BEFORE.spans(text):
        sentence, rest, index = after(end)
        tokens = name_at(rest, allow_lower=False)
        if tokens:
            found.append((end, Mention(tokens, sentence, "joint", index=index)))
    for start, _ in JOINT_AFTER_NAME.spans(text):
        index = joined.index_at(start)
        tokens = name_before(text[joined.starts[index] : start])
        if tokens:
            found.append((start, Mention(tokens, joined.sentences[index], "joint", index=index)))
    for _, end in WITH.spans(text):
        sentence, rest, index = after(end)
        tokens = name_at(rest, allow_lower=False)
        if tokens:
            found.append((end, Mention(tokens, sentence, "with", index=index)))
    # A sentence that names someone acted for has its words in the sentences joined too: most mails have none.
    proxies = rs.PROXY.search(text) or rs.TITLED.search(text)
    for index, (sentence, start) in enumerate(zip(joined.sentences, joined.starts, strict=True)):
        found += [
            (start, Mention(tokens, sentence, "proxy", index=index))
            for tokens in (rs.proxy_names(sentence) if proxies else ())
        ]
        colon = sentence.find(":")
        # "Wij schrijven ons in voor 12 mei: Jan Peeters en Lies Maes" (not a form field like "Naam: X")
        if (
            colon > 0
            and len(sentence[:colon].split()) >= 3
            and (
                REGISTER_STRONG.search(fold(sentence[:colon])) or CANCEL_STRONG.search(fold(sentence[:colon]))
            )
        ):
            found += [
                (start + colon, Mention(tokens, sentence, "list", index=index))
                for tokens in names_listed(sentence[colon + 1 :])
            ]
    return [mention for _, mention in sorted(found, key=lambda item: item[0])]


@lru_cache(maxsize=128)
def _intent_in(sentence: str, intent: Intent) -> bool:
    """Whether a sentence says the intent (registering or excusing); cached, as several rules ask it."""
    folded = fold(sentence)
    if intent is Intent.CANCEL:
        return bool(CANCEL_STRONG.search(folded) or CANCEL_WEAK.search(folded))
    return bool(REGISTER_STRONG.search(folded) or REGISTER_WEAK.search(folded))


def _saying(body_sentences: Sequence[str], intent: Intent) -> list[bool]:
    """`_intent_in` of every sentence: a family that matches within a line scans them all at once."""
    folded = [fold(sentence) for sentence in body_sentences]
    joined = Joined(folded)
    said = [False] * len(folded)
    families = (CANCEL_STRONG, CANCEL_WEAK) if intent is Intent.CANCEL else (REGISTER_STRONG, REGISTER_WEAK)
    for family in families:
        if family.within_lines:
            for match in family.finditer(joined.text):
                said[joined.index_at(match.start())] = True
        else:
            said = [yes or bool(family.search(text)) for yes, text in zip(said, folded, strict=True)]
    return said


def _cc_person(first: str, cc: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    for display, address in cc:
        name = nm.from_display_name(display)
        if name and fold(name.split()[0]) == fold(first):
            return name, address
    return None


def read_people(
    intent: Intent,
    body: str,
    signature: str,
    facts: SenderFacts,
    forwards: Sequence[Forwarded],
    cc: Sequence[tuple[str, str]],
    context: ParseContext,
    body_sentences: Sequence[str] | None = None,
) -> tuple[list[Person], list[str]]:
    """Everyone the mail registers, cancels for, unsubscribes or erases, with their organisation."""
    reasons = list(facts.reasons)
    sender = _sender_person(facts)
    if intent in (Intent.UNSUBSCRIBE, Intent.ERASE):
        return ([sender] if sender else []), reasons
    household = _household(facts, body + "\n" + signature)
    if household:
        return household, reasons
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
    proxied = False  # the writer acts on someone's behalf ("namens", "on behalf of")
    group_org: str | None = None
    sender_tokens = {fold(t) for t in (facts.full.name.split() if facts.full else [])}
    if facts.first_name:
        sender_tokens.add(fold(facts.first_name))
    mentions = mentions_in(body_sentences)
    said = _saying(body_sentences, intent)
    for mention in mentions:
        name_tokens = mention.tokens
        folded_tokens = {fold(t) for t in name_tokens}
        named_org = orgs.normalise_org(org_after_name(mention.after), context.organisations)
        if named_org and mention.kind in ("joint", "list"):
            group_org = group_org or named_org  # "Jan Peeters en Lies Maes van Buurtwerk Rabot": both of them
        if folded_tokens & greeted or folded_tokens <= sender_tokens:
            continue  # the coordinator greeted, or the sender ("Ik ben Anna en ik ...")
        if not _counts(mention, intent, body_sentences, said):
            continue
        third_party = True
        joint = joint or mention.kind in ("joint", "with", "named") or bool(JOINT_AFTER.search(mention.after))
        name = nm.normal_case(" ".join(name_tokens))
        address = ADDRESS.search(mention.after[:60])
        email = address.group(0).lower() if address else None
        confidence = 0.9
        hit = _cc_person(name_tokens[0], cc)
        if hit and (
            len(name_tokens) == 1 or nm.same_person(hit[0], name) or fold(hit[0]).startswith(fold(name))
        ):
            name, email = hit
        elif len(name_tokens) == 1:
            confidence = 0.5
            reasons.append("a colleague named by first name only")
        joint_here = bool(JOINT_AFTER.search(mention.after))
        shares = (
            mention.kind in ("joint", "with", "list", "named")
            or mention.kind == "proxy"
            and bool(OURS.search(fold(mention.sentence)))
            or mention.relation in SAME_ORG_RELATIONS
            or joint_here
        )
        proxied = proxied or mention.kind == "proxy"
        organisation = (
            named_org
            or _own_org_of(mention.sentence, context)
            or _org_said_after(body_sentences, mention.index, context)
            or (facts.organisation if shares else None)
        )
        people.append(Person(name=name, organisation=organisation, email=email, confidence=confidence))
    for listed in rs.roster(body):
        # A table or list under "...:" or a header row ("Naam Functie Team"); a role is no organisation.
        listed_org = orgs.normalise_org(listed.detail, context.organisations) if listed.detail else None
        people.append(
            Person(listed.name, listed_org or facts.organisation, listed.email and listed.email.lower(), 0.85)
        )
        third_party = True
    for line in body.split("\n"):
        # A list of people ("- Anna Peeters", "2. Bram De Wilde (Buurtwerk X)") registers (or excuses) them
        # all.
        bullet = BULLET.match(line)
        tokens = name_at(bullet.group(1), allow_lower=False) if bullet else []
        if bullet and len(tokens) >= 2:
            name = nm.normal_case(" ".join(tokens))
            rest = bullet.group(1)[bullet.group(1).find(tokens[-1]) + len(tokens[-1]) :]
            own_org = orgs.normalise_org(re.sub(r"^[\s,(–|-]+|\)\s*$", "", rest), context.organisations)
            people.append(Person(name=name, organisation=own_org or facts.organisation, confidence=0.85))
            third_party = True
    if not people and cc and CC_MENTION.search(folded_body) and intent is Intent.REGISTER:
        for display, cc_address in cc[:3]:
            cc_name = nm.from_display_name(display)
            if cc_name:
                people.append(
                    Person(name=cc_name, organisation=facts.organisation, email=cc_address, confidence=0.7)
                )
                third_party = True
    forwarded = _forwarded_people(intent, body, facts, forwards, context)
    if forwarded:
        people.extend(forwarded)
        third_party = True
    intent_sentences = [s for s, says in zip(body_sentences, said, strict=True) if says]
    if any(JOINT_MARKER.search(fold(s)) for s in intent_sentences):
        joint = True
    mentioned = {id(m.sentence) for m in mentions} if third_party else set()
    if any(SELF.search(fold(s)) and id(s) not in mentioned for s in intent_sentences):
        joint = True  # "Ik schrijf me in. Mijn collega X komt ook.": the sender is in it too
    if sender and group_org and sender.organisation is None and not facts.personal:
        sender = Person(sender.name, group_org, sender.email, sender.confidence)
    if third_party and rs.WRITER_IN.search(folded_body):
        joint = True  # "- en ikzelf" under a list
    elif third_party and (proxied or intent is Intent.REGISTER and rs.writer_out(body)):
        joint = False  # "Zelf kan ik niet", "on behalf of my neighbour": only the others
    if sender and (not third_party or joint):
        people.insert(0, sender)
    unique: list[Person] = []
    for person in people:
        if not any(nm.same_person(person.name, p.name) for p in unique):
            unique.append(person)
    return unique[:MAX_PEOPLE], reasons


def _counts(mention: Mention, intent: Intent, body_sentences: Sequence[str], said: Sequence[bool]) -> bool:
    """Whether a mentioned person is registered (or excused) too, not merely named (`said`: which of the
    sentences say the intent).

    A colleague counts when their sentence says the intent, names them in Cc or with "en ik"; or when the next
    sentence says it of them ("... onze nieuwe vrijwilliger: Noor Vermeulen. Zij wil graag deelnemen.").
    """
    if mention.kind == "named":  # the name of someone a "we" sentence before registers with the writer
        return any(
            says and JOINT_MARKER.search(fold(s))
            for s, says in zip(body_sentences[: mention.index], said, strict=False)
        )
    if mention.kind == "proxy":
        return True  # "Namens onze directeur, Filip Vanhoutte, ...": the mail is their request
    if rs.speaks(mention.after) or intent is Intent.REGISTER and rs.not_coming(mention.after):
        return False  # "Mijn collega X ..., maar zij kan helaas niet", "X is one of the speakers"
    if said[mention.index]:
        return True
    if mention.kind != "relation":
        return False
    if CC_MENTION.search(fold(mention.sentence)) or JOINT_AFTER.search(mention.after):
        return True
    following = body_sentences[mention.index + 1] if mention.index + 1 < len(body_sentences) else ""
    return bool(THIRD_PERSON.match(fold(following))) and said[mention.index + 1]


def _org_said_after(body_sentences: Sequence[str], index: int, context: ParseContext) -> str | None:
    """An organisation the next sentences give of the person ("Ze is al jaren actief bij X")."""
    for sentence in body_sentences[index + 1 : index + 3]:
        folded = fold(sentence)
        if orgs.PERSONAL.search(folded) or NOT_WITH.search(folded):
            return None  # "Il ne travaille pas pour le CPAS : il le fait à titre personnel"
        if THIRD_PERSON.match(folded):
            found = orgs.org_in_sentence(sentence)
            if found:
                return orgs.normalise_org(found, context.organisations)
    return None


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
    return Person(
        name=facts.full.name,
        organisation=None if facts.personal else facts.organisation,
        email=facts.address,
        confidence=confidence,
    )


def _household(facts: SenderFacts, text: str) -> list[Person]:
    """ "Fam. Vandecasteele" signing "Wij, Marc en Rita": each of them with the family name."""
    family = None
    for line in [facts.display or "", *text.split("\n")]:
        match = FAMILY.match(line.strip())
        if match:
            family = nm.normal_case(match.group(1).strip(" ,."))
            break
    if not family:
        return []
    for first, second in PAIR.findall(text):
        if lexicon.is_first_name(first) and lexicon.is_first_name(second):
            organisation = None if facts.personal else facts.organisation
            return [
                Person(f"{nm.normal_case(given)} {family}", organisation, facts.address, 0.8)
                for given in (first, second)
            ]
    return []


def _greeted_tokens(body: str) -> set[str]:
    """The words of the greeting ("Dag Hilde," "Bonjour Madame Cnudde"):
    the coordinator, never a person to add."""
    tokens: set[str] = set()
    for line in body.split("\n")[:3]:
        match = GREETING.match(line.strip())
        if match:
            tokens |= {fold(t) for t in nm.tokens_of(match.group(1))}
    return tokens


def _forwarded_people(
    intent: Intent, body: str, facts: SenderFacts, forwards: Sequence[Forwarded], context: ParseContext
) -> list[Person]:
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
        people.append(
            Person(
                name=inner.full.name,
                organisation=organisation,
                email=address,
                confidence=min(inner.full.confidence, 0.9),
            )
        )
    return people
