"""Why a mail waits for the coordinator, in words a coordinator reads: each reason mailflow records has a
code, and the digest shows the code's sentence in the digest's language.

The database keeps the reason as mailflow wrote it (short English, free of personal data, for the admin and
the logs): "other: no request recognised", "unsure reading: register: wants to attend or join; surname read
from the mail address". `reasons_of()` reads the codes back from that text, so rows written before the codes
existed read the same; `explain()` gives the sentences.

Pure: text in, text out.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from mailflow.core import i18n
from mailflow.core.typography import long_date

__all__ = ["ReviewReason", "Unsure", "explain", "followup_problem", "reasons_of"]


class ReviewReason(StrEnum):
    """Why a mail is in the review folder."""

    QUESTION = "question"  # asks the coordinator something, and nothing else
    ALSO_QUESTION = "also_question"  # done (registered, ...), and also asks something
    UNSURE = "unsure"  # done on a reading mailflow was not sure of (see Unsure)
    NO_REQUEST = "no_request"  # no register, cancel, leave or erase recognised
    BULK = "bulk"  # a newsletter or list mail
    NOT_OURS = "not_ours"  # about an event that is not the network's
    OTHER_TOPIC = "other_topic"  # a question about something else
    SPAM = "spam"
    OWN_ADDRESS = "own_address"  # sent from our own address
    NOT_A_MAIL = "not_a_mail"  # no header block
    UNREADABLE = "unreadable"  # broken MIME the parser gave up on
    TOO_LARGE = "too_large"  # never downloaded
    NO_SENDER = "no_sender"  # not exactly one plain From address: never answered
    STRANGER = "stranger"  # a registration from an unknown address about nothing of ours
    NO_MEETING_ASKED = "no_meeting_asked"  # registers for a day with no confirmed meeting
    NO_MEETING_CANCELLED = "no_meeting_cancelled"  # cancels a day with no confirmed meeting
    KEPT_HELD = "kept_held"  # reads another name or organisation, unsure: what we hold is kept
    REPEAT = "repeat"  # not answered: the same reply went to the address within 24 hours
    FAILED = "failed"  # processing failed again and again
    BY_HAND = "by_hand"  # put in the folder by someone, not by mailflow
    UNKNOWN = "unknown"  # a reason this version does not know


class Unsure(StrEnum):
    """What made a reading unsure: the parts of a name or organisation to check."""

    SURNAME_FROM_ADDRESS = "surname_from_address"
    FIRST_NAME_ONLY = "first_name_only"
    TITLE_ONLY = "title_only"
    ORGANISATION_FROM_DOMAIN = "organisation_from_domain"
    COLLEAGUE_FIRST_NAME = "colleague_first_name"
    CUT = "cut"  # too long or malformed
    SUBJECT_ONLY = "subject_only"
    FORWARDED = "forwarded"


@dataclass(frozen=True)
class Found:
    """A reason read back: its code, what to check when unsure, and the day or number it names."""

    reason: ReviewReason
    unsure: tuple[Unsure, ...] = ()
    day: str | None = None  # an ISO date
    number: int | None = None


# The parts of a stored reason ("; " between them), read in order; the first pattern that matches a part
# gives its code. Patterns match what mailflow writes (core/parsing, usecases/intake.py and actions.py).
_REASONS: tuple[tuple[re.Pattern[str], ReviewReason], ...] = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"^(question: |a question for the coordinator)", ReviewReason.QUESTION),
        (r"^also asks a question", ReviewReason.ALSO_QUESTION),
        (r"^other: (a newsletter|newsletter|mailing-list)", ReviewReason.BULK),
        (r"^other: names an event that is not ours", ReviewReason.NOT_OURS),
        (r"^other: a question about something else", ReviewReason.OTHER_TOPIC),
        (r"^other: spam", ReviewReason.SPAM),
        (r"^other: sent from our own address|^our own mail", ReviewReason.OWN_ADDRESS),
        (r"^other: no header block", ReviewReason.NOT_A_MAIL),
        (r"^unreadable", ReviewReason.UNREADABLE),
        (r"^larger than (\d+) bytes", ReviewReason.TOO_LARGE),
        (r"^(ambiguous From|no single sender address)", ReviewReason.NO_SENDER),
        (r"^a registration from an unknown address", ReviewReason.STRANGER),
        (r"^asks for (\d{4}-\d\d-\d\d): no meeting", ReviewReason.NO_MEETING_ASKED),
        (r"^cancels (\d{4}-\d\d-\d\d): no meeting", ReviewReason.NO_MEETING_CANCELLED),
        (r"^reads a name or organisation other than the one held", ReviewReason.KEPT_HELD),
        (r"^not answered: the same reply", ReviewReason.REPEAT),
        (r"^processing failed: \w+ (\d+) times", ReviewReason.FAILED),
        (r"^put in the review folder by hand", ReviewReason.BY_HAND),
        (r"^unsure reading", ReviewReason.UNSURE),
        (r"^(other|other: no request recognised)$", ReviewReason.NO_REQUEST),
    )
)
_UNSURE: tuple[tuple[str, Unsure], ...] = (
    ("surname read from the mail address", Unsure.SURNAME_FROM_ADDRESS),
    ("only a first name found", Unsure.FIRST_NAME_ONLY),
    ("comes on a personal title", Unsure.TITLE_ONLY),
    ("organisation guessed from the mail domain", Unsure.ORGANISATION_FROM_DOMAIN),
    ("a colleague named by first name only", Unsure.COLLEAGUE_FIRST_NAME),
    ("too long or malformed", Unsure.CUT),
    ("intent from the subject only", Unsure.SUBJECT_ONLY),
    ("request read from the forwarded mail", Unsure.FORWARDED),
)


def reasons_of(stored: str | None) -> tuple[Found, ...]:
    """The reasons in a stored reason text, each once, in the order written; UNKNOWN when none is known."""
    text = (stored or "").strip()
    found: list[Found] = []
    unsure: list[Unsure] = []
    for part in (p.strip() for p in re.split(r";\s+", text)):
        unsure += [code for phrase, code in _UNSURE if phrase in part and code not in unsure]
        for pattern, reason in _REASONS:
            match = pattern.search(part)
            if match is None:
                continue
            value = match.group(match.lastindex) if match.lastindex else None
            day = value if value and "-" in value else None
            number = int(value) if value and value.isdigit() else None
            if all(item.reason != reason for item in found):
                found.append(Found(reason, day=day, number=number))
            break
    if any(item.reason == ReviewReason.UNSURE for item in found) or (unsure and not found):
        found = [item for item in found if item.reason != ReviewReason.UNSURE]
        found.append(Found(ReviewReason.UNSURE, tuple(unsure)))
    return tuple(found) or (Found(ReviewReason.UNKNOWN),)


def explain(stored: str | None, language: str) -> list[str]:
    """The sentences that tell a coordinator why a mail waits for them, in `language`."""
    return [_sentence(found, language) for found in reasons_of(stored)]


def _sentence(found: Found, language: str) -> str:
    _ = i18n.translations(language).gettext
    day = ""
    if found.day:
        try:
            day = long_date(dt.date.fromisoformat(found.day), language)
        except ValueError:
            day = found.day
    if found.reason == ReviewReason.UNSURE:
        sentence = _(
            "Handled as mailflow read it, but it was not sure of a name or an organisation: check them."
        )
        checks = [_check(code, language) for code in found.unsure]
        return f"{sentence} {' '.join(checks)}".strip()
    if found.reason == ReviewReason.TOO_LARGE:
        megabytes = max(1, (found.number or 0) // (1024 * 1024))
        return _("Too large to download (over {size} MB): read it in the mailbox itself.").format(
            size=megabytes
        )
    if found.reason == ReviewReason.FAILED:
        return _(
            "mailflow failed to process this mail {count} times and gave up: read it yourself, and tell the "
            "admin."
        ).format(count=found.number or 3)
    if found.reason in (ReviewReason.NO_MEETING_ASKED, ReviewReason.NO_MEETING_CANCELLED):
        if found.reason == ReviewReason.NO_MEETING_ASKED:
            text = _(
                "Asks for {day}, but no meeting is confirmed that day. They are a member now, and the reply "
                "listed the confirmed meetings."
            )
        else:
            text = _("Cancels {day}, but no meeting is confirmed that day: nothing was changed.")
        return text.format(day=day)
    return _sentences(language)[found.reason]


def _sentences(language: str) -> dict[ReviewReason, str]:
    _ = i18n.translations(language).gettext
    return {
        ReviewReason.QUESTION: _("A question for you: please answer it yourself."),
        ReviewReason.ALSO_QUESTION: _(
            "Done as asked, but the mail also asks something: please answer it yourself."
        ),
        ReviewReason.NO_REQUEST: _(
            "mailflow found no request in it (to register, cancel, leave or erase data): read it yourself."
        ),
        ReviewReason.BULK: _("Looks like a newsletter or a mailing list's mail; nobody was answered."),
        ReviewReason.NOT_OURS: _("Speaks of an event that is not one of our meetings."),
        ReviewReason.OTHER_TOPIC: _("Asks about something other than our meetings."),
        ReviewReason.SPAM: _("Looks like spam or phishing: do not click anything in it."),
        ReviewReason.OWN_ADDRESS: _("Sent from our own address; not answered."),
        ReviewReason.NOT_A_MAIL: _("Has no headers: it is not a mail as it was sent."),
        ReviewReason.UNREADABLE: _("mailflow could not read this mail (a broken format); open it yourself."),
        ReviewReason.NO_SENDER: _(
            "The sender's address is unclear (none, or several), so nobody was answered."
        ),
        ReviewReason.STRANGER: _(
            "A registration from an unknown address that does not mention the network; nobody was "
            "registered. Register them yourself if it is meant."
        ),
        ReviewReason.KEPT_HELD: _(
            "Gives a name or an organisation other than the one mailflow holds, and it was not sure: it "
            "kept what it holds. Correct it if the mail is right."
        ),
        ReviewReason.REPEAT: _(
            "Not answered: the same reply went to this address less than 24 hours ago (often a robot)."
        ),
        ReviewReason.BY_HAND: _("Put in the review folder by hand."),
        ReviewReason.UNKNOWN: _("mailflow could not deal with this mail by itself."),
    }


def _check(code: Unsure, language: str) -> str:
    _ = i18n.translations(language).gettext
    return {
        Unsure.SURNAME_FROM_ADDRESS: _("The surname was read from the mail address."),
        Unsure.FIRST_NAME_ONLY: _("Only a first name was found."),
        Unsure.TITLE_ONLY: _("The name came with a title (Mr, Mrs) only."),
        Unsure.ORGANISATION_FROM_DOMAIN: _("The organisation was guessed from the mail address."),
        Unsure.COLLEAGUE_FIRST_NAME: _("A colleague was named by first name only."),
        Unsure.CUT: _("A name, organisation or address was too long or malformed, and was cut."),
        Unsure.SUBJECT_ONLY: _("The request was read from the subject only."),
        Unsure.FORWARDED: _("The request was read from a forwarded mail."),
    }[code]


def followup_problem(stored: str, language: str) -> str:
    """Why a follow-up went without its file, as the digest tells it: too large, or unreadable."""
    _ = i18n.translations(language).gettext
    large = re.match(r"^(.*) is (\d+) MB, more than mail can carry", stored)
    if large:
        return _("the file {file} is {size} MB, more than a mail can carry (10 MB)").format(
            file=large.group(1), size=large.group(2)
        )
    unreadable = re.match(r"^(.*) cannot be read", stored)
    if unreadable:
        return _("the file {file} cannot be read").format(file=unreadable.group(1))
    return _("the file cannot be sent")
