"""The meetings: coming and past with their numbers; one meeting with its lists, its sign-in sheet (the
spreadsheet and the page to print, as the digest carries them) and the form to record who came."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers.response import Response as BaseResponse

from mailflow.adapters.db import agenda, models
from mailflow.core import sheet as sheet_core
from mailflow.core.calendar.ics import location_text
from mailflow.core.digest import attendance_filename
from mailflow.core.vocabulary import MeetingStatus, RegistrationStatus
from mailflow.errors import MailflowError
from mailflow.usecases.context import meeting_details
from mailflow.web import changes, reads
from mailflow.web.desk import _, desk, note, now, number, numbers
from mailflow.web.security import policy_for_own_page

pages = Blueprint("meetings", __name__)

MAX_WALK_INS = 1000


@pages.get("/meetings")
def overview() -> str:
    with desk().app.sessions() as db:
        coming, past = reads.meeting_lines(db, now())
        return render_template("meetings.html", coming=coming, past=past)


@pages.get("/meetings/<int:meeting_id>")
def meeting(meeting_id: int) -> str:
    with desk().app.sessions() as db:
        row = _meeting(db, meeting_id)
        registrations = agenda.registrations_of(db, row)
        by_name = sorted(registrations, key=lambda r: (r.member.name_key, r.member_id))
        began = row.starts_at <= now()
        return render_template(
            "meeting.html",
            meeting=row,
            place=location_text(meeting_details(desk().app, row)),
            taken=agenda.places_taken(db, row),
            registered=[r for r in by_name if r.status == RegistrationStatus.REGISTERED],
            waiting=agenda.waiting_for(db, row),
            cancelled=[r for r in by_name if r.status == RegistrationStatus.CANCELLED],
            began=began,
            attendance=changes.attendance_list(db, row) if began else [],
            confirmed=row.status == MeetingStatus.CONFIRMED,
        )


@pages.get("/meetings/<int:meeting_id>/sheet.csv")
def sheet_csv(meeting_id: int) -> Response:
    """The sign-in sheet to mark in a spreadsheet; `mailflow attendance --from` reads it back."""
    sheet = _sheet(meeting_id)
    response = Response(sheet_core.sheet_csv(sheet), content_type="text/csv; charset=utf-8")
    response.headers.set(
        "Content-Disposition", "attachment", filename=attendance_filename(sheet.meeting, sheet.language)
    )
    return response


@pages.get("/meetings/<int:meeting_id>/sheet.html")
def sheet_page(meeting_id: int) -> Response:
    """The sign-in sheet to print, as the digest attaches it on the meeting's day."""
    page = sheet_core.sheet_html(desk().app.templates, _sheet(meeting_id))
    response = Response(page, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = policy_for_own_page(page)
    return response


@pages.post("/meetings/<int:meeting_id>/attendance")
def record_attendance(meeting_id: int) -> BaseResponse:
    walk_ins = min(number("walk_ins") or 0, MAX_WALK_INS)
    try:
        done = changes.record_attendance(desk().app, meeting_id, numbers("came"), walk_ins, now())
    except changes.Gone:
        abort(404)
    except MailflowError as exc:
        note(_("Nothing was recorded: {reason}").format(reason=str(exc)), "problem")
    else:
        note(
            _("Recorded: {came} came, {absent} did not, {walk_ins} came unregistered.").format(
                came=done.came, absent=done.absent, walk_ins=done.walk_ins
            )
        )
    return redirect(url_for("meetings.meeting", meeting_id=meeting_id))


def _meeting(db: Session, meeting_id: int) -> models.Meeting:
    row = db.get(models.Meeting, meeting_id)
    if row is None:
        abort(404)
    return row


def _sheet(meeting_id: int) -> sheet_core.SignInSheet:
    app = desk().app
    with app.sessions() as db:
        row = _meeting(db, meeting_id)
        people = [
            sheet_core.SheetPerson(m.id, m.name, m.organisation, m.email)
            for m in agenda.registered_for(db, row)
        ]
        return sheet_core.sign_in_sheet(meeting_details(app, row), people, app.config.network)
