"""Mail a machine wrote, or bulk mail, is never answered: bounces and robots without the headers RFC 3464 and
RFC 3834 ask for, and newsletter or list footers, which are never a request of the sender."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_parsing import CONTEXT, mail, parse

from mailflow.core.parsing import Intent
from mailflow.core.parsing.headers import without_leading_blank
from mailflow.core.parsing.structure import split_footer, split_text

AUTOMATED = Path(__file__).parent / "mail" / "automated"

# Real bounces and robot mail (addresses and hosts replaced by example ones; see README.md beside them).
EXPECTED = {
    # "Returned Mail - Error During Delivery", "Failed Recipients", from *_SMTP_Mail_Service@
    "returned-mail-smtp-service.eml": Intent.BOUNCE,
    "re-subject-non-remis.eml": Intent.BOUNCE,  # "RE: ... non remis (delivery failed)", a report in fr and en
    "system-administrator-delivery-failure.eml": Intent.BOUNCE,  # an unanswerable From, "Delivery Failure"
    "null-from-delivery-status.eml": Intent.BOUNCE,  # From: <>, "had delivery problems"
    "dsn-below-blank-lines.eml": Intent.BOUNCE,  # an RFC 3464 report saved with blank lines above its headers
    "non-delivery-with-list-headers.eml": Intent.BOUNCE,  # a list's headers on a non-delivery report
    "post-master-no-text.eml": Intent.AUTO_REPLY,  # post_master@, the report only in attachments
    "challenge-response.eml": Intent.AUTO_REPLY,  # "click to have your address added to the allowed list"
    "list-robot-not-a-member.eml": Intent.AUTO_REPLY,  # a list's -admin robot
    "spam-remove-your-email.eml": Intent.OTHER,  # spam whose "Remove your email" link made it a question
}


def test_every_automated_mail_has_an_expectation() -> None:
    assert sorted(p.name for p in AUTOMATED.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize(("name", "intent"), sorted(EXPECTED.items()))
def test_automated_mail_is_never_answered(name: str, intent: Intent) -> None:
    parsed = parse((AUTOMATED / name).read_bytes())
    assert parsed.intent is intent, parsed.reasons
    assert not parsed.intent.answered


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.mark.parametrize(
    "newline", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"]
)  # sisimai keeps all three copies
def test_blank_lines_above_the_headers_are_cut_only_when_headers_follow(newline: bytes) -> None:
    raw = newline.join(
        [b"", b"   ", b"Received: from a by b", b"From: x@example.org", b"Subject: s", b"", b"hi"]
    )
    assert without_leading_blank(raw).startswith(b"Received:")
    text = newline.join([b"", b"Dear all,", b"Subject: the meeting", b"", b"hi"])
    assert without_leading_blank(text) == text


def test_a_headerless_dump_is_other() -> None:
    parsed = parse(b"--------------\n2010-03-01 07:09:00\nunsubscribed? 1\nbody:\nplease unsubscribe me\n")
    assert parsed.intent is Intent.OTHER
    assert "other: no header block: not a mail as sent" in parsed.reasons


def test_a_dutch_report_from_a_mail_service_without_dsn_headers_is_a_bounce() -> None:
    raw = mail(
        "Uw bericht kon niet worden afgeleverd bij de volgende ontvanger:\n\n"
        "   an.smet@example.org: mailbox unavailable\n",
        subject="Onbestelbaar: Inschrijving",
        sender="Mail_Service@relay.example.org",
    )
    assert parse(raw).intent is Intent.BOUNCE


def test_x_failed_recipients_alone_is_a_bounce() -> None:
    raw = mail("Something went wrong.", subject="Mail", X_Failed_Recipients="an.smet@example.org")
    assert parse(raw).intent is Intent.BOUNCE


def test_a_text_report_with_its_fields_pasted_is_a_bounce() -> None:
    raw = mail(
        "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; an.smet@example.org\n"
        "Action: failed\nStatus: 5.1.1\n",
        subject="Report",
    )
    assert parse(raw).intent is Intent.BOUNCE


def test_a_person_replying_to_a_bounce_is_still_read() -> None:
    raw = mail(
        "Hallo, mijn vorige mail kon niet worden afgeleverd. Ik wil mij graag inschrijven voor 10 maart.\n\n"
        "Groeten,\nAnna Peeters",
        subject="RE: Onbestelbaar: Inschrijving",
    )
    assert parse(raw).intent is Intent.REGISTER


REPORT = (
    "Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; an@example.net\r\nAction: failed\r\n"
)


def _registration_with(part: str) -> bytes:
    """A person's registration in multipart/mixed, with one more part after the text."""
    return (
        "From: Anna Peeters <anna.peeters@example.org>\r\nTo: leernetwerk@in-gent.example\r\n"
        "Subject: Inschrijving\r\nMessage-ID: <p.1@example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        "--outer\r\nContent-Type: text/plain\r\n\r\nIk schrijf me in voor 10 maart.\r\n\r\nAnna Peeters\r\n"
        f"--outer\r\n{part}\r\n--outer--\r\n"
    ).encode()


def test_a_delivery_status_part_in_multipart_mixed_is_a_bounce() -> None:
    # Some servers send their report in multipart/mixed rather than multipart/report (RFC 6522).
    raw = _registration_with(f"Content-Type: message/delivery-status\r\n\r\n{REPORT}")
    assert parse(raw).intent is Intent.BOUNCE


def test_a_bounce_forwarded_as_an_attachment_does_not_make_the_mail_a_bounce() -> None:
    attached = (
        "Content-Type: message/rfc822\r\n\r\nFrom: postmaster@example.net\r\nSubject: Undelivered Mail\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="in"\r\n\r\n'
        "--in\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        f"--in\r\nContent-Type: message/delivery-status\r\n\r\n{REPORT}--in--\r\n"
    )
    assert parse(_registration_with(attached)).intent is Intent.REGISTER


# --- boilerplate footers ----------------------------------------------------------------------------------

# Invented list posts and newsletters, their list headers removed as spam arrives, each closing with a footer.
FOOTERS = {
    "en-list": (
        "Hi all,\n\nI'll come to the workshop on 10 March, count me in! Anyone else joining?\n\nTom\n\n"
        "--\nYou received this message because you are subscribed to the Volunteers group.\n"
        "To unsubscribe from this group, send an email to volunteers+unsubscribe@lists.example.org."
    ),
    "en-may-unsubscribe": (
        "Dear friends,\n\nRegister now for our spring training on 12 May. Where do I sign up? Right here.\n\n"
        "You may unsubscribe at any time: https://news.example.org/u/123"
    ),
    "nl-klik-hier": (
        "Beste vrijwilliger,\n\nSchrijf je nu in voor onze vorming op dinsdag 10 maart!\n\n"
        "Uitschrijven? Klik hier.\nBeheer je voorkeuren"
    ),
    "fr-desabonner": (
        "Bonjour,\n\nInscrivez-vous à notre atelier du 10 mars. Des questions ?\n\n"
        "Vous recevez ce message car vous êtes inscrit à notre lettre.\nSe désabonner"
    ),
    "it-cancellami": "Ciao,\n\nvuoi partecipare al corso gratuito del 10 marzo?\n\nCancellami",
    "en-sign-up": (
        "Hello,\n\nCan you tell me where the meeting is?\n\nDon't want these? Sign up for these e-mails "
        "to stop: https://news.example.org/prefs | Manage your preferences"
    ),
}


@pytest.mark.parametrize("text", FOOTERS.values(), ids=FOOTERS.keys())
def test_bulk_mail_with_a_footer_gets_no_reply(text: str) -> None:
    parsed = parse(mail(text, subject="Nieuws", sender="News <news@lists.example.org>"))
    assert parsed.intent is Intent.OTHER, parsed.reasons
    assert not parsed.intent.answered


@pytest.mark.parametrize("text", FOOTERS.values(), ids=FOOTERS.keys())
def test_the_footer_is_cut_from_the_senders_words(text: str) -> None:
    structure = split_text(text)
    assert structure.footer
    assert structure.footer not in structure.own
    assert structure.own in text


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Beste,\n\nIk wil me uitschrijven van jullie nieuwsbrief.\n\nAnna Peeters", Intent.UNSUBSCRIBE),
        ("Hello,\n\nI no longer wish to receive these emails.\n\nAnna Peeters", Intent.UNSUBSCRIBE),
        ("Hello,\n\nI would like to be removed from the list.\n\nAnna Peeters", None),
        ("Bonjour,\n\nJe souhaite me désabonner.\n\nAnna Peeters", Intent.UNSUBSCRIBE),
        (
            "Hi,\n\nI tried to click the link to unsubscribe but it fails. Could you unsubscribe me?\n\nAnna",
            None,
        ),
    ],
)
def test_a_persons_own_request_to_leave_is_no_footer(text: str, intent: Intent | None) -> None:
    assert split_footer(text) == (text, "")
    if intent is not None:
        assert parse(mail(text, subject="Nieuwsbrief")).intent is intent


def test_a_reply_to_our_mail_is_read_on_past_a_footer() -> None:
    text = (
        "Ik kom graag op 10 maart.\n\nAnna Peeters\n\nWil je deze nieuwsbrief niet meer ontvangen? Klik hier."
    )
    raw = mail(text, subject="Re: Uitnodiging", In_Reply_To="<reply.1@in-gent.example>")
    parsed = parse(raw, CONTEXT)
    assert parsed.intent is Intent.REGISTER
