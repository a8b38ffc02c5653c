"""Outgoing mail: reply data -> email.message.EmailMessage from the templates in `templates/`; compose.py
builds the MIME message itself.

Pure: no network, no database, no clock — `now` is passed in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import babel.dates
import babel.lists
import jinja2

from mailflow.core import i18n
from mailflow.core.calendar.ics import (
    MeetingDetails,
    ics_filename,
    location_text,
    meeting_details,
    meeting_ics,
)
from mailflow.core.digest import Digest, PersonLine, attendance_filename, sorted_people
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
from mailflow.core.mail.templates import template_names, tidy_text
from mailflow.core.parsing.result import Person
from mailflow.core.parsing.text import REPLY_PREFIX
from mailflow.core.sheet import SignInSheet, sheet_csv, sheet_html, sheet_page_filename
from mailflow.core.vocabulary import REPLY_KINDS
from mailflow.settings import LANGUAGES, Network

__all__ = [
    "KINDS",
    "MeetingDetails",
    "Reply",
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
    subject: str  # the subject of the mail answered
    asked_date: dt.date | None = None  # register: a day the mail asked for on which no meeting is confirmed
    confirmed: tuple[dt.date, ...] = ()  # ... and the coming meetings that are, to choose from
    # cancel, unsubscribe: the meetings the people had a place at, whose events the reply takes out of their
    # calendar (an .ics METHOD:CANCEL each, with the UID and SEQUENCE they know it by)
    calendar_cancel: tuple[MeetingDetails, ...] = ()
    theme: str | None = None  # propose: the theme proposed, as the mail wrote it


# --- Values from mail, made safe ----------------------------------------------------------------------------


def reply_subject(original: str, fallback: str) -> str:
    """ "Re: " once in front of the answered subject, whatever reply prefixes it already had."""
    subject = REPLY_PREFIX.sub("", clean_text(original, limit=300))
    return f"Re: {subject or fallback}"


# --- The reply ----------------------------------------------------------------------------------------------


def reply_context(reply: Reply, network: Network, language: str) -> dict[str, Any]:
    """Everything a reply template may use; every value that came from a mail is cleaned first."""
    people = [
        {"name": clean_text(person.name) or "?", "organisation": clean_text(person.organisation) or None}
        for person in reply.people
    ]
    return {
        "kind": reply.kind,
        "language": language,
        "network_name": network.name,
        "signup_address": network.signup_address,
        "to_name": clean_text(reply.to_name) or None,
        "people": people,
        "meeting": reply.meeting,
        "location": location_text(reply.meeting) if reply.meeting else "",
        "unsure": reply.unsure,
        "asked_date": reply.asked_date,
        "confirmed": reply.confirmed,
        "calendar_cancel": len(reply.calendar_cancel),
        "theme": clean_text(reply.theme, limit=300) or None,
    }


def reply_language(language: str, network: Network) -> str:
    return language if language in LANGUAGES else network.language


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
    text = tidy_text(env.get_template(text_name).render(context))
    html = env.get_template(html_name).render(context)

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
        subject=reply_subject(reply.subject, fallback=network.name),
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


# --- Reminders and the digest -------------------------------------------------------------------------------


def _person(person: PersonLine) -> dict[str, str | None]:
    return {
        "name": clean_text(person.name) or "?",
        "organisation": clean_text(person.organisation) or None,
        "email": clean_text(person.email, limit=320) or None,
    }


def digest_context(
    digest: Digest, network: Network, language: str, sheet: SignInSheet | None = None
) -> dict[str, Any]:
    """Everything a digest template may use; every value that came from a mail is cleaned first. `sheet` is
    the sign-in sheet of a meeting held today."""
    facts = digest.facts
    meeting = facts.next_meeting
    return {
        "language": language,
        "network_name": network.name,
        "signup_address": network.signup_address,
        "to_name": None,
        "day": digest.day,
        "empty": digest.empty,
        "review": [
            {
                "received": babel.dates.format_datetime(
                    item.received_at, "d MMM HH:mm", tzinfo=network.timezone, locale=language
                ),
                "subject": clean_text(item.subject, limit=300),
                "reason": clean_text(item.reason, limit=300),
                "sender": clean_text(item.sender, limit=320) or None,
            }
            for item in facts.review
        ],
        "unsure": [_person(person) for person in facts.unsure],
        "failures": [
            {
                "kind": clean_text(item.kind, limit=40),
                "recipient": clean_text(item.recipient, limit=320),
                "error": clean_text(item.error, limit=300),
            }
            for item in facts.failures
        ],
        "bounces": [clean_text(address, limit=320) for address in facts.bounces],
        "missed_reminders": facts.missed_reminders,
        "held": facts.held,
        "mailbox_recreated": facts.mailbox_recreated,
        "new_members": [_person(person) for person in facts.new_members],
        "cancellations": [{"person": _person(person), "date": date} for person, date in facts.cancellations],
        "leavers": [_person(person) for person in facts.leavers],
        "erasures": facts.erasures,
        "web_changes": facts.web_changes,
        "meeting": meeting,
        "location": location_text(meeting) if meeting else "",
        "expected": [_person(person) for person in sorted_people(facts.expected)],
        "waiting": [_person(person) for person in facts.waiting],
        "csv_filename": attendance_filename(meeting, language) if meeting else None,
        "coming": [
            {
                "date": line.date,
                "theme": clean_text(line.theme, limit=300),
                "capacity": line.capacity,
                "taken": line.taken,
                "waiting": [_person(person) for person in line.waiting],
            }
            for line in facts.coming
        ],
        "promotions": [{"person": _person(person), "date": date} for person, date in facts.promotions],
        "invited": facts.invited,
        "review_unread": facts.review_unread,
        "sheet": _sheet_files(sheet, language),
        "followups_without_attachment": [
            {"date": date, "reason": clean_text(reason, limit=300)}
            for date, reason in facts.followups_without_attachment
        ],
        "proposals": [
            {"person": _person(item.person), "theme": clean_text(item.theme, limit=300)}
            for item in facts.proposals
        ],
    }


def _sheet_files(sheet: SignInSheet | None, language: str) -> dict[str, Any] | None:
    if sheet is None:
        return None
    return {
        "date": sheet.meeting.date,
        "csv": attendance_filename(sheet.meeting, language),
        "page": sheet_page_filename(sheet.meeting, language),
    }


def render_digest(
    env: jinja2.Environment,
    digest: Digest,
    *,
    network: Network,
    to_address: str,
    sender: str,
    message_id: str,
    now: dt.datetime,
    sheet: SignInSheet | None = None,
) -> EmailMessage:
    """The daily digest to the coordinator, in the network's language, with the sign-in sheet when a meeting
    is next; on a meeting's day, with that meeting's `sheet` to mark (CSV) and to print (HTML).

    Raises ValueError for a naive `now`, a bad `message_id`, or a `to_address` that is not exactly one
    mailbox.
    """
    require_aware(now)
    language = reply_language(network.language, network)
    context = digest_context(digest, network, language, sheet)
    text = tidy_text(env.get_template("digest.txt").render(context))
    html = env.get_template("digest.html").render(context)
    attachments = _sheet_attachments(env, sheet) if sheet is not None else []
    # On the day, today's sheet is the next meeting's list (numbered, to mark); after the meeting began, the
    # next one's list comes as well.
    if (
        digest.facts.next_meeting is not None
        and digest.csv
        and (sheet is None or sheet.meeting.date != digest.facts.next_meeting.date)
    ):
        filename = attendance_filename(digest.facts.next_meeting, language)
        # RFC 4180 3 (text/csv): the header parameter says the first row names the columns.
        attachments.append(Attachment('text/csv; charset="utf-8"; header="present"', filename, digest.csv))
    return assemble(
        sender=sender_value(clean_text(network.name), sender),
        to=mailbox_value("To", "", to_address.strip()),
        subject=clean_text(digest.subject, limit=300),
        date=now.astimezone(network.timezone),
        message_id=message_id,
        auto_submitted="auto-generated",  # RFC 3834 5
        loop=network.signup_address,
        language=language,
        text=text,
        html=html,
        attachments=attachments,
    )


def _sheet_attachments(env: jinja2.Environment, sheet: SignInSheet) -> list[Attachment]:
    """A meeting's sign-in sheet twice, as the digest carries it on its day: the CSV and the page to print."""
    return [
        # RFC 4180 3 (text/csv): the header parameter says the first row names the columns.
        Attachment(
            'text/csv; charset="utf-8"; header="present"',
            attendance_filename(sheet.meeting, sheet.language),
            sheet_csv(sheet),
        ),
        Attachment(
            'text/html; charset="utf-8"',
            sheet_page_filename(sheet.meeting, sheet.language),
            sheet_html(env, sheet).encode("utf-8"),
        ),
    ]


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
    language = reply_language(network.language, network)
    context = {
        "language": language,
        "network_name": network.name,
        "limit": limit,
        "allowed": allowed,
        "held_id": held_id,
    }
    return assemble(
        sender=sender_value(clean_text(network.name), sender),
        to=mailbox_value("To", "", to_address.strip()),
        subject=i18n.translations(language)
        .gettext("{name}: replies held")
        .format(name=clean_text(network.name)),
        date=now.astimezone(network.timezone),
        message_id=message_id,
        auto_submitted="auto-generated",  # RFC 3834 5
        loop=network.signup_address,
        language=language,
        text=tidy_text(env.get_template("notice_held.txt").render(context)),
        html=env.get_template("notice_held.html").render(context),
    )
