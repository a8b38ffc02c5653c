"""The mails mailflow starts on its own to the people of one meeting: the invitation, reminders, a place from
the waiting list, a change of the meeting or its cancellation, and the follow-up the day after.

One mail goes to one address; several members sharing it (two colleagues, a couple) are named together.
Pure: no network, no database, no clock — `now` is passed in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import babel.dates
import babel.lists
import jinja2

from mailflow.core import i18n
from mailflow.core.calendar.ics import MeetingDetails, ics_filename, location_text, meeting_ics
from mailflow.core.mail.compose import (
    Attachment,
    assemble,
    calendar_attachment,
    clean_text,
    mailbox_value,
    require_aware,
    sender_value,
)
from mailflow.core.mail.render import reply_language
from mailflow.core.mail.templates import tidy_text
from mailflow.core.vocabulary import MailKind
from mailflow.settings import Network

__all__ = ["MEMBER_KINDS", "MemberMail", "member_mail_context", "render_member_mail"]

# The kinds this module writes, each with templates "<kind>.txt" and "<kind>.html".
MEMBER_KINDS: tuple[MailKind, ...] = (
    MailKind.INVITATION,
    MailKind.REMINDER,
    MailKind.PROMOTED,
    MailKind.UPDATE,
    MailKind.MEETING_CANCELLED,
    MailKind.FOLLOWUP,
)


@dataclass(frozen=True)
class MemberMail:
    """One mail about one meeting to one address. `names` are the members it is for (several when they share
    the address); `calendar` says which .ics goes with it: "PUBLISH" adds or updates the event, "CANCEL"
    takes it out, None sends none (the waiting list has no event until a place is given)."""

    kind: MailKind
    names: tuple[str, ...]
    to_address: str
    language: str
    meeting: MeetingDetails
    calendar: str | None = "PUBLISH"
    days_before: int = 0  # a reminder's configured offset
    # An update's changed fields: "date", "time", "place", "theme", "speakers"; "status": held after all.
    changes: tuple[str, ...] = ()
    previous: MeetingDetails | None = None  # an update: what people were told before
    waiting: bool = False  # the mail goes to people on the waiting list
    followup: str | None = None  # the follow-up's text or URL
    next_meeting: MeetingDetails | None = None  # the follow-up names the next one
    attachments: tuple[Attachment, ...] = field(default=())  # e.g. the follow-up's file

    def __post_init__(self) -> None:
        if self.kind not in MEMBER_KINDS:
            raise ValueError(f"kind must be one of {', '.join(MEMBER_KINDS)}, got {self.kind!r}")
        if self.days_before < 0:
            raise ValueError(f"days_before must be >= 0, got {self.days_before}")
        if self.calendar not in (None, "PUBLISH", "CANCEL"):
            raise ValueError(f"calendar must be PUBLISH, CANCEL or None, got {self.calendar!r}")


def member_mail_context(
    mail: MemberMail, network: Network, language: str, now: dt.datetime
) -> dict[str, Any]:
    """Everything a member-mail template may use; the names are cleaned first."""
    names = [name for name in (clean_text(n) for n in mail.names) if name]
    return {
        "language": language,
        "network_name": network.name,
        "signup_address": network.signup_address,
        "to_name": babel.lists.format_list(names, locale=language) if names else None,
        "people_count": max(len(names), 1),
        "meeting": mail.meeting,
        "location": location_text(mail.meeting),
        "days_before": mail.days_before,
        # Counted from now, not from the offset: a reminder sent late after downtime still says the truth.
        "days_left": max(0, (mail.meeting.date - now.astimezone(network.timezone).date()).days),
        "changes": mail.changes,
        "previous": mail.previous,
        "previous_location": location_text(mail.previous) if mail.previous else "",
        "waiting": mail.waiting,
        "calendar": mail.calendar,
        "followup": mail.followup,
        "next_meeting": mail.next_meeting,
        "attachments": [attachment.filename for attachment in mail.attachments],
    }


def _subject(kind: MailKind, language: str) -> str:
    gettext = i18n.translations(language).gettext
    if kind == MailKind.FOLLOWUP:
        return gettext("After the meeting of {day}: {name}")
    subjects = {
        MailKind.INVITATION: gettext("Invitation: {name}, {day}"),
        MailKind.REMINDER: gettext("Reminder: {name}, {day}"),
        MailKind.PROMOTED: gettext("A place has come free for you: {name}, {day}"),
        # The changes of a meeting and its cancellation (meeting_changes).
        MailKind.UPDATE: gettext("Changed: {name}, {day}"),
        MailKind.MEETING_CANCELLED: gettext("Cancelled: {name}, {day}"),
    }
    return subjects[kind]


def render_member_mail(
    env: jinja2.Environment,
    mail: MemberMail,
    *,
    network: Network,
    sender: str,
    message_id: str,
    now: dt.datetime,
) -> EmailMessage:
    """The complete mail: headers for one address, text and HTML, the .ics and any attachment.

    Raises ValueError for a naive `now`, a bad `message_id`, or a `to_address` that is not one mailbox.
    """
    require_aware(now)
    language = reply_language(mail.language, network)
    context = member_mail_context(mail, network, language, now)
    text = tidy_text(env.get_template(f"{mail.kind}.txt").render(context))
    html = env.get_template(f"{mail.kind}.html").render(context)
    attachments = list(mail.attachments)
    if mail.calendar is not None:
        status = "CANCELLED" if mail.calendar == "CANCEL" else "CONFIRMED"
        ics = meeting_ics(mail.meeting, network, mail.calendar, now=now, language=language, status=status)
        attachments.insert(0, calendar_attachment(ics, ics_filename(mail.meeting, network), mail.calendar))
    day = babel.dates.format_date(mail.meeting.date, format="full", locale=language)
    return assemble(
        sender=sender_value(clean_text(network.name), sender),
        to=mailbox_value("To", context["to_name"] or "", mail.to_address.strip()),
        subject=_subject(mail.kind, language).format(name=clean_text(network.name), day=day),
        date=now.astimezone(network.timezone),
        message_id=message_id,
        # RFC 3834 5: it answers nothing, so "auto-generated", and no In-Reply-To.
        auto_submitted="auto-generated",
        loop=network.signup_address,
        language=language,
        text=text,
        html=html,
        attachments=attachments,
    )
