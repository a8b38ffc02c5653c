"""Focused tests for each reading rule of the parser, on small invented mails (example.org,
in-gent.example)."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailflow.core.parsing import Intent, ParseContext, parse_message
from mailflow.settings import Meeting, Organisation

MEETINGS = (
    Meeting(dt.date(2026, 1, 13), "Dringende medische hulp"),
    Meeting(dt.date(2026, 3, 10), "Toegang tot onderwijs"),
    Meeting(dt.date(2026, 5, 12), "Juridische bijstand"),
    Meeting(dt.date(2026, 9, 8), "Vrijwillige terugkeer"),
)
CONTEXT = ParseContext(
    meetings=MEETINGS,
    organisations=(Organisation("Werkgroep Asiel Oostakker", ("WAO",), ("wao.example",)),),
    own_addresses=("leernetwerk@in-gent.example", "coordinator@in-gent.example"),
    own_domain="in-gent.example",
)
SIGNUP = "leernetwerk@in-gent.example"


def mail(
    body: str = "",
    subject: str = "Inschrijving",
    sender: str = "Anna Peeters <anna.peeters@example.org>",
    date: str = "Mon, 05 Jan 2026 10:00:00 +0100",
    html: str | None = None,
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SIGNUP
    message["Subject"] = subject
    message["Date"] = date
    message["Message-ID"] = "<abc.123@mail.example.org>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if html is not None and not body:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    return message.as_bytes()


def parse(raw: bytes, context: ParseContext = CONTEXT):
    return parse_message(raw, context)


def names(parsed) -> list[str]:
    return [p.name for p in parsed.people]


# --- header facts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "from_header, sender",
    [
        ("Anna Peeters <Anna.Peeters@Example.org>", "anna.peeters@example.org"),
        ("anna@example.org", "anna@example.org"),
        ('"a@evil.example" <anna@example.org>', None),  # CVE-2023-27043: two addresses, which one?
        ("anna@example.org, bob@example.org", None),
        ("=?utf-8?q?a=40evil.example?= <anna@example.org>", None),
        ('"anna@example.org" <anna@example.org>', "anna@example.org"),
        ("Anna <anna@example.org>, Bob <bob@example.org>", None),
        ("", None),
    ],
)
def test_sender_is_the_single_unambiguous_address(from_header, sender):
    raw = f"From: {from_header}\r\nTo: {SIGNUP}\r\nSubject: x\r\n\r\nIk schrijf me in.\r\n".encode()
    assert parse(raw).sender == sender


@pytest.mark.parametrize(
    "from_lines",
    [
        "From: alice@example.org<bob@example.org>",
        'From: "alice@example.org"<bob@example.org>',
        "From: Alice (bob@example.org) <alice@example.org>",
        "From: <alice@example.org> <bob@example.org>",
        "From: team: alice@example.org;",  # RFC 5322 3.6.2: a group is no mailbox, even with one member
        "From: friends: alice@example.org, bob@example.org;",
        "From: alice@example.org\r\nFrom: bob@example.org",  # readers differ in which From they show
        "From: Alice <=?utf-8?q?alice=0D=0A?=@example.org>",  # RFC 2047 5: no encoded-word in an addr-spec
        f"From: Alice <{'a' * 250}@example.org>",  # RFC 5321 4.5.3.1.3: longer than any path
        "From: " + ", ".join(f"p{i}@example.org" for i in range(10_000)),
    ],
    ids=[
        "no-space",
        "quoted-address",
        "comment",
        "two-angles",
        "group",
        "group-of-two",
        "two-headers",
        "encoded-word-address",
        "too-long",
        "ten-thousand",
    ],
)
def test_an_ambiguous_from_gives_no_sender_and_says_why_first(from_lines):
    raw = f"{from_lines}\r\nTo: {SIGNUP}\r\nSubject: x\r\n\r\nIk schrijf me in.\r\n".encode()
    parsed = parse(raw)
    assert parsed.sender is None
    assert parsed.reasons[0].startswith("ambiguous From:")


@pytest.mark.parametrize(
    "from_header, sender",
    [
        ("Peeters, An <an@example.org>", "an@example.org"),  # Outlook's unquoted "Last, First": one address
        ('"Peeters, An" <an@example.org>', "an@example.org"),
        ("Anna <anna@example.org", "anna@example.org"),  # every reader takes the one address
        ("<@relay.example:anna@example.org>", "anna@example.org"),  # RFC 5322 4.4 obsolete route
    ],
)
def test_odd_but_single_from_addresses_are_still_answered(from_header, sender):
    raw = f"From: {from_header}\r\nTo: {SIGNUP}\r\nSubject: x\r\n\r\nIk schrijf me in.\r\n".encode()
    parsed = parse(raw)
    assert parsed.sender == sender
    assert not any(reason.startswith(("ambiguous", "no From")) for reason in parsed.reasons)


@pytest.mark.parametrize("charset", ["utf-8", "cp1252"])
def test_raw_8bit_headers_are_read_like_body_text(charset):
    # RFC 6532 lets headers carry raw UTF-8; older clients send their own charset undeclared.
    raw = (
        "From: Zoë Müller <zoe@example.org>\r\nSubject: Inschrijving café\r\n\r\nIk schrijf me in.\r\n"
    ).encode(charset)
    parsed = parse(raw)
    assert (parsed.sender, parsed.sender_name, parsed.subject) == (
        "zoe@example.org",
        "Zoë Müller",
        "Inschrijving café",
    )


def test_what_a_database_column_cannot_hold_is_cut_or_left_out():
    card = f"BEGIN:VCARD\r\nFN:{'Anna Peeters ' * 100}\r\nORG:Buurtwerk\x00{'x' * 900}\r\nEND:VCARD\r\n"
    raw = (
        f"From: <anna@example.org>\r\nSubject: Inschrijving\r\nMessage-ID: <{'m' * 1000}@example.org>\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        f"Ik schrijf me in voor het leernetwerk.\r\n--b\r\nContent-Type: text/vcard\r\n\r\n{card}--b--\r\n"
    ).encode()
    parsed = parse(raw)
    assert parsed.message_id is None  # longer than RFC 5322's 998-octet line
    (person,) = parsed.people
    assert len(person.name) <= 200 and len(person.organisation or "") <= 200
    assert "\x00" not in person.organisation and person.organisation.startswith("Buurtwerk x")
    assert parsed.unsure and "a name, organisation or address was too long or malformed" in parsed.reasons


def test_header_facts_are_decoded_and_cleaned():
    raw = (
        b"From: =?utf-8?q?Jos=C3=A9_Mart=C3=ADn?= <jose@example.org>\r\n"
        b"To: leernetwerk@in-gent.example\r\n"
        b"Subject: =?iso-8859-1?q?Inschrijving_s=E9ance?=\r\n =?utf-8?q?_10_maart?=\r\n"
        b"Date: Tue, 10 Feb 2026 09:00:00 +0100\r\n"
        b"Message-ID: <x.1@mail.example.org>\r\n"
        b"In-Reply-To: <parent@in-gent.example>\r\n"
        b"\r\nIk schrijf me in.\r\n"
    )
    parsed = parse(raw)
    assert parsed.sender_name == "José Martín"
    assert parsed.subject == "Inschrijving séance 10 maart"
    assert parsed.message_id == "<x.1@mail.example.org>"
    assert parsed.references == ("<parent@in-gent.example>",)
    assert parsed.date == dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def test_references_win_over_in_reply_to_and_a_bad_date_is_none():
    raw = mail(
        "Ik kom graag.",
        References="<a@x.example> <b@x.example>",
        In_Reply_To="<b@x.example>",
        date="not a date",
    )
    parsed = parse(raw)
    assert parsed.references == ("<a@x.example>", "<b@x.example>")
    assert parsed.date is None


@pytest.mark.parametrize(
    "from_header",
    [b'"Anna\x07 Peeters" <anna@example.org>', b"=?utf-8?q?Anna=0D=0ABcc:_x=07_Peeters?= <anna@example.org>"],
)
def test_display_name_loses_control_characters(from_header):
    raw = b"From: " + from_header + b"\r\nSubject: a\r\n\r\nIk schrijf me in.\r\n"
    parsed = parse(raw)
    assert parsed.sender == "anna@example.org"
    assert parsed.sender_name is not None and parsed.sender_name.startswith("Anna")
    assert not any(ch in parsed.sender_name for ch in "\r\n\x07")


# --- bounces and auto-replies (RFC 3464, RFC 3834) ----------------------------------------------------------


def test_delivery_status_report_is_a_bounce():
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\r\nTo: leernetwerk@in-gent.example\r\n"
        b"Subject: Undelivered Mail\r\n"
        b"Return-Path: <>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        b"Final-Recipient: rfc822; jan@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: leernetwerk@in-gent.example\r\n"
        b"Subject: Uitnodiging\r\n\r\n"
        b"Ik ben Hilde Peeters, schrijf je in voor 10 maart.\r\n--b--\r\n"
    )
    parsed = parse(raw)
    assert parsed.intent is Intent.BOUNCE
    assert parsed.people == () and parsed.meeting_date is None


def test_mailer_daemon_without_report_is_a_bounce():
    raw = mail(
        "Delivery to the following recipient failed permanently: jan@example.org",
        subject="Delivery Status Notification (Failure)",
        sender="Mail Delivery Subsystem <mailer-daemon@example.org>",
    )
    assert parse(raw).intent is Intent.BOUNCE


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "Out of office"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"X_Auto_Response_Suppress": "All"},
    ],
)
def test_auto_reply_headers(headers):
    raw = mail(
        "Ik ben afwezig tot maandag. Ik schrijf me wel in voor 10 maart.",
        subject="Re: Uitnodiging",
        **headers,
    )
    parsed = parse(raw)
    assert parsed.intent is Intent.AUTO_REPLY
    assert parsed.people == ()


def test_auto_submitted_no_is_a_person():
    raw = mail("Ik schrijf me in voor 10 maart.", Auto_Submitted="no")
    assert parse(raw).intent is Intent.REGISTER


@pytest.mark.parametrize(
    "subject",
    [
        "Afwezig: Leernetwerk 10 maart",
        "Automatisch antwoord: Uitnodiging",
        "Réponse automatique : Invitation",
        "Out of Office: Invitation",
        "Automatic reply: Reminder",
        "Absence: séance du 10 mars",
    ],
)
def test_out_of_office_subjects(subject):
    raw = mail("Ik ben er niet tot 20 januari.", subject=subject)
    assert parse(raw).intent is Intent.AUTO_REPLY


def test_a_person_writing_afwezig_with_a_date_cancels():
    raw = mail(
        "Dag Hilde,\n\nIk zal er op 12 mei helaas niet bij kunnen zijn.\n\nGroeten,\nAnna Peeters",
        subject="Afwezig 12 mei",
    )
    parsed = parse(raw)
    assert parsed.intent is Intent.CANCEL
    assert parsed.meeting_date == dt.date(2026, 5, 12)


def test_out_of_office_text_without_any_header():
    raw = mail(
        "Goedemiddag,\n\nIk ben met ouderschapsverlof tot en met 1 maart. Mails worden niet gelezen.\n\n"
        "Met vriendelijke groeten,\nAnna Peeters",
        subject="Re: Leernetwerk 10 maart",
    )
    assert parse(raw).intent is Intent.AUTO_REPLY


def test_newsletter_with_list_headers_is_other():
    raw = mail(
        "Nieuwsbrief. Inschrijven voor onze vorming kan via de website.",
        subject="Nieuwsbrief maart",
        Precedence="bulk",
        List_Unsubscribe="<https://example.org/unsubscribe>",
    )
    assert parse(raw).intent is Intent.OTHER


def test_phishing_is_other():
    raw = mail(
        "Uw postvak is bijna vol. Klik op de knop om uw wachtwoord te bevestigen.", subject="Actie vereist"
    )
    assert parse(raw).intent is Intent.OTHER


def test_mail_from_our_own_address_is_never_a_registration():
    raw = mail("Inschrijven kan door te antwoorden.", sender="Leernetwerk <leernetwerk@in-gent.example>")
    assert parse(raw).intent is Intent.OTHER


# --- text extraction ----------------------------------------------------------------------------------------


def test_html_only_mail_is_read_through_inscriptis():
    html = (
        "<html><body><p>Beste,</p><p>Mijn naam is Wout Verhaeghe en ik ben vrijwilliger bij "
        "Werkgroep Asiel Oostakker&nbsp;vzw. Ik schrijf me graag in voor 10 maart.</p></body></html>"
    )
    parsed = parse(mail(html=html, sender="wout@example.org"))
    assert parsed.intent is Intent.REGISTER
    assert names(parsed) == ["Wout Verhaeghe"]
    assert parsed.people[0].organisation == "Werkgroep Asiel Oostakker"


def test_plain_part_preferred_unless_useless():
    raw = mail(
        " ", html="<p>Ik ben Wout Verhaeghe. Ik schrijf me in voor 10 maart.</p>", sender="w@example.org"
    )
    assert names(parse(raw)) == ["Wout Verhaeghe"]


def test_wrong_charset_label_and_missing_charset():
    body = "Je m'appelle Hélène Dufrêne et je souhaiterais m'inscrire à la séance du 10 mars.".encode()
    labelled_latin1 = (
        b"From: h@example.org\r\nSubject: Inscription\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body
    )
    assert names(parse(labelled_latin1)) == ["Hélène Dufrêne"]
    cp1252 = "Je m'appelle Hélène Dufrêne et je souhaiterais m'inscrire à la séance du 10 mars.".encode(
        "cp1252"
    )
    unlabelled = b"From: h@example.org\r\nSubject: Inscription\r\nMIME-Version: 1.0\r\n\r\n" + cp1252
    parsed = parse(unlabelled)
    assert names(parsed) == ["Hélène Dufrêne"]
    assert parsed.language == "fr"


def test_quoted_printable_base64_and_flowed():
    qp = (
        b"From: a@example.org\r\nSubject: Inschrijving\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b"\r\nMijn naam is Ma=C3=AFt=C3=A9 Claeys en ik wil mij inschrijven voor de =\r\nsessie \r\n"
        b"van 10 maart.\r\n"
    )
    parsed = parse(qp)
    assert names(parsed) == ["Maïté Claeys"]
    assert parsed.meeting_date == dt.date(2026, 3, 10)
    message = EmailMessage()
    message["From"] = "b@example.org"
    message["Subject"] = "Inschrijving"
    message.set_content("Ik ben Bram Goossens en ik schrijf me in voor januari.", cte="base64")
    parsed = parse(message.as_bytes())
    assert names(parsed) == ["Bram Goossens"] and parsed.meeting_date == dt.date(2026, 1, 13)


def test_vcard_gives_name_and_organisation_but_other_attachments_are_ignored():
    message = EmailMessage()
    message["From"] = "lieven@example.org"
    message["Subject"] = "Inschrijving"
    message["Date"] = "Mon, 05 Jan 2026 10:00:00 +0100"
    message.set_content("Graag zou ik deelnemen aan de sessie in mei.\n\nGroeten,\nLieven")
    message.add_attachment(
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Lieven Maes\r\nORG:Buurtwerk Sint-Amandsberg\r\nEND:VCARD\r\n",
        maintype="text",
        subtype="vcard",
        filename="lieven.vcf",
    )
    message.add_attachment(
        b"Ik ben Piet Janssens en ik schrijf me uit.", maintype="text", subtype="plain", filename="notes.txt"
    )
    parsed = parse(message.as_bytes())
    assert parsed.intent is Intent.REGISTER
    assert [(p.name, p.organisation) for p in parsed.people] == [("Lieven Maes", "Buurtwerk Sint-Amandsberg")]
    assert parsed.meeting_date == dt.date(2026, 5, 12)


# --- structure: quotes, forwards, signatures ----------------------------------------------------------------

INVITATION = (
    "Beste vrijwilligers,\n\nOp dinsdag 10 maart gaat het over toegang tot onderwijs met Karel Vermeulen.\n"
    "Inschrijven kan door te antwoorden.\n\nHartelijke groet,\nHilde Cnudde\nCoördinator leernetwerk"
)


@pytest.mark.parametrize(
    "header",
    [
        "Op di 3 feb 2026 om 10:04 schreef Leernetwerk <leernetwerk@in-gent.example>:\n",
        "Le mar. 3 févr. 2026 à 10:04, Leernetwerk <leernetwerk@in-gent.example> a écrit :\n",
        "On Tue, Feb 3, 2026 at 10:04 AM Leernetwerk <leernetwerk@in-gent.example> wrote:\n",
    ],
)
def test_names_in_quoted_replies_are_never_people(header):
    quoted = "\n".join("> " + line for line in INVITATION.split("\n"))
    raw = mail(
        f"Dag Hilde,\n\nIk kom graag!\n\nGroeten,\nJoris\n\n{header}{quoted}",
        subject="Re: Leernetwerk 10 maart",
        sender="Joris Wuyts <joris@example.org>",
    )
    parsed = parse(raw)
    assert parsed.intent is Intent.REGISTER
    assert names(parsed) == ["Joris Wuyts"]
    assert parsed.meeting_date == dt.date(2026, 3, 10)


@pytest.mark.parametrize(
    "separator",
    [
        (
            "Van: Leernetwerk <leernetwerk@in-gent.example>\nVerzonden: dinsdag 3 februari 2026 10:04\n"
            "Aan: Leernetwerk <leernetwerk@in-gent.example>\nOnderwerp: Leernetwerk 10 maart\n"
        ),
        (
            "From: Leernetwerk <leernetwerk@in-gent.example>\nSent: Tuesday, February 3, 2026 10:04 AM\n"
            "To: Leernetwerk <leernetwerk@in-gent.example>\nSubject: Leernetwerk 10 maart\n"
        ),
        "-----Original Message-----\nFrom: Leernetwerk\nSent: Tuesday\nSubject: Leernetwerk\n",
    ],
)
def test_outlook_reply_blocks_end_the_new_text(separator):
    raw = mail(
        f"Hallo,\n\nWij zijn er graag bij. Ik kom samen met Sara Mertens.\n\nGroeten,\nTom Baert\n\n"
        f"{separator}\n{INVITATION}",
        subject="RE: Leernetwerk 10 maart",
        sender="Tom Baert <tom@example.org>",
    )
    parsed = parse(raw)
    assert sorted(names(parsed)) == ["Sara Mertens", "Tom Baert"]
    assert parsed.meeting_date == dt.date(2026, 3, 10)


@pytest.mark.parametrize(
    "marker",
    [
        "---------- Forwarded message ---------",
        "---------- Doorgestuurd bericht ---------",
        "-------- Message transféré --------",
        "Begin forwarded message:",
    ],
)
def test_forwarded_request_registers_the_forwarded_writer(marker):
    raw = mail(
        f"Hoi Hilde,\n\nHierbij de inschrijving van een van onze vrijwilligers. "
        f"Kan je haar op de lijst zetten?\n\n"
        f"Groeten,\nKoen Dierickx\nWerkgroep Asiel Oostakker\n\n{marker}\n"
        f"From: Lotte Vandamme <lotte@example.org>\nDate: ma 5 jan 2026\nSubject: leernetwerk\n"
        f"To: Koen Dierickx <koen@wao.example>\n\nDag Koen,\n\nZou je mij kunnen inschrijven voor maart?\n\n"
        f"Groetjes,\nLotte",
        subject="Fwd: leernetwerk",
        sender="Koen Dierickx <koen@wao.example>",
    )
    parsed = parse(raw)
    assert parsed.intent is Intent.REGISTER
    assert [(p.name, p.organisation, p.email) for p in parsed.people] == [
        ("Lotte Vandamme", "Werkgroep Asiel Oostakker", "lotte@example.org")
    ]
    assert parsed.meeting_date == dt.date(2026, 3, 10)


def test_disclaimer_and_client_footer_are_not_read():
    raw = mail(
        "Ik schrijf me in voor 10 maart.\n\nMet vriendelijke groeten,\nAnna Peeters\n\n"
        "Dit bericht is vertrouwelijk en uitsluitend bestemd voor de geadresseerde. Persoonsgegevens worden "
        "verwerkt volgens de AVG; verwijder dit bericht als het u niet is bestemd.\n\n"
        "Verzonden vanaf mijn iPhone"
    )
    parsed = parse(raw)
    assert parsed.intent is Intent.REGISTER
    assert names(parsed) == ["Anna Peeters"]


# --- people -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence, name, organisation",
    [
        (
            "Ik ben Jan De Smet, vrijwilliger bij Werkgroep Asiel Oostakker vzw.",
            "Jan De Smet",
            "Werkgroep Asiel Oostakker",
        ),
        (
            "Je m'appelle Sophie Lambert et je suis bénévole chez Solidarité Gand asbl.",
            "Sophie Lambert",
            "Solidarité Gand",
        ),
        (
            "My name is Tom O'Neill and I volunteer with Refugee Buddies Ghent.",
            "Tom O'Neill",
            "Refugee Buddies Ghent",
        ),
        (
            "Mijn naam is Amina el Idrissi. Ik ben actief bij WAO.",
            "Amina el Idrissi",
            "Werkgroep Asiel Oostakker",
        ),
    ],
)
def test_name_and_organisation_from_a_sentence(sentence, name, organisation):
    raw = mail(f"Dag,\n\n{sentence} Ik schrijf me graag in voor 10 maart.\n\nGroeten", sender="x@example.org")
    parsed = parse(raw)
    assert [(p.name, p.organisation) for p in parsed.people] == [(name, organisation)]
    assert parsed.people[0].email == "x@example.org"


def test_form_block_surname_first():
    raw = mail(
        "Bonjour,\n\nNom : MBUYI\nPrénom : Jean-Claude\nAssociation : Entraide Gand asbl (Gand)\n\nMerci",
        subject="Inscription réseau",
        sender="jc@example.org",
    )
    parsed = parse(raw)
    assert [(p.name, p.organisation) for p in parsed.people] == [("Jean-Claude Mbuyi", "Entraide Gand")]
    assert parsed.language == "fr"


@pytest.mark.parametrize(
    "display, name",
    [
        ('"Verstraete, Bart" <bart@example.org>', "Bart Verstraete"),
        ("VANDERSTRAETEN Jean-Philippe <jp@example.org>", "Jean-Philippe Vanderstraeten"),
        ("DHAENE Els <els@example.org>", "Els Dhaene"),
        ("karel van den broeck <karel@example.org>", "Karel Van den Broeck"),
        ("Sofie Maes | Buurtwerk Ledeberg <sofie@example.org>", "Sofie Maes"),
    ],
)
def test_display_names_in_normal_order_and_capitals(display, name):
    parsed = parse(mail("Ik schrijf me in voor het leernetwerk van 10 maart.", sender=display))
    assert names(parsed) == [name]


def test_all_caps_form_with_signed_first_name():
    raw = mail(
        "GOEDENDAG,\n\nNAAM: D'HAENE MIA\nVERENIGING: PAROCHIE SINT-JAN, WERKGROEP\n\nGRAAG INSCHRIJVEN.\n\n"
        "MET VRIENDELIJKE GROETEN\nMIA",
        sender="mia@example.org",
        subject="INSCHRIJVING",
    )
    parsed = parse(raw)
    assert [(p.name, p.organisation) for p in parsed.people] == [("Mia D'Haene", "Parochie Sint-Jan")]


def test_surname_from_the_address_when_signed_with_a_first_name():
    parsed = parse(
        mail("uitschrijven aub\n\nRik", sender="rik.vercruysse@example.org", subject="Re: Herinnering")
    )
    assert parsed.intent is Intent.UNSUBSCRIBE
    assert names(parsed) == ["Rik Vercruysse"]
    assert parsed.people[0].confidence < 0.7
    assert "surname read from the mail address" in parsed.reasons


def test_colleague_registered_instead_of_the_sender():
    raw = mail(
        "Dag Hilde,\n\nIk zou graag mijn collega Ines Wouters inschrijven voor 10 maart. Zelf kan ik er "
        "niet bij zijn.\n\nMet vriendelijke groeten\n\nGeert Claes\nTeamverantwoordelijke\n"
        "CAW Oost-Vlaanderen",
        sender='"Claes, Geert" <geert@caw.example>',
        Cc='"Wouters, Ines" <ines@caw.example>',
    )
    parsed = parse(raw)
    assert [(p.name, p.organisation, p.email) for p in parsed.people] == [
        ("Ines Wouters", "CAW Oost-Vlaanderen", "ines@caw.example")
    ]


def test_sender_and_colleague_together():
    raw = mail(
        "Dag Hilde,\n\nMijn collega Bert Verlinden en ik schrijven ons graag in voor 10 maart.\n\n"
        "Groetjes,\nNina Smet\nVluchtelingenwerk Vlaanderen",
        sender="Nina Smet <nina@example.org>",
    )
    parsed = parse(raw)
    assert sorted((p.name, p.organisation) for p in parsed.people) == [
        ("Bert Verlinden", "Vluchtelingenwerk Vlaanderen"),
        ("Nina Smet", "Vluchtelingenwerk Vlaanderen"),
    ]


def test_colleague_in_cc_named_by_first_name():
    raw = mail(
        "Bonjour,\n\nMa collègue Julie (en copie) et moi-même aimerions participer "
        "à la séance du 10 mars.\n\n"
        "Cordialement,\nMarc Dubois",
        subject="Inscription",
        sender="Marc Dubois <marc@example.org>",
        Cc="Julie Renard <julie@example.org>",
    )
    parsed = parse(raw)
    assert sorted(names(parsed)) == ["Julie Renard", "Marc Dubois"]
    assert next(p for p in parsed.people if p.name == "Julie Renard").email == "julie@example.org"


def test_greeted_coordinator_and_mentioned_speaker_are_not_people():
    raw = mail(
        "Beste Hilde Cnudde,\n\nIk schrijf me in voor 12 mei; dokter Janssens ken ik al. Ook Pieter Goris "
        "is geïnteresseerd, hij mailt zelf nog.\n\nGroeten,\nAnna Peeters"
    )
    assert names(parse(raw)) == ["Anna Peeters"]


def test_personal_title_means_no_organisation():
    raw = mail(
        "Ik schrijf me in voor 12 mei, uitdrukkelijk op persoonlijke titel.\n\nMet vriendelijke groet,\n\n"
        "Anna Peeters\nAdvocaat\nPeeters & Partners Advocaten",
        sender="Anna Peeters | Peeters & Partners <anna@peeters-advocaten.example>",
    )
    assert [(p.name, p.organisation) for p in parse(raw).people] == [("Anna Peeters", None)]


def test_organisation_from_the_configured_domain_is_unsure():
    raw = mail(
        "Ik schrijf me in voor 10 maart.\n\nGroeten,\nKoen Dierickx",
        sender="Koen Dierickx <koen@wao.example>",
    )
    parsed = parse(raw)
    assert parsed.people[0].organisation == "Werkgroep Asiel Oostakker"
    assert parsed.people[0].confidence < 0.7 and parsed.unsure
    assert "organisation guessed from the mail domain" in parsed.reasons
    assert parse(raw, ParseContext(meetings=MEETINGS)).people[0].organisation is None


# --- intents ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, intent",
    [
        ("Mag ik mij inschrijven voor het leernetwerk?", Intent.REGISTER),
        ("Je souhaiterais m'inscrire à la séance du 10 mars.", Intent.REGISTER),
        ("I would like to register for the session on 10 March.", Intent.REGISTER),
        ("Ik moet mij helaas afmelden voor 10 maart.", Intent.CANCEL),
        ("Je ne pourrai malheureusement pas assister à la séance du 10 mars.", Intent.CANCEL),
        ("Sorry, I can't make it on 10 March.", Intent.CANCEL),
        ("Gelieve mij uit te schrijven van de mailinglijst.", Intent.UNSUBSCRIBE),
        ("Merci de me retirer de votre liste de diffusion.", Intent.UNSUBSCRIBE),
        ("Please remove me from your mailing list.", Intent.UNSUBSCRIBE),
        ("Mag ik van de lijst? En verwijder ook al mijn persoonsgegevens (GDPR).", Intent.ERASE),
        ("Is er parking in de buurt van de campus?", Intent.QUESTION),
        (
            "Wij overwegen deel te nemen. Is het gratis? Als dat kan, schrijven we ons daarna in.",
            Intent.QUESTION,
        ),
        ("Kan ik mijn buurvrouw inschrijven, of moet ze dat zelf doen?", Intent.QUESTION),
        ("Dit gaat over iets helemaal anders.", Intent.OTHER),
    ],
)
def test_intent_keyword_families(body, intent):
    assert parse(mail(f"Dag,\n\n{body}\n\nGroeten,\nAnna Peeters", subject="Leernetwerk")).intent is intent


def test_registration_for_someone_elses_event_is_other():
    raw = mail(
        "Graag schrijf ik me in voor de infonamiddag over voogdij op zaterdag 21 februari in Assebroek.",
        subject="Inschrijving infonamiddag",
    )
    assert parse(raw).intent is Intent.OTHER


def test_has_question_only_for_real_questions():
    asks = parse(mail("Ik schrijf me in voor 10 maart. Is de zaal bereikbaar met de tram?"))
    assert asks.intent is Intent.REGISTER and asks.has_question
    request = parse(mail("Mag ik mij inschrijven voor 10 maart?"))
    assert request.intent is Intent.REGISTER and not request.has_question


# --- meeting dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, subject, date, expected",
    [
        (
            "Ik schrijf me in voor 13/1.",
            "Inschrijving",
            "Mon, 05 Jan 2026 10:00:00 +0100",
            dt.date(2026, 1, 13),
        ),
        (
            "Ik schrijf me in voor de sessie in mei.",
            "Inschrijving",
            "Mon, 05 Jan 2026 10:00:00 +0100",
            dt.date(2026, 5, 12),
        ),
        (
            "I'd like to join the session on legal aid.",
            "Registration",
            "Mon, 05 Jan 2026 10:00:00 +0100",
            dt.date(2026, 5, 12),
        ),
        (
            "Ik moet me afmelden voor morgenavond.",
            "Afmelding",
            "Mon, 09 Mar 2026 10:00:00 +0100",
            dt.date(2026, 3, 10),
        ),
        (
            "Ik meld me af voor volgende week.",
            "Afmelding",
            "Tue, 03 Mar 2026 10:00:00 +0100",
            dt.date(2026, 3, 10),
        ),
        (
            "Ik kom graag!",
            "Re: Uitnodiging leernetwerk 10 maart",
            "Mon, 05 Jan 2026 10:00:00 +0100",
            dt.date(2026, 3, 10),
        ),
        (
            "Zet me op de lijst voor de volgende sessie.",
            "Inschrijving",
            "Mon, 05 Jan 2026 10:00:00 +0100",
            None,
        ),
        (
            "Ik werk sinds september bij WAO en schrijf me in.",
            "Inschrijving",
            "Mon, 05 Jan 2026 10:00:00 +0100",
            None,
        ),
    ],
)
def test_meeting_date(body, subject, date, expected):
    assert parse(mail(body, subject=subject, date=date)).meeting_date == expected


def test_no_meeting_for_unsubscribe_even_when_named():
    parsed = parse(
        mail("Schrijf me uit, ik kom niet meer naar de sessie van 10 maart.", subject="uitschrijven")
    )
    assert parsed.intent is Intent.UNSUBSCRIBE and parsed.meeting_date is None


def test_explicit_date_without_calendar():
    parsed = parse(mail("Ik schrijf me in voor 10 maart."), ParseContext())
    assert parsed.meeting_date == dt.date(2026, 3, 10)


# --- language -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, language",
    [
        ("Ik schrijf me graag in voor het leernetwerk.", "nl"),
        ("Je voudrais m'inscrire pour la séance, merci.", "fr"),
        ("I would like to join the network, thanks.", "en"),
        ("", "nl"),
    ],
)
def test_language(body, language):
    assert parse(mail(body)).language == language


# --- never raises -------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_never_raises_on_garbage(raw):
    parsed = parse(raw)
    assert isinstance(parsed.intent, Intent)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.text(max_size=80), st.text(max_size=80))
def test_never_raises_on_odd_text(body, subject, name):
    raw = (
        f"From: {name} <x@example.org>\r\nSubject: {subject}\r\n"
        f"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        f"--b\r\nContent-Type: text/plain; charset=x-unknown\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
        f"--b\r\nContent-Type: text/html\r\n\r\n<p>{body}\r\n--b"
    ).encode("utf-8", "surrogatepass")
    assert isinstance(parse(raw).intent, Intent)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe",
        b"From: \r\n\r\n",
        b'Content-Type: multipart/alternative; boundary="x"\r\n\r\n--x\r\n--x--',
        (
            b'Content-Type: text/plain; charset="\xff\xfe"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            b"!!!notbase64"
        ),
        b"From: a@b\r\nSubject: =?bogus?q?x?=\r\nDate: Mon, 99 Foo 9999 99:99:99\r\n\r\nhi",
        b"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nFrom: x\r\n\r\ny",
        (
            "Content-Type: multipart/mixed; boundary=a\r\n\r\n"
            + "--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 300
        ).encode(),
    ],
)
def test_never_raises_on_broken_mime(raw):
    parsed = parse(raw)
    assert isinstance(parsed.intent, Intent)
    assert parsed.intent is Intent.OTHER or parsed.reasons


def test_surname_from_an_address_with_initials():
    parsed = parse(mail("Ik kom graag!\n\nAnna", sender="a.peeters@example.org", subject="Re: Uitnodiging"))
    assert names(parsed) == ["Anna Peeters"]
    assert parsed.people[0].confidence < 0.7


def test_intent_from_the_subject_alone_is_unsure():
    parsed = parse(mail("", subject="uitschrijven"))
    assert parsed.intent is Intent.UNSUBSCRIBE
    assert parsed.confidence < 0.7 and parsed.unsure


def test_grouped_keyword_families_match_like_their_plain_alternation():
    from pathlib import Path

    from mailflow.core.parsing import dates, intent, people
    from mailflow.core.parsing.text import Keywords, fold

    texts = [
        p.read_text(encoding="latin-1") for p in sorted((Path(__file__).parent / "corpus").glob("*.eml"))
    ]
    families = [
        family
        for module in (intent, dates, people)
        for family in vars(module).values()
        if isinstance(family, Keywords)
    ]
    assert len(families) > 10
    for family in families:
        for text in texts:
            text = text if family.ignore_case else fold(text)
            plain = [(m.start(), m.group(0)) for m in family.plain.finditer(text)]
            assert [(m.start(), m.group(0)) for m in family.finditer(text)] == plain


@pytest.mark.parametrize(
    "body, intent",
    [
        ("Mag ik mij inschrijven als vrijwilliger van Buurtwerk Ledeberg?", Intent.REGISTER),
        ("Ik ben er op 12 mei niet aanwezig.", Intent.CANCEL),
        ("Ik was van plan te komen op 12 mei, maar ik kan niet.", Intent.CANCEL),
        ("Hoe laat begint het?", Intent.QUESTION),
    ],
)
def test_as_is_no_condition_and_negation_inside_the_phrase(body, intent):
    assert (
        parse(mail(f"Dag Hilde,\n\n{body}\n\nGroeten,\nAnna Peeters", subject="Leernetwerk")).intent is intent
    )


def test_bare_bij_a_first_name_is_no_organisation():
    parsed = parse(
        mail("Dag,\n\nIk schrijf me in voor 12 mei, zoals ik bij Hilde al zei.\n\nGroeten,\nAnna Peeters")
    )
    assert [(p.name, p.organisation) for p in parsed.people] == [("Anna Peeters", None)]
