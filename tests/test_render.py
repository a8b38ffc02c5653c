"""Outgoing replies: headers that thread and cannot be injected, the text in three languages, the .ics."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import html as html_entities
import re
from dataclasses import replace
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import icalendar
import jinja2
import pytest
from sample_network import BRUSSELS, MEETING, NETWORK, SENDER, VENUE

from mailflow.core import digest as digest_module
from mailflow.core.mail import compose, render, templates
from mailflow.core.mail.member_mail import MemberMail, member_mail_context, render_member_mail
from mailflow.core.parsing.result import Person
from mailflow.core.vocabulary import MailKind
from mailflow.settings import LANGUAGES

NOW = dt.datetime(2025, 12, 1, 9, 15, tzinfo=dt.UTC)
# 200 characters, with "=" as Gmail's ids have: far past the 78 at which the default policy folds.
LONG_ID = "<" + ("CAPCi5Qov2=x" * 15)[:179] + "@mail.gmail.example>"
# Dates as people of each language write them: English in the British order, as in Belgium.
LONG_DATES = {
    "nl": "dinsdag 13 januari 2026",
    "fr": "mardi 13 janvier 2026",
    "en": "Tuesday 13 January 2026",
}
NNBSP = "\u202f"  # French sets ; : ! ? and « » off with a narrow no-break space
UNSURE_WORDING = {
    "nl": "Klopt dit niet? Antwoord dan even op deze mail.",
    "fr": f"Une erreur{NNBSP}? Répondez simplement à ce mail.",
    "en": "Is this not right? Just reply to this email.",
}


def test_long_id_is_200_characters() -> None:
    assert len(LONG_ID) == 200


@pytest.fixture(scope="module")
def env() -> jinja2.Environment:
    return templates.make_environment()


def details() -> render.MeetingDetails:
    return render.meeting_details(MEETING, VENUE, NETWORK)


def make_reply(**changes: object) -> render.Reply:
    reply = render.Reply(
        kind="register",
        language="nl",
        to_address="lotte.verhaegen@example.org",
        to_name="Lotte Verhaegen",
        people=(Person("Lotte Verhaegen", "Vluchtelingenwerk Vlaanderen"),),
        meeting=details(),
        unsure=False,
        in_reply_to="<CAQZeb5CgpFlZqZtDzq=KWPN=ApkCJ@mail.gmail.example>",
        references=(),
        subject="Inschrijving leernetwerk",
    )
    return replace(reply, **changes)


def rendered(env: jinja2.Environment, **changes: object) -> tuple[bytes, EmailMessage]:
    """The reply as SMTP sends it, and parsed back the way a mail client reads it."""
    message = render.render_reply(
        env,
        make_reply(**changes),
        network=NETWORK,
        sender=SENDER,
        message_id="<reply-1@in-gent.example>",
        now=NOW,
    )
    raw = compose.message_bytes(message)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return raw, parsed


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def header_lines(raw: bytes, name: bytes) -> bytes:
    """One header as it stands in the raw bytes, folded lines included."""
    match = re.search(
        rb"^" + name + rb":.*?\r\n(?=\S)",
        header_block(raw) + b"\r\nX",
        re.MULTILINE | re.DOTALL | re.IGNORECASE,
    )
    assert match, f"no {name!r} header"
    return match.group(0)


def text_and_html(parsed: EmailMessage) -> tuple[str, str]:
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    # The parts travel with CRLF line ends; compare with what the templates wrote.
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def ics_part(parsed: EmailMessage) -> EmailMessage | None:
    parts = [part for part in parsed.walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) <= 1
    return parts[0] if parts else None  # type: ignore[return-value]


# --- meeting details ----------------------------------------------------------------------------------------


def test_the_details_are_rendered_once_per_meeting_and_each_mail_keeps_its_person() -> None:
    env = templates.make_environment()  # a cache of its own
    lotte_text, _ = text_and_html(rendered(env)[1])
    bart_text, bart_html = text_and_html(
        rendered(
            env,
            to_name="Bart Claes",
            people=(Person("Bart Claes", "Caritas"),),
            to_address="bart@example.org",
        )[1]
    )
    assert "Lotte" in lotte_text and "Bart" not in lotte_text
    assert "Bart" in bart_text and "Lotte" not in bart_text and "Lotte" not in bart_html
    details_block = lotte_text[lotte_text.index("Datum:") : lotte_text.index("Datum:") + 200]
    assert details_block in bart_text  # the same details, from the cache
    # Another theme, another language: each their own details.
    moved = replace(details(), theme="Toegang tot onderwijs")
    text, html = text_and_html(rendered(env, meeting=moved)[1])
    assert "Toegang tot onderwijs" in text and "Toegang tot onderwijs" in html
    assert "Dringende medische hulp" not in text
    french, _ = text_and_html(rendered(env, language="fr")[1])
    assert "Date" in french and "Datum:" not in french


def test_meeting_details_use_the_venue_hours_in_the_network_zone() -> None:
    meeting = details()
    assert meeting.starts_at == dt.datetime(2026, 1, 13, 19, 30, tzinfo=BRUSSELS)
    assert meeting.starts_at.utcoffset() == dt.timedelta(hours=1)
    assert meeting.ends_at == dt.datetime(2026, 1, 13, 22, 0, tzinfo=BRUSSELS)
    assert (meeting.place_name, meeting.place_address) == (
        "Campus Sint-Annaplein",
        "Sint-Annaplein 31, 9000 Gent",
    )
    assert meeting.speakers == ("Anouk Baert", "Mieke Declerck")
    assert meeting.uid == "meeting-2026-01-13@in-gent.example"


def test_meeting_details_prefer_the_meetings_own_place_and_allow_no_end() -> None:
    elsewhere = replace(MEETING, place="Vormingscentrum De Kring, Kerkstraat 4, Gent")
    meeting = render.meeting_details(elsewhere, replace(VENUE, end=None), NETWORK)
    assert meeting.place_name == "Vormingscentrum De Kring, Kerkstraat 4, Gent"
    assert meeting.place_address == ""
    assert meeting.ends_at is None


# --- headers ------------------------------------------------------------------------------------------------


def test_headers_of_a_reply(env: jinja2.Environment) -> None:
    raw, parsed = rendered(env)
    assert parsed["From"].addresses[0].display_name == NETWORK.name
    assert parsed["From"].addresses[0].addr_spec == SENDER
    assert [a.addr_spec for a in parsed["To"].addresses] == ["lotte.verhaegen@example.org"]
    assert parsed["To"].addresses[0].display_name == "Lotte Verhaegen"
    assert parsed["Subject"] == "Ingeschreven: di 13 januari - Leernetwerk"  # the outcome, not "Re: ..."
    assert parsed["Message-ID"] == "<reply-1@in-gent.example>"
    assert parsed["In-Reply-To"] == "<CAQZeb5CgpFlZqZtDzq=KWPN=ApkCJ@mail.gmail.example>"
    assert parsed["References"] == "<CAQZeb5CgpFlZqZtDzq=KWPN=ApkCJ@mail.gmail.example>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["X-Loop"] == NETWORK.signup_address  # our loop guard
    assert parsed["Content-Language"] == "nl"
    assert email.utils.parsedate_to_datetime(parsed["Date"]) == NOW
    assert b"Date: Mon, 01 Dec 2025 10:15:00 +0100\r\n" in raw  # shown in the network's zone
    for name in ("From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "Date", "Bcc", "Cc"):
        assert len(parsed.get_all(name) or []) == (0 if name in ("Bcc", "Cc") else 1), name


def test_a_200_character_message_id_stays_verbatim(env: jinja2.Environment) -> None:
    raw, parsed = rendered(env, in_reply_to=LONG_ID, references=("<first@example.org>", LONG_ID))
    long_id = LONG_ID.encode()
    assert b"\r\nIn-Reply-To: " + long_id + b"\r\n" in raw
    # References folds only in the space between ids (RFC 5322 2.2.3), never inside one.
    assert b"\r\nReferences: <first@example.org>\r\n " + long_id + b"\r\n" in raw
    for name in (b"In-Reply-To", b"References", b"Message-ID"):
        assert b"=?" not in header_lines(raw, name)
    assert parsed["In-Reply-To"] == LONG_ID
    assert parsed["References"].split() == ["<first@example.org>", LONG_ID]


def test_a_200_character_id_of_our_own_stays_verbatim(env: jinja2.Environment) -> None:
    message = render.render_reply(
        env, make_reply(), network=NETWORK, sender=SENDER, message_id=LONG_ID, now=NOW
    )
    raw = compose.message_bytes(message)
    assert b"\r\nMessage-ID: " + LONG_ID.encode() + b"\r\n" in raw


def test_every_serialiser_keeps_the_ids_verbatim(env: jinja2.Environment) -> None:
    # smtplib.send_message and a plain as_bytes() use the message's own policy, not message_bytes().
    message = render.render_reply(
        env,
        make_reply(in_reply_to=LONG_ID),
        network=NETWORK,
        sender=SENDER,
        message_id="<r@in-gent.example>",
        now=NOW,
    )
    for raw in (message.as_bytes(), bytes(message), message.as_string().encode()):
        assert b"In-Reply-To: " + LONG_ID.encode() + b"\r\n" in raw


def test_message_bytes_ends_every_line_with_crlf(env: jinja2.Environment) -> None:
    raw, _ = rendered(env)
    assert raw.count(b"\n") == raw.count(b"\r\n") > 20


def test_references_are_the_parents_chain_then_the_parent_once(env: jinja2.Environment) -> None:
    chain = (
        "<root@example.org>",
        "<middle@example.org>",
        "<CAQZeb5CgpFlZqZtDzq=KWPN=ApkCJ@mail.gmail.example>",
    )
    _, parsed = rendered(env, references=chain)
    assert parsed["References"].split() == list(chain)


def test_a_long_references_chain_keeps_the_root_and_the_latest_ids(env: jinja2.Environment) -> None:
    chain = tuple(f"<m{i}@example.org>" for i in range(40))
    raw, parsed = rendered(env, references=chain, in_reply_to="<parent@example.org>")
    ids = parsed["References"].split()
    assert len(ids) == compose.MAX_REFERENCES
    assert ids[0] == "<m0@example.org>" and ids[-1] == "<parent@example.org>"
    assert all(len(line) <= 78 for line in header_lines(raw, b"References").split(b"\r\n"))


@pytest.mark.parametrize(
    "bad_id",
    ["<a@b>\r\nBcc: victim@example.org", "no-angle-brackets@example.org", "<two ids@example.org>", ""],
)
def test_a_malformed_parent_id_is_left_out(env: jinja2.Environment, bad_id: str) -> None:
    raw, parsed = rendered(env, in_reply_to=bad_id, references=(bad_id, "<good@example.org>"))
    assert parsed["In-Reply-To"] is None
    assert parsed["References"] == "<good@example.org>"
    assert b"Bcc" not in header_block(raw)


@pytest.mark.parametrize(
    "original",
    ["Inschrijving", "RE: Re: re:Inschrijving", "Antw: AW: Réf : Inscription", "Fwd: Uitnodiging", ""],
)
def test_the_subject_says_the_outcome_whatever_the_mail_said(env: jinja2.Environment, original: str) -> None:
    # Threading rides on In-Reply-To and References; the subject tells what happened, the date first.
    _, parsed = rendered(env, subject=original)
    assert parsed["Subject"] == "Ingeschreven: di 13 januari - Leernetwerk"
    assert parsed["In-Reply-To"] == "<CAQZeb5CgpFlZqZtDzq=KWPN=ApkCJ@mail.gmail.example>"


def test_a_subject_with_line_breaks_never_reaches_a_header(env: jinja2.Environment) -> None:
    raw, parsed = rendered(env, subject="Inschrijving\r\nBcc: victim@example.org")
    assert parsed["Subject"] == "Ingeschreven: di 13 januari - Leernetwerk"
    assert parsed["Bcc"] is None
    assert not re.search(rb"^Bcc:", header_block(raw), re.MULTILINE)


@pytest.mark.parametrize(
    "name",
    [
        "Eve\r\nBcc: victim@example.org",
        "Eve\nBcc: victim@example.org",
        "Eve\rBcc: victim@example.org",
        "Eve\u2028Bcc: victim@example.org",
        "Eve\x00\x1b\u202e\u2066 Bcc: victim@example.org",
        "Eve\x85Bcc: victim@example.org",  # NEL, another line break to str.splitlines()
    ],
)
def test_a_line_break_in_a_name_never_makes_a_header(env: jinja2.Environment, name: str) -> None:
    raw, parsed = rendered(env, to_name=name, people=(Person(name, "Org\r\nX-Evil: 1"),))
    headers = header_block(raw)
    assert not re.search(rb"^(Bcc|X-Evil):", headers, re.MULTILINE | re.IGNORECASE)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["lotte.verhaegen@example.org"]
    assert parsed["To"].addresses[0].display_name == "Eve Bcc: victim@example.org"
    text, _ = text_and_html(parsed)
    assert "- Eve Bcc: victim@example.org (Org X-Evil: 1)" in text


@pytest.mark.parametrize(
    "name", ["Peeters, An", '"An" Peeters <an@example.net>, bob@example.net', "Élise Dubois-Noël"]
)
def test_quotes_commas_and_accents_in_a_name_still_give_one_recipient(
    env: jinja2.Environment, name: str
) -> None:
    _, parsed = rendered(env, to_name=name)
    addresses = parsed["To"].addresses
    assert [a.addr_spec for a in addresses] == ["lotte.verhaegen@example.org"]
    assert addresses[0].display_name == name


@pytest.mark.parametrize(
    "address", ["a@example.org, b@example.org", "a@example.org\r\nBcc: b@example.org", "nobody"]
)
def test_a_recipient_that_is_not_one_mailbox_is_refused(env: jinja2.Environment, address: str) -> None:
    with pytest.raises(ValueError):
        rendered(env, to_address=address)


def test_names_in_other_scripts_keep_their_joiners(env: jinja2.Environment) -> None:
    name = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 Rahimi"  # a Persian name with a ZWNJ
    _, parsed = rendered(env, to_name=name, people=(Person(name),))
    assert parsed["To"].addresses[0].display_name == name
    assert f"- {name} (geen organisatie)" in text_and_html(parsed)[0]


def test_without_a_name_the_reply_greets_plainly(env: jinja2.Environment) -> None:
    _, parsed = rendered(env, to_name=None)
    assert parsed["To"].addresses[0].display_name == ""
    text, html = text_and_html(parsed)
    assert text.startswith("Dag,\n")
    assert "<p>Dag,</p>" in html


# --- content ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", render.KINDS)
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
@pytest.mark.parametrize("with_meeting", [True, False], ids=["meeting", "no-meeting"])
def test_every_kind_renders_in_every_language(
    env: jinja2.Environment, kind: str, language: str, with_meeting: bool
) -> None:
    people = (Person("Lotte Verhaegen", "Vluchtelingenwerk Vlaanderen"), Person("Jonas Claeys"))
    raw, parsed = rendered(
        env, kind=kind, language=language, people=people, meeting=details() if with_meeting else None
    )
    text, html = text_and_html(parsed)
    assert parsed["Content-Language"] == language
    assert NETWORK.name in text and NETWORK.name in html
    assert html.lstrip().startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in html
    assert "\n\n\n" not in text and text.endswith("\n")
    # A confirmation names the meeting it is about, with the date written out in the reader's language.
    if with_meeting and kind in ("register", "waitlist", "cancel"):
        assert LONG_DATES[language] in text and LONG_DATES[language] in html
    if kind in ("register", "waitlist"):
        assert "Lotte Verhaegen" in text and "Jonas Claeys" in html
    has_invite = with_meeting and kind == "register"  # the waiting list has no calendar event yet
    assert (ics_part(parsed) is not None) == has_invite
    assert b"=?" not in header_lines(raw, b"In-Reply-To")


@pytest.mark.parametrize(
    ("language", "no_organisation", "hours", "speakers"),
    [
        ("nl", "(geen organisatie)", "19:30 – 22:00", "Anouk Baert en Mieke Declerck"),
        ("fr", "(pas d'organisation)", "de 19h30 à 22h00", "Anouk Baert et Mieke Declerck"),
        ("en", "(no organisation)", "19:30 – 22:00", "Anouk Baert and Mieke Declerck"),
    ],
)
def test_a_registration_says_who_when_where_and_how_to_cancel(
    env: jinja2.Environment, language: str, no_organisation: str, hours: str, speakers: str
) -> None:
    people = (Person("Lotte Verhaegen", "Vluchtelingenwerk Vlaanderen"), Person("Jonas Claeys"))
    _, parsed = rendered(env, language=language, people=people)
    text, html = text_and_html(parsed)
    for body in (text, html_entities.unescape(html)):
        assert "Lotte Verhaegen" in body and "Vluchtelingenwerk Vlaanderen" in body
        assert f"Jonas Claeys {no_organisation}" in body.replace("</strong>", "")
        assert LONG_DATES[language] in body
        assert hours in body
        assert "Campus Sint-Annaplein, Sint-Annaplein 31, 9000 Gent" in body
        assert "Dringende medische hulp" in body
        assert speakers in body
    cancel, leave, erase = {
        "nl": ("ik kan niet komen", "ik stap uit het leernetwerk", "wis mijn gegevens"),
        "fr": ("je ne peux pas venir", "je quitte le réseau", "effacez mes données"),
        "en": ("I can't come", "leave the network", "erase my data"),
    }[language]
    assert cancel in text and leave in text and erase in text
    assert UNSURE_WORDING[language] not in text


def test_a_meeting_without_end_or_speakers(env: jinja2.Environment) -> None:
    bare = render.meeting_details(replace(MEETING, speakers=()), replace(VENUE, end=None), NETWORK)
    _, parsed = rendered(env, meeting=bare)
    text, html = text_and_html(parsed)
    assert "Uur:      19:30\n" in text
    assert "Sprekers" not in text and "Sprekers" not in html


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_registration_without_a_planned_meeting_promises_the_date_later(
    env: jinja2.Environment, language: str
) -> None:
    _, parsed = rendered(env, language=language, meeting=None)
    text, _ = text_and_html(parsed)
    expected = {
        "nl": "De datum van de volgende bijeenkomst ligt nog niet vast.",
        "fr": "La date de la prochaine rencontre n'est pas encore fixée.",
        "en": "The date of the next meeting has not been set yet.",
    }[language]
    assert expected in text
    assert "ik kan niet komen" not in text  # nothing to cancel yet


@pytest.mark.parametrize("kind", ["register", "waitlist"])
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_unsure_reading_asks_for_a_correction_prominently(
    env: jinja2.Environment, kind: str, language: str
) -> None:
    _, parsed = rendered(env, kind=kind, language=language, unsure=True)
    text, html = text_and_html(parsed)
    wording = UNSURE_WORDING[language]
    assert wording in text
    assert f"<strong>{wording}</strong>" in html
    # Right after the list of what we noted, before the practical details.
    assert text.index("Lotte Verhaegen (") < text.index(wording) < text.index("Campus Sint-Annaplein")


def test_waitlist_says_the_meeting_is_full(env: jinja2.Environment) -> None:
    _, parsed = rendered(env, kind="waitlist")
    text, _ = text_and_html(parsed)
    assert "Helaas is de bijeenkomst van dinsdag 13 januari 2026 volzet." in text
    assert "wachtlijst" in text and "Komt er een plaats vrij" in text


def test_cancel_names_who_and_which_meeting(env: jinja2.Environment) -> None:
    people = (Person("Lotte Verhaegen"), Person("Jonas Claeys"))
    _, parsed = rendered(env, kind="cancel", people=people)
    text, _ = text_and_html(parsed)
    assert "Lotte Verhaegen en Jonas Claeys niet kunnen komen\n" in text
    assert "dinsdag 13 januari 2026 (Dringende medische hulp)" in text
    assert "geen herinneringen meer" in text


@pytest.mark.parametrize(
    ("kind", "language", "expected"),
    [
        ("unsubscribe", "nl", "Je krijgt geen uitnodigingen of herinneringen meer."),
        ("unsubscribe", "fr", "Vous ne recevrez plus d'invitations ni de rappels."),
        ("unsubscribe", "en", "You won't receive any more invitations or reminders."),
        ("erase", "nl", "Dit is de laatste mail die je van ons krijgt."),
        ("erase", "fr", "Ceci est le dernier mail que vous recevrez de notre part."),
        ("erase", "en", "This is the last email you will receive from us."),
    ],
)
def test_leaving_and_erasing_are_confirmed(
    env: jinja2.Environment, kind: str, language: str, expected: str
) -> None:
    _, parsed = rendered(env, kind=kind, language=language, meeting=None)
    text, html = text_and_html(parsed)
    assert expected in text and expected in html_entities.unescape(html)


def test_an_unknown_language_falls_back_to_the_networks(env: jinja2.Environment) -> None:
    _, parsed = rendered(env, language="de")
    text, _ = text_and_html(parsed)
    assert parsed["Content-Language"] == "nl"
    assert LONG_DATES["nl"] in text


# --- escaping -----------------------------------------------------------------------------------------------


def test_values_from_the_mail_are_escaped_in_html_only(env: jinja2.Environment) -> None:
    people = (Person("<script>alert(1)</script>", 'Tom & Jerry "vzw"'),)
    _, parsed = rendered(env, people=people, to_name="<b>Lotte</b>", kind="register")
    text, html = text_and_html(parsed)
    assert "<script>" not in html and "<b>Lotte</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Tom &amp; Jerry &#34;vzw&#34;" in html
    assert "&lt;b&gt;Lotte&lt;/b&gt;" in html
    assert '- <script>alert(1)</script> (Tom & Jerry "vzw")' in text  # plain text is not HTML


def test_template_syntax_in_a_name_is_just_text(env: jinja2.Environment) -> None:
    people = (Person("{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}"),)
    _, parsed = rendered(env, people=people, to_name="{{ 7*7 }}", subject="{{ 7*7 }}")
    text, html = text_and_html(parsed)
    for body in (text, html):
        assert "{{ 7*7 }}" in body and "49" not in body
        assert "{% for x in range(3) %}x{% endfor %}" in body
    assert "49" not in parsed["Subject"] and "{{" not in parsed["Subject"]


# --- calendar invitation ------------------------------------------------------------------------------------


def test_the_invitation_is_an_ics_in_brussels_time(env: jinja2.Environment) -> None:
    _, parsed = rendered(env)
    part = ics_part(parsed)
    assert part is not None
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "PUBLISH"
    assert part.get_filename() == "leernetwerk-2026-01-13.ics"
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert calendar["METHOD"] == "PUBLISH"
    (event,) = calendar.walk("VEVENT")
    start = event.decoded("DTSTART")
    assert start == dt.datetime(2026, 1, 13, 19, 30, tzinfo=BRUSSELS)
    assert str(start.tzinfo) == "Europe/Brussels" and start.utcoffset() == dt.timedelta(hours=1)
    assert event["DTSTART"].params["TZID"] == "Europe/Brussels"
    assert event.decoded("DTEND") == dt.datetime(2026, 1, 13, 22, 0, tzinfo=BRUSSELS)
    assert str(event["UID"]) == "meeting-2026-01-13@in-gent.example"
    assert str(event["SUMMARY"]) == "Leernetwerk Mensen Zonder Wettig Verblijf: Dringende medische hulp"
    assert str(event["LOCATION"]) == "Campus Sint-Annaplein, Sint-Annaplein 31, 9000 Gent"
    assert "Anouk Baert, Mieke Declerck" in str(event["DESCRIPTION"])
    assert event.decoded("DTSTAMP") == NOW
    assert str(event["STATUS"]) == "CONFIRMED"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Brussels"]


def test_the_waiting_list_gets_no_calendar_event(env: jinja2.Environment) -> None:
    _, parsed = rendered(env, kind="waitlist")
    assert ics_part(parsed) is None
    assert "komt er een plaats vrij, dan krijg je meteen een mail" in text_and_html(parsed)[0].lower()


def test_meeting_ics_is_deterministic_and_summer_time_aware() -> None:
    summer = render.meeting_details(replace(MEETING, date=dt.date(2026, 9, 8)), VENUE, NETWORK)
    ics = render.meeting_ics(summer, NETWORK)
    assert ics == render.meeting_ics(summer, NETWORK)
    (event,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert event.decoded("DTSTART").utcoffset() == dt.timedelta(hours=2)
    assert b"DTSTART;TZID=Europe/Brussels:20260908T193000" in ics
    with pytest.raises(ValueError):
        render.meeting_ics(summer, NETWORK, method="PUBLISH-ALL")


# --- environment and contract -------------------------------------------------------------------------------


def test_filters(env: jinja2.Environment) -> None:
    template = env.from_string("{{ d|longdate }} | {{ t|clock }} | {{ names|namelist }}")
    day, start = dt.date(2026, 1, 13), dt.datetime(2026, 1, 13, 19, 30, tzinfo=BRUSSELS)
    names = ["An", "Bart", "Carla"]
    assert (
        template.render(d=day, t=start, names=names, language="nl")
        == "dinsdag 13 januari 2026 | 19:30 | An, Bart en Carla"
    )
    assert (
        template.render(d=day, t=start, names=names, language="fr")
        == "mardi 13 janvier 2026 | 19:30 | An, Bart et Carla"
    )
    assert env.from_string("{{ d|longdate('en') }}").render(d=day) == "Tuesday 13 January 2026"
    assert env.from_string("{{ d|shortdate('fr') }}").render(d=dt.date(2026, 3, 1)) == "dim. 1er mars"


def test_a_missing_variable_fails_loudly(env: jinja2.Environment) -> None:
    context = render.reply_context(make_reply(), NETWORK, "nl")
    del context["greeting_name"]
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("reply_register.nl.txt").render(context)


def test_autoescape_is_on_for_html_templates_only(env: jinja2.Environment) -> None:
    context = render.reply_context(make_reply(to_name="A & B"), NETWORK, "nl")
    assert "Dag A & B," in env.get_template("reply_register.nl.txt").render(context)
    assert "Dag A &amp; B," in env.get_template("reply_register.nl.html").render(context)


def test_every_kind_and_language_has_both_templates(env: jinja2.Environment) -> None:
    names = set(env.list_templates())
    for kind in render.KINDS:
        for language in LANGUAGES:
            assert set(templates.template_names(kind, language)) <= names


def test_an_explicit_template_dir_is_used(tmp_path: pytest.TempPathFactory) -> None:
    folder = tmp_path  # type: ignore[assignment]
    (folder / "hello.nl.txt").write_text("Dag {{ name }}", encoding="utf-8")  # type: ignore[operator]
    env = templates.make_environment(folder)  # type: ignore[arg-type]
    assert env.get_template("hello.nl.txt").render(name="<An>") == "Dag <An>"


@pytest.mark.parametrize(
    ("change", "message"),
    [({"kind": "reminder"}, "reply kind"), ({}, "timezone-aware")],
)
def test_bad_input_is_refused(env: jinja2.Environment, change: dict[str, str], message: str) -> None:
    now = NOW.replace(tzinfo=None) if not change else NOW
    with pytest.raises(ValueError, match=message):
        render.render_reply(
            env, make_reply(**change), network=NETWORK, sender=SENDER, message_id="<r@x.example>", now=now
        )


def test_new_message_id_is_unique_and_ours() -> None:
    first, second = compose.new_message_id("in-gent.example"), compose.new_message_id("in-gent.example")
    assert first != second
    assert re.fullmatch(r"<[^<>@\s]+@in-gent\.example>", first)


# --- the fast assembly writes what the email package would --------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Lotte Verhaegen",
        "",
        "Sam O'Neill",
        "x=?utf-8?q?y?=",
        "Jan_de Vries",
        "#1 fan",
        "a+b",
        "Élise Dubois-Noël",
        "Peeters, An",
        "Piet Pieterszoon Coen van der Veer tot Hoogeveen Langedijk en Zonen",
        "An  Peeters",
    ],
)
def test_a_mailbox_is_written_as_the_policy_writes_it(name: str) -> None:
    for address in ("lotte.verhaegen@example.org", "a.b+c@sub.in-gent.example"):
        by_policy = compose._folded_value("To", Address(display_name=name, addr_spec=address))
        assert compose.mailbox_value("To", name, address) == by_policy


@pytest.mark.parametrize(
    "name",
    [
        "Chloé D'Hondt",
        "Łukasz Żółć",
        "Özlem Yılmaz",
        "محمد علي",
        "王小明",
        "Иван Петров-Водкин",
        "Anaïs-Marie de la Vallée-Poussin van den Broeck-Ëvenepoel",  # on two lines
        "Jean-Émile O'Brien-Müller de Saint-Exupéry et Compagnie Générale des Eaux de Gand",
    ],
)
def test_a_name_of_letters_in_any_script_is_read_back_exactly(env: jinja2.Environment, name: str) -> None:
    raw, parsed = rendered(env, to_name=name, to_address="x+y@sub.example.org")
    assert_no_header_breaks(raw, parsed)
    ((display, addr_spec),) = [(a.display_name, a.addr_spec) for a in parsed["To"].addresses]
    assert (display, addr_spec) == (name, "x+y@sub.example.org")
    assert all(len(line) <= 78 for line in header_lines(raw, b"To").split(b"\r\n"))


@pytest.mark.parametrize(
    "subject",
    [
        "Re: Inschrijving leernetwerk",
        "Re: " + "x" * 65,
        "Re: {{ 7*7 }}",
        "Re: =?utf-8?q?Bcc?= x",
        "Re: ~!@#$%^&*()_+`-=[]\\;',./{}|:\"<>?",
        "Re: two  spaces",
        "Re: Inscription très attendue",
    ],
)
def test_a_short_or_non_ascii_subject_is_written_as_the_policy_writes_it(subject: str) -> None:
    assert compose.subject_value(subject) == compose._folded_value("Subject", subject)


@pytest.mark.parametrize(
    "subject",
    [
        "Rappel : Leernetwerk Mensen Zonder Wettig Verblijf, mardi 13 janvier 2026",  # 74: the policy's quirk
        "Herinnering: Leernetwerk Mensen Zonder Wettig Verblijf, dinsdag 13 januari 2026",
        "Re: " + "x" * 66,
        "Re: a b " + "y" * 100 + " c",
        "Re: " + "woord " * 60 + "einde",
    ],
)
def test_a_long_subject_folds_at_spaces_and_reads_back_the_same(subject: str) -> None:
    value = compose.subject_value(subject)
    raw = f"Subject: {value}\r\n\r\n".encode("ascii")
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == subject
    lines = raw.split(b"\r\n")[:-2]
    assert lines[0].startswith(b"Subject: ") and b"=?" not in raw
    assert all(len(line) <= 78 or b" " not in line.strip() for line in lines)


@pytest.mark.parametrize("status", ["CONFIRMED", "TENTATIVE"])
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_cached_calendar_is_the_one_icalendar_builds(status: str, language: str) -> None:
    from mailflow.core.calendar import ics

    meeting = details()
    for now in (NOW, NOW + dt.timedelta(days=40, seconds=7, microseconds=500), None):
        stamp = (now or meeting.starts_at).astimezone(dt.UTC)
        built = ics.build_ics(meeting, NETWORK, "PUBLISH", stamp=stamp, language=language, status=status)
        assert render.meeting_ics(meeting, NETWORK, now=now, language=language, status=status) == built


def test_the_mime_tree_has_one_mime_version_and_boundaries_no_body_contains(env: jinja2.Environment) -> None:
    raw, parsed = rendered(env, people=(Person("--=_mailflow_alternative", "=_mailflow_mixed"),))
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    assert raw.count(b"MIME-Version: 1.0\r\n") == 1
    assert (
        raw.count(b"\r\n--=_mailflow_alternative\r\n") == 2 and raw.count(b"\r\n--=_mailflow_mixed\r\n") == 2
    )
    text, _ = text_and_html(parsed)
    assert "- --=_mailflow_alternative (=_mailflow_mixed)" in text
    assert not parsed.defects and all(not part.defects for part in parsed.walk())


def test_rendering_is_deterministic(env: jinja2.Environment) -> None:
    assert rendered(env)[0] == rendered(env)[0]


# --- reminders ----------------------------------------------------------------------------------------------

REMINDER_NOW = dt.datetime(2026, 1, 6, 9, 0, tzinfo=dt.UTC)  # Tuesday 6 January, 10:00 in Brussels


def member_mail(
    env: jinja2.Environment,
    kind: MailKind = MailKind.REMINDER,
    *,
    member_name: str = "Lotte Verhaegen",
    now: dt.datetime = REMINDER_NOW,
    message_id: str = "<reminder-1@in-gent.example>",
    **changes: Any,
) -> tuple[bytes, EmailMessage]:
    """A mail mailflow starts to a member (a reminder unless `kind` says otherwise), as bytes and parsed."""
    fields: dict[str, Any] = {
        "names": (member_name,),
        "to_address": "lotte.verhaegen@example.org",
        "language": "nl",
        "meeting": details(),
        "days_before": 7 if kind == MailKind.REMINDER else 0,
    }
    fields.update(changes)
    mail = MemberMail(kind=kind, **fields)
    message = render_member_mail(env, mail, network=NETWORK, sender=SENDER, message_id=message_id, now=now)
    raw = compose.message_bytes(message)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return raw, parsed


def reminder(env: jinja2.Environment, **changes: Any) -> tuple[bytes, EmailMessage]:
    return member_mail(env, MailKind.REMINDER, **changes)


def test_headers_of_a_reminder(env: jinja2.Environment) -> None:
    raw, parsed = reminder(env)
    assert parsed["Subject"] == "Herinnering: di 13 januari 19:30 - Leernetwerk"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["lotte.verhaegen@example.org"]
    assert parsed["To"].addresses[0].display_name == "Lotte Verhaegen"
    assert parsed["From"].addresses[0].addr_spec == SENDER
    assert parsed["Message-ID"] == "<reminder-1@in-gent.example>"
    # RFC 3834: generated, not a reply to anything.
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["X-Loop"] == NETWORK.signup_address
    assert parsed["In-Reply-To"] is None and parsed["References"] is None
    assert parsed["Content-Language"] == "nl"
    assert b"Date: Tue, 06 Jan 2026 10:00:00 +0100\r\n" in raw


@pytest.mark.parametrize(
    ("language", "subject", "hours", "speakers", "cancel", "leave"),
    [
        ("nl", "Herinnering: di 13 januari 19:30", "19:30 – 22:00", "Anouk Baert en Mieke Declerck",
         "ik kan niet komen", "ik stap uit het leernetwerk"),
        ("fr", f"Rappel{NNBSP}: mar. 13 janvier 19h30", "de 19h30 à 22h00", "Anouk Baert et Mieke Declerck",
         "je ne peux pas venir", "je quitte le réseau"),
        ("en", "Reminder: Tue 13 January 19:30", "19:30 – 22:00", "Anouk Baert and Mieke Declerck",
         "I can't come", "leave the network"),
    ],
)  # fmt: skip
def test_a_reminder_says_when_where_what_and_how_to_cancel(
    env: jinja2.Environment, language: str, subject: str, hours: str, speakers: str, cancel: str, leave: str
) -> None:
    _, parsed = reminder(env, language=language)
    assert parsed["Subject"] == f"{subject} - Leernetwerk"
    assert parsed["Content-Language"] == language
    text, html = text_and_html(parsed)
    for body in (text, html_entities.unescape(html)):
        assert LONG_DATES[language] in body and hours in body
        assert "Campus Sint-Annaplein, Sint-Annaplein 31, 9000 Gent" in body
        assert "Dringende medische hulp" in body and speakers in body
        assert cancel in body and leave in body
    assert html.lstrip().startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in html
    assert "\n\n\n" not in text


@pytest.mark.parametrize(
    ("now", "wording"),
    [
        (REMINDER_NOW, "komt over 7 dagen samen"),
        (REMINDER_NOW + dt.timedelta(hours=23), "komt over 6 dagen samen"),  # sent late, after downtime
        (dt.datetime(2026, 1, 12, 9, 0, tzinfo=dt.UTC), "komt morgen samen"),
        (dt.datetime(2026, 1, 13, 9, 0, tzinfo=dt.UTC), "komt vandaag samen"),
    ],
)
def test_a_reminder_counts_the_days_from_now(env: jinja2.Environment, now: dt.datetime, wording: str) -> None:
    _, parsed = reminder(env, now=now)
    text, html = text_and_html(parsed)
    assert wording in text and wording in html.replace("<strong>", "").replace("</strong>", "")


def test_a_reminder_carries_the_invitation_stamped_now(env: jinja2.Environment) -> None:
    _, parsed = reminder(env)
    part = ics_part(parsed)
    assert part is not None and part.get_filename() == "leernetwerk-2026-01-13.ics"
    (event,) = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")
    assert event.decoded("DTSTAMP") == REMINDER_NOW
    assert str(event["UID"]) == "meeting-2026-01-13@in-gent.example"  # the same event as the confirmation's
    assert str(event["STATUS"]) == "CONFIRMED"


def test_a_reminder_name_cannot_make_a_header_and_is_escaped(env: jinja2.Environment) -> None:
    raw, parsed = reminder(env, member_name="<b>Eve</b>\r\nBcc: victim@example.org {{ 7*7 }}")
    assert not re.search(rb"^Bcc:", header_block(raw), re.MULTILINE)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["lotte.verhaegen@example.org"]
    text, html = text_and_html(parsed)
    assert "Dag <b>Eve</b> Bcc: victim@example.org {{ 7*7 }}," in text
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html and "<b>Eve" not in html and "49" not in html


@pytest.mark.parametrize(
    "changes",
    [
        {"now": REMINDER_NOW.replace(tzinfo=None)},
        {"to_address": "a@example.org, b@example.org"},
        {"message_id": "not-an-id"},
        {"days_before": -1},
    ],
    ids=["naive-now", "two-recipients", "bad-message-id", "negative-offset"],
)
def test_a_bad_reminder_is_refused(env: jinja2.Environment, changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        reminder(env, **changes)


# --- the digest ---------------------------------------------------------------------------------------------


def digest_facts(**changes: object) -> digest_module.DigestFacts:
    person = digest_module.PersonLine
    facts = digest_module.DigestFacts(
        new_members=(
            person("Lotte Verhaegen", "Vluchtelingenwerk Vlaanderen", "lotte.verhaegen@example.org"),
        ),
        cancellations=(
            (person("Jonas Claeys", None), dt.date(2026, 1, 13)),
            (person("An Peeters", "CAW"), None),
        ),
        leavers=(person("Sam Desmet", "OCMW Gent"),),
        erasures=2,
        review=(
            digest_module.ReviewLine(
                dt.datetime(2026, 1, 5, 13, 2, tzinfo=dt.UTC),
                "Vraag over parkeren",
                "question",
                "eva@example.org",
            ),
        ),
        failures=(digest_module.FailureLine("weg@example.org", "550 5.1.1 no such user", "reply"),),
        bounces=("bounced@example.org",),
        missed_reminders=3,
        unsure=(person("Mo", None),),
        waiting=(person("Wout Wachter", "Rode Kruis"),),
        next_meeting=details(),
        expected=(
            person("Zoë Zwart", "Dokters van de Wereld"),
            person("Lotte Verhaegen", "Vluchtelingenwerk"),
        ),
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def rendered_digest(
    env: jinja2.Environment, facts: digest_module.DigestFacts, language: str = "nl"
) -> tuple[bytes, EmailMessage]:
    network = replace(NETWORK, language=language)
    built = digest_module.build_digest(facts, dt.date(2026, 1, 6), network)
    message = render.render_digest(
        env,
        built,
        network=network,
        to_address=network.coordinator,
        sender=SENDER,
        message_id="<digest-2026-01-06@in-gent.example>",
        now=REMINDER_NOW,
    )
    raw = compose.message_bytes(message)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return raw, parsed


DIGEST_WORDS = {
    "nl": ("Nieuwe leden (1)", "Afmeldingen (2)", "Uit het netwerk gestapt (1)", "TE BEKIJKEN",
           "NIET AANGEKOMEN", "3 herinneringen", "2 personen", "Verwacht: 2 personen",
           "aanwezigheden-2026-01-13.csv", "volgende bijeenkomst"),
    "fr": ("Nouveaux membres (1)", "Excusés (2)", "Ont quitté le réseau (1)", "À TRAITER", "NON DISTRIBUÉS",
           "3 rappels", "2 personnes", f"Attendus{NNBSP}: 2 personnes", "presences-2026-01-13.csv",
           "prochaine rencontre"),
    "en": ("New members (1)", "Cancellations (2)", "Left the network (1)", "TO REVIEW", "NOT DELIVERED",
           "3 reminders", "2 people", "Expected: 2 people", "attendance-2026-01-13.csv",
           "next meeting"),
}  # fmt: skip


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_digest_has_every_section_in_every_language(env: jinja2.Environment, language: str) -> None:
    _, parsed = rendered_digest(env, digest_facts(), language)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["coordinator@in-gent.example"]
    assert parsed["Auto-Submitted"] == "auto-generated" and parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["X-Loop"] == NETWORK.signup_address
    assert parsed["In-Reply-To"] is None
    assert parsed["Content-Language"] == language
    text, html = text_and_html(parsed)
    for body in (text, html_entities.unescape(html)):
        for words in DIGEST_WORDS[language]:
            assert words.casefold() in body.casefold(), words
        for value in ("Lotte Verhaegen", "lotte.verhaegen@example.org", "Jonas Claeys", "Sam Desmet",
                      "Vraag over parkeren", "eva@example.org", "550 5.1.1 no such user",
                      "bounced@example.org", "Mo", "Wout Wachter", "Zoë Zwart",
                      "Dringende medische hulp"):  # fmt: skip
            assert value in body, value
        assert "14:02" in body  # the review mail's time, in Brussels
    # Expected people as on the sheet: by name.
    assert text.index("Lotte Verhaegen (Vluchtelingenwerk)") < text.index("Zoë Zwart")
    assert "\n\n\n" not in text


def test_the_digest_attaches_the_sign_in_sheet(env: jinja2.Environment) -> None:
    facts = digest_facts()
    _, parsed = rendered_digest(env, facts)
    (sheet,) = [part for part in parsed.walk() if part.get_content_type() == "text/csv"]
    assert sheet.get_filename() == "aanwezigheden-2026-01-13.csv"
    assert sheet.get_param("header") == "present"
    assert (
        sheet.get_content().encode("utf-8")
        == digest_module.build_digest(facts, dt.date(2026, 1, 6), NETWORK).csv
    )
    assert sheet.get_payload(decode=True).startswith(
        b"\xef\xbb\xbf" + NETWORK.name.encode() + b";Intekenlijst\r\n"
    )


def test_a_quiet_digest_says_so_and_shows_only_the_meeting(env: jinja2.Environment) -> None:
    quiet = digest_facts(
        new_members=(), cancellations=(), leavers=(), erasures=0, review=(), failures=(), bounces=(),
        missed_reminders=0, unsure=(), waiting=(),
    )  # fmt: skip
    _, parsed = rendered_digest(env, quiet)
    text, html = text_and_html(parsed)
    assert parsed["Subject"] == "Dagoverzicht di 6 januari: niets nieuws - Leernetwerk"
    assert "Er is niets dat je aandacht vraagt." in text
    for absent in ("Nieuwe leden", "Afmeldingen", "Uit het netwerk", "TE BEKIJKEN", "NIET AANGEKOMEN",
                   "herinnering", "gewist", "wachtlijst", "NAKIJKEN"):  # fmt: skip
        assert absent not in text and absent not in html
    assert "Verwacht: 2 personen" in text


def test_without_a_next_meeting_the_digest_has_no_sheet(env: jinja2.Environment) -> None:
    _, parsed = rendered_digest(env, digest_facts(next_meeting=None, expected=()))
    assert [part.get_content_type() for part in parsed.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    text, _ = text_and_html(parsed)
    assert "Er is nog geen volgende bijeenkomst gepland." in text


def test_every_value_from_a_mail_is_escaped_in_the_digest_html(env: jinja2.Environment) -> None:
    evil = "<script>alert(1)</script> {{ 7*7 }}"
    person = digest_module.PersonLine(evil, evil, "<x@example.org>")
    review = digest_module.ReviewLine(REMINDER_NOW, evil + "\r\nBcc: victim@example.org", evil, evil)
    facts = digest_facts(
        new_members=(person,), cancellations=((person, None),), leavers=(person,), unsure=(person,),
        waiting=(person,), expected=(person,), review=(review,),
        failures=(digest_module.FailureLine(evil, evil, evil),), bounces=(evil,),
    )  # fmt: skip
    raw, parsed = rendered_digest(env, facts)
    text, html = text_and_html(parsed)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;x@example.org&gt;" in html
    assert "49" not in html and "49" not in text and "{{ 7*7 }}" in html
    assert evil in text and "<script>alert(1)</script> {{ 7*7 }} Bcc: victim@example.org" in text
    assert not re.search(rb"^Bcc:", header_block(raw), re.MULTILINE)


# --- every new template, every language, strictly -----------------------------------------------------------


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_reminder_and_digest_templates_exist_and_fail_on_a_missing_variable(
    env: jinja2.Environment, language: str
) -> None:
    network = replace(NETWORK, language=language)
    built = digest_module.build_digest(digest_facts(), dt.date(2026, 1, 6), network)
    contexts = {
        "reminder": member_mail_context(
            MemberMail(
                MailKind.REMINDER, ("Lotte",), "lotte@example.org", language, details(), days_before=7
            ),
            network,
            language,
            REMINDER_NOW,
        ),
        "digest": render.digest_context(built, network, language),
    }
    for what, context in contexts.items():
        for suffix in ("txt", "html"):
            template = env.get_template(f"{what}.{language}.{suffix}")
            assert template.render(context)
            for key in ("meeting", "network_name", "days_left" if what == "reminder" else "new_members"):
                broken = {k: v for k, v in context.items() if k != key}
                with pytest.raises(jinja2.UndefinedError):
                    template.render(broken)


@pytest.mark.parametrize(
    ("language", "subject", "news", "cancel"),
    [
        ("nl", "Je hebt een plaats: di 13 januari", "Je stond op de wachtlijst", "ik kan niet komen"),
        ("fr", f"Une place pour vous{NNBSP}: mar. 13 janvier", "Vous étiez sur la liste d'attente",
         "je ne peux pas venir"),
        ("en", "You have a place: Tue 13 January", "You were on the waiting list", "I can't come"),
    ],
)  # fmt: skip
def test_a_promotion_from_the_waiting_list_gives_the_details_and_the_invitation(
    env: jinja2.Environment, language: str, subject: str, news: str, cancel: str
) -> None:
    _, parsed = member_mail(
        env,
        MailKind.PROMOTED,
        member_name="<b>Lotte</b> Verhaegen",
        language=language,
        message_id="<promoted-1@in-gent.example>",
    )
    assert parsed["Subject"] == f"{subject} - Leernetwerk"
    assert parsed["Auto-Submitted"] == "auto-generated" and parsed["In-Reply-To"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["lotte.verhaegen@example.org"]
    text, html = text_and_html(parsed)
    for body in (text, html_entities.unescape(html)):
        assert news in body and LONG_DATES[language] in body and cancel in body
        assert "Dringende medische hulp" in body
    assert "<b>Lotte</b>" not in html and "&lt;b&gt;Lotte&lt;/b&gt; Verhaegen" in html
    assert [p.get_content_type() for p in parsed.iter_attachments()] == ["text/calendar"]


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_digest_tells_of_a_recreated_signup_folder(env: jinja2.Environment, language: str) -> None:
    quiet = digest_module.DigestFacts(
        (), (), (), 0, (), (), (), 0, (), (), details(), (), mailbox_recreated=1
    )
    _, parsed = rendered_digest(env, quiet, language)
    text, html = text_and_html(parsed)
    assert "UIDVALIDITY" in text and "UIDVALIDITY" in html


# --- values decoded from a mail are never decoded again -----------------------------------------------------

# What a mail's "=?utf-8?q?=3D=3Futf-8...?=" decodes to: text that is itself an encoded line break and header.
ENCODED_BREAK = "=?utf-8?q?=0D=0AX-Injected:_yes?="
ENCODED_BREAK_B = "=?utf-8?b?DQpYLUluamVjdGVkOiB5ZXM=?="


def assert_no_header_breaks(raw: bytes, parsed: EmailMessage) -> None:
    assert not re.search(rb"^X-Injected:", header_block(raw), re.MULTILINE | re.IGNORECASE)
    for name, value in parsed.items():
        assert "\r" not in str(value) and "\n" not in str(value), name


@pytest.mark.parametrize(
    "text", [ENCODED_BREAK, ENCODED_BREAK_B, f"Inschrijving {ENCODED_BREAK} " + "x" * 80]
)
def test_a_subject_holding_an_encoded_word_stays_out_of_the_reply(env: jinja2.Environment, text: str) -> None:
    raw, parsed = rendered(env, subject=text)
    assert_no_header_breaks(raw, parsed)
    assert parsed["Subject"] == "Ingeschreven: di 13 januari - Leernetwerk"  # ours, never the mail's


@pytest.mark.parametrize(
    "name",
    [
        ENCODED_BREAK,
        f"Eve {ENCODED_BREAK_B}",
        f'"{ENCODED_BREAK}"',
        "X-Injected: yes \u00fc\u00d7 \\U0009dd78J",
        "Anna: \u00e9 Peeters van Buurtwerk",
    ],
)
@pytest.mark.parametrize("address", ["lotte.verhaegen@example.org", "x+y@sub.example.org"])
def test_a_name_is_read_back_as_written_or_left_out(env: jinja2.Environment, name: str, address: str) -> None:
    # Never decoded a second time, never read as a group ("X-Injected:") when the serialiser refolds it.
    for raw, parsed in (
        rendered(env, to_name=name, to_address=address),
        reminder(env, member_name=name, to_address=address),
    ):
        assert_no_header_breaks(raw, parsed)
        ((display, addr_spec),) = [(a.display_name, a.addr_spec) for a in parsed["To"].addresses]
        assert addr_spec == address and display in (name, "")


def test_an_id_holding_an_encoded_word_does_not_thread(env: jinja2.Environment) -> None:
    hostile = f"<{ENCODED_BREAK}@example.org>"
    raw, parsed = rendered(env, in_reply_to=hostile, references=("<root@example.org>", hostile))
    assert_no_header_breaks(raw, parsed)
    assert parsed["In-Reply-To"] is None
    assert parsed["References"] == "<root@example.org>"


HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "{% raw %}",
    "{% endraw %}{{ 7*7 }}",
    "<b>&amp;</b>",
]


@pytest.mark.parametrize("kind", ["reply", "reminder", "digest"])
def test_markup_and_template_syntax_in_names_are_text_everywhere(env: jinja2.Environment, kind: str) -> None:
    name, organisation = " ".join(HOSTILE_NAMES), "Org " + " ".join(reversed(HOSTILE_NAMES))
    if kind == "reply":
        raw, parsed = rendered(env, to_name=name, people=(Person(name, organisation),))
    elif kind == "reminder":
        raw, parsed = reminder(env, member_name=name)
    else:
        person = digest_module.PersonLine(name, organisation, "mo@example.org")
        raw, parsed = rendered_digest(env, digest_facts(new_members=(person,), expected=(person,)))
    text, html = text_and_html(parsed)
    assert name in text and "49" not in text and "49" not in html
    assert "<script>" not in html and "<b>" not in html
    assert html_entities.escape(name, quote=False) in html.replace("&#34;", '"').replace("&#39;", "'")
    if kind != "reminder":
        assert organisation in text and html_entities.escape(organisation, quote=False) in html
    assert_no_header_breaks(raw, parsed)
