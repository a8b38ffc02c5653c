"""What a mail asks for: register, cancel, unsubscribe, erase, question, or an auto-reply,
bounce or other mail.

Pure: no network, no clock. Headers decide first (RFC 3834, RFC 3464); then keyword families in Dutch, French
and English over the sender's own sentences, the way a coordinator reads them.
Keywords match accent-folded lower case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailflow.core.parsing import clauses as cl
from mailflow.core.parsing.headers import Headers
from mailflow.core.parsing.mime import Body
from mailflow.core.parsing.result import Intent
from mailflow.core.parsing.text import REPLY_PREFIX, Joined, Keywords, fold

# --- headers ------------------------------------------------------------------------------------------------

BOUNCE_SENDERS = re.compile(
    r"^(?:mailer-daemon|postmaster|mail-daemon|maildaemon|bounces?|mdaemon|"
    r"microsoftexchange[0-9a-f]*)@",
    re.IGNORECASE,
)
# RFC 3834 2: no automatic answer to a mailbox that says it reads no mail.
NO_REPLY_SENDERS = re.compile(r"^(?:no|do[-_.]?not)[-_.]?repl(?:y|ies)(?:[-_.+][^@]*)?@", re.IGNORECASE)
BOUNCE_NAMES = re.compile(
    r"mail delivery (?:subsystem|system)|mail delivery|postmaster|mailer-daemon", re.IGNORECASE
)
BOUNCE_SUBJECT = re.compile(
    r"^(?:undeliver(?:ed|able)|onbestelbaar|niet (?:afgeleverd|bezorgd)|non remis|non distribu|"
    r"delivery (?:status notification|failure|has failed|delayed)|mail delivery failed|returned mail|"
    r"failure notice|vertraagd|delayed|retarde|returned to sender|unzustellbar|"
    r"undelivered mail|message not delivered|bezorging (?:mislukt|vertraagd))",
)
AUTO_SUBJECT = re.compile(
    # "Afwezig:", "Absence :" only with their colon: "Afwezig 12 mei" is a person excusing themselves.
    r"^(?:afwezig|absent|absente|absence|out of (?:the )?office|ooo|automatisch antwoord|automatic reply|"
    r"auto(?:matic)?[- ]?reply|autoreply|auto-response|reponse automatique|abwesend|abwesenheitsnotiz|"
    r"automatische antwort|vacation|vakantie|conge|on leave|away)\s*[:/|]"
    r"|out of (?:the )?office|automatisch antwoord|automatic reply|reponse automatique|autoreply|auto-reply"
    r"|automatische antwort|abwesenheitsnotiz|^ooo\b",
)
# Text an auto-responder writes: somebody away and mail not read, or a mailbox that answers itself.
AUTO_AWAY = Keywords(
    r"(?:ik ben|i am|i'm|je suis|we zijn|wij zijn|nous sommes)\s+(?:\w+ ){0,3}"
    r"(?:afwezig|(?:met|op|in) (?:verlof|vakantie|"
    r"zwangerschapsverlof|ouderschapsverlof|ziekteverlof|moederschapsrust)|op reis|out of (?:the )?office|"
    r"away|on (?:leave|holiday|vacation|annual leave)|absente?|en (?:conge|vacances|deplacement)|"
    r"niet (?:op kantoor|op het werk|bereikbaar|aanwezig)|not in the office|pas au bureau)|"
    r"secretariaat is gesloten|kantoor is gesloten|bureau est ferme|office is closed|out of the office until|"
    r"ben (?:\w+ ){0,2}terug op|ben terug vanaf|i will be back|i'll be back|je serai de retour|de retour le"
)
# fmt: off
AWAY_HINTS = (
    "afwezig", "verlof", "vakantie", "moederschapsrust", "op reis", "out of", "away", "leave", "holiday",
    "vacation", "absent", "conge", "vacances", "deplacement", "kantoor", "op het werk", "bereikbaar",
    "niet aanwezig", "office", "bureau", "gesloten", "ferme", "closed", "terug op", "terug vanaf", "be back",
    "de retour",
)
# fmt: on
AUTO_MAIL = Keywords(
    r"(?:lees|read|lis|check)\w* (?:\w+ ){0,4}(?:mail|e-mail|email|bericht|message)(?:s|en)? (?:\w+ )?"
    r"(?:niet|not|pas)|(?:mail|e-mail|email|bericht|uw bericht)(?:s|en)? (?:\w+ ){0,3}"
    r"(?:niet (?:gelezen|doorgestuurd|opgevolgd)|"
    r"not (?:be )?(?:read|forwarded))|"
    r"(?:without|limited|beperkte|beperkt|sans|zonder) (?:\w+ ){0,2}(?:access|toegang|acces) "
    r"(?:\w+ ){0,2}e?-?mail|(?:bedankt|dank u|thank you|merci) (?:\w+ ){0,2}(?:voor )?(?:uw|your|votre) "
    r"(?:bericht|e-mail|email|message)|"
    r"this is an automat|dit is een automatisch|ceci est une reponse automatique|"
    r"(?:voor|bij|in) dringende (?:vragen|zaken|gevallen)|pour toute (?:question )?urgen\w*|en cas d'urgence|"
    r"for urgent (?:matters|questions|issues)|in urgent cases|in case of (?:urgency|emergency)"
)

# --- text keyword families ----------------------------------------------------------------------------------

REGISTER_STRONG = Keywords(
    # nl: inschrijven, aanmelden, aansluiten, deelnemen, meedoen, bijwonen, opgeven, noteren, aanwezig zijn
    r"in te schrijven|inschrijven|schrij[fv]\w* (?:\w+ ){0,7}in\b|"
    r"(?:graag|zou|wil) (?:\w+ ){0,4}ingeschreven|"
    r"aan te melden|aanmelden|meld\w* (?:\w+ ){0,4}aan\b|"
    r"aansluiten|aan te sluiten|sluit (?:ik|we|wij|hij|zij|ze) (?:me |mij |ons |zich )?(?:\w+ ){0,2}aan\b|"
    r"deelnemen|deel te nemen|neem\w* (?:\w+ ){0,3}deel\b|meedoen|mee te doen|doe\w* (?:\w+ ){0,3}mee\b|"
    r"bijwonen|bij te wonen|woon\w* (?:\w+ ){0,3}bij\b|opgeven|op te geven|"
    r"geef (?:me|mij|ons) (?:\w+ ){0,2}op\b|"
    r"noteer (?:me|mij|ons)|noteren|reserveer|reserveren|op de (?:deelnemers|gasten)?lijst|"
    r"aanwezig (?:zijn|te zijn)|(?:zal|zullen|ben|zijn) (?:\w+ ){0,3}aanwezig|"
    r"graag bij\b|er graag bij|wil (?:\w+ ){0,2}graag bij|(?:wil|zou) (?:\w+ ){0,3}graag komen|"
    # "willen graag naar de sessie komen", West Flemish "geerne", the Flemish wish "ik had graag deelgenomen"
    r"(?:graag|geerne|gere) (?:\w+ ){0,6}(?:komen|deelnemen|aanwezig zijn)\b|"
    r"(?:had|hadden|zou|zouden) (?:\w+ ){0,3}(?:graag|geerne) (?:\w+ ){0,4}"
    r"(?:deelgenomen|gekomen|bijgewoond|ingeschreven)|"
    r"(?:zet|noteer|plaats) (?:me|mij|ons|hem|haar|hen) (?:\w+ ){0,3}(?:op de lijst|voor)\b|"
    r"(?:plaats|plaatsen) (?:\w+ ){0,2}(?:voorzien|vrijhouden)|"
    r"kom\w* (?:\w+ ){0,2}mee\b|meekomen|"
    # fr: s'inscrire, participer, rejoindre, assister, être présent
    r"inscri(?:re|s|t|vons|vez|ption)\b|m'y inscrire|participer|rejoindre|assister a|etre present|"
    # en: register, sign up, join, attend
    r"regist(?:er|ration|ering)\b|sign (?:me |us |her |him |them )?up\b|signing up\b|join\b|attend\b|"
    r"participate|add (?:me|her|him|us|them) to|count (?:me|us) in|pass on my name|"
    r"save (?:me|us) a (?:seat|spot|place)|put (?:me|us|her|him|them) (?:down|on the list)\b|"
    r"note (?:me|us|her|him|them) down|"
    r"(?:book|reserve) (?:a |my )?(?:seat|spot|place)"
)
REGISTER_WEAK = Keywords(
    r"ik kom graag|kom graag|komen graag|ik kom (?:zeker|ook|wel|alvast|samen)\b|wij komen|we komen|"
    # "ik kom dinsdag" (a phone's whole mail), "komen we met vier", "on sera 3", "toch komen" after a cancel
    r"ik kom\b(?! (?:niet|nooit|pas|later|terug|uit|met|van|per|vanuit|rechtstreeks|net|juist)\b)|"
    r"komen (?:we|wij) (?:\w+ ){0,5}met\b|"
    r"(?:kan|kunnen) (?:\w+ ){0,3}toch (?:wel )?komen|can come after all|"
    r"(?:on|nous) sera (?:\w+ )?(?:\d|deux|trois|quatre|cinq)|nous serons (?:\d|deux|trois|quatre|cinq)|"
    r"je compte (?:bien )?venir|je (?:peux|pourrai) finalement venir|"
    r"komt (?:ook|mee|graag|zeker)\b|komen (?:ook|mee)\b|vient aussi|viendra\b|is coming too|"
    r"will (?:also )?come\b|also (?:wants to )?(?:come|join)\b|"
    r"(?:mag|kan) ik (?:ook )?(?:\w+ )?komen|stap\w* (?:\w+ ){0,3}in\b|ben(?: er)?(?: \w+)? bij\b|erbij|"
    r"inschrijving|aanmelding|(?:mijn|onze) gegevens(?: zijn)? ?:|hierbij (?:\w+ )?(?:mijn|onze) gegevens|"
    r"mes coordonnees ?:|voici mes coordonnees|my details(?: are)? ?:|here are my details|"
    r"je viendrai|nous viendrons|je serai (?:present|la)|viendra aussi|"
    r"(?:je viens|nous venons) (?:volontiers|avec plaisir|certainement)\b|"
    r"i(?: a|')m coming\b|we(?: a|')re coming\b|"
    r"i'll (?:be there|come)|i will (?:be there|come)|i'd (?:like|love) to (?:come|go)|"
    r"i would (?:like|love) to (?:come|go)|interested in (?:coming|joining)"
)
CANCEL_STRONG = Keywords(
    r"afmeld\w*|meld\w* (?:\w+ ){0,4}af\b|afzeg\w*|zeg\w* (?:\w+ ){0,3}af\b|annuleer\w*|annuleren|"
    r"verontschuldig\w*|excuseer\w*|verhinderd|verstek|forfait|afhak\w*|haak\w* (?:\w+ ){0,3}af\b|"
    r"m'excuse\w*|excuse[rz]?\b|annul\w*|empeche\w*|desist\w*|"
    r"cancel\w*|apologi[sz]\w*|send my apologies"
)
CANCEL_WEAK = Keywords(
    r"niet (?:\w+ ){0,3}(?:aanwezig|bij (?:kunnen )?zijn|(?:kunnen )?komen|lukken|halen|geraken)|"
    r"(?:kan|kun|kunnen|zal|zullen|lukt|ben|zijn) (?:\w+ ){0,4}niet (?:\w+ )?"
    r"(?:bij zijn|bij\b|komen|aanwezig)|"
    r"er (?:\w+ ){0,2}niet bij\b|afwezig|(?:ik|we|wij) (?:kan|kunnen|zal|zullen)(?: \w+){0,2} niet"
    r"(?= ?[.,!;)]|$)|(?:ik|we|wij) (?:kom|komen) (?:\w+ ){0,2}niet\b|"
    # Without a subject, as phone mail writes: "kan toch niet, sorry", "lukt niet dinsdag"
    r"(?:^|(?<=\n))(?:\w+,? )?(?:kan|kunnen) (?:toch |helaas |jammer genoeg )?niet\b|"
    r"lukt (?:\w+ ){0,2}niet\b|"
    r"gaat (?:\w+ ){0,2}niet lukken|"
    r"(?:have to|must|will|'ll|need to) skip|skip (?:that|this|the) (?:one|session|meeting)|"
    r"(?:moet|zal) (?:\w+ ){0,3}(?:overslaan|passen)\b|"
    r"ne (?:\w+ ){0,2}(?:pourr\w*|serai|serons|sera|viendrai|viendrons|peux|pouvons|saurai)\b"
    r"(?: \w+){0,2} pas|pas (?:pouvoir )?(?:venir|assister|etre (?:present|la))|absen(?:t|te|ce)\b|"
    r"can't (?:make it|come|attend|be there|join)|cannot (?:make it|come|attend|be there|join)|"
    r"(?:won't|will not|not) be able to (?:attend|come|make|join)|unable to (?:attend|come|make|join)|"
    r"(?:won't|will not) (?:be there|make it|come)"
)
UNSUBSCRIBE = Keywords(
    r"(?:van|uit) (?:de|jullie|uw|het|je) (?:\w+ ){0,2}(?:mailing|verzend|adres|e-mail|email|contact)lijst"
    r"(?:en)?\b|schrap\w* (?:\w+ ){0,4}(?:adressen\w*|mailing\w*)|(?:uit|van) (?:\w+ ){0,2}adressenbestand|"
    # The words our mails teach for leaving (core/vocabulary.py), and their everyday variants
    r"stap\w* (?:\w+ ){0,3}uit (?:het|de|jullie|ons|uw) (?:\w+ )?(?:leer)?netwerk|"
    r"uit (?:het|de|jullie|uw) (?:\w+ )?(?:leer)?netwerk (?:\w+ ){0,2}(?:stappen|stap|te stappen)\b|"
    r"verla(?:at|ten) (?:\w+ ){0,2}(?:leer)?netwerk|(?:leer)?netwerk (?:\w+ ){0,2}(?:verlaten|verlaat)\b|"
    r"quitt\w* (?:\w+ ){0,2}reseau|leav\w* (?:\w+ ){0,2}network|"
    r"geen (?:\w+ ){0,2}(?:mails|e-mails|uitnodigingen|berichten|herinneringen) meer|"
    r"niet (?:langer|meer) (?:\w+ ){0,3}(?:ontvangen|mailen|contacteren)|"
    r"afmeld\w* (?:\w+ ){0,3}(?:mailinglijst|nieuwsbrief|verzendlijst|lijst|leernetwerk|netwerk)|"
    r"stop\w* (?:\w+ ){0,2}met (?:het |de )?(?:leernetwerk|netwerk)|"
    r"niet langer (?:\w+ ){0,3}(?:deel|lid|volgen)|"
    r"desabonn\w*|ne plus recevoir|"
    r"unsubscri\w*|remove my (?:name|address|e-mail|email) from|"
    r"off (?:the|your) (?:mailing )?list|stop (?:sending|receiving|mailing|emailing)|"
    r"no longer (?:wish to |want to )?receive"
)
ERASE = Keywords(
    # "wis mijn gegevens" as our mails teach it, and every order of verb and "mijn gegevens"
    r"(?:wis|verwijder|schrap|vernietig)\w* (?:\w+ ){0,2}(?:mijn|m'n|onze) (?:\w+ ){0,2}gegevens|"
    r"persoonsgegevens|persoonlijke gegevens|gegevenswissing|recht om vergeten|vergeten (?:te )?worden|"
    r"uit (?:al )?(?:jullie|uw|je) (?:bestanden|databank|database|systemen)|gdpr|avg|rgpd|"
    r"(?:al |alle )?(?:mijn|m'n) (?:\w+ ){0,2}gegevens (?:\w+ ){0,4}"
    r"(?:verwijder\w*|wissen|schrappen|vernietig\w*)|"
    r"gegevens (?:te )?(?:laten )?(?:verwijderen|wissen|schrappen)|"
    r"donnees (?:personnelles|a caractere personnel)|droit (?:a l'oubli|a l'effacement|d'effacement)|"
    r"(?:supprim|effac)\w* (?:\w+ ){0,2}(?:mes|toutes mes) (?:\w+ )?donnees|"
    r"personal (?:data|details|information)|right to (?:be forgotten|erasure)|"
    r"(?:delete|erase|remove) (?:all )?(?:of )?my (?:personal )?(?:data|details|information|records)"
)
# Money, accounts and mailbox panics: spam and phishing as a coordinator recognises them (folded phrases).
# fmt: off
SPAM_PHRASES = (
    "administration fee", "processing fee", "bank account", "bankaccount", "rekeningnummer", "bankgegevens",
    "wire transfer", "western union", "bitcoin", "crypto", "lottery", "loterij", "inheritance", "erfenis",
    "you have won", "you have been selected", "pre-selected", "preselected", "verify your account",
    "verify your mailbox", "bevestig uw account", "bevestig uw postvak", "bevestig uw gegevens",
    "opslaglimiet", "storage limit", "storage quota", "mailbox is full", "mailbox is almost full",
    "wachtwoord", "password", "klik op de knop", "klik op de link", "click here", "click the button",
    "limited time", "act now", "is bijna vol", "postvak is vol", "uw account wordt", "your account will be",
    "grant application",
)
# fmt: on
QUESTION_SUBJECT = re.compile(r"\b(?:vraag|question)")
NETWORK_WORDS = re.compile(
    r"\b(?:leernetwerk|lerend netwerk|netwerk|sessie|sessies|bijeenkomst\w*|avond|reseau|seance|seances|"
    r"session|sessions|network|meeting)\b"
)
# What a question to the coordinator is about: the network, its meetings, its volunteers
# (not SEO or a webshop).
TOPIC_WORDS = re.compile(
    r"\b(?:leernetwerk|lerend netwerk|netwerk|sessie|sessies|bijeenkomst\w*|avond\w*|reseau|seance|seances|"
    r"session|sessions|network|meeting|uitnodiging|herinnering|invitation|reminder|campus|thema|theme|lokaal|"
    r"zaal|inschrijving|inscription|registration|spreker\w*|speaker\w*|slides|presentatie\w*|vrijwilliger\w*|"
    r"benevole\w*|volunteer\w*|parkeren|parking|trein|tram|bus|bereikbaar|locatie|adres|kost|kosten|gratis|"
    r"betalen|tolk|begint|beginnen|start|hoe laat|what time|where|waar is|ou se trouve|quelle heure)\b"
)
# The footer of a newsletter or list mail: "Wil je deze nieuwsbrief niet meer ontvangen? Klik hier."
LIST_FOOTER = Keywords(
    r"(?:deze|onze|de) nieuwsbrief (?:\w+ ){0,3}(?:niet meer|uitschrijven|afmelden)|om je uit te schrijven|"
    r"klik hier om (?:je|u) (?:\w+ )?(?:uit te schrijven|af te melden)|to unsubscribe|"
    r"unsubscribe (?:here|from this)|"
    r"pour (?:vous|te) desinscrire|se desabonner|ne plus recevoir (?:cette|notre|nos)|"
    r"wil (?:je|u) (?:\w+ ){0,3}niet meer ontvangen|you (?:are )?receiv\w* this (?:email|message|newsletter)|"
    r"je ontvangt deze|u ontvangt deze|vous recevez ce"
)


@dataclass
class Reading:
    """The intent and how sure we are, with the reasons (never personal data)."""

    intent: Intent
    confidence: float
    reasons: list[str] = field(default_factory=list)
    has_question: bool = False
    scores: dict[str, float] = field(default_factory=dict)


def _header(headers: Headers, name: str) -> str:
    return " ".join(headers.get(name.lower(), "").split()).lower()


def header_intent(
    headers: Headers, body: Body, sender: str | None, sender_name: str | None, subject: str
) -> Reading | None:
    """Bounce, auto-reply or list mail as its headers and MIME structure say, or None."""
    folded_subject = fold(subject)
    return_path = _header(headers, "Return-Path")
    null_sender = "return-path" in headers and return_path.strip() in ("<>", "")
    if body.report_type == "delivery-status" or any(
        a in ("failed", "delayed") for a in body.delivery_actions
    ):
        return Reading(Intent.BOUNCE, 1.0, ["bounce: RFC 3464 delivery status report"])
    daemon = bool(sender and BOUNCE_SENDERS.match(sender)) or bool(BOUNCE_NAMES.search(sender_name or ""))
    if daemon and (BOUNCE_SUBJECT.match(folded_subject) or null_sender or body.report_type):
        return Reading(Intent.BOUNCE, 0.95, ["bounce: mailer-daemon sender"])
    if null_sender and BOUNCE_SUBJECT.match(folded_subject):
        return Reading(Intent.BOUNCE, 0.9, ["bounce: null Return-Path and failure subject"])
    if body.report_type == "disposition-notification":
        return Reading(Intent.AUTO_REPLY, 1.0, ["auto_reply: read receipt (RFC 8098)"])
    if body.report_type:
        # RFC 6522: every multipart/report (abuse feedback, TLS reports, ...) is a machine's, never a request.
        return Reading(Intent.AUTO_REPLY, 1.0, ["auto_reply: multipart/report (RFC 6522)"])
    if daemon:
        return Reading(Intent.AUTO_REPLY, 0.9, ["auto_reply: sent by a mail system"])
    auto_submitted = _header(headers, "Auto-Submitted")
    # RFC 3834 5: any value but "no" (which may carry a comment: "no (manual)") marks an automatic message.
    if auto_submitted and re.split(r"[\s;(]", auto_submitted, maxsplit=1)[0] != "no":
        return Reading(Intent.AUTO_REPLY, 1.0, ["auto_reply: Auto-Submitted header (RFC 3834)"])
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        value = _header(headers, name)
        if value and value not in ("no", "false", "0", "none"):
            return Reading(Intent.AUTO_REPLY, 0.95, [f"auto_reply: {name} header"])
    precedence = _header(headers, "Precedence")
    is_list = any(h in headers for h in ("list-unsubscribe", "list-id", "list-post"))
    if is_list and not AUTO_SUBJECT.search(folded_subject):
        return Reading(Intent.OTHER, 0.9, ["other: mailing-list or newsletter headers"])
    if precedence in ("bulk", "junk", "list", "auto_reply", "auto-reply"):
        return Reading(Intent.AUTO_REPLY, 0.9, [f"auto_reply: Precedence {precedence}"])
    if AUTO_SUBJECT.search(folded_subject):
        return Reading(Intent.AUTO_REPLY, 0.85, ["auto_reply: out-of-office subject"])
    if null_sender:
        return Reading(Intent.AUTO_REPLY, 0.8, ["auto_reply: null Return-Path"])
    return None


def our_loop(loop_headers: list[str], own_addresses: tuple[str, ...]) -> bool:
    """Whether an X-Loop header names one of our addresses: our own mail come back
    (the guard procmail and RT use)."""
    values = " ".join(loop_headers).lower()
    return any(address in values for address in own_addresses)


def auto_reply_text(text: str) -> bool:
    """An out-of-office text sent without any header saying so: away, and mail not read."""
    folded = fold(text)
    if not any(hint in folded for hint in AWAY_HINTS):
        return False  # every AUTO_AWAY phrase holds one of these words: most mails stop here
    return bool(AUTO_AWAY.search(folded)) and bool(AUTO_MAIL.search(folded))


def spam_score(text: str) -> int:
    """How many distinct spam or phishing phrases a text holds."""
    folded = fold(text)
    return sum(1 for phrase in SPAM_PHRASES if phrase in folded)


def is_genuine_question(sentence: str) -> bool:
    """A question the coordinator must answer, not a request phrased as one ("Mag ik mij inschrijven?")."""
    folded = fold(sentence)
    if cl.ALTERNATIVE.search(folded) or cl.CONDITION_IN_QUESTION.search(folded):
        return (
            True  # "..., of moet ze zich zelf inschrijven?", "Kan ik komen als ...?": asks, not yet registers
        )
    return not cl.REQUEST_QUESTION.search(folded) and not _intent_hits(folded)


def _intent_hits(folded: str) -> bool:
    return bool(
        (
            REGISTER_STRONG.search(folded)
            and (cl.FIRST_PERSON.search(folded) or not cl.GENERIC_PERSON.search(folded))
        )
        or CANCEL_STRONG.search(folded)
        or UNSUBSCRIBE.search(folded)
        or cl.AMBIGUOUS_LEAVE.search(folded)
        or (ERASE.search(folded) and cl.ERASE_VERB.search(folded))
    )


def score_sentences(
    sentences: list[str], subject: str, evidence: dict[str, list[str]] | None = None
) -> tuple[dict[str, float], int, list[str]]:
    """Keyword scores per intent over the sender's sentences, clause by clause, and the subject (weighted
    less). A negation scopes its clause; a request that names a meeting wins over an apology for another.

    Returns (scores, genuine questions, reasons); `evidence`, when given, receives the clauses behind each
    intent (the meeting is read from them first).
    """
    scores = {"register": 0.0, "cancel": 0.0, "unsubscribe": 0.0, "erase": 0.0}
    subject_scores = dict(scores)
    questions = 0
    reasons: list[str] = []
    pairs = [
        (number, clause) for number, sentence in enumerate(sentences) for clause in cl.split_clauses(sentence)
    ]
    owner, clauses = [number for number, _ in pairs], [clause for _, clause in pairs]
    folded_clauses = [fold(clause) for clause in clauses]
    joined = Joined(folded_clauses)
    unsubscribe = cl.hits(UNSUBSCRIBE, joined)
    ambiguous = cl.hits(cl.AMBIGUOUS_LEAVE, joined)
    erase = cl.hits(ERASE, joined)
    erase_verbs = cl.hits(cl.ERASE_VERB, joined, negatable=True)  # "I am not asking you to delete anything"
    asked = cl.hits(cl.QUESTION_WORDS, joined)
    cancel_strong = cl.hits(CANCEL_STRONG, joined)
    cancel_weak = cl.hits(CANCEL_WEAK, joined)
    register_strong = cl.hits(REGISTER_STRONG, joined, negatable=True)
    register_weak = cl.hits(REGISTER_WEAK, joined, negatable=True)
    footers = cl.hits(LIST_FOOTER, joined)
    scores["list_mail"] = float(len(footers))
    found: dict[str, list[int]] = {key: [] for key in scores}
    requests: list[int] = []  # register clauses that ask for it outright
    pending: list[int] = []  # ambiguous leaving words, read with the whole mail
    genuine = [
        (s.rstrip().endswith("?") or fold(s).startswith(("est-ce que", "weet u of", "weet je of")))
        and is_genuine_question(s)
        for s in sentences
    ]
    counted: set[int] = set()
    for index, folded in enumerate(folded_clauses):
        number = owner[index]
        if index in footers:
            continue  # a newsletter's own "uitschrijven" link is no request of the sender
        if genuine[number] or (index in asked and number not in counted):
            questions += number not in counted
            counted.add(number)
            if genuine[number]:
                continue
        if index in erase and index in erase_verbs:
            found["erase"].append(index)
            continue  # "wis mijn gegevens": the weak "mijn gegevens" registers nobody
        if index in ambiguous and index not in unsubscribe:
            meaning = cl.leave_or_cancel(folded)
            if meaning:
                found[meaning].append(index)
            else:
                pending.append(index)
            continue
        if index in unsubscribe:
            found["unsubscribe"].append(index)
            continue  # "afmelden van de mailinglijst" is leaving, not an excuse for one meeting
        withdrawn = bool(cl.CANCEL_WITHDRAWN.search(folded))  # "mag je mijn afmelding vergeten"
        if not withdrawn and not cl.SELF_EXCLUDED.match(folded):
            was_absent = index in cancel_weak and bool(cl.PAST_ABSENCE.search(folded))
            weight = 3 if index in cancel_strong else 2 if index in cancel_weak and not was_absent else 0
            if weight and cl.FOR_GOOD.search(folded) and not cl.NAMES_A_SESSION.search(folded):
                found["unsubscribe"].append(index)  # "naar de avonden ga ik niet meer kunnen komen"
            elif weight:
                scores["cancel"] += weight
                found["cancel"].append(index)
        if index not in register_strong and index not in register_weak:
            continue
        if (
            cl.CONDITIONAL.match(folded)
            or cl.HEDGE.search(folded)
            or cl.NEXT_TIME.search(folded)
            or cl.PAST_REGISTRATION.search(folded)
            or cl.NOT_A_REQUEST.search(folded)
        ):
            continue  # "Als dat kan, schrijven we ons in", "volgende keer ben ik er weer bij"
        if cl.INVITATION.search(folded):
            continue  # "Inschrijven kan via onze website": an invitation to something else
        scores["register"] += 3 if index in register_strong else 1
        found["register"].append(index)
        if index in register_strong:
            requests.append(index)
    for index in pending:  # "Mogen jullie me uitschrijven?" after "ik kan niet op 12 januari" cancels
        found["cancel" if scores["cancel"] or found["cancel"] else "unsubscribe"].append(index)
    for key in ("erase", "unsubscribe"):
        scores[key] += 3 * len(found[key])
    scores["cancel"] += 3 * sum(1 for i in found["cancel"] if i in ambiguous)
    if scores["cancel"] and scores["register"] and requests:
        # "ik kan niet op 13 januari, maar schrijf me in voor maart": the request for another meeting wins.
        apologised = set().union(*(cl.time_words(folded_clauses[i]) for i in found["cancel"]))
        other = [i for i in requests if cl.time_words(folded_clauses[i]) - apologised]
        if other and apologised:
            scores["register"] = max(scores["register"], scores["cancel"] + 1)
            found["register"] = other
            reasons.append("a request for another meeting wins over an apology")
    if evidence is not None:
        for key, indices in found.items():
            evidence[key] = [clauses[i] for i in indices]
    folded_subject = fold(subject)
    if not REPLY_PREFIX.match(subject):
        # The subject of a new mail is the sender's words too, if fewer of them.
        if UNSUBSCRIBE.search(folded_subject):
            subject_scores["unsubscribe"] += 2
        elif cl.AMBIGUOUS_LEAVE.search(folded_subject):
            meaning = cl.leave_or_cancel(folded_subject) or (
                "cancel" if scores["cancel"] or scores["register"] else "unsubscribe"
            )
            subject_scores[meaning] += 2
        if ERASE.search(folded_subject):
            subject_scores["erase"] += 2 if found["erase"] or cl.ERASE_VERB.search(folded_subject) else 0
        if CANCEL_STRONG.search(folded_subject) or CANCEL_WEAK.search(folded_subject):
            subject_scores["cancel"] += 2
        elif REGISTER_STRONG.search(folded_subject) or REGISTER_WEAK.search(folded_subject):
            subject_scores["register"] += 1
        if (
            cl.QUESTION_WORDS.search(folded_subject)
            or "?" in subject
            or QUESTION_SUBJECT.search(folded_subject)
        ):
            questions = max(questions, 1) if not any(scores.values()) else questions
    if any(scores.values()):
        for key, value in subject_scores.items():
            scores[key] += value
    elif not questions:
        scores = dict(subject_scores)
        if any(scores.values()):
            reasons.append("intent from the subject only")
    return scores, questions, reasons


def decide(scores: dict[str, float], questions: int) -> Reading:
    """The intent from keyword scores: erase over unsubscribe over cancel/register, then question,
    then other."""
    if scores["erase"] >= 3:
        return Reading(Intent.ERASE, 0.9, ["erase: asks to delete personal data"], questions > 0, scores)
    if scores["unsubscribe"] >= 2 and scores["unsubscribe"] >= scores["register"]:
        return Reading(
            Intent.UNSUBSCRIBE, 0.9, ["unsubscribe: asks to leave the list"], questions > 0, scores
        )
    register, cancel = scores["register"], scores["cancel"]
    if cancel and cancel >= register:
        sure = 0.9 if cancel >= 3 else 0.75
        return Reading(Intent.CANCEL, sure, ["cancel: cannot attend"], questions > 0, scores)
    if register:
        sure = 0.9 if register >= 3 else 0.7
        return Reading(Intent.REGISTER, sure, ["register: wants to attend or join"], questions > 0, scores)
    if scores.get("list_mail"):
        return Reading(Intent.OTHER, 0.8, ["other: newsletter or list mail"], False, scores)
    if questions:
        return Reading(Intent.QUESTION, 0.8, ["question: asks something, registers nobody"], True, scores)
    return Reading(Intent.OTHER, 0.5, ["other: no request recognised"], False, scores)


def about_the_network(text: str) -> bool:
    """Whether a mail speaks of the network, its meetings or its volunteers at all
    (a question about SEO does not)."""
    return bool(TOPIC_WORDS.search(fold(text)))


def names_other_event(text: str, subject: str, named_meeting: bool, foreign_date: bool) -> bool:
    """A registration for someone else's event:
    a date we do not hold, and no word of our network or its meetings."""
    if named_meeting or not foreign_date:
        return False
    return not NETWORK_WORDS.search(fold(text + "\n" + subject))
