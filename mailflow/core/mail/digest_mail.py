"""The coordinator's daily digest as a mail: every section in the network's language, the reasons a mail
waits for review included (core/reasons.py), with the sign-in sheet attached.

Pure: no network, no database, no clock — `now` is passed in.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import Any

import babel.dates
import jinja2

from mailflow.core import i18n
from mailflow.core.digest import Digest, PersonLine, attendance_filename, sorted_people
from mailflow.core.mail.compose import (
    Attachment,
    assemble,
    clean_text,
    mailbox_value,
    require_aware,
    sender_value,
)
from mailflow.core.mail.shared import finished, mail_language, meeting_values, shared_context
from mailflow.core.mail.templates import tidy_text
from mailflow.core.reasons import explain, followup_problem
from mailflow.core.sheet import SignInSheet, sheet_csv, sheet_html, sheet_page_filename
from mailflow.core.vocabulary import MailKind
from mailflow.settings import Network

__all__ = ["digest_context", "kind_name", "render_digest"]


def _person(person: PersonLine) -> dict[str, str | None]:
    return {
        "name": clean_text(person.name) or "?",
        "organisation": clean_text(person.organisation) or None,
        "email": clean_text(person.email, limit=320) or None,
    }


def kind_name(kind: str, language: str) -> str:
    """What a mail was, in the coordinator's words: "herinnering", "rappel", "reminder"."""
    pgettext = i18n.translations(language).pgettext
    names = {
        MailKind.REGISTER: pgettext("kind of mail", "confirmation"),
        MailKind.WAITLIST: pgettext("kind of mail", "waiting-list reply"),
        MailKind.CANCEL: pgettext("kind of mail", "reply to a cancellation"),
        MailKind.UNSUBSCRIBE: pgettext("kind of mail", "reply to a leaver"),
        MailKind.ERASE: pgettext("kind of mail", "erasure confirmation"),
        MailKind.QUESTION: pgettext("kind of mail", "reply to a question"),
        MailKind.PROPOSE: pgettext("kind of mail", "thanks for a proposal"),
        MailKind.REMINDER: pgettext("kind of mail", "reminder"),
        MailKind.PROMOTED: pgettext("kind of mail", "place from the waiting list"),
        MailKind.NOTICE: pgettext("kind of mail", "notice"),
        MailKind.DIGEST: pgettext("kind of mail", "digest"),
        MailKind.INVITATION: pgettext("kind of mail", "invitation"),
        MailKind.UPDATE: pgettext("kind of mail", "change of a meeting"),
        MailKind.MEETING_CANCELLED: pgettext("kind of mail", "meeting called off"),
        MailKind.FOLLOWUP: pgettext("kind of mail", "follow-up"),
    }
    try:
        return str(names[MailKind(kind)])
    except ValueError:
        return str(pgettext("kind of mail", "mail"))


def digest_context(
    digest: Digest, network: Network, language: str, sheet: SignInSheet | None = None
) -> dict[str, Any]:
    """Everything a digest template may use; every value that came from a mail is cleaned first. `sheet` is
    the sign-in sheet of a meeting held today."""
    facts = digest.facts
    meeting = facts.next_meeting
    return {
        **shared_context(network, language),
        **meeting_values(meeting, language),
        "to_name": None,
        "day": digest.day,
        "empty": digest.empty,
        "review": [
            {
                "received": babel.dates.format_datetime(
                    item.received_at,
                    "d MMM HH:mm",
                    tzinfo=network.timezone,
                    locale="en_GB" if language == "en" else language,
                ),
                "subject": clean_text(item.subject, limit=300),
                "reasons": explain(item.reason, language),
                "sender": clean_text(item.sender, limit=320) or None,
            }
            for item in facts.review
        ],
        "unsure": [_person(person) for person in facts.unsure],
        "failures": [
            {
                "kind": kind_name(item.kind, language),
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
            {"date": date, "reason": clean_text(followup_problem(reason, language), limit=300)}
            for date, reason in facts.followups_without_attachment
        ],
        "proposals": [
            {"person": _person(item.person), "theme": clean_text(item.theme, limit=300)}
            for item in facts.proposals
        ],
        "web_changes": facts.web_changes,
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
    language = mail_language(network.language, network)
    context = digest_context(digest, network, language, sheet)
    text, html = finished(
        tidy_text(env.get_template("digest.txt").render(context)),
        env.get_template("digest.html").render(context),
        language,
    )
    attachments = _sheet_attachments(env, sheet) if sheet is not None else []
    # On the day, today's sheet is the next meeting's list (numbered, to mark); after the meeting began, the
    # next one's list comes as well.
    if (
        digest.facts.next_meeting is not None
        and digest.csv
        and (sheet is None or sheet.meeting.date != digest.facts.next_meeting.date)
    ):
        filename = attendance_filename(digest.facts.next_meeting, language)
        # RFC 4180 3 (text/csv): the header parameter says a row names the columns.
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
        # RFC 4180 3 (text/csv): the header parameter says a row names the columns.
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
