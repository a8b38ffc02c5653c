"""What waits for the coordinator: the mails in the review folder (mailflow's reading and reason, the text),
to apply as read, correct and apply, or mark handled; and the replies held by a sending limit, to release or
drop."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from mailflow.adapters.db import models
from mailflow.core.parsing import Intent, Person
from mailflow.core.parsing.headers import valid_address
from mailflow.web import mails, reads
from mailflow.web.changes import Gone
from mailflow.web.desk import _, desk, field, note, now, number

pages = Blueprint("review", __name__)

PEOPLE_ROWS = 3  # empty rows of the correction form, beyond the people mailflow read
MAX_PEOPLE = 20


@pages.get("/review")
def overview() -> str:
    app = desk().app
    held = [reads.SentLine(row, reads.subject(row.raw)) for row in mails.held(app)]
    return render_template("review.html", mails=mails.waiting(app), held=held)


@pages.get("/review/<int:inbound_id>")
def mail(inbound_id: int) -> str:
    app = desk().app
    try:
        stored = mails.stored(app, inbound_id)
    except Gone:
        abort(404)
    reading = stored.reading
    people = list(reading.people) if reading else []
    with app.sessions() as db:
        return render_template(
            "review_mail.html",
            mail=stored,
            people=people + [Person("")] * max(PEOPLE_ROWS, 1 if not people else 0),
            meetings=reads.coming_meetings(db, now()),
            intents=mails.ACTED_ON,
            chosen_meeting=reading.meeting_date if reading else None,
        )


@pages.post("/review/<int:inbound_id>/apply")
def apply(inbound_id: int) -> BaseResponse:
    try:
        outcome = mails.apply_reading(desk().app, inbound_id, now())
    except Gone:
        abort(404)
    except ValueError:
        note(_("mailflow does not act on this reading: correct it, or mark the mail handled."), "problem")
        return redirect(url_for("review.mail", inbound_id=inbound_id))
    return _after(inbound_id, outcome)


@pages.post("/review/<int:inbound_id>/correct")
def correct(inbound_id: int) -> BaseResponse:
    app = desk().app
    try:
        intent = Intent(request.form.get("intent", ""))
    except ValueError:
        intent = Intent.OTHER
    people, problems = _people()
    meeting_id = number("meeting")
    meeting_date = None
    if meeting_id is not None:
        with app.sessions() as db:
            meeting = db.get(models.Meeting, meeting_id)
            meeting_date = meeting.date if meeting is not None else None
    if intent not in mails.ACTED_ON:
        problems.append(_("Choose what the mail asks."))
    if intent == Intent.REGISTER and not people:
        problems.append(_("Give at least one person to register."))
    if problems:
        for problem in problems:
            note(problem, "problem")
        return redirect(url_for("review.mail", inbound_id=inbound_id))
    try:
        outcome = mails.apply_correction(app, inbound_id, intent, meeting_date, people, now())
    except Gone:
        abort(404)
    except ValueError:
        note(
            _("This mail has no single sender address to act for: deal with it in the mail program."),
            "problem",
        )
        return redirect(url_for("review.mail", inbound_id=inbound_id))
    return _after(inbound_id, outcome)


@pages.post("/review/<int:inbound_id>/handled")
def handled(inbound_id: int) -> BaseResponse:
    try:
        outcome = mails.mark_handled(desk().app, inbound_id, now())
    except Gone:
        abort(404)
    return _after(inbound_id, outcome)


@pages.post("/held/<int:outbox_id>/<action>")
def held(outbox_id: int, action: str) -> BaseResponse:
    if action == "release":
        done = mails.release(desk().app, outbox_id, now())
        note(
            _("Released: it goes out with mailflow's next pass.")
            if done
            else _("That reply is no longer held.")
        )
    elif action == "drop":
        done = mails.drop(desk().app, outbox_id, now())
        note(_("Dropped: it will not be sent.") if done else _("That reply is no longer held."))
    else:
        abort(404)
    return redirect(url_for("review.overview"))


def _people() -> tuple[list[Person], list[str]]:
    """The people of the correction form: a name, and an organisation and an address when given."""
    people, problems = [], []
    for row in range(MAX_PEOPLE):
        name = field(f"name_{row}")
        if not name:
            continue
        address = field(f"email_{row}", 320).lower()
        if address and not valid_address(address):
            problems.append(_("{address} is not an email address.").format(address=address))
        people.append(Person(name, field(f"organisation_{row}") or None, address or None, 1.0))
    return people, problems


def _after(inbound_id: int, outcome: mails.Outcome) -> BaseResponse:
    """Tell what became of the mail; back to the list, or to the mail while it still needs the coordinator."""
    if outcome.filed is mails.Filed.KEPT:
        note(_("Done, but mailflow still needs you: {reason}").format(reason=outcome.review or ""), "problem")
        return redirect(url_for("review.mail", inbound_id=inbound_id))
    messages = {
        mails.Filed.MOVED: _("Done. The mail was moved to the processed folder."),
        mails.Filed.NOT_FOUND: _("Done. The mail was no longer in the review folder."),
        mails.Filed.NO_MAILBOX: _("Done."),
        mails.Filed.UNREACHABLE: _(
            "Done, but the mailbox could not be reached: the mail is still in the review folder. "
            "Mark it handled again later."
        ),
    }
    note(messages[outcome.filed], "problem" if outcome.filed is mails.Filed.UNREACHABLE else "done")
    return redirect(url_for("review.overview"))
