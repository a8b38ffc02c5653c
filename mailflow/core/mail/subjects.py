"""The subject line of every mail: the outcome first, then the day, then the network's short name, so that a
phone shows what happened before it cuts the line off ("Ingeschreven: di 10 maart - Leernetwerk",
"Herinnering: morgen 19:30 - Leernetwerk"). Under 60 characters with a short name of a word or two.

Pure: the texts are the catalogues' (gettext), the dates babel's.
"""

from __future__ import annotations

import datetime as dt

from mailflow.core import i18n
from mailflow.core.typography import fill, finish, short_date
from mailflow.core.vocabulary import MailKind

__all__ = ["SUBJECT_LIMIT", "no_meeting_subject", "notice_subject", "reminder_when", "subject"]

SUBJECT_LIMIT = 60  # what a phone shows of a subject in a mail list, roughly


# The kinds whose subject names the meeting's day when they have one.
_ABOUT_A_DAY = frozenset(
    {
        MailKind.REGISTER,
        MailKind.WAITLIST,
        MailKind.CANCEL,
        MailKind.INVITATION,
        MailKind.PROMOTED,
        MailKind.UPDATE,
        MailKind.MEETING_CANCELLED,
        MailKind.FOLLOWUP,
    }
)


def reminder_when(starts_at: dt.datetime, today: dt.date, language: str) -> str:
    """When a meeting starts, as a reminder's subject says it: "vandaag 19:30", "morgen 19:30",
    "di 10 maart 19:30" ("demain 19h30" in French)."""
    translations = i18n.translations(language)
    clock = str(translations.pgettext("time of day", "%(hour)s:%(minute)s")) % {
        "hour": starts_at.strftime("%H"),
        "minute": starts_at.strftime("%M"),
    }
    days = (starts_at.date() - today).days
    if days == 0:
        return translations.gettext("today {time}").format(time=clock)
    if days == 1:
        return translations.gettext("tomorrow {time}").format(time=clock)
    return f"{short_date(starts_at.date(), language)} {clock}"


def subject(
    kind: str,
    language: str,
    network: str,
    day: dt.date | None = None,
    *,
    when: str | None = None,
    people: int = 1,
    back_on: bool = False,
) -> str:
    """The subject of a reply or a mail about a meeting. `kind` is a MailKind; `day` the meeting's date
    (None: the reply names no meeting); `when` a reminder's start ("morgen 19:30"); `people` how many the
    mail is for; `back_on` an update saying a cancelled meeting takes place after all.

    Raises KeyError for a kind that has no subject of its own."""
    gettext = i18n.translations(language).gettext
    ngettext = i18n.translations(language).ngettext
    if kind == MailKind.REMINDER:
        text = gettext("Reminder: {when} - {network}")
    elif day is not None and kind in _ABOUT_A_DAY:
        text = {
            MailKind.REGISTER: gettext("Registered: {day} - {network}"),
            MailKind.WAITLIST: gettext("Waiting list: {day} - {network}"),
            MailKind.CANCEL: gettext("Cancellation noted: {day} - {network}"),
            MailKind.INVITATION: gettext("Invitation: {day} - {network}"),
            MailKind.PROMOTED: ngettext(
                "You have a place: {day} - {network}", "You have places: {day} - {network}", people
            ),
            MailKind.UPDATE: (
                gettext("Going ahead after all: {day} - {network}")
                if back_on
                else gettext("Changed: {day} - {network}")
            ),
            MailKind.MEETING_CANCELLED: gettext("Called off: {day} - {network}"),
            MailKind.FOLLOWUP: gettext("After the meeting of {day} - {network}"),
        }[MailKind(kind)]
    else:
        text = {
            MailKind.REGISTER: gettext("Registered - {network}"),
            MailKind.WAITLIST: gettext("Waiting list - {network}"),
            MailKind.CANCEL: gettext("Cancellation noted - {network}"),
            MailKind.UNSUBSCRIBE: gettext("You have left the network - {network}"),
            MailKind.ERASE: gettext("Your data is erased - {network}"),
            MailKind.QUESTION: gettext("Your question is passed on - {network}"),
            MailKind.PROPOSE: gettext("Thank you for your proposal - {network}"),
        }[MailKind(kind)]
    written = short_date(day, language) if day is not None else ""
    return finish(fill(text, language, day=written, when=when or "", network=network), language)


def no_meeting_subject(asked: dt.date, language: str, network: str) -> str:
    """A registration for a day with no confirmed meeting: "Geen bijeenkomst op di 10 maart - Leernetwerk"."""
    text = i18n.translations(language).gettext("No meeting on {day} - {network}")
    return finish(fill(text, language, day=short_date(asked, language), network=network), language)


def notice_subject(language: str, network: str) -> str:
    """The coordinator's notice of replies held back by a limit."""
    text = i18n.translations(language).gettext("Replies held back - {network}")
    return finish(fill(text, language, network=network), language)
