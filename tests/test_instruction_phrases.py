"""Our own words: every reply our mails teach ("reply X to cancel / leave / erase") reads as what it says.

Each mail kind that teaches a phrase is rendered in each language; a member answers with the phrase on top
and our mail quoted below, as Gmail, Apple Mail and Outlook quote it; the parser must read the instruction,
and our own text in the quote must not change the reading. Pure: no servers.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Callable
from email.message import EmailMessage

import jinja2
import pytest
from sample_network import MEETING, NETWORK, SENDER, VENUE

from mailflow.core.mail import compose, render, templates
from mailflow.core.mail.member_mail import MemberMail, render_member_mail
from mailflow.core.parsing import parse_message
from mailflow.core.parsing.result import Intent, ParseContext, Person
from mailflow.core.vocabulary import INSTRUCTION_PHRASES, Instruction, MailKind, instruction_phrase
from mailflow.settings import Meeting

NOW = dt.datetime(2026, 1, 6, 9, 0, tzinfo=dt.UTC)
MEMBER = "lotte.verhaegen@example.org"
CONTEXT = ParseContext(
    meetings=(MEETING,), own_addresses=(SENDER, NETWORK.coordinator), own_domain="in-gent.example"
)
EXPECTED = {
    Instruction.COME: Intent.REGISTER,
    Instruction.CANCEL: Intent.CANCEL,
    Instruction.LEAVE: Intent.UNSUBSCRIBE,
    Instruction.ERASE: Intent.ERASE,
}
LANGUAGES = ("nl", "fr", "en")


@pytest.fixture(scope="module")
def env() -> jinja2.Environment:
    return templates.make_environment()


def _reply(env: jinja2.Environment, kind: str, language: str) -> EmailMessage:
    return render.render_reply(
        env,
        render.Reply(
            kind=kind,
            language=language,
            to_address=MEMBER,
            to_name="Lotte Verhaegen",
            people=(Person("Lotte Verhaegen", "Vluchtelingenwerk Vlaanderen"),),
            meeting=render.meeting_details(MEETING, VENUE, NETWORK),
            unsure=False,
            in_reply_to="<lotte-1@example.org>",
            references=(),
            subject="Leernetwerk",
        ),
        network=NETWORK,
        sender=SENDER,
        message_id="<reply-1@in-gent.example>",
        now=NOW,
    )


def _member_mail(kind: MailKind) -> Callable[[jinja2.Environment, str, str], EmailMessage]:
    def build(env: jinja2.Environment, _kind: str, language: str) -> EmailMessage:
        mail = MemberMail(
            kind,
            ("Lotte Verhaegen",),
            MEMBER,
            language,
            render.meeting_details(MEETING, VENUE, NETWORK),
            days_before=7 if kind == MailKind.REMINDER else 0,
        )
        return render_member_mail(
            env, mail, network=NETWORK, sender=SENDER, message_id=f"<{kind}-1@in-gent.example>", now=NOW
        )

    return build


TAUGHT_WITH_A_PLACE = (Instruction.CANCEL, Instruction.LEAVE, Instruction.ERASE)


# The mails that teach a phrase, and the phrases each teaches.
MAILS: dict[str, tuple[Callable[[jinja2.Environment, str, str], EmailMessage], tuple[Instruction, ...]]] = {
    "register": (_reply, TAUGHT_WITH_A_PLACE),
    "waitlist": (_reply, TAUGHT_WITH_A_PLACE),
    "unsubscribe": (_reply, (Instruction.ERASE,)),
    "reminder": (_member_mail(MailKind.REMINDER), TAUGHT_WITH_A_PLACE),
    "promoted": (_member_mail(MailKind.PROMOTED), TAUGHT_WITH_A_PLACE),
    "invitation": (
        _member_mail(MailKind.INVITATION),
        (Instruction.COME, Instruction.LEAVE, Instruction.ERASE),
    ),
}
ATTRIBUTION = {
    "nl": "Op di 6 jan. 2026 om 10:00 schreef Leernetwerk IN-Gent <leernetwerk@in-gent.example>:",
    "fr": "Le mar. 6 janv. 2026 à 10:00, Leernetwerk IN-Gent <leernetwerk@in-gent.example> a écrit :",
    "en": "On Tue, 6 Jan 2026 at 10:00, Leernetwerk IN-Gent <leernetwerk@in-gent.example> wrote:",
}
APPLE = {
    "nl": "Op 6 jan. 2026 om 10:00 heeft Leernetwerk IN-Gent <leernetwerk@in-gent.example> het volgende "
    "geschreven:",
    "fr": "Le 6 janv. 2026 à 10:00, Leernetwerk IN-Gent <leernetwerk@in-gent.example> a écrit :",
    "en": "On 6 Jan 2026, at 10:00, Leernetwerk IN-Gent <leernetwerk@in-gent.example> wrote:",
}
OUTLOOK = {
    "nl": ("Van", "Verzonden", "Aan", "Onderwerp"),
    "fr": ("De", "Envoyé", "À", "Objet"),
    "en": ("From", "Sent", "To", "Subject"),
}
SIGNATURE = {"nl": "Groetjes,\nLotte", "fr": "Bonne journée,\nLotte", "en": "Best,\nLotte"}


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _answer(ours: EmailMessage, language: str, phrase: str, client: str, signed: bool) -> bytes:
    """A member's reply: the phrase on top, our mail quoted below as `client` quotes it."""
    body = ours.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    top = phrase + ("\n\n" + SIGNATURE[language] if signed else "")
    if client == "gmail":
        whole = f"{top}\n\n{ATTRIBUTION[language]}\n\n{_quoted(text)}\n"
    elif client == "apple":
        whole = f"{top}\n\nVerstuurd vanaf mijn iPhone\n\n> {APPLE[language]}\n>\n{_quoted(text)}\n"
    else:  # Outlook: a header block, then our text without quote marks
        van, verzonden, aan, onderwerp = OUTLOOK[language]
        whole = (
            f"{top}\n\n{van}: Leernetwerk IN-Gent <leernetwerk@in-gent.example>\n"
            f"{verzonden}: dinsdag 6 januari 2026 10:00\n{aan}: Lotte Verhaegen <{MEMBER}>\n"
            f"{onderwerp}: {ours['Subject']}\n\n{text}\n"
        )
    answer = EmailMessage()
    answer["From"] = f"Lotte Verhaegen <{MEMBER}>"
    answer["To"] = SENDER
    answer["Subject"] = "Re: " + str(ours["Subject"])
    answer["Date"] = "Wed, 07 Jan 2026 08:30:00 +0100"
    answer["Message-ID"] = "<answer-1@example.org>"
    answer["In-Reply-To"] = str(ours["Message-ID"])
    answer.set_content(whole)
    return answer.as_bytes()


CASES = [
    (kind, language, instruction, client, signed)
    for kind, (_, taught) in MAILS.items()
    for language in LANGUAGES
    for instruction in taught
    for client in ("gmail", "apple", "outlook")
    for signed in (False, True)
]


@pytest.mark.parametrize(("kind", "language", "instruction", "client", "signed"), CASES)
def test_every_taught_phrase_reads_as_what_it_says(
    env: jinja2.Environment, kind: str, language: str, instruction: Instruction, client: str, signed: bool
) -> None:
    build, _ = MAILS[kind]
    ours = email.message_from_bytes(
        compose.message_bytes(build(env, kind, language)), policy=email.policy.default
    )
    assert isinstance(ours, EmailMessage)
    phrase = instruction_phrase(instruction, language)
    plain = ours.get_body(("plain",))
    assert plain is not None and phrase in plain.get_content()  # the mail teaches it
    parsed = parse_message(_answer(ours, language, phrase, client, signed), CONTEXT)
    assert parsed.intent is EXPECTED[instruction], parsed.reasons
    if instruction in (Instruction.CANCEL, Instruction.COME):
        assert parsed.meeting_date == MEETING.date  # the meeting of the mail answered


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_table_holds_every_instruction_in_every_language(language: str) -> None:
    assert set(INSTRUCTION_PHRASES[language]) == set(Instruction)


def test_leaving_is_never_taught_with_a_word_that_also_cancels_one_meeting() -> None:
    leave = {language: INSTRUCTION_PHRASES[language][Instruction.LEAVE].lower() for language in LANGUAGES}
    assert (
        "uitschrijv" not in leave["nl"]
        and "désinscri" not in leave["fr"]
        and "unsubscribe" not in leave["en"]
    )


def _mail(body: str, subject: str = "Leernetwerk") -> bytes:
    message = EmailMessage()
    message["From"] = f"Lotte Verhaegen <{MEMBER}>"
    message["To"] = SENDER
    message["Subject"] = subject
    message["Date"] = "Wed, 07 Jan 2026 08:30:00 +0100"
    message.set_content(body)
    return message.as_bytes()


@pytest.mark.parametrize(
    "body",
    [
        "wis mijn gegevens",
        "Wis mijn gegevens aub.",
        "Verwijder mijn gegevens.",
        "Verwijder al mijn gegevens, ik wil niet meer gecontacteerd worden.",
        "Graag mijn gegevens wissen.",
        "Kunnen jullie mijn gegevens verwijderen?",
        "Gelieve al mijn gegevens te wissen.",
        "efface mes données",
        "Effacez mes données s'il vous plaît.",
        "Merci de supprimer mes données.",
        "erase my data",
        "Please delete my data.",
    ],
)
def test_erase_in_any_word_order(body: str) -> None:
    assert parse_message(_mail(body + "\n\nLotte"), CONTEXT).intent is Intent.ERASE


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("ik stap uit het leernetwerk", Intent.UNSUBSCRIBE),
        ("Ik wil uit het leernetwerk stappen.", Intent.UNSUBSCRIBE),
        ("Ik verlaat het leernetwerk, bedankt voor alles.", Intent.UNSUBSCRIBE),
        ("Je quitte le réseau.", Intent.UNSUBSCRIBE),
        ("Je souhaite quitter le réseau.", Intent.UNSUBSCRIBE),
        ("I'd like to leave the network.", Intent.UNSUBSCRIBE),
        # Flemish "uitschrijven voor" one meeting cancels that meeting, it does not leave the network.
        ("Mag je me uitschrijven voor dinsdag?", Intent.CANCEL),
        ("Sorry, ik kan toch niet komen op 13 januari. Mogen jullie me uitschrijven?", Intent.CANCEL),
        ("Gelieve mij uit te schrijven voor de sessie van 13 januari.", Intent.CANCEL),
        ("Pouvez-vous me retirer de la liste pour cette fois-ci ?", Intent.CANCEL),
        # Mijn gegevens alone is no erase request, and "my details" to register are no erase request.
        (
            "Ik kom graag naar de sessie van 13 januari. Mijn gegevens: Lotte Verhaegen, Vluchtelingenwerk.",
            Intent.REGISTER,
        ),
    ],
)
def test_leaving_and_cancelling_are_told_apart(body: str, intent: Intent) -> None:
    parsed = parse_message(_mail(body + "\n\nLotte"), CONTEXT)
    assert parsed.intent is intent, parsed.reasons


MARCH = Meeting(date=dt.date(2026, 3, 10), theme="Toegang tot onderwijs")
TWO_MEETINGS = ParseContext(meetings=(MEETING, MARCH), own_addresses=CONTEXT.own_addresses)


@pytest.mark.parametrize(
    ("body", "intent", "date"),
    [
        ("I can't come on the 13th, but register me for March.", Intent.REGISTER, MARCH.date),
        ("Ik kan niet op 13 januari, maar schrijf me in voor maart.", Intent.REGISTER, MARCH.date),
        ("Je ne peux pas venir le 13 janvier, mais inscrivez-moi pour mars.", Intent.REGISTER, MARCH.date),
        ("Sorry, ik moet afzeggen voor 13 januari. Tot de volgende keer!", Intent.CANCEL, MEETING.date),
        ("I have to cancel for Tuesday the 13th, see you next time!", Intent.CANCEL, MEETING.date),
        ("ik kom dinsdag", Intent.REGISTER, MEETING.date),
        ("Zijn de slides van de sessie van vorige keer ergens te vinden?", Intent.QUESTION, None),
    ],
)
def test_mixed_statements_read_clause_by_clause(body: str, intent: Intent, date: dt.date | None) -> None:
    parsed = parse_message(_mail(body + "\n\nLotte"), TWO_MEETINGS)
    assert parsed.intent is intent, parsed.reasons
    assert parsed.meeting_date == date
