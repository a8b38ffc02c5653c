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

import babel.lists
import jinja2

from mailflow.core.calendar.ics import MeetingDetails, ics_filename, meeting_ics
from mailflow.core.mail.compose import (
    Attachment,
    assemble,
    calendar_attachment,
    clean_text,
    list_unsubscribe,
    mailbox_value,
    require_aware,
    sender_value,
)
from mailflow.core.mail.shared import finished, mail_language, meeting_values, shared_context
from mailflow.core.mail.subjects import reminder_when, subject
from mailflow.core.mail.templates import tidy_text
from mailflow.core.vocabulary import Instruction, MailKind, instruction_phrase
from mailflow.settings import Network

__all__ = [
    "MEMBER_KINDS",
    "MemberMail",
    "member_mail_context",
    "member_mail_subject",
    "render_member_mail",
]

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
    """Everything a member-mail template may use; the names are cleaned first. The mail greets the members
    it is for by their first names and speaks to as many people ("jullie" to two)."""
    names = [name for name in (clean_text(n) for n in mail.names) if name]
    return {
        **shared_context(network, language, names),
        **meeting_values(mail.meeting, language),
        **meeting_values(mail.previous, language, prefix="previous_"),
        **meeting_values(mail.next_meeting, language, prefix="next_"),
        "to_name": babel.lists.format_list(names, locale=language) if names else None,
        "people_count": max(len(names), 1),
        "days_before": mail.days_before,
        # Counted from now, not from the offset: a reminder sent late after downtime still says the truth.
        "days_left": _days_left(mail, network, now),
        "changes": mail.changes,
        "waiting": mail.waiting,
        "calendar": mail.calendar,
        "followup": mail.followup,
        "attachments": [attachment.filename for attachment in mail.attachments],
    }


def _days_left(mail: MemberMail, network: Network, now: dt.datetime) -> int:
    return max(0, (mail.meeting.date - now.astimezone(network.timezone).date()).days)


def member_mail_subject(mail: MemberMail, network: Network, language: str, now: dt.datetime) -> str:
    """ "Herinnering: morgen 19:30 - Leernetwerk", "Uitnodiging: di 10 maart - Leernetwerk", ..."""
    today = now.astimezone(network.timezone).date()
    when = reminder_when(mail.meeting.starts_at, today, language) if mail.kind == MailKind.REMINDER else None
    return subject(
        mail.kind,
        language,
        clean_text(network.short),
        mail.meeting.date,
        when=when,
        people=max(len(mail.names), 1),
        back_on="status" in mail.changes,
    )


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
    language = mail_language(mail.language, network)
    context = member_mail_context(mail, network, language, now)
    text, html = finished(
        tidy_text(env.get_template(f"{mail.kind}.txt").render(context)),
        env.get_template(f"{mail.kind}.html").render(context),
        language,
    )
    attachments = list(mail.attachments)
    if mail.calendar is not None:
        status = "CANCELLED" if mail.calendar == "CANCEL" else "CONFIRMED"
        ics = meeting_ics(mail.meeting, network, mail.calendar, now=now, language=language, status=status)
        attachments.insert(0, calendar_attachment(ics, ics_filename(mail.meeting, network), mail.calendar))
    return assemble(
        sender=sender_value(clean_text(network.name), sender),
        to=mailbox_value("To", context["to_name"] or "", mail.to_address.strip()),
        subject=member_mail_subject(mail, network, language, now),
        date=now.astimezone(network.timezone),
        message_id=message_id,
        # RFC 3834 5: it answers nothing, so "auto-generated", and no In-Reply-To.
        auto_submitted="auto-generated",
        loop=network.signup_address,
        language=language,
        text=text,
        html=html,
        attachments=attachments,
        # RFC 2369: a mail client's "unsubscribe" writes to us with the words our mails teach for leaving,
        # which mailflow reads as a request to leave (core/vocabulary.py, INSTRUCTION_PHRASES).
        unsubscribe=list_unsubscribe(network.signup_address, instruction_phrase(Instruction.LEAVE, language)),
    )
