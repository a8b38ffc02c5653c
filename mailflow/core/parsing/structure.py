"""The parts of a mail's text: what the sender wrote, the signature, quoted replies,
forwarded messages, disclaimers.

Pure: no network, no clock. Works on text only; the MIME step has already chosen and decoded the part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailflow.core.parsing.text import Keywords, fold

# Forward markers, as Gmail, Outlook, Apple Mail and Thunderbird write them in nl/fr/en
# (and de/es, seen in Belgium).
FORWARD_MARKER = re.compile(
    r"^(?:-{3,}\s*(?:forwarded message|doorgestuurd bericht|doorgestuurde bericht|message transfere|"
    r"message transmis|weitergeleitete nachricht|mensaje reenviado|forwarded e-?mail)\s*-{3,}|"
    r"(?:begin forwarded message|begin doorgestuurd bericht|debut du message reexpedie|"
    r"anfang der weitergeleiteten nachricht)\s*:?)\s*$"
)
FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|fw|tr|doorst|wg|rv)\s*:", re.IGNORECASE)
REPLY_SEPARATOR = re.compile(
    r"^-{2,}\s*(?:original message|oorspronkelijk bericht|origineel bericht|message d'origine|"
    r"urspr.ngliche nachricht|mensaje original)\s*-{2,}\s*$"
)
# "Op do 20 nov 2025 om 10:15 schreef X <x@y>:", "Le 3 mars 2026 à 10:04, X a écrit :", "On ... wrote:".
ATTRIBUTION = re.compile(
    r"^(?:op|on|le|am|el|il|den)\b.{2,240}\b(?:schreef|wrote|a ecrit|schrieb|escribio|"
    r"ha scritto)\b.{0,160}:\s*$"
)
ATTRIBUTION_WORDS = {"op", "on", "le", "am", "el", "il", "den"}
# Outlook's header block ("Van: / Verzonden: / Aan: / Onderwerp:"), also inside inline forwards.
HEADER_FROM = re.compile(r"^\*?(?:van|from|de|von|da)\s*\*?\s*:\s*\*?\s*\S")
HEADER_OTHER = re.compile(
    r"^\*?(?:verzonden|sent|envoye|gesendet|date|datum|aan|to|a|an|onderwerp|subject|objet|sujet|betreff|cc|pour)"
    r"\s*\*?\s*:"
)
HEADER_FIELD = re.compile(
    r"^\*?(van|from|de|von|verzonden|sent|envoye|gesendet|date|datum|aan|to|a|an|pour|onderwerp|subject|objet|"
    r"sujet|betreff|cc|bcc|reply-to|antwoord aan)\s*\*?\s*:\s*(.*)$"
)

# Closings after which the signature starts ("Met vriendelijke groeten", "Groetjes Ilhame", "Cordialement").
CLOSING = re.compile(
    r"^(?:(?:met |mijn |heel |veel |vele )?(?:vriendelijke|hartelijke|hartelijk|warme|lieve|beste|fijne|"
    r"zonnige|collegiale|sportieve|dikke)?\s*groet(?:en|jes|je)?\b|groetjes|groeten|mvg|vg|"
    r"tot (?:dan|ziens|binnenkort|dinsdag|morgen|snel|later|gauw)\b|(?:bien |tres )?cordialement|"
    r"bien (?:a vous|amicalement|cordialement)|"
    r"(?:tres |bien )?amicalement|(?:sinceres |meilleures )?salutations|"
    r"bonne (?:journee|soiree|fin de journee)|"
    r"belle (?:journee|soiree)|a (?:bientot|tres bientot|mardi)|avec mes remerciements|je vous remercie|"
    r"(?:kind|best|warm|warmest|many|kindest)?\s*regards|best wishes|all the best|cheers|sincerely|"
    r"yours (?:sincerely|truly)|take care)"
)
# Thanks close a mail only as a short line of their own ("Alvast bedankt,", "Merci d'avance !"), never
# "Merci de supprimer mes données".
THANKS = re.compile(
    r"^(?:alvast |nogmaals |heel |hartelijk |vast )?(?:bedankt|dank(?:jewel|uwel)?|"
    r"dank (?:u|je) (?:wel|zeer)?|merci|thanks|thank you|many thanks)(?: (?:alvast|voor alles|"
    r"voor (?:uw|je|jullie) (?:hulp|antwoord|reactie|"
    r"tijd)|d'avance|beaucoup|in advance|again|a lot|so much|et (?:bonne|belle) \w+|"
    r"en tot (?:dan|ziens|straks)|et a bientot|pour votre (?:aide|reponse)|for your (?:help|reply|time)|"
    r"u wel|je wel|en groeten))*$"
)
CLOSING_MAX_WORDS = 8
SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_SEGMENT = re.compile(r"\s+[-–|]\s+|\s*\|\s*|,\s+")  # "An Smet - CAW", "An Smet | CAW", "An Smet, CAW"
_BLANK_LINE = re.compile(r"\n\s*\n")

# Lines a mail client adds: never a name, never the sender's words.
CLIENT_FOOTER = re.compile(
    r"^(?:verzonden (?:vanaf|vanuit|met|van) |sent from (?:my|mail|outlook)|"
    r"envoye (?:de|depuis|a partir de) |"
    r"get outlook for|outlook (?:voor|for|pour) (?:ios|android)|download outlook|"
    r"\[(?:afbeelding|image|cid:|logo)|"
    r"<https?://|verstuurd (?:vanaf|vanuit|met) )"
)
FOOTER_INITIALS = set("vsegod[<")  # how every CLIENT_FOOTER line begins
DISCLAIMER = re.compile(
    r"disclaimer|vertrouwelijk|confidenti|bestemd voor de geadresseerde|uitsluitend bestemd|"
    r"intended (?:solely )?for|intended recipient|aansprakelijk|denk aan het milieu|"
    r"think before (?:you )?print|pensez a l.environnement|destinataire|privacyverklaring|"
    r"privacy ?(?:policy|statement)|beroepsgeheim|"
    r"verwittig (?:dan )?(?:onmiddellijk )?"
    r"de afzender|notify the sender|any (?:unauthori[sz]ed|disclosure)|algemene voorwaarden"
)


# The boilerplate that closes a newsletter, a list post or bulk mail: how to stop receiving it, and why it
# came (nl/fr/en/de/it/es, folded). Each names a link, a list or "this mail", never what the sender asks for
# themself: "ik wil me uitschrijven" is a request, "uitschrijven? klik hier" is a footer.
BULK_FOOTER = Keywords(
    r"you (?:can|may|could) (?:\w+ ){0,2}(?:unsubscribe|opt[- ]out)(?! me\b| us\b| my\b)|"
    r"click here to (?:unsubscribe|opt[- ]out|be removed)|tap here to (?:unsubscribe|opt[- ]out|be removed)|"
    r"unsubscribe (?:here|now|at any time|instantly|from (?:this|these|our|all|future|the list|the mailing))|"
    r"unsubscribe\s*(?::|\||https?:)|remove your (?:e-?mail|address)\b|"
    r"manage (?:your )?(?:e-?mail |subscription |communication |newsletter )?"
    r"(?:preferences|subscriptions?)\b|"
    r"update (?:your )?(?:e-?mail |subscription |communication |newsletter )?"
    r"(?:preferences|subscriptions?)\b|"
    r"you(?: are|'re| were) (?:receiving|getting) (?:this|these) "
    r"(?:e-?mails?|messages?|newsletters?|because)|"
    r"you(?: are|'re) subscribed to (?:this|our|the)\b|"
    r"you (?:have )?received this (?:e-?mail |message |newsletter |mailing )?(?:because|as you|since)|"
    r"this (?:e-?mail|message|newsletter) (?:was|has been) sent to \S+@|"
    r"sign up for these e-?mails|if you (?:no longer|don't|do not) (?:wish|want) to (?:receive|get) "
    r"(?:these|this|our|future|further|e-?mails)|"
    r"opt[- ]out (?:of|from|here|at any)|mailman/listinfo\b|"
    r"uitschrijven\W{0,3}\s*klik|afmelden\W{0,3}\s*klik|uitschrijven\s*:\s*https?:|afmelden\s*:\s*https?:|"
    r"klik hier om (?:je|u|jezelf|uzelf) (?:\w+ ){0,2}(?:uit te schrijven|af te melden)|"
    r"deze nieuwsbrief (?:\w+ ){0,3}(?:niet (?:meer|langer) ontvangen|uitschrijven|afmelden)|"
    r"onze nieuwsbrief (?:\w+ ){0,3}(?:niet (?:meer|langer) ontvangen|uitschrijven|afmelden)|"
    r"wil (?:je|u) (?:\w+ ){0,4}niet (?:langer|meer) ontvangen|"
    r"je ontvangt (?:deze|dit|onze) (?:\w+ ){0,2}(?:e-?mail|mail|nieuwsbrief|bericht|mailing)\w* "
    r"(?:omdat|als|want)|"
    r"u ontvangt (?:deze|dit|onze) (?:\w+ ){0,2}(?:e-?mail|mail|nieuwsbrief|bericht|mailing)\w* "
    r"(?:omdat|als|want)|"
    r"beheer (?:je|uw) (?:voorkeuren|inschrijving|abonnement)|voorkeuren (?:beheren|aanpassen|wijzigen)\b|"
    r"abonnement (?:beheren|aanpassen|wijzigen)\b|"
    r"pour (?:vous|te|se) (?:desinscrire|desabonner)|cliquez ici pour (?:\w+ ){0,3}(?:desinscri|desabonn)|"
    r"lien de desinscription|desinscription\s*:|"
    r"vous recevez (?:ce|cet|cette) (?:e-?mail|message|courriel|newsletter|lettre)|"
    r"pour ne plus recevoir (?:nos|cette|ces|notre|de|les)|"
    r"si vous ne (?:souhaitez|voulez|desirez) plus recevoir|"
    r"gerer (?:vos|mes) (?:preferences|abonnements)|"
    r"cancellami\b|per cancellarti|cancellati dalla|disiscriviti|non (?:desideri|vuoi) piu ricevere|"
    r"newsletter abbestellen|e-?mails? abbestellen|hier abbestellen|um sich (?:\w+ )?abzumelden|"
    r"sie erhalten diese (?:e-?mail|nachricht|newsletter)|darse de baja|cancelar (?:la |su )?suscripcion|"
    r"anular (?:la |su )?suscripcion"
)
# Footer lines that are a bare link label or an instruction opening the line ("To unsubscribe, ..."); "I would
# like to be removed from the list" is a request.
FOOTER_LINE = re.compile(
    r"^\W*(?:to unsubscribe\b|(?:if you (?:wish|want|would like) )?to be removed from|se desabonner\W*$)",
    re.MULTILINE,
)
# Cheap words one of which every BULK_FOOTER phrase holds: most mails stop here.
_FOOTER_HINTS = (
    "unsubscri",
    "opt out",
    "opt-out",
    "remove your",
    "removed from",
    "preferences",
    "subscription",
    "receiving th",
    "getting th",
    "subscribed to",
    "received th",
    "sent to",
    "sign up for",
    "to receive",
    "listinfo",
    "uitschrijven",
    "afmelden",
    "uit te schrijven",
    "af te melden",
    "nieuwsbrief",
    "ontvang",
    "voorkeuren",
    "abonnement",
    "desinscri",
    "desabonn",
    "recev",
    "cancell",
    "disiscri",
    "piu ricevere",
    "abbestellen",
    "abzumelden",
    "sie erhalten",
    "de baja",
    "suscripcion",
)


@dataclass(frozen=True)
class Forwarded:
    """A message forwarded inline or as an attachment: who wrote it and what they wrote."""

    from_header: str
    subject: str
    text: str  # its own text, without what it quotes in turn


@dataclass(frozen=True)
class Structure:
    own: str  # what the sender wrote: no quotes, no forwards, no client footers
    body: str  # `own` above the closing: the message itself
    signature: str  # from the closing on, without disclaimers: name, function, organisation
    quoted: str = ""  # the mail replied to, as quoted
    forwards: tuple[Forwarded, ...] = ()
    footer: str = ""  # a newsletter's or list's closing boilerplate, cut from `own`: never a request


def _unquote(line: str) -> str:
    return line.lstrip("> \t")


def _attribution_at(lines: list[str], index: int) -> int:
    """How many lines (1 or 2) an attribution line takes at `index`, or 0
    (Gmail wraps it before the address)."""
    first = _unquote(lines[index]).strip()
    if first[:4].lower().split(" ", 1)[0] not in ATTRIBUTION_WORDS:
        return 0
    first = fold(first)
    if ATTRIBUTION.match(first):
        return 1
    if index + 1 < len(lines):
        joined = first + " " + fold(_unquote(lines[index + 1]).strip())
        if ATTRIBUTION.match(joined):
            return 2
    return 0


def _header_block_at(lines: list[str], index: int) -> bool:
    """An Outlook-style "Van:/From:" line followed by other header lines."""
    if not HEADER_FROM.match(fold(_unquote(lines[index]).strip())):
        return False
    following = [fold(_unquote(line).strip()) for line in lines[index + 1 : index + 6] if line.strip()]
    return sum(1 for line in following[:4] if HEADER_OTHER.match(line)) >= 2


def _first_marker(lines: list[str], forward_subject: bool) -> tuple[int, str]:
    """Index and kind ("forward" or "reply") of the first line where other people's text starts; (len, "")."""
    for index, line in enumerate(lines):
        stripped = _unquote(line).strip()
        if not stripped:
            continue
        # Every marker has a colon, starts with a dash run, or is an attribution wrapped before its colon.
        if (
            ":" not in stripped
            and stripped[0] not in "-_"
            and not (index + 1 < len(lines) and lines[index + 1].rstrip().endswith(":"))
            and not stripped.lower().startswith(("begin", "d\u00e9but", "debut", "anfang"))
        ):
            continue
        plain = fold(stripped)
        if FORWARD_MARKER.match(plain):
            return index, "forward"
        if REPLY_SEPARATOR.match(plain):
            # "-----Original Message-----" right before a forward marker
            # (an HTML blockquote holding a forward).
            for ahead in lines[index + 1 : index + 4]:
                if FORWARD_MARKER.match(fold(_unquote(ahead).strip())):
                    break
            else:
                return index, "forward" if forward_subject and _header_block_near(lines, index) else "reply"
            continue
        if _header_block_at(lines, index):
            return index, "forward" if forward_subject else "reply"
        span = _attribution_at(lines, index)
        if span:
            after = [line for line in lines[index + span : index + span + 3] if line.strip()]
            if not (after and after[0].lstrip().startswith(">")):
                return index, "reply"
    return len(lines), ""


def _header_block_near(lines: list[str], index: int) -> bool:
    return any(_header_block_at(lines, i) for i in range(index + 1, min(index + 4, len(lines))))


def _forwarded(lines: list[str], forward_subject: bool) -> Forwarded:
    """A forwarded message from the lines after its marker: the header block, then its text."""
    quoted = (
        sum(1 for line in lines[:12] if line.startswith(">")) > len([x for x in lines[:12] if x.strip()]) // 2
    )
    if quoted:
        lines = [line[1:].lstrip(" ") if line.startswith(">") else line for line in lines]
    fields: dict[str, str] = {}
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    last_field = ""
    while index < len(lines):
        stripped = lines[index].strip()
        match = HEADER_FIELD.match(fold(stripped))
        if match:
            key = match.group(1)
            value = stripped.split(":", 1)[1].strip().strip("*").strip()
            last_field = {
                "van": "from",
                "de": "from",
                "von": "from",
                "onderwerp": "subject",
                "objet": "subject",
                "sujet": "subject",
                "betreff": "subject",
            }.get(key, key)
            fields.setdefault(last_field, value)
        elif (
            stripped and last_field and (stripped.startswith("<") or fields[last_field].endswith(("<", ",")))
        ):
            fields[last_field] += " " + stripped  # a header wrapped by the client ("To: X\n<x@y>")
        elif not stripped and fields or stripped:
            break
        index += 1
    inner = split_text("\n".join(lines[index:]), forward_subject)
    text = inner.own
    for nested in inner.forwards:  # a forward of a forward: its text counts as forwarded too
        text += "\n\n" + nested.text
    return Forwarded(from_header=fields.get("from", ""), subject=fields.get("subject", ""), text=text)


def split_text(text: str, forward_subject: bool = False) -> Structure:
    """Cut a mail's text into the sender's own words, the quoted mail and the forwarded ones."""
    lines = text.split("\n")
    index, kind = _first_marker(lines, forward_subject)
    head, rest = lines[:index], lines[index:]
    forwards: tuple[Forwarded, ...] = ()
    quoted_lines: list[str] = []
    if kind == "forward":
        forwards = (
            _forwarded(
                rest[1:]
                if FORWARD_MARKER.match(fold(_unquote(rest[0]).strip()))
                or REPLY_SEPARATOR.match(fold(_unquote(rest[0]).strip()))
                else rest,
                forward_subject,
            ),
        )
    elif kind == "reply":
        quoted_lines = rest
    own_lines: list[str] = []
    skip = 0
    for number, line in enumerate(head):
        if skip:
            skip -= 1
            continue
        if line.lstrip().startswith(">"):
            quoted_lines.append(line)  # interleaved or bottom-posted replies keep the lines around the quote
            continue
        span = _attribution_at(head, number)
        if span:
            skip = span - 1
            continue
        stripped = line.strip()
        if stripped[:1].lower() in FOOTER_INITIALS and CLIENT_FOOTER.match(fold(stripped)):
            continue
        own_lines.append(line)
    own, footer = split_footer("\n".join(own_lines).strip("\n"))
    body, signature = split_signature(own)
    quoted = "\n".join(_unquote(line) for line in quoted_lines)
    return Structure(own=own, body=body, signature=signature, quoted=quoted, forwards=forwards, footer=footer)


def split_footer(own: str) -> tuple[str, str]:
    """(text, footer): the footer starts at the first line of bulk-mail boilerplate and runs to the end."""
    folded = fold(own)
    if not any(hint in folded for hint in _FOOTER_HINTS):
        return own, ""
    found = [m.start() for m in (BULK_FOOTER.search(folded), FOOTER_LINE.search(folded)) if m is not None]
    if not found:
        return own, ""
    lines = own.split("\n")
    start = folded.count("\n", 0, min(found))  # fold keeps every line break where it was
    while start > 0 and not lines[start - 1].strip(" -_=*"):
        start -= 1  # the rule or blank lines that set the footer apart belong to it
    return "\n".join(lines[:start]).rstrip(), "\n".join(lines[start:]).strip()


def is_closing(line: str) -> bool:
    """A line such as "Met vriendelijke groeten," or "Groetjes Ilhame" that ends the message and opens the
    signature."""
    if len(line) > 80:
        return False
    plain = fold(line.strip()).strip(" ,.!-")
    if not plain or len(plain.split()) > CLOSING_MAX_WORDS:
        return False
    return bool(CLOSING.match(plain) or THANKS.match(plain.rstrip(" ,.!")))


def _is_disclaimer(paragraph: str) -> bool:
    folded = fold(paragraph)
    return len(folded.split()) >= 8 and bool(DISCLAIMER.search(folded))


def _long_sentence(line: str) -> bool:
    return len(line.split()) > 12


def split_signature(own: str) -> tuple[str, str]:
    """(message, signature): the signature starts at the "-- " line or at a closing with only short lines
    after it."""
    lines = own.split("\n")
    for index, line in enumerate(lines):
        if line.startswith("--") and SIGNATURE_DELIMITER.match(line):
            return "\n".join(lines[:index]).strip(), _without_disclaimers("\n".join(lines[index + 1 :]))
    for index, line in enumerate(lines):
        if index == 0 or not is_closing(line):
            continue
        rest = _without_disclaimers("\n".join(lines[index:]))
        if not any(_long_sentence(x) for x in rest.split("\n")[1:]):
            return "\n".join(lines[:index]).strip(), rest
    # No closing: a short last paragraph that starts with a name is the signature ("Dirk", "An Smet - CAW").
    blocks = own.strip().split("\n\n")
    if len(blocks) >= 2:
        last = blocks[-1].strip().split("\n")
        first = _SEGMENT.split(last[0])[0]
        if (
            len(last) <= 4
            and len(first.split()) <= 4
            and all(w[:1].isupper() for w in first.split())
            and all(len(x.split()) <= 8 and not x.rstrip().endswith(("?", ".", ":")) for x in last)
        ):
            return "\n\n".join(blocks[:-1]).strip(), blocks[-1].strip()
    return own.strip(), ""


def _without_disclaimers(text: str) -> str:
    blocks = _BLANK_LINE.split(text)
    kept = [block for block in blocks if not _is_disclaimer(block)]
    return "\n\n".join(kept).strip()
