"""Who wrote a mail: the sender's name and organisation, as the mail gives them and with how sure each is.

Pure: no network, no clock. The name comes from the sender's own words (a form block, an intro, the
signature), then the From display name, a vCard and the address local part; the organisation from a form, a
sentence, the signature, a vCard, then a configured mail domain; "op persoonlijke titel" means none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from mailflow.core.parsing import names as nm
from mailflow.core.parsing import organisations as orgs
from mailflow.core.parsing.mime import VCard
from mailflow.core.parsing.names import name_at
from mailflow.core.parsing.result import ParseContext
from mailflow.core.parsing.structure import is_closing
from mailflow.core.parsing.text import Keywords, fold, sentences

INTRO = Keywords(
    r"ik ben|ik heet|mijn naam is|je m['’]appelle|mon nom est|je suis|my name is|i am|i['’]m|"
    r"this is|hier is|moi c['’]est",
    ignore_case=True,
    suffix=r"\s+",
)


FORM_LINE = re.compile(r"^\s*[-*•]?\s*([^\W\d_][^\W\d_ ./'’-]*(?:[ /'’-][^\W\d_]+){0,3})\s*:\s*(\S.*?)\s*$")


# fmt: off
FORM_FULL = {
    "naam", "name", "nom", "volledige naam", "full name", "nom complet", "naam en voornaam", "nom et prenom",
    "deelnemer", "participant",
}
# fmt: on


FORM_FIRST = {"voornaam", "prenom", "first name", "given name", "roepnaam"}


FORM_LAST = {"achternaam", "familienaam", "surname", "last name", "family name", "nom de famille"}


# fmt: off
FORM_ORG = {
    "organisatie", "organisation", "organization", "vereniging", "association", "asbl", "vzw", "werkgroep",
    "groep", "organisme", "structure", "dienst", "instelling", "service", "group", "groupe", "org",
}
# fmt: on


ORG_AFTER_NAME = re.compile(
    r"\s*,?\s*(?:van|from|of|de|d'|bij|at|with|chez)\s+"
    r"(?:de |het |the |l'|la |le |our |onze |ons |notre |nos )?",
    re.IGNORECASE,
)


TITLE = re.compile(
    r"^(?:(?:dr|dhr|mevr|mevrouw|meneer|mr|mrs|ms|prof|me|mme|mlle|m|ir|ing|lic|drs)\.?\s+)+", re.IGNORECASE
)


ROLE_MAILBOX = re.compile(
    r"^(?:info|contact|secretariaat|secretariat|admin|office|bureau|hello|hallo|mail|post|"
    r"team|onthaal|accueil|welkom|vrijwilligers|volunteers|benevoles|algemeen|general|"
    r"coordinatie|coordination|noreply|no-reply)\b"
)


# "Groeten, Wim", "Groetjes Ilhame": what follows the closing words; "Anna Peeters - vrijwilliger": a line's
# segments; "anna.peeters2@": the words of an address local part.
_CLOSING_TAIL = re.compile(r"[,!]\s*|\s+(?=[A-Z][^\s]*$)")
_SEGMENT = re.compile(r"\s+[-–|]\s+|\s*\|\s*|,\s+")
_LOCAL_PART = re.compile(r"[._\-+\d]")


TITLE_WORDS = {"dr", "dhr", "mevr", "mr", "mrs", "ms", "prof", "me", "mme", "mlle", "ir", "ing", "lic", "drs"}


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


def _known_tokens(address: str | None, display: str | None) -> set[str]:
    tokens = {fold(t) for t in nm.tokens_of(display or "")}
    if address:
        tokens |= {p for p in _LOCAL_PART.split(address.split("@")[0].lower()) if len(p) >= 2}
    return tokens


def form_fields(text: str) -> dict[str, str]:
    """ "Naam: X", "Organisatie: Y", "Nom : Z": the first value of each form-like field,
    keyed by folded label."""
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        match = FORM_LINE.match(line) if ":" in line else None  # every form field has its colon
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
            tail = _CLOSING_TAIL.split(line.rstrip(" ,.!"))[-1].strip()
            tokens = nm.tokens_of(tail)
            if tokens and tail != line.rstrip(" ,.!") and nm.looks_like_name(tokens):
                first = first or tokens[0]
                after = index + 1
            continue
        # "Dr. Anna Peeters", "Anna Peeters - vrijwilliger Rode Kruis":
        # the name is the first segment, no title.
        first_segment = _SEGMENT.split(line)[0]
        segment = TITLE.sub("", first_segment)
        tokens = nm.tokens_of(segment)
        street = first_segment == line and any(ch.isdigit() for ch in line)  # "Kerkstraat 14"
        if segment.endswith(("?", ":")) or "@" in line or street or not nm.looks_like_name(tokens):
            if full or first:
                break
            continue
        if len(tokens) >= 2:
            full = nm.normal_case(" ".join(tokens))
            after = (
                index + 1 if first_segment == line else index
            )  # the rest of the line may be the organisation
            break
        first = first or nm.normal_case(tokens[0])
        after = index + 1
    return full, first, after


def _intro_name(body_sentences: Sequence[str], known: set[str]) -> tuple[str | None, str | None]:
    """The name in "Ik ben X", "Je m'appelle X", "My name is X", and an organisation right after it
    ("van Y")."""
    if not INTRO.search("\n".join(body_sentences)):
        return None, None  # an introduction in one sentence is one in them all: most mails have none
    for sentence in body_sentences:
        for _, end in INTRO.spans(sentence):
            rest = sentence[end:]
            tokens = name_at(rest, allow_lower=False)
            if not tokens and rest[:1].islower():
                lower = name_at(rest, allow_lower=True)[:4]
                # All-lower-case mails ("ik ben ahmed el amrani"): only when the From name or address agrees.
                if lower and fold(lower[0]) in known and len(lower) >= 2:
                    tokens = lower
            if tokens and (len(tokens) >= 2 or fold(tokens[0]) in known):
                after = rest[rest.find(tokens[-1]) + len(tokens[-1]) :]
                return nm.normal_case(" ".join(tokens)), org_after_name(after)
    return None, None


def org_after_name(text: str) -> str | None:
    """ "van Buurtwerk Muide", "from Refugee Support Ghent" right after a name: the organisation."""
    match = ORG_AFTER_NAME.match(text)
    if not match:
        return None
    rest = text[match.end() :]
    kind = orgs.kind_org(rest)  # "van het ocmw brugge komen graag": the kind and its town, no more
    if kind:
        return kind
    # Lower-case reading only where the writer writes no capitals at all ("van het ocmw brugge").
    return orgs.capture_org(rest, lowercase_mail=rest[:80] == rest[:80].lower())


def sender_facts(
    body: str,
    signature: str,
    address: str | None,
    display: str | None,
    vcards: Sequence[VCard],
    context: ParseContext,
    body_sentences: Sequence[str] | None = None,
) -> SenderFacts:
    """The sender's name, first name and organisation as the mail gives them, with how sure each is."""
    facts = SenderFacts(address=address, display=display)
    known = _known_tokens(address, display)
    if body_sentences is None:
        body_sentences = sentences(body)
    fields = form_fields(body + "\n" + signature)
    if not signature.strip() and "\n" in body.strip():
        # No signature block: a last line that opens with a name signs the mail ("Jean-Baptiste van der
        # Elst", "Tom Peeters, JRS").
        last = body.strip().rsplit("\n", 1)[-1].strip()
        if signature_names(last)[0]:
            signature = last
    sig_full, sig_first, sig_after = signature_names(signature)
    display_name = nm.from_display_name(display)
    if address and ROLE_MAILBOX.match(address.split("@")[0]):
        display_name = (
            None  # "Buurtwerk De Kring <info@...>": the display name is the organisation, not a person
        )
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
        # The same person spelled better elsewhere (capitals, accents from the display name) wins the
        # spelling.
        for other in candidates[1:]:
            if nm.same_person(other.name, best.name) and _better_cased(other.name, best.name):
                best = Candidate(other.name, best.source, best.confidence)
        best.name = nm.first_name_first(
            best.name, sig_first or (intro if intro and " " not in intro else None)
        )
        best.name = nm.first_name_leads(best.name)
        given = best.name.split()[0]
        initials = "." in given or len(given.replace("-", "")) <= 2
        for other in candidates[1:]:
            # "M.-Th. Lacroix" signed, "Marie-Thérèse Lacroix" in From: the written-out first name wins.
            if (
                initials
                and other.name.split()[-1:] == best.name.split()[-1:]
                and len(other.name) > len(best.name)
                and fold(other.name[:1]) == fold(given[:1])
            ):
                best = Candidate(other.name, best.source, best.confidence)
                break
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
        yield orgs.first_org(body_sentences, skip_questions=True), "sentence"
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
            1 for ch in name if not ch.isascii()
        )

    return score(candidate) > score(current)
