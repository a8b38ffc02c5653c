"""Themes proposed for a coming meeting, in the words members use: each case is a small invented mail
(example.org) with the reading a coordinator would give it and the theme cut out as written; and the mails
that only look like a proposal (a question about the theme, a registration for a meeting on a theme, "no
idea yet").
"""

from __future__ import annotations

import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "corpus"))

from scoring import load_context

from mailflow.core.parsing import Intent, parse_message
from mailflow.core.parsing.proposals import MAX_THEME, read_proposal
from mailflow.core.parsing.text import sentences

CONTEXT = load_context(Path(__file__).parent / "corpus" / "corpus.toml")


def mail(body: str, subject: str = "Leernetwerk", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Anna Peeters <anna.peeters@example.org>"
    message["To"] = "leernetwerk@in-gent.example"
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Feb 2026 10:00:00 +0100"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def letter(text: str, greeting: str = "Dag Hilde,", closing: str = "Groetjes,\nAnna Peeters") -> str:
    return f"{greeting}\n\n{text}\n\n{closing}"


# (body, theme as read, language); each mail proposes and asks nothing else.
PROPOSALS = [
    # nl
    (
        "Voorstel voor een thema: huisvesting voor gezinnen zonder papieren.",
        "huisvesting voor gezinnen zonder papieren",
        "nl",
    ),
    (
        "Ik stel voor om het eens te hebben over arbeidsuitbuiting. Velen werken in het zwart.",
        "arbeidsuitbuiting",
        "nl",
    ),
    ("Ik stel voor om het eens over huisvesting te hebben.", "huisvesting", "nl"),
    (
        "Zou het interessant zijn om een bijeenkomst te wijden aan psychische gezondheid?",
        "psychische gezondheid",
        "nl",
    ),
    (
        "Kunnen we het eens hebben over de rechten van kinderen op school?",
        "de rechten van kinderen op school",
        "nl",
    ),
    (
        "Ik heb een idee voor een volgende bijeenkomst: de toegang tot de huurmarkt.",
        "de toegang tot de huurmarkt",
        "nl",
    ),
    ("Ik stel het thema gezinshereniging voor.", "gezinshereniging", "nl"),
    (
        "Als thema stel ik voor: de rol van het OCMW bij dringende medische hulp.",
        "de rol van het OCMW bij dringende medische hulp",
        "nl",
    ),
    ("Wat denken jullie van een sessie over gezinshereniging?", "gezinshereniging", "nl"),
    ("Zouden jullie eens een sessie over dakloosheid kunnen organiseren?", "dakloosheid", "nl"),
    (
        "Mag ik een thema voorstellen voor een volgende bijeenkomst? Ik denk aan de nieuwe asielwet.",
        "de nieuwe asielwet",
        "nl",
    ),
    (
        "Misschien kan er eens een avond rond schuldhulpverlening georganiseerd worden.",
        "schuldhulpverlening",
        "nl",
    ),
    ("Misschien een idee om eens een sessie over rouw en verlies te organiseren?", "rouw en verlies", "nl"),
    (
        "Misschien iets voor een volgende sessie: de voogd van niet-begeleide minderjarigen.",
        "de voogd van niet-begeleide minderjarigen",
        "nl",
    ),
    ("Zou arbeidsuitbuiting eens aan bod kunnen komen?", "arbeidsuitbuiting", "nl"),
    ("Huisvesting lijkt me een interessant thema voor een volgende bijeenkomst.", "Huisvesting", "nl"),
    ("Volgens mij zou tandzorg een goed thema zijn.", "tandzorg", "nl"),
    (
        "Graag zou ik voorstellen om een keer stil te staan bij de impact van een uitwijzing op kinderen.",
        "de impact van een uitwijzing op kinderen",
        "nl",
    ),
    (
        "Kunnen jullie vrijwilligerswerk en burnout eens op de agenda zetten?",
        "vrijwilligerswerk en burnout",
        "nl",
    ),
    (
        "Wij zouden graag een thema voorstellen: taal leren zonder verblijfsdocumenten.",
        "taal leren zonder verblijfsdocumenten",
        "nl",
    ),
    ("Idee: een avond over de energiefactuur van gezinnen.", "de energiefactuur van gezinnen", "nl"),
    ("Voor een volgende bijeenkomst zou ik graag huisvesting willen voorstellen.", "huisvesting", "nl"),
    ("Ik stel schuldhulp voor als thema.", "schuldhulp", "nl"),
    ("Het zou fijn zijn als er eens een sessie over de energiefactuur kwam.", "de energiefactuur", "nl"),
    ("Kunnen jullie eens een avond organiseren over gezinshereniging?", "gezinshereniging", "nl"),
    (
        "Ik heb een idee voor een thema voor de bijeenkomst in het najaar: psychische hulp.",
        "psychische hulp",
        "nl",
    ),
    # fr
    (
        "Je souhaiterais proposer un sujet de réflexion : la santé des bénévoles.",
        "la santé des bénévoles",
        "fr",
    ),
    ("Il serait intéressant d'aborder le droit au travail.", "le droit au travail", "fr"),
    (
        "Je propose le thème de l'accès aux soins de santé mentale.",
        "l'accès aux soins de santé mentale",
        "fr",
    ),
    (
        "Pourrait-on aborder la question du logement lors d'une prochaine séance ?",
        "la question du logement",
        "fr",
    ),
    (
        "Suggestion de thème : l'aide médicale urgente, parce que peu de bénévoles la connaissent.",
        "l'aide médicale urgente",
        "fr",
    ),
    (
        "Je vous propose comme thème : la scolarité des enfants sans papiers.",
        "la scolarité des enfants sans papiers",
        "fr",
    ),
    (
        "Nous aimerions vous proposer un thème : la santé mentale des jeunes exilés.",
        "la santé mentale des jeunes exilés",
        "fr",
    ),
    (
        "Serait-il possible de consacrer une séance à la détention administrative ?",
        "la détention administrative",
        "fr",
    ),
    ("Ce serait bien de faire une séance sur le travail au noir.", "le travail au noir", "fr"),
    (
        "J'aimerais qu’on parle de la scolarité des mineurs lors d'une prochaine rencontre.",
        "la scolarité des mineurs",
        "fr",
    ),
    (
        "Une idée pour une prochaine séance : les droits des femmes sans titre de séjour.",
        "les droits des femmes sans titre de séjour",
        "fr",
    ),
    ("Le logement serait un bon thème pour l'automne.", "Le logement", "fr"),
    # en
    ("I'd like to propose a theme: detention centres and visits.", "detention centres and visits", "en"),
    ("Suggestion for a future meeting: legal aid for minors.", "legal aid for minors", "en"),
    (
        "Could a meeting be about mental health care for undocumented people?",
        "mental health care for undocumented people",
        "en",
    ),
    (
        "I’d like to suggest a topic for a future session: return and reintegration.",
        "return and reintegration",
        "en",
    ),
    ("How about a session on labour exploitation?", "labour exploitation", "en"),
    ("It would be interesting to have a session on housing rights.", "housing rights", "en"),
    ("Would it be possible to dedicate a meeting to family reunification?", "family reunification", "en"),
    ("Maybe access to banking could be a theme for one of the next meetings?", "access to banking", "en"),
    ("It would be great if a future session could cover sexual health.", "sexual health", "en"),
    ("Would you consider a session on digital exclusion?", "digital exclusion", "en"),
    ("I would love a session on migrant workers' rights.", "migrant workers' rights", "en"),
]


@pytest.mark.parametrize(("body", "theme", "language"), PROPOSALS, ids=[p[0][:40] for p in PROPOSALS])
def test_a_proposal_is_read_with_its_theme(body: str, theme: str, language: str) -> None:
    greeting, closing = {
        "nl": ("Dag Hilde,", "Groetjes,\nAnna Peeters"),
        "fr": ("Bonjour,", "Bien à vous,\nAnna Peeters"),
        "en": ("Hi Hilde,", "Best,\nAnna Peeters"),
    }[language]
    parsed = parse_message(mail(letter(body, greeting, closing)), CONTEXT)
    assert parsed.intent is Intent.PROPOSE
    assert parsed.extra["theme"] == theme
    assert parsed.language == language
    assert parsed.people == ()  # about a theme, not about people: the sender is the proposer
    assert not parsed.has_question  # the question that proposes asks the coordinator nothing
    assert not parsed.unsure  # thanked and stored without a human look


# (subject, body, theme): the subject says it is a proposal; the theme is in it or in the text.
SUBJECTS = [
    ("Voorstel thema: arbeidsrecht", "Dag,\n\nZie onderwerp.\n\nGroeten,\nAnna", "arbeidsrecht"),
    (
        "Themavoorstel",
        "Hallo,\n\nHet gaat over gezinshereniging na erkenning.\n\nAnna",
        "gezinshereniging na erkenning",
    ),
    (
        "Idee voor volgende sessie",
        "Hallo,\n\nRouw en verlies bij nieuwkomers.\n\nAnna",
        "Rouw en verlies bij nieuwkomers",
    ),
    (
        "Suggestion de thème",
        "Bonjour,\n\nPar exemple l'accès au compte bancaire.\n\nAnna",
        "l'accès au compte bancaire",
    ),
    ("Theme suggestion: winter shelters", "Hi,\n\nSee the subject, thanks!\n\nAnna", "winter shelters"),
]


@pytest.mark.parametrize(("subject", "body", "theme"), SUBJECTS, ids=[s[0] for s in SUBJECTS])
def test_a_subject_can_say_it_is_a_proposal(subject: str, body: str, theme: str) -> None:
    parsed = parse_message(mail(body, subject=subject), CONTEXT)
    assert parsed.intent is Intent.PROPOSE
    assert parsed.extra["theme"] == theme


def test_the_subject_of_a_reply_is_not_the_senders_proposal() -> None:
    parsed = parse_message(mail("Dag,\n\nIk kom graag.\n\nAnna", subject="Re: Themavoorstel"), CONTEXT)
    assert parsed.intent is Intent.REGISTER
    assert "theme" not in parsed.extra


# (body, intent): mails that speak of a theme, or of proposing, and propose nothing.
NOT_PROPOSALS = [
    ("Wat is het thema van de volgende bijeenkomst?", "question"),
    ("Is er al een thema voor de volgende bijeenkomst?", "question"),
    ("Zijn er al thema's gekend voor het najaar?", "question"),
    (
        "Komt er dit jaar ook een sessie over werk en arbeidsrecht? En wanneer zijn de sessies na de zomer?",
        "question",
    ),
    ("Komt in maart ook het volwassenenonderwijs aan bod?", "question"),
    ("Quel est le thème de la prochaine séance ?", "question"),
    ("What is the topic of the next meeting?", "question"),
    ("Ik kom naar de bijeenkomst over onderwijs.", "register"),
    ("Je voudrais participer à la séance sur l'aide juridique.", "register"),
    ("Ik kan niet komen op 10 maart, misschien iets voor een volgende keer.", "cancel"),
    ("Ik heb nog geen idee voor een thema, maar ik denk erover na.", "other"),
    ("Je n'ai pas d'idée de thème pour l'instant.", "other"),
    ("I have no topic suggestion yet, sorry.", "other"),
    ("Kunnen we het daar volgende keer eens over hebben?", "question"),
    ("Could we discuss it on Tuesday?", "question"),
    ("Kan dat eens op de agenda?", "question"),
    ("Het thema van maart lijkt me heel interessant.", "other"),
    ("Ik stel voor dat ik mijn collega meebreng.", "other"),
    ("Ik stel voor dat we elkaar bellen voor de afspraak.", "other"),
    ("Ik zou u graag mijn collega willen voorstellen voor de volgende sessie.", "other"),
    ("Het was boeiend om te praten over de medische kaart.", "other"),
    (
        "Ik stel mij even voor: ik ben Anna, vrijwilliger bij het CAW. Ik kom graag naar de sessie in maart.",
        "register",
    ),
]


@pytest.mark.parametrize(("body", "intent"), NOT_PROPOSALS, ids=[n[0][:40] for n in NOT_PROPOSALS])
def test_speaking_of_a_theme_is_no_proposal(body: str, intent: str) -> None:
    parsed = parse_message(mail(letter(body)), CONTEXT)
    assert str(parsed.intent) == intent
    assert "theme" not in parsed.extra


@pytest.mark.parametrize(
    ("body", "intent", "theme"),
    [
        (
            "Ik schrijf me graag in voor 10 maart. Ik stel ook voor om het eens te hebben over huisvesting.",
            "register",
            "huisvesting",
        ),
        (
            "Je m'inscris pour le 12 mai. Suggestion de thème pour une prochaine séance : le logement.",
            "register",
            "le logement",
        ),
        (
            "I can't come on 10 March. Could a future meeting be about winter shelters?",
            "cancel",
            "winter shelters",
        ),
    ],
)
def test_a_registration_or_cancel_that_also_proposes_keeps_its_intent_and_the_theme(
    body: str, intent: str, theme: str
) -> None:
    parsed = parse_message(mail(letter(body)), CONTEXT)
    assert str(parsed.intent) == intent
    assert [p.name for p in parsed.people] == ["Anna Peeters"]
    assert parsed.extra["theme"] == theme
    assert "also proposes a theme" in parsed.reasons
    assert not parsed.has_question  # the proposal asks the coordinator nothing


def test_a_proposal_that_also_asks_something_is_a_proposal_with_a_question() -> None:
    body = "Kunnen we het eens hebben over schulden? En is er parking aan de campus?"
    parsed = parse_message(mail(letter(body)), CONTEXT)
    assert parsed.intent is Intent.PROPOSE
    assert parsed.extra["theme"] == "schulden"
    assert parsed.has_question  # the parking question still needs the coordinator


def test_a_proposal_in_answer_to_our_mail_is_a_proposal() -> None:
    raw = mail(
        "Bedankt voor de fijne avond! Misschien een idee voor een volgende keer: rouwverwerking.\n\n"
        "Anna\n\n> Beste Anna,\n> Hierbij de slides van dinsdag.",
        subject="Re: Slides leernetwerk",
        In_Reply_To="<abc@in-gent.example>",
    )
    parsed = parse_message(raw, CONTEXT)
    assert parsed.intent is Intent.PROPOSE
    assert parsed.extra["theme"] == "rouwverwerking"


def test_a_newsletter_that_invites_topic_suggestions_is_no_proposal() -> None:
    raw = mail(
        "Beste lezer,\n\nHeb je een idee voor een thema? Laat het ons weten.\n\n"
        "Wil je deze nieuwsbrief niet meer ontvangen? Klik hier om je uit te schrijven.",
        subject="Nieuwsbrief februari",
        List_Unsubscribe="<mailto:leave@example.org>",
    )
    assert parse_message(raw, CONTEXT).intent is Intent.OTHER


def test_an_out_of_office_is_never_a_proposal() -> None:
    raw = mail(
        "Ik ben afwezig tot 20 februari en lees mijn mail niet. Een voorstel voor een thema? Mail later.",
        subject="Afwezig: Voorstel voor een thema",
        Auto_Submitted="auto-replied",
    )
    assert parse_message(raw, CONTEXT).intent is Intent.AUTO_REPLY


def test_a_long_theme_is_cut_to_a_short_phrase() -> None:
    long = "de " + " en ".join(f"onderwerp nummer {n}" for n in range(60))
    proposal = read_proposal(sentences(f"Voorstel voor een thema: {long}."), "")
    assert proposal is not None
    assert len(proposal.theme) <= MAX_THEME + 2 and proposal.theme.endswith("…")


def test_the_json_of_parse_gives_the_theme(tmp_path: Path) -> None:
    from mailflow.cli import main

    path = tmp_path / "voorstel.eml"
    path.write_bytes(mail(letter("Voorstel voor een thema: huisvesting.")))
    import contextlib
    import io
    import json

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["parse", "--json", str(path)]) == 0
    row = json.loads(out.getvalue())
    assert row["intent"] == "propose" and row["theme"] == "huisvesting" and row["people"] == []
