"""Outgoing mail: reply data -> email.message.EmailMessage from the templates in `templates/`; compose.py
builds the MIME message itself, digest_mail.py the coordinator's digest, member_mail.py the mails about a
meeting.

Pure: no network, no database, no clock — `now` is passed in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import jinja2

from mailflow.core.calendar.ics import (
    MeetingDetails,
    ics_filename,
    meeting_details,
    meeting_ics,
)
from mailflow.core.mail.compose import (
    Attachment,
    assemble,
    calendar_attachment,
    clean_text,
    mailbox_value,
    require_aware,
    sender_value,
    threading_ids,
)
from mailflow.core.mail.digest_mail import digest_context, render_digest
from mailflow.core.mail.shared import finished, mail_language, meeting_values, shared_context
from mailflow.core.mail.subjects import no_meeting_subject, notice_subject, subject
from mailflow.core.mail.templates import template_names, tidy_text
from mailflow.core.parsing.result import Person
from mailflow.core.vocabulary import REPLY_KINDS, MailKind
from mailflow.settings import Network

__all__ = [
    "KINDS",
    "MeetingDetails",
    "Reply",
    "digest_context",
    "meeting_details",
    "meeting_ics",
    "render_digest",
    "render_notice",
    "render_reply",
]

KINDS = REPLY_KINDS
# A confirmation adds the meeting to the calendar; the waiting list has no event until a place is given.
KINDS_WITH_INVITE = ("register",)


@dataclass(frozen=True)
class Reply:
    """One answer to one mail; `people` and names come from that mail and are never trusted."""

    kind: str  # one of KINDS
    language: str  # "nl" | "fr" | "en"; anything else -> the network's language
    to_address: str
    to_name: str | None
    people: tuple[Person, ...]  # who was registered or excused
    meeting: MeetingDetails | None  # register: where they are expected; cancel: the one they are excused from
    unsure: bool  # say what we noted and ask for a correction
    in_reply_to: str | None  # the Message-ID of the mail answered, byte for byte
    references: tuple[str, ...]  # that mail's own References chain
    subject: str  # the subject of the mail answered (ours says the outcome; this one is not repeated)
    asked_date: dt.date | None = None  # register: a day the mail asked for on which no meeting is confirmed
    confirmed: tuple[dt.date, ...] = ()  # ... and the coming meetings that are, to choose from
    # cancel, unsubscribe: the meetings the people had a place at, whose events the reply takes out of their
    # calendar (an .ics METHOD:CANCEL each, with the UID and SEQUENCE they know it by)
    calendar_cancel: tuple[MeetingDetails, ...] = ()
    theme: str | None = None  # propose: the theme proposed, as the mail wrote it
    question: bool = False  # the mail also asked something: the reply says it went to the coordinator


def reply_language(language: str, network: Network) -> str:
    return mail_language(language, network)


# --- The reply ----------------------------------------------------------------------------------------------


def reply_context(reply: Reply, network: Network, language: str) -> dict[str, Any]:
    """Everything a reply template may use; every value that came from a mail is cleaned first. The reply
    speaks to as many people as it names (a confirmation for two says "jullie"), to its reader when none."""
    people = [
        {"name": clean_text(person.name) or "?", "organisation": clean_text(person.organisation) or None}
        for person in reply.people
    ]
    # An erasure, a question or a proposal is answered to its writer alone, whoever the mail named.
    alone = reply.kind in (MailKind.ERASE, MailKind.QUESTION, MailKind.PROPOSE)
    return {
        **shared_context(network, language, [reply.to_name], addressed=1 if alone else max(len(people), 1)),
        **meeting_values(reply.meeting, language),
        "kind": reply.kind,
        "to_name": clean_text(reply.to_name) or None,
        "people": people,
        "unsure": reply.unsure,
        "asked_date": reply.asked_date,
        "confirmed": reply.confirmed,
        "calendar_cancel": len(reply.calendar_cancel),
        "theme": clean_text(reply.theme, limit=300) or None,
        "question": reply.question,
    }


def reply_subject(reply: Reply, network: Network, language: str) -> str:
    """The outcome first: "Ingeschreven: di 10 maart - Leernetwerk", "Vraag doorgegeven - Leernetwerk"."""
    if reply.kind == MailKind.REGISTER and reply.meeting is None and reply.asked_date is not None:
        return no_meeting_subject(reply.asked_date, language, network.short)
    day = reply.meeting.date if reply.meeting is not None else None
    return subject(reply.kind, language, network.short, day, people=max(len(reply.people), 1))


def render_reply(
    env: jinja2.Environment,
    reply: Reply,
    *,
    network: Network,
    sender: str,
    message_id: str,
    now: dt.datetime,
) -> EmailMessage:
    """The complete reply: headers for one recipient in the same thread, text and HTML, and an .ics: the
    meeting a confirmation registers for, or the ones a cancel or leave takes out of the calendar.

    Raises ValueError for an unknown kind, a naive `now`, a bad `message_id`, or a `to_address` that is not
    exactly one mailbox.
    """
    if reply.kind not in KINDS:
        raise ValueError(f"reply kind must be one of {', '.join(KINDS)}, got {reply.kind!r}")
    require_aware(now)
    language = reply_language(reply.language, network)
    context = reply_context(reply, network, language)
    text_name, html_name = template_names(reply.kind, language)
    text, html = finished(
        tidy_text(env.get_template(text_name).render(context)),
        env.get_template(html_name).render(context),
        language,
    )

    parent, references = threading_ids(reply.in_reply_to, reply.references)
    attachments: list[Attachment] = []
    if reply.meeting is not None and reply.kind in KINDS_WITH_INVITE:
        ics = meeting_ics(reply.meeting, network, "PUBLISH", now=now, language=language)
        attachments.append(calendar_attachment(ics, ics_filename(reply.meeting, network), "PUBLISH"))
    for meeting in reply.calendar_cancel:
        ics = meeting_ics(meeting, network, "CANCEL", now=now, language=language, status="CANCELLED")
        attachments.append(calendar_attachment(ics, ics_filename(meeting, network), "CANCEL"))
    return assemble(
        sender=sender_value(clean_text(network.name), sender),
        # Address() refuses anything but one addr-spec, so a To of "a@x, b@y" or with CR/LF raises here.
        to=mailbox_value("To", context["to_name"] or "", reply.to_address.strip()),
        subject=reply_subject(reply, network, language),
        date=now.astimezone(network.timezone),
        message_id=message_id,
        threading=(parent, references),
        # RFC 3834 5: mark the reply as automatic, so vacation responders and other robots don't answer it.
        auto_submitted="auto-replied",
        loop=network.signup_address,
        language=language,
        text=text,
        html=html,
        attachments=attachments,
    )


# --- The coordinator's notice of held replies -------------------------------------------------------------


def render_notice(
    env: jinja2.Environment,
    *,
    limit: str,
    allowed: int,
    held_id: int,
    network: Network,
    to_address: str,
    sender: str,
    message_id: str,
    now: dt.datetime,
) -> EmailMessage:
    """Tell the coordinator, in the network's language, that replies are held:
    which limit, and how to release one.

    `limit` is "replies_per_address_per_day" or "replies_per_hour", `allowed` its configured number and
    `held_id` the outbox id of the first reply held. Nothing about the person written to:
    the notice outlives an erase.
    """
    require_aware(now)
    language = mail_language(network.language, network)
    context = {
        **shared_context(network, language),
        "limit": limit,
        "allowed": allowed,
        "held_id": held_id,
    }
    text, html = finished(
        tidy_text(env.get_template("notice_held.txt").render(context)),
        env.get_template("notice_held.html").render(context),
        language,
    )
    return assemble(
        sender=sender_value(clean_text(network.name), sender),
        to=mailbox_value("To", "", to_address.strip()),
        subject=notice_subject(language, clean_text(network.short)),
        date=now.astimezone(network.timezone),
        message_id=message_id,
        auto_submitted="auto-generated",  # RFC 3834 5
        loop=network.signup_address,
        language=language,
        text=text,
        html=html,
    )
