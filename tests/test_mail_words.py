"""The mails as their readers read them: the sentences that once came out wrong, pinned in the language they
were wrong in. French typography (elision, narrow no-break spaces), dates as each language writes them,
greetings by first name, "je" or "jullie" by the number of people, subjects that say the outcome first, the
acknowledgement of a question, the digest's reasons in the coordinator's language, List-Unsubscribe and the
map link. Pure: no servers."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import urllib.parse
from dataclasses import replace
from email.message import EmailMessage
from typing import Any

import jinja2
import pytest
from helpers import EXAMPLE_CONFIG
from sample_network import MEETING, NETWORK, SENDER, VENUE

from mailflow.adapters.config_file import load_config
from mailflow.core import digest as digest_module
from mailflow.core import reasons
from mailflow.core.mail import compose, render, templates
from mailflow.core.mail.greeting import first_name
from mailflow.core.mail.member_mail import MemberMail, render_member_mail
from mailflow.core.mail.subjects import SUBJECT_LIMIT
from mailflow.core.parsing import Intent, ParseContext, parse_message
from mailflow.core.parsing.result import Person
from mailflow.core.typography import NNBSP, elide_before_values, french_spacing, long_date
from mailflow.core.vocabulary import MailKind
from mailflow.settings import LANGUAGES, Localized, Texts
from mailflow.usecases.preview import environment, samples

NOW = dt.datetime(2026, 1, 6, 9, 0, tzinfo=dt.UTC)  # a week before the meeting of 13 January 2026
AMELIE = Person("Amélie Dubois", "Caritas International")
ILSE = Person("Ilse Peeters", None)


@pytest.fixture(scope="module")
def env() -> jinja2.Environment:
    return templates.make_environment()


def parsed(message: EmailMessage) -> EmailMessage:
    back = email.message_from_bytes(compose.message_bytes(message), policy=email.policy.default)
    assert isinstance(back, EmailMessage)
    return back


def bodies(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def reply(env: jinja2.Environment, network: Any = NETWORK, **changes: Any) -> EmailMessage:
    fields: dict[str, Any] = {
        "kind": "register",
        "language": "nl",
        "to_address": "amelie@example.org",
        "to_name": "Amélie Dubois",
        "people": (AMELIE,),
        "meeting": render.meeting_details(MEETING, VENUE, network),
        "unsure": False,
        "in_reply_to": "<question@example.org>",
        "references": (),
        "subject": "Inschrijving",
    }
    fields.update(changes)
    message = render.render_reply(
        env, render.Reply(**fields), network=network, sender=SENDER, message_id="<r@in-gent.example>", now=NOW
    )
    return parsed(message)


def member_mail(
    env: jinja2.Environment, kind: MailKind, network: Any = NETWORK, **changes: Any
) -> EmailMessage:
    fields: dict[str, Any] = {
        "names": ("Jan De Smet",),
        "to_address": "jan@example.org",
        "language": "nl",
        "meeting": render.meeting_details(MEETING, VENUE, network),
        "days_before": 7 if kind == MailKind.REMINDER else 0,
    }
    fields.update(changes)
    message = render_member_mail(
        env,
        MemberMail(kind=kind, **fields),
        network=network,
        sender=SENDER,
        message_id="<m@in-gent.example>",
        now=NOW,
    )
    return parsed(message)


# --- French -------------------------------------------------------------------------------------------------


def test_a_french_reminder_says_when_in_french(env: jinja2.Environment) -> None:
    text, html = bodies(member_mail(env, MailKind.REMINDER, language="fr"))
    assert "Le Leernetwerk Mensen Zonder Wettig Verblijf se réunit dans 7 jours." in text
    assert "que le" not in text and "Dans 7 jours" not in text and "Dans 7 jours" not in html


def test_french_elides_before_a_name_that_starts_with_a_vowel(env: jinja2.Environment) -> None:
    text, html = bodies(reply(env, kind="cancel", language="fr", people=(AMELIE, ILSE)))
    assert "Nous avons noté qu'Amélie Dubois et Ilse Peeters ne peuvent pas venir" in text
    assert "que Amélie" not in text and "que Amélie" not in html
    text, _ = bodies(reply(env, kind="cancel", language="fr", people=(ILSE,)))
    assert "Nous avons noté qu'Ilse Peeters ne peut pas venir" in text
    text, _ = bodies(reply(env, kind="cancel", language="fr", people=(Person("Bart Claes"),)))
    assert "Nous avons noté que Bart Claes ne peut pas venir" in text  # a consonant: no elision


def test_french_elides_au_and_le_before_a_network_name(env: jinja2.Environment) -> None:
    atelier = replace(NETWORK, name="Atelier Gent")
    text, _ = bodies(reply(env, atelier, language="fr"))
    assert "Merci pour votre inscription à l'Atelier Gent." in text
    text, _ = bodies(member_mail(env, MailKind.REMINDER, atelier, language="fr"))
    assert "L'Atelier Gent se réunit dans 7 jours." in text


def test_elision_leaves_addresses_and_what_is_no_value_alone() -> None:
    assert elide_before_values("de %(sender)s", {"sender": "eva@example.org"}) == "de %(sender)s"
    assert elide_before_values("de %(name)s", {"name": "Hilde"}) == "de %(name)s"  # no guess on an h
    assert elide_before_values("le {day}", {"day": "onze"}) == "l'{day}"
    assert elide_before_values("presque %(x)s", {"x": "ami"}) == "presque %(x)s"  # not a particle


HIGH_SIGN_AFTER_SPACE = re.compile(r"[ \u00a0][;:!?»]|«[ \u00a0]")


@pytest.mark.parametrize(
    "kind",
    ["reply_register", "reply_waitlist", "reply_cancel", "reply_question", "reminder", "digest", "update"],
)
def test_french_sets_the_high_signs_off_with_a_narrow_no_break_space(kind: str) -> None:
    config = load_config(EXAMPLE_CONFIG)
    (sample,) = [
        s
        for s in samples(config, environment(config), dt.date(2026, 12, 1))
        if s.name == kind and s.language == "fr"
    ]
    message = parsed(sample.message)
    text, html = bodies(message)
    for body in (text, html, str(message["Subject"])):
        assert not HIGH_SIGN_AFTER_SPACE.search(body), HIGH_SIGN_AFTER_SPACE.search(body)
    assert f"{NNBSP}:" in text
    if ":" in str(message["Subject"]):
        assert f"{NNBSP}:" in str(message["Subject"])
    if kind not in ("reply_cancel", "reply_question"):  # the mails with the meeting's place and its map
        assert "https://www.openstreetmap.org/search?query=" in text  # a URL keeps its colon


def test_french_spacing_adds_what_is_missing_and_leaves_markup_alone() -> None:
    assert french_spacing("Rappel: demain! Vraiment?") == f"Rappel{NNBSP}: demain{NNBSP}! Vraiment{NNBSP}?"
    assert french_spacing("« je viens »") == f"«{NNBSP}je viens{NNBSP}»"
    html = '<a href="https://x.example/?a=1;b=2" style="margin:0">Tom &amp; Jerry : 19:30</a>'
    assert (
        french_spacing(html)
        == f'<a href="https://x.example/?a=1;b=2" style="margin:0">Tom &amp; Jerry{NNBSP}: 19:30</a>'
    )


# --- dates, greetings, je and jullie ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "written"),
    [("nl", "dinsdag 10 maart 2026"), ("fr", "mardi 10 mars 2026"), ("en", "Tuesday 10 March 2026")],
)
def test_dates_are_written_as_each_language_writes_them(language: str, written: str) -> None:
    assert long_date(dt.date(2026, 3, 10), language) == written
    assert long_date(dt.date(2026, 3, 1), "fr") == "dimanche 1er mars 2026"


def test_an_english_mail_writes_the_day_before_the_month(env: jinja2.Environment) -> None:
    text, html = bodies(member_mail(env, MailKind.REMINDER, language="en"))
    assert "Tuesday 13 January 2026" in text and "Tuesday 13 January 2026" in html
    assert "January 13" not in text and "January 13" not in html


@pytest.mark.parametrize(
    ("name", "greeted"),
    [
        ("Jan De Smet", "Jan"),
        ("DE SMET Jan", "Jan"),  # an Outlook display name, surname first
        ("Goethals Bram", "Bram"),
        ("Anna-Lena Peeters", "Anna-Lena"),
        ("Xiomara Ntumba", "Xiomara Ntumba"),  # not sure which word is the first name: the whole name
        ("Eve", "Eve"),
    ],
)
def test_a_greeting_uses_the_first_name(name: str, greeted: str) -> None:
    assert first_name(name) == greeted


def test_a_mail_greets_by_first_name(env: jinja2.Environment) -> None:
    text, html = bodies(member_mail(env, MailKind.REMINDER))
    assert text.startswith("Dag Jan,\n") and "<p>Dag Jan,</p>" in html
    assert "Jan De Smet" not in text
    text, _ = bodies(reply(env, to_name="Amélie Dubois", language="fr"))
    assert text.startswith("Bonjour Amélie,\n")


YOU_ONE = re.compile(r"\b(je|jou|jouw)\b", re.IGNORECASE)


def test_a_confirmation_for_two_says_jullie_throughout(env: jinja2.Environment) -> None:
    text, html = bodies(reply(env, people=(AMELIE, ILSE), unsure=True, question=True))
    assert "Bedankt voor jullie inschrijving" in text and "jullie te zien" in text
    assert not YOU_ONE.search(text), YOU_ONE.search(text)
    assert not YOU_ONE.search(html), YOU_ONE.search(html)
    single, _ = bodies(reply(env))
    assert "Bedankt voor je inschrijving" in single and "jullie" not in single


def test_a_mail_to_two_members_at_one_address_says_jullie(env: jinja2.Environment) -> None:
    for kind in (MailKind.REMINDER, MailKind.INVITATION, MailKind.UPDATE, MailKind.MEETING_CANCELLED):
        extra: dict[str, Any] = {}
        if kind == MailKind.UPDATE:
            extra = {
                "changes": ("place",),
                "previous": replace(render.meeting_details(MEETING, VENUE, NETWORK), place_name="Elders"),
            }
        text, _ = bodies(member_mail(env, kind, names=("Gert Peeters", "Hanne Peeters"), **extra))
        assert text.startswith("Dag Gert en Hanne,\n"), kind
        assert not YOU_ONE.search(text), (kind, YOU_ONE.search(text))


# --- subjects -----------------------------------------------------------------------------------------------

OUTCOMES = {
    ("reply_register", "nl"): "Ingeschreven: ",
    ("reply_waitlist", "nl"): "Wachtlijst: ",
    ("reply_cancel", "nl"): "Uitgeschreven voor ",
    ("reply_question", "nl"): "Vraag doorgegeven",
    ("reminder", "nl"): "Herinnering: morgen 19:30",
    ("reply_register", "fr"): f"Inscription confirmée{NNBSP}: ",
    ("reminder", "fr"): f"Rappel{NNBSP}: demain 19h30",
    ("reply_register", "en"): "Registered: ",
    ("reminder", "en"): "Reminder: tomorrow 19:30",
}


def test_every_subject_says_the_outcome_first_and_fits_a_phone() -> None:
    config = load_config(EXAMPLE_CONFIG)
    seen = set()
    for sample in samples(config, environment(config), dt.date(2026, 12, 1)):
        subject = str(parsed(sample.message)["Subject"])
        assert len(subject) < SUBJECT_LIMIT, subject
        assert not subject.startswith("Re:"), subject
        if sample.name != "notice_held":
            assert subject.endswith(" - Leernetwerk"), subject
        expected = OUTCOMES.get((sample.name, sample.language))
        if expected:
            assert subject.startswith(expected), subject
            seen.add((sample.name, sample.language))
    assert seen == set(OUTCOMES)


def test_the_subjects_the_issue_asked_for(env: jinja2.Environment) -> None:
    meeting = render.meeting_details(replace(MEETING, date=dt.date(2026, 3, 10)), VENUE, NETWORK)
    assert reply(env, meeting=meeting)["Subject"] == "Ingeschreven: di 10 maart - Leernetwerk"
    assert reply(env, kind="waitlist", meeting=meeting)["Subject"] == "Wachtlijst: di 10 maart - Leernetwerk"
    assert (
        reply(env, kind="cancel", meeting=meeting)["Subject"]
        == "Uitgeschreven voor di 10 maart - Leernetwerk"
    )
    late = member_mail(env, MailKind.REMINDER, meeting=meeting)
    assert late["Subject"] == "Herinnering: di 10 maart 19:30 - Leernetwerk"  # a week ahead: the day
    message = render_member_mail(
        env,
        MemberMail(MailKind.REMINDER, ("Jan De Smet",), "jan@example.org", "nl", meeting, days_before=1),
        network=NETWORK,
        sender=SENDER,
        message_id="<m@in-gent.example>",
        now=dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC),
    )
    assert message["Subject"] == "Herinnering: morgen 19:30 - Leernetwerk"
    short = replace(NETWORK, short_name="LN Gent")
    assert reply(env, short, meeting=meeting)["Subject"] == "Ingeschreven: di 10 maart - LN Gent"


def test_a_reply_keeps_its_thread_though_its_subject_is_ours(env: jinja2.Environment) -> None:
    message = reply(env, in_reply_to="<a@example.org>", references=("<root@example.org>",))
    assert message["In-Reply-To"] == "<a@example.org>"
    assert message["References"] == "<root@example.org> <a@example.org>"


# --- a question ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "sentence"),
    [
        ("nl", "Vraag doorgegeven - Leernetwerk", "We hebben je vraag doorgegeven aan de coördinator"),
        ("fr", "Question transmise - Leernetwerk", "Nous avons transmis votre question à la coordination"),
        (
            "en",
            "Your question is passed on - Leernetwerk",
            "We have passed your question on to the coordinator",
        ),
    ],
)
def test_a_question_is_acknowledged(
    env: jinja2.Environment, language: str, subject: str, sentence: str
) -> None:
    message = reply(env, kind="question", language=language, meeting=None, people=(AMELIE, ILSE))
    assert message["Subject"] == subject
    assert message["Auto-Submitted"] == "auto-replied" and message["In-Reply-To"] == "<question@example.org>"
    text, html = bodies(message)
    assert sentence in text.replace("\n", " ") and sentence in html
    assert not [part for part in message.iter_attachments()]  # no calendar: it is about no meeting
    if language == "nl":
        assert "jullie" not in text  # to its writer alone, whoever the mail named


def test_a_registration_that_also_asks_says_the_question_was_passed_on(env: jinja2.Environment) -> None:
    text, _ = bodies(reply(env, question=True))
    assert "Je mail stelt ook een vraag: die hebben we doorgegeven aan de coördinator" in text
    assert "doorgegeven" not in bodies(reply(env))[0]


def test_a_question_is_a_reply_the_limits_count() -> None:
    assert MailKind.QUESTION in render.KINDS and Intent.QUESTION.answered


# --- the digest speaks the coordinator's language -----------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "dutch"),
    [
        ("other: no request recognised", "mailflow vond er geen vraag in om in te schrijven"),
        (
            "unsure reading: cancel: cannot attend; surname read from the mail address",
            (
                "Verwerkt zoals mailflow de mail las, maar het was niet zeker van een naam of organisatie: "
                "kijk ze na. De familienaam komt uit het mailadres."
            ),
        ),
        ("question: asks something, registers nobody", "Een vraag voor jou: beantwoord ze zelf."),
        ("also asks a question", "Gedaan zoals gevraagd, maar de mail stelt ook een vraag"),
        ("larger than 10485760 bytes; not downloaded", "Te groot om op te halen (meer dan 10 MB)"),
        ("ambiguous From: several From headers, not answered", "Het adres van de afzender is niet duidelijk"),
        ("something this version never wrote", "mailflow kon deze mail niet zelf afhandelen."),
    ],
)
def test_every_review_reason_reads_as_a_dutch_sentence(stored: str, dutch: str) -> None:
    assert any(sentence.startswith(dutch) for sentence in reasons.explain(stored, "nl"))


def test_the_digest_shows_no_developer_english(env: jinja2.Environment) -> None:
    review = (
        digest_module.ReviewLine(NOW, "Vraag", "other: no request recognised", "eva@example.org"),
        digest_module.ReviewLine(
            NOW,
            "Inschrijving",
            "unsure reading: cancel: cannot attend; surname read from the mail address",
            None,
        ),
    )
    facts = digest_module.DigestFacts(
        (), (), (), 0, review, (digest_module.FailureLine("x@example.org", "550 no such user", "reminder"),),
        (), 0, (), (), render.meeting_details(MEETING, VENUE, NETWORK), (),
    )  # fmt: skip
    built = digest_module.build_digest(facts, dt.date(2026, 1, 6), NETWORK)
    message = render.render_digest(
        env,
        built,
        network=NETWORK,
        to_address=NETWORK.coordinator,
        sender=SENDER,
        message_id="<d@in-gent.example>",
        now=NOW,
    )
    text, html = bodies(parsed(message))
    for body in (text, html):
        for english in ("other:", "no request recognised", "unsure reading", "surname read from", "reason:"):
            assert english not in body, english
        assert "De familienaam komt uit het mailadres." in body
        assert "herinnering aan x@example.org" in body  # the kind of mail in Dutch, too


# --- List-Unsubscribe and the map ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_member_mails_carry_a_list_unsubscribe_that_reads_back_as_leaving(
    env: jinja2.Environment, language: str
) -> None:
    for kind in (MailKind.INVITATION, MailKind.REMINDER, MailKind.PROMOTED):
        message = member_mail(env, kind, language=language)
        (value,) = message.get_all("List-Unsubscribe")
        url = urllib.parse.urlsplit(str(value).strip("<>"))
        assert url.scheme == "mailto" and url.path == NETWORK.signup_address
        (subject,) = urllib.parse.parse_qs(url.query)["subject"]
        # What a mail client's "unsubscribe" sends: that subject, to that address, and often no text at all.
        leaving = EmailMessage()
        leaving["From"] = "Jan De Smet <jan@example.org>"
        leaving["To"] = NETWORK.signup_address
        leaving["Subject"] = subject
        leaving["Message-ID"] = "<leave@example.org>"
        leaving.set_content("")
        read = parse_message(bytes(leaving), ParseContext())
        assert read.intent == Intent.UNSUBSCRIBE and not read.unsure, (language, subject)
    assert reply(env).get_all("List-Unsubscribe") is None  # a reply is no list mail


def test_the_place_links_to_a_map(env: jinja2.Environment) -> None:
    text, html = bodies(reply(env))
    url = "https://www.openstreetmap.org/search?query=Sint-Annaplein+31%2C+9000+Gent"
    assert f"Kaart:    {url}" in text
    assert f'<a href="{url}">Toon op de kaart</a>' in html


# --- per-language meeting texts, the coordinator's note and signature ---------------------------------------


def test_a_theme_given_per_language_shows_in_the_mails_language(env: jinja2.Environment) -> None:
    meeting = replace(
        MEETING,
        theme=Localized(
            "Dringende medische hulp", {"nl": "Dringende medische hulp", "fr": "Aide médicale urgente"}
        ),
        speakers=(
            Localized("Nora Jacobs (Dokters van de Wereld)", {"fr": "Nora Jacobs (Médecins du Monde)"}),
        ),
        note=Localized("Breng je identiteitskaart mee.", {"fr": "Apportez votre carte d'identité."}),
    )
    details = render.meeting_details(meeting, VENUE, NETWORK)
    text, html = bodies(reply(env, language="fr", meeting=details))
    assert "Aide médicale urgente" in text and "Médecins du Monde" in text
    assert f"Bon à savoir{NNBSP}: Apportez votre carte d'identité." in text and "Apportez votre carte" in html
    assert "Dringende medische hulp" not in text
    english, _ = bodies(reply(env, language="en", meeting=details))
    assert "Dringende medische hulp" in english  # no English text given: the network's
    assert "Good to know: Breng je identiteitskaart mee." in english
    calendar = next(p for p in reply(env, language="fr", meeting=details).iter_attachments())
    assert "Aide médicale urgente" in calendar.get_content()


def test_the_signature_and_contact_line_are_the_coordinators(env: jinja2.Environment) -> None:
    own = replace(
        NETWORK,
        texts=Texts(
            signature=Localized("Sarah Peeters\ncoördinator", {"fr": "Sarah Peeters\ncoordinatrice"}),
            contact="Vragen? Bel 09 123 45 67.",
        ),
    )
    text, html = bodies(reply(env, own, language="fr"))
    assert text.rstrip().endswith(
        f"Bien cordialement,\nSarah Peeters\ncoordinatrice\n\nVragen{NNBSP}? Bel 09 123 45 67."
    )
    assert "Bien cordialement,<br>Sarah Peeters<br>coordinatrice" in html
