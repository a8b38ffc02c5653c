"""Other people's ways of saying the same things: phrasings, clients and structures beyond the dev corpus.

Each case is a small invented mail (example.org) with the reading a coordinator would give it. They guard the
general rules against tuning on the dev corpus alone.
"""

from __future__ import annotations

import sys
from email.message import EmailMessage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "corpus"))

from scoring import load_context

from mailflow.core.parsing import parse_message

CONTEXT = load_context(Path(__file__).parent / "corpus" / "corpus.toml")
CASES: list[dict] = []


def case(
    body,
    intent,
    people=(),
    date=None,
    subject="Leernetwerk",
    sender="Anna Peeters <anna.peeters@example.org>",
    cc=None,
    when="Mon, 02 Feb 2026 10:00:00 +0100",
    q=None,
    lang=None,
    **headers,
):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "leernetwerk@in-gent.example"
    message["Subject"] = subject
    message["Date"] = when
    if cc:
        message["Cc"] = cc
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    rawcase(message.as_bytes(), intent, people, date, q, lang, label=body)


def rawcase(raw, intent, people=(), date=None, q=None, lang=None, label=None):
    people = [tuple(p) if isinstance(p, (list, tuple)) else (p, None) for p in people]
    CASES.append(
        {
            "raw": raw,
            "intent": intent,
            "people": people,
            "date": date,
            "q": q,
            "lang": lang,
            "id": f"{len(CASES):02d}-{intent}-{(label or '').strip()[:30]}",
        }
    )


# --- words ---
S = "Anna Peeters <anna.peeters@example.org>"
case(
    "Hallo,\n\nGraag had ik mij ingeschreven voor de sessie van 12 mei.\n\nGroetjes,\nAnna",
    "register",
    ["Anna Peeters"],
    "2026-05-12",
)
case(
    (
        "Beste,\n\nHierbij meld ik mij aan voor het leernetwerk van 12 mei rond juridische bijstand. "
        "Ik werk als vrijwilliger bij het Rode Kruis in Deinze.\n\nVriendelijke groet,\nAnna Peeters"
    ),
    "register",
    [("Anna Peeters", "Rode Kruis in Deinze")],
    "2026-05-12",
)
case(
    (
        "Hi,\n\nI'd like to sign up for the March session. I volunteer at Vluchtelingenwerk "
        "Vlaanderen.\n\nBest,\nAnna"
    ),
    "register",
    [("Anna Peeters", "Vluchtelingenwerk Vlaanderen")],
    "2026-03-10",
    lang="en",
)
case(
    (
        "Bonjour,\n\nJe voudrais participer à la prochaine séance sur l'aide juridique. Je suis "
        "bénévole à la Croix-Rouge.\n\nBien à vous,\nAnna Peeters"
    ),
    "register",
    [("Anna Peeters", "Croix-Rouge")],
    "2026-05-12",
    lang="fr",
)
case(
    (
        "Dag Hilde,\n\nIk wil graag meedoen aan het leernetwerk. Ik ben vrijwilliger bij "
        "Welzijnsschakels Aalst.\n\nGroeten,\nAnna"
    ),
    "register",
    [("Anna Peeters", "Welzijnsschakels Aalst")],
)
case(
    "Dag,\n\nIk zal aanwezig zijn op 10 maart.\n\nAnna",
    "register",
    ["Anna Peeters"],
    "2026-03-10",
    subject="Re: Uitnodiging leernetwerk 10 maart",
)
case(
    "Ik ben erbij!\n\nAnna",
    "register",
    ["Anna Peeters"],
    "2026-03-10",
    subject="Re: Uitnodiging leernetwerk 10 maart",
)
case(
    "Bonjour,\n\nJe serai présente le 10 mars.\n\nAnna", "register", ["Anna Peeters"], "2026-03-10", lang="fr"
)
case(
    (
        "Goedemiddag,\n\nIk wil me graag opgeven voor de bijeenkomst over onderwijs.\n\n"
        "Met vriendelijke groet,\nAnna Peeters"
    ),
    "register",
    ["Anna Peeters"],
    "2026-03-10",
)
case(
    "Dag Hilde,\n\nWil je mij noteren voor 10 maart?\n\nDank je,\nAnna",
    "register",
    ["Anna Peeters"],
    "2026-03-10",
    q=False,
)
case(
    "Dag Hilde,\n\nIk kan helaas niet aanwezig zijn op 10 maart.\n\nGroeten,\nAnna",
    "cancel",
    ["Anna Peeters"],
    "2026-03-10",
)
case(
    "Hoi,\n\nIk moet verstek laten gaan voor dinsdag 10 maart.\n\nAnna",
    "cancel",
    ["Anna Peeters"],
    "2026-03-10",
)
case(
    "Sorry, ik ben er dinsdag niet bij.\n\nAnna",
    "cancel",
    ["Anna Peeters"],
    "2026-03-10",
    subject="Re: Herinnering: leernetwerk 10 maart",
    when="Wed, 04 Mar 2026 10:00:00 +0100",
)
case(
    "Bonjour,\n\nJe ne serai malheureusement pas présente le 10 mars.\n\nAnna",
    "cancel",
    ["Anna Peeters"],
    "2026-03-10",
)
case("Ik ga er jammer genoeg niet geraken op 10 maart.\n\nAnna", "cancel", ["Anna Peeters"], "2026-03-10")
case("Ik moet forfait geven voor de sessie van 12 mei.\n\nAnna", "cancel", ["Anna Peeters"], "2026-05-12")
case(
    "Hi Hilde,\n\nUnfortunately I have to cancel for 10 March.\n\nBest,\nAnna",
    "cancel",
    ["Anna Peeters"],
    "2026-03-10",
)
case(
    "Beste,\n\nGelieve mij te schrappen uit jullie adressenbestand.\n\nAnna Peeters",
    "unsubscribe",
    ["Anna Peeters"],
)
case(
    "Beste,\n\nIk wens geen mails meer te ontvangen van het leernetwerk.\n\nAnna Peeters",
    "unsubscribe",
    ["Anna Peeters"],
)
case(
    "Beste,\n\nIk stop als vrijwilliger en wil me afmelden voor het leernetwerk.\n\nAnna Peeters",
    "unsubscribe",
    ["Anna Peeters"],
)
case("Hello,\n\nI no longer wish to receive these emails.\n\nAnna", "unsubscribe", ["Anna Peeters"])
case("Bonjour,\n\nJe souhaite me désabonner.\n\nAnna Peeters", "unsubscribe", ["Anna Peeters"])
case("Beste,\n\nGelieve al mijn gegevens te verwijderen.\n\nAnna Peeters", "erase", ["Anna Peeters"])
case("Hello,\n\nPlease delete my data from your systems.\n\nAnna Peeters", "erase", ["Anna Peeters"])
case("Bonjour,\n\nMerci de supprimer mes données.\n\nAnna Peeters", "erase", ["Anna Peeters"])
case("Dag,\n\nWanneer is de volgende sessie?\n\nAnna", "question", [], None, q=True)
case("Dag,\n\nIs er nog plaats op 10 maart?\n\nAnna", "question", [], "2026-03-10", q=True)
case("Dag,\n\nKan ik ook komen als ik geen vrijwilliger ben?\n\nAnna", "question", [], None, q=True)
case(
    (
        "Goedemiddag,\n\nDank u voor uw e-mail. Ik ben momenteel niet op kantoor en ben terug op 16 "
        "maart.\n\nAnna Peeters"
    ),
    "auto_reply",
    subject="RE: Herinnering leernetwerk 10 maart",
)
case("Beste,\n\nBedankt voor de boeiende avond gisteren!\n\nAnna", "other", subject="Bedankt")
case(
    (
        "Beste,\n\nGraag schrijf ik mezelf en mijn collega Lies Janssens in voor 10 maart. We werken "
        "bij Het Huis van Vrede.\n\nAnna Peeters"
    ),
    "register",
    [("Anna Peeters", "Het Huis van Vrede"), ("Lies Janssens", "Het Huis van Vrede")],
    "2026-03-10",
)
case(
    (
        "Dag,\n\nWe komen met twee: ikzelf en Jonas Pieters, allebei van Buurtwerk Brugse Poort.\n\n"
        "Groeten,\nAnna Peeters"
    ),
    "register",
    [("Anna Peeters", "Buurtwerk Brugse Poort"), ("Jonas Pieters", "Buurtwerk Brugse Poort")],
    "2026-03-10",
    subject="Inschrijving 10 maart",
)
case(
    (
        "Dag,\n\nOok mijn collega's Lies Janssens en Tom Peeters komen mee op 10 maart, samen met "
        "mij.\n\nGroeten,\nAnna Peeters\nBuurtwerk Brugse Poort"
    ),
    "register",
    [
        ("Anna Peeters", "Buurtwerk Brugse Poort"),
        ("Lies Janssens", "Buurtwerk Brugse Poort"),
        ("Tom Peeters", "Buurtwerk Brugse Poort"),
    ],
    "2026-03-10",
)
case(
    (
        "Dag Hilde,\n\nNamens Jan Verbeke laat ik weten dat hij niet kan komen op 10 maart.\n\n"
        "Groeten,\nAnna Peeters"
    ),
    "cancel",
    ["Jan Verbeke"],
    "2026-03-10",
)
case(
    "Dag,\n\nIk schrijf me in voor 10.03.\n\nMet vriendelijke groeten,\n\nDr. Anna Peeters",
    "register",
    ["Anna Peeters"],
    "2026-03-10",
)
case(
    "Dag,\n\nIk schrijf me in voor 10 maart.\n\nAnna Peeters - vrijwilliger Rode Kruis",
    "register",
    [("Anna Peeters", "Rode Kruis")],
    "2026-03-10",
    sender="anna@example.org",
)
case(
    "Hallo,\n\nIk zou graag aansluiten bij de mei-sessie.\n\nGroetjes\nAnna",
    "register",
    ["Anna Peeters"],
    "2026-05-12",
)
case(
    "Hello Hilde,\n\nI'll come to the one in May. I'm with Caritas.\n\nCheers,\nAnna",
    "register",
    [("Anna Peeters", "Caritas")],
    "2026-05-12",
)
case(
    (
        "Dag Hilde,\n\nMijn collega Tom Baert (tom.baert@example.org) wil graag deelnemen op 12 mei.\n"
        "\nGroeten,\nAnna Peeters\nCAW Oost-Vlaanderen"
    ),
    "register",
    [("Tom Baert", "CAW Oost-Vlaanderen")],
    "2026-05-12",
)
case(
    "Hoi,\n\nKomen jullie ook naar Kortrijk met het leernetwerk? Ik zou dan zeker deelnemen.\n\nAnna",
    "question",
    [],
    None,
    q=True,
)
case(
    "Dag Hilde, ik schrijf me in voor 13 januari. Groetjes, Anna",
    "register",
    ["Anna Peeters"],
    "2026-01-13",
    when="Mon, 05 Jan 2026 10:00:00 +0100",
)
case(
    (
        "Beste,\n\nIk ben een student sociaal werk en wil graag het leernetwerk bijwonen op 10 maart.\n"
        "\nMvg,\nAnna Peeters"
    ),
    "register",
    ["Anna Peeters"],
    "2026-03-10",
)
case(
    "Beste Hilde,\n\nGraag wil ik me uitschrijven voor de sessie van 10 maart, want ik ben ziek.\n\nAnna",
    "cancel",
    ["Anna Peeters"],
    "2026-03-10",
)
case(
    (
        "Beste,\n\nIk ben Ahmed Benali en ik ben vrijwilliger bij Vzw Nieuwe Buren. Ik wil graag komen "
        "op 12 mei.\n\nAhmed"
    ),
    "register",
    [("Ahmed Benali", "Nieuwe Buren")],
    "2026-05-12",
    sender="ahmed.benali@example.org",
)
case(
    (
        "Bonjour Hilde,\n\nJ'aimerais m'inscrire au réseau. Je travaille pour le CPAS de Gand.\n\n"
        "Cordialement,\nAnna Peeters"
    ),
    "register",
    [("Anna Peeters", "CPAS de Gand")],
    None,
    lang="fr",
)


# --- clients and structures ---
def html_mail(
    html,
    subject="Leernetwerk",
    sender="Anna Peeters <anna.peeters@example.org>",
    when="Mon, 02 Feb 2026 10:00:00 +0100",
):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "leernetwerk@in-gent.example"
    m["Subject"] = subject
    m["Date"] = when
    m.set_content(html, subtype="html")
    return m.as_bytes()


INV = (
    "<p>Beste vrijwilligers,</p><p>Op dinsdag 12 mei gaat het over juridische bijstand met Meester "
    "Karel Geerts.</p><p>Hartelijke groet,<br>Hilde Cnudde<br>Coördinator</p>"
)
# 1 Outlook HTML-only reply with divRplyFwdMsg
rawcase(
    html_mail(
        (
            "<div><p>Dag Hilde,</p><p>Ik kom graag, samen met mijn collega Ruben "
            "Claes.</p><p>Groeten,<br>Anna Peeters<br>Buurtwerk Ledeberg</p></div><hr><div "
            'id="divRplyFwdMsg"><b>Van:</b> Leernetwerk '
            "&lt;leernetwerk@in-gent.example&gt;<br><b>Verzonden:</b> dinsdag 3 februari "
            "2026<br><b>Aan:</b> Leernetwerk<br><b>Onderwerp:</b> Uitnodiging leernetwerk 12 mei</div>"
        )
        + INV,
        subject="RE: Uitnodiging leernetwerk 12 mei",
    ),
    "register",
    [("Anna Peeters", "Buurtwerk Ledeberg"), ("Ruben Claes", "Buurtwerk Ledeberg")],
    "2026-05-12",
)
# 2 Gmail HTML-only with blockquote
rawcase(
    html_mail(
        (
            '<div dir="ltr">Ik moet helaas afzeggen voor 12 '
            'mei.<br><br>Groetjes,<br>Anna</div><br><div class="gmail_quote"><div '
            'class="gmail_attr">Op di 3 feb 2026 om 10:04 schreef Leernetwerk '
            '&lt;leernetwerk@in-gent.example&gt;:<br></div><blockquote class="gmail_quote">'
        )
        + INV
        + "</blockquote></div>",
        subject="Re: Uitnodiging leernetwerk 12 mei",
    ),
    "cancel",
    ["Anna Peeters"],
    "2026-05-12",
)
# 3 Outlook FW with From/Sent block
case(
    (
        "Hallo Hilde,\n\nHieronder de vraag van onze vrijwilliger Youssef. Kan je hem inschrijven voor "
        "12 mei?\n\nGroeten,\nAnna Peeters\nVluchtelingenwerk Vlaanderen\n\n"
        "________________________________\nFrom: Youssef Amrani <youssef.amrani@example.org>\n"
        "Sent: Monday, February 2, 2026 9:00 AM\nTo: Anna Peeters <anna.peeters@example.org>\n"
        "Subject: leernetwerk\n\nDag Anna, kan jij mij inschrijven voor het leernetwerk in mei? "
        "Groetjes, Youssef"
    ),
    "register",
    [("Youssef Amrani", "Vluchtelingenwerk Vlaanderen")],
    "2026-05-12",
    subject="FW: leernetwerk",
)


# 4 forward as attachment
def fwd_attach():
    inner = EmailMessage()
    inner["From"] = "Youssef Amrani <youssef.amrani@example.org>"
    inner["To"] = "anna.peeters@example.org"
    inner["Subject"] = "leernetwerk"
    inner.set_content(
        "Dag Anna,\n\nKan jij mij inschrijven voor het leernetwerk in mei?\n\nGroetjes,\nYoussef"
    )
    outer = MIMEMultipart()
    outer["From"] = "Anna Peeters <anna.peeters@example.org>"
    outer["To"] = "leernetwerk@in-gent.example"
    outer["Subject"] = "Fwd: leernetwerk"
    outer["Date"] = "Mon, 02 Feb 2026 10:00:00 +0100"
    outer.attach(
        MIMEText(
            (
                "Hallo Hilde,\n\nIn bijlage de vraag van een van onze vrijwilligers. Kan je hem "
                "inschrijven?\n\nAnna Peeters\nVluchtelingenwerk Vlaanderen"
            ),
            "plain",
            "utf-8",
        )
    )
    att = MIMEMessage(inner)
    att.add_header("Content-Disposition", "attachment", filename="leernetwerk.eml")
    outer.attach(att)
    return outer.as_bytes()


rawcase(fwd_attach(), "register", [("Youssef Amrani", "Vluchtelingenwerk Vlaanderen")], "2026-05-12")
# 5 bottom-posted reply
case(
    (
        "Op 3 feb. 2026, om 10:04 heeft Leernetwerk <leernetwerk@in-gent.example> het volgende "
        "geschreven:\n\n> Beste vrijwilligers,\n> Op dinsdag 12 mei gaat het over juridische bijstand "
        "met Meester Karel Geerts.\n> Hilde Cnudde\n\nIk kom graag!\n\nAnna"
    ),
    "register",
    ["Anna Peeters"],
    "2026-05-12",
    subject="Re: Uitnodiging leernetwerk 12 mei",
)
# 7 Outlook underline + Van block nl
case(
    (
        "Dag Hilde,\n\nIk ben er helaas niet bij op 12 mei.\n\nMvg\nAnna Peeters\n\n"
        "________________________________\nVan: Leernetwerk <leernetwerk@in-gent.example>\n"
        "Verzonden: dinsdag 3 februari 2026 10:04\nAan: Anna Peeters\n"
        "Onderwerp: Herinnering leernetwerk 12 mei\n\nBeste vrijwilligers, vergeet je niet in te "
        "schrijven! Met Meester Karel Geerts.\nHilde Cnudde"
    ),
    "cancel",
    ["Anna Peeters"],
    "2026-05-12",
    subject="RE: Herinnering leernetwerk 12 mei",
)
# 8 subject only
case("", "unsubscribe", ["Anna Peeters"], None, subject="uitschrijven")
case(
    "\n\nVerzonden vanaf mijn iPhone", "register", ["Anna Peeters"], None, subject="Inschrijving leernetwerk"
)
# 10 org mailbox, signed name
case(
    "Beste,\n\nIk schrijf me graag in voor 12 mei.\n\nGroeten,\nJan Peeters\nBuurtwerk De Kring",
    "register",
    [("Jan Peeters", "Buurtwerk De Kring")],
    "2026-05-12",
    sender="Buurtwerk De Kring <info@dekring.example>",
)
# 12 intro first name + display
case(
    "Dag Hilde,\n\nIk ben Anna en ik wil graag deelnemen op 12 mei.\n\nGroetjes",
    "register",
    ["Anna Peeters"],
    "2026-05-12",
)
# 13 sig with bars after --
case(
    "Ik schrijf me in voor 12 mei.\n\n-- \nJan Peeters | Vrijwilliger | Rode Kruis Gent",
    "register",
    [("Jan Peeters", "Rode Kruis Gent")],
    "2026-05-12",
    sender="jan.peeters@example.org",
)
# 15 French reply quoted
case(
    (
        "Bonjour Hilde,\n\nJe viendrai avec plaisir.\n\nBien à vous,\nAnna Peeters\n\n"
        "Le mar. 3 févr. 2026 à 10:04, Leernetwerk <leernetwerk@in-gent.example> a écrit :\n"
        "> Chers bénévoles, le 12 mai nous parlerons de l'aide juridique avec Maître Karel Geerts."
    ),
    "register",
    ["Anna Peeters"],
    "2026-05-12",
    subject="Re: Invitation 12 mai",
    lang="fr",
)
# 16 cancel next time without date, not a reply
case(
    "Dag Hilde,\n\nIk kan er de volgende keer niet bij zijn.\n\nAnna",
    "cancel",
    ["Anna Peeters"],
    None,
    subject="afwezig",
)
# 17 English with Dutch greeting
case(
    (
        "Dag Hilde,\n\nI would like to register for the session of 12 May. I volunteer with JRS "
        "Belgium.\n\nKind regards,\nAnna Peeters"
    ),
    "register",
    [("Anna Peeters", "JRS Belgium")],
    "2026-05-12",
    lang="en",
)
# 18 minimal
case(
    "Hierbij mijn inschrijving.\n\nAnna Peeters\nWelzijnsschakels Gent",
    "register",
    [("Anna Peeters", "Welzijnsschakels Gent")],
    None,
    subject="Leernetwerk",
)
# 19/20 request questions
case(
    "Dag,\n\nKan ik nog inschrijven voor 12 mei?\n\nAnna", "register", ["Anna Peeters"], "2026-05-12", q=False
)
case(
    "Dag,\n\nIs het nog mogelijk om in te schrijven voor 12 mei?\n\nAnna",
    "register",
    ["Anna Peeters"],
    "2026-05-12",
)
# 21 two people form lines
case(
    (
        "Beste,\n\nWe schrijven ons in met twee personen:\n- Anna Peeters\n- Bram De Wilde\n\n"
        "We zijn allebei vrijwilliger bij Welzijnsschakels Gent.\n\nGroeten,\nAnna"
    ),
    "register",
    [("Anna Peeters", "Welzijnsschakels Gent"), ("Bram De Wilde", "Welzijnsschakels Gent")],
    None,
    subject="Inschrijving",
)
# 22 cancel in French with 'excuser'
case(
    "Bonjour,\n\nJe vous prie de m'excuser pour la séance de mai.\n\nAnna Peeters",
    "cancel",
    ["Anna Peeters"],
    "2026-05-12",
    lang="fr",
)
# 23 erase with unsubscribe English
case(
    "Hello,\n\nPlease unsubscribe me and delete all my personal data.\n\nAnna Peeters",
    "erase",
    ["Anna Peeters"],
)
# 24 question about location in English
case(
    "Hi,\n\nWhere exactly is the room on the campus? Is there a lift?\n\nThanks,\nAnna",
    "question",
    [],
    None,
    q=True,
    lang="en",
)
# 25 mail to wrong org / other
case(
    (
        "Beste,\n\nKunnen jullie ons vrijwilligersbestand delen met onze organisatie voor een "
        "enquête?\n\nMet vriendelijke groeten,\nAnna Peeters"
    ),
    "question",
    [],
    None,
    q=True,
)
# 26 auto reply with X-Auto-Response-Suppress absent but Auto-Submitted: auto-generated
case(
    "Dit is een automatisch bericht. Uw mail werd goed ontvangen.",
    "auto_reply",
    subject="Ontvangstbevestiging",
    Auto_Submitted="auto-generated",
)
# 27 name in lower case sig only and display lower
case(
    "ik schrijf me in voor mei\n\ngroetjes\nanna peeters",
    "register",
    ["Anna Peeters"],
    "2026-05-12",
    sender="anna.peeters@example.org",
)
# 28 registration mentioning a past session date in passing
case(
    "Dag Hilde,\n\nOp 13 januari was ik er ook al bij. Graag schrijf ik me nu in voor 12 mei.\n\nAnna",
    "register",
    ["Anna Peeters"],
    "2026-05-12",
    when="Mon, 02 Feb 2026 10:00:00 +0100",
)
# 29 sender registers herself and says colleague will write separately
case(
    (
        "Dag Hilde,\n\nIk schrijf me in voor 12 mei. Mijn collega Bram De Wilde stuurt zelf nog een "
        "mail.\n\nAnna Peeters"
    ),
    "register",
    ["Anna Peeters"],
    "2026-05-12",
)
# 30 colleague 'ook' register in separate sentence
case(
    "Dag Hilde,\n\nIk schrijf me in voor 12 mei. Mijn collega Bram De Wilde komt ook.\n\nAnna Peeters",
    "register",
    ["Anna Peeters", "Bram De Wilde"],
    "2026-05-12",
)

# A short phone mail in English: the name and organisation on the signature line, the language English.
case(
    "Count me in!\nTom Peeters, JRS",
    "register",
    [("Tom Peeters", "JRS")],
    sender="Tom <tom.peeters@example.org>",
    lang="en",
)

# --- out-of-office texts, invitations, past tense, colleagues of ours ---
case(
    (
        "Bonjour,\n\nJe suis absente jusqu'au 16 mars. Pour toute urgence, veuillez contacter ma "
        "collègue Marie au 09 000 00 00.\n\nCordialement,\nAnna Peeters"
    ),
    "auto_reply",
    subject="RE: Invitation 10 mars",
)
case(
    (
        "Goedemorgen,\n\nIk ben afwezig tot en met 20 maart. Voor dringende vragen kan u terecht bij "
        "mijn collega Jan (jan@example.org).\n\nAnna Peeters"
    ),
    "auto_reply",
    subject="Uitnodiging leernetwerk 12 mei",
)
case(
    (
        "Beste,\n\nIk ben momenteel op verlof tot 6 april en lees mijn mails niet. Voor dringende zaken kan "
        "u terecht bij het secretariaat.\n\nAnna Peeters"
    ),
    "auto_reply",
    subject="Uitnodiging leernetwerk 12 mei",
)
case(
    "Dag Hilde,\n\nIk ben op reis tot 15 maart en kan er dus niet bij zijn op 10 maart.\n\nGroetjes,\nAnna",
    "cancel",
    ["Anna Peeters"],
    "2026-03-10",
)
case(
    (
        "Beste,\n\nOp 20 maart organiseren wij een infoavond over huisvesting voor vrijwilligers. "
        "Inschrijven kan via onze website. Jullie zijn van harte welkom!\n\nMet vriendelijke groeten,\n"
        "Anna Peeters\nWoonwinkel Gent"
    ),
    "other",
    subject="Uitnodiging infoavond",
)
case(
    (
        "Hoi Hilde,\n\nEen vrijwilliger van ons, Bram De Wilde, wil graag deelnemen op 12 mei. Kan je "
        "hem noteren?\n\nAnna Peeters\nBuurtwerk Ledeberg"
    ),
    "register",
    [("Bram De Wilde", "Buurtwerk Ledeberg")],
    "2026-05-12",
)
case("Ik schrijf me in voor 12 mei.\n\nGroeten,\nAnna", "auto_reply", Precedence="auto_reply")
case(
    (
        "Dag,\n\nIk ben vrijwilliger in het asielcentrum van Rode Kruis in Deinze en wil graag "
        "deelnemen aan het leernetwerk.\n\nAnna Peeters"
    ),
    "register",
    [("Anna Peeters", "Rode Kruis in Deinze")],
)
case(
    "Dag Hilde,\n\nIk wil me inschrijven voor 12 mei.\n\nGroeten,\nAnna",
    "register",
    ["Anna Peeters"],
    "2026-05-12",
    sender="Peeters Anna <anna.peeters@example.org>",
)
case(
    "Dag Hilde,\n\nKan ik de presentatie van de vorige sessie krijgen? Ik kon er toen niet bij zijn.\n\nAnna",
    "question",
    [],
    None,
    q=True,
)
case(
    (
        "Dag,\n\nVoor de sessie van 12 mei: is het mogelijk om een tolk Arabisch te voorzien? Ik ben "
        "al ingeschreven.\n\nAnna"
    ),
    "question",
    [],
    "2026-05-12",
    q=True,
)
case(
    (
        "Hallo,\n\nIk heb gisteren een mail gestuurd om me in te schrijven, maar nog geen bevestiging "
        "gekregen. Is dat goed aangekomen?\n\nAnna"
    ),
    "question",
    [],
    None,
    q=True,
)
case(
    "Beste,\n\nBedankt voor de bevestiging! Tot dan.\n\nAnna", "other", subject="Re: Bevestiging inschrijving"
)
case(
    (
        "Dag Hilde,\n\nIk wil me toch afmelden voor 12 mei, maar ik blijf graag op de lijst voor de "
        "volgende sessies.\n\nGroeten,\nAnna"
    ),
    "cancel",
    ["Anna Peeters"],
    "2026-05-12",
)
case(
    (
        "Dear Hilde,\n\nMy colleague Sarah Johnson and I would like to attend the session on 12 May. "
        "We both work at Caritas International.\n\nBest regards,\nAnna Peeters"
    ),
    "register",
    [("Anna Peeters", "Caritas International"), ("Sarah Johnson", "Caritas International")],
    "2026-05-12",
    lang="en",
)
case(
    (
        "Bonjour,\n\nMon collègue Pierre Dubois et moi souhaitons nous inscrire à la séance du 12 "
        "mai.\n\nCordialement,\nAnna Peeters\nCroix-Rouge de Belgique"
    ),
    "register",
    [("Anna Peeters", "Croix-Rouge de Belgique"), ("Pierre Dubois", "Croix-Rouge de Belgique")],
    "2026-05-12",
    lang="fr",
)
case(
    "Dag Hilde,\n\nWegens ziekte kan ik morgen niet komen.\n\nAnna",
    "cancel",
    ["Anna Peeters"],
    "2026-05-12",
    when="Mon, 11 May 2026 10:00:00 +0200",
)
case(
    (
        "Dag,\n\nIk ben verhuisd en wil geen uitnodigingen meer ontvangen. Wil je ook mijn gegevens "
        "wissen?\n\nAnna Peeters"
    ),
    "erase",
    ["Anna Peeters"],
)

# --- names and organisations in their many spellings ---
case(
    (
        "Dag Hilde,\n\nIk ben Marie-Louise Van den Bossche, vrijwilliger bij De Sloep vzw in "
        "Gentbrugge. Ik schrijf me in voor 12 mei.\n\nGroeten,\nMarie-Louise"
    ),
    "register",
    [("Marie-Louise Van den Bossche", "De Sloep")],
    "2026-05-12",
    sender="mlvdb@example.org",
)
case(
    (
        "Beste,\n\nHierbij schrijf ik mij in voor het leernetwerk.\n\nVriendelijke groeten,\n\n"
        "Pieter-Jan D'Hondt\nStraathoekwerker\nStad Gent"
    ),
    "register",
    [("Pieter-Jan D'Hondt", "Stad Gent")],
    None,
    sender="pj.dhondt@example.org",
)
case(
    (
        "Hello,\n\nThis is Fatoumata Diallo from Refugee Support Ghent. I'd like to register for the "
        "session on legal aid.\n\nThanks,\nFatoumata"
    ),
    "register",
    [("Fatoumata Diallo", "Refugee Support Ghent")],
    "2026-05-12",
    sender="fdiallo@example.org",
    lang="en",
)
case(
    (
        "Bonjour Madame,\n\nJe suis Youssef El Khattabi, bénévole au sein de l'asbl Accueil Solidaire. "
        "Je voudrais participer à la séance du 12 mai.\n\nYoussef"
    ),
    "register",
    [("Youssef El Khattabi", "Accueil Solidaire")],
    "2026-05-12",
    sender="youssef.elk@example.org",
    lang="fr",
)
case(
    "Dag,\n\nIk schrijf me in voor 12 mei.\n\nMVG\nSTIJN DE MEYER\nVZW DE TOEVLUCHT",
    "register",
    [("Stijn De Meyer", "De Toevlucht")],
    "2026-05-12",
    sender="stijn@example.org",
)
case(
    "hallo ik ben jan verstraete van buurtwerk muide en ik wil me inschrijven voor mei",
    "register",
    [("Jan Verstraete", "Buurtwerk Muide")],
    "2026-05-12",
    sender="jan.verstraete@example.org",
)
case(
    (
        "Beste,\n\nGraag schrijf ik mij in voor het leernetwerk van 12 mei. Ik ben actief bij "
        "Welzijnsschakels.\n\nGroeten,\nAn De Vos"
    ),
    "register",
    [("An De Vos", "Welzijnsschakels")],
    "2026-05-12",
    sender="An De Vos <an.devos@example.org>",
)
case(
    (
        "Dag Hilde,\n\nIk schrijf me in voor 12 mei.\n\nMet vriendelijke groet,\nLien\n\nLien Claeys\n"
        "Maatschappelijk assistent\nOCMW Gent - Sociale dienst"
    ),
    "register",
    [("Lien Claeys", "OCMW Gent")],
    "2026-05-12",
    sender="lien.claeys@example.org",
)
case(
    "Dag Hilde,\n\nIk zou graag deelnemen aan de volgende sessie.\n\nTom",
    "register",
    ["Tom Verhaeghe"],
    None,
    sender="Verhaeghe Tom <tom.verhaeghe@example.org>",
)
case(
    "Dag Hilde,\n\nIk schrijf me in voor 12 mei.\n\nGroeten\nDirk",
    "register",
    ["Dirk Vandamme"],
    "2026-05-12",
    sender="dirk.vandamme@example.org",
)
case(
    "Beste,\n\nIk schrijf me in voor 12 mei.\n\nFien",
    "register",
    ["Fien"],
    "2026-05-12",
    sender="fien1978@example.org",
)
case(
    (
        "Dag Hilde,\n\nWij schrijven ons in voor 12 mei: Jan Peeters en Lies Maes van Buurtwerk "
        "Rabot.\n\nGroeten,\nJan"
    ),
    "register",
    [("Jan Peeters", "Buurtwerk Rabot"), ("Lies Maes", "Buurtwerk Rabot")],
    "2026-05-12",
    sender="Jan Peeters <jan.peeters@example.org>",
)
case(
    (
        "Dag Hilde,\n\nIk ben Sofie, ik werk bij Jong Gent in Actie. Ik wil graag komen op 12 mei.\n\n"
        "Sofie Martens"
    ),
    "register",
    [("Sofie Martens", "Jong Gent in Actie")],
    "2026-05-12",
    sender="sofie@example.org",
)

# --- newsletters, webinars, spam questions, colleagues introduced the sentence before ---
case(
    (
        "Beste lezer,\n\nIn deze nieuwsbrief: onze vorming op 20 maart en een oproep voor "
        "vrijwilligers.\n\nWil je deze nieuwsbrief niet meer ontvangen? Klik hier om je uit te "
        "schrijven.\n\nHet team van Vrijwilligerspunt Gent"
    ),
    "other",
    subject="Nieuwsbrief maart",
)
case(
    (
        "Dear partner,\n\nRegister today for our free webinar on fundraising! Seats are limited.\n\n"
        "The Fundraising Academy"
    ),
    "other",
    subject="Free webinar",
    sender="Fundraising Academy <news@academy.example>",
)
case(
    (
        "Hallo,\n\nWe kunnen uw website op de eerste pagina van Google krijgen. Interesse?\n\n"
        "Met vriendelijke groet,\nSEO Team"
    ),
    "other",
    subject="Uw website",
)
case(
    (
        "Beste Hilde,\n\nZoals afgesproken stuur ik je hierbij de contactgegevens van onze nieuwe "
        "vrijwilliger: Noor Vermeulen, noor.vermeulen@example.org. Zij wil graag deelnemen aan het "
        "leernetwerk van 12 mei.\n\nGroeten,\nAnna Peeters\nCAW Oost-Vlaanderen"
    ),
    "register",
    [("Noor Vermeulen", "CAW Oost-Vlaanderen")],
    "2026-05-12",
)
case(
    (
        "Dag Hilde,\n\nIk schrijf me in voor 12 mei. Mijn collega Bram De Wilde (bram@example.org) "
        "komt ook mee.\n\nAnna Peeters"
    ),
    "register",
    ["Anna Peeters", "Bram De Wilde"],
    "2026-05-12",
)


@pytest.mark.parametrize("expected", CASES, ids=[c["id"] for c in CASES])
def test_phrasing(expected):
    parsed = parse_message(expected["raw"], CONTEXT)
    assert str(parsed.intent) == expected["intent"]
    if expected["intent"] in ("register", "cancel", "unsubscribe", "erase"):
        assert sorted((p.name, p.organisation) for p in parsed.people) == sorted(expected["people"])
    if expected["intent"] in ("register", "cancel", "question"):
        assert (parsed.meeting_date.isoformat() if parsed.meeting_date else None) == expected["date"]
    if expected["q"] is not None:
        assert parsed.has_question == expected["q"]
    if expected["lang"]:
        assert parsed.language == expected["lang"]
