"""The members: search, add someone by hand, and one member's page: correct them, their registrations
(register, move, cancel, remove), the mail sent to them and read from them, and forgetting them (asked to
confirm first).

Searching is a POST: what is typed stays out of URLs, and so out of logs and the browser's history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from mailflow.adapters.db import models, queries
from mailflow.core.parsing.headers import valid_address
from mailflow.core.vocabulary import RegistrationStatus
from mailflow.errors import MailflowError
from mailflow.settings import LANGUAGES
from mailflow.usecases.context import App
from mailflow.web import changes, reads
from mailflow.web.desk import _, desk, field, note, now, number

pages = Blueprint("members", __name__)

P = ParamSpec("P")
R = TypeVar("R")


@pages.route("/members", methods=["GET", "POST"])
def overview() -> str:
    return _overview(field("search", 200) if request.method == "POST" else "")


def _overview(search: str, problems: tuple[str, ...] = (), typed: dict[str, str] | None = None) -> str:
    with desk().app.sessions() as db:
        found = reads.find_members(db, search)
        return render_template(
            "members.html",
            search=search,
            members=found,
            meetings=reads.coming_meetings(db, now()),
            languages=LANGUAGES,
            problems=problems,
            typed=typed or {"language": desk().language},
        )


@pages.post("/members/new")
def add() -> BaseResponse | tuple[str, int]:
    typed = {key: field(key) for key in ("name", "organisation", "email", "language", "meeting")}
    name, email = typed["name"], typed["email"].lower()
    language = typed["language"] if typed["language"] in LANGUAGES else desk().language
    problems = []
    if not name:
        problems.append(_("Give the person's name."))
    if not valid_address(email):
        problems.append(_("Give their email address, like an.peeters@example.org: mailflow writes to it."))
    if problems:
        return _overview("", tuple(problems), typed), 400
    try:
        added = changes.add_member(
            desk().app,
            name=name,
            organisation=typed["organisation"] or None,
            email=email,
            language=language,
            meeting_id=number("meeting"),
            now=now(),
        )
    except changes.Gone:
        note(_("That meeting can no longer be registered for; the person was not added."), "problem")
        return redirect(url_for("members.overview"))
    if added.existed:
        note(_("A member of that name at that address is here already: nothing was added."), "problem")
    else:
        note(_status_note(added.status) if added.status else _("Added."))
    return redirect(url_for("members.member", member_id=added.member_id))


@pages.get("/members/<int:member_id>")
def member(member_id: int) -> str:
    with desk().app.sessions() as db:
        row = db.get(models.Member, member_id)
        if row is None:
            abort(404)
        registrations = sorted(row.registrations, key=lambda r: r.meeting.date, reverse=True)
        return render_template(
            "member.html",
            member=row,
            registrations=registrations,
            coming_meetings=reads.coming_meetings(db, now()),
            sent=reads.mails_to(db, row),
            received=reads.mails_from(db, row),
            bounces=reads.bounces(db, row),
            same_address=[m for m in queries.members_at(db, row.email) if m.id != row.id],
            languages=LANGUAGES,
            now=now(),
        )


@pages.post("/members/<int:member_id>/edit")
def edit(member_id: int) -> BaseResponse:
    name = field("name")
    if not name:
        note(_("A member needs a name; nothing was changed."), "problem")
        return redirect(url_for("members.member", member_id=member_id))
    language = field("language")
    changed = _change(
        changes.edit_member,
        member_id,
        name=name,
        organisation=field("organisation") or None,
        language=language if language in LANGUAGES else desk().language,
        unsure=request.form.get("unsure") == "yes",
        now=now(),
    )
    note(_("Saved.") if changed else _("Nothing was changed."))
    return redirect(url_for("members.member", member_id=member_id))


@pages.post("/members/<int:member_id>/register")
def register(member_id: int) -> BaseResponse:
    meeting_id = number("meeting")
    if meeting_id is None:
        note(_("Choose a meeting."), "problem")
    else:
        note(_status_note(_change(changes.register, member_id, meeting_id, now())))
    return redirect(url_for("members.member", member_id=member_id))


@pages.post("/members/<int:member_id>/registrations/<int:registration_id>/<action>")
def registration(member_id: int, registration_id: int, action: str) -> BaseResponse:
    """Move a registration to another meeting, cancel it, or remove it."""
    app = desk().app
    with app.sessions() as db:
        row = db.get(models.Registration, registration_id)
        if row is None or row.member_id != member_id:
            abort(404)
    if action == "move":
        meeting_id = number("meeting")
        if meeting_id is None:
            note(_("Choose the meeting to move to."), "problem")
        else:
            note(_status_note(_change(changes.move_registration, registration_id, meeting_id, now())))
    elif action == "cancel":
        _change(changes.cancel_registration, registration_id, now())
        note(_("Cancelled: their place went to the first on the waiting list, if anyone was waiting."))
    elif action == "remove":
        _change(changes.remove_registration, registration_id, now())
        note(_("Removed from that meeting's list."))
    else:
        abort(404)
    return redirect(url_for("members.member", member_id=member_id))


@pages.route("/members/<int:member_id>/forget", methods=["GET", "POST"])
def forget(member_id: int) -> BaseResponse | str:
    """First the confirmation page (who goes: everyone at the address); forgetting only with its answer."""
    app = desk().app
    if request.method == "POST" and request.form.get("confirmed") == "yes":
        try:
            done = _change(changes.forget, member_id, now())
        except MailflowError:
            note(_("The mailbox cannot be reached now, so nothing was deleted. Try again later."), "problem")
            return redirect(url_for("members.member", member_id=member_id))
        if done.copies is None:
            note(
                _(
                    "Forgotten in the database. Copies of their mail in the mailbox were not deleted (it "
                    "went away, or the config has no [imap]): delete them in the mail program."
                ),
                "problem",
            )
        else:
            note(_("Forgotten: nothing of them remains in the database or in the mailbox's folders."))
        return redirect(url_for("members.overview"))
    with app.sessions() as db:
        row = db.get(models.Member, member_id)
        if row is None:
            abort(404)
        return render_template("forget.html", member=row, everyone=queries.members_at(db, row.email))


def _change(work: Callable[Concatenate[App, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
    """A change of changes.py on this server's App; a row the form names that is gone is a 404."""
    try:
        return work(desk().app, *args, **kwargs)
    except changes.Gone:
        abort(404)


def _status_note(status: RegistrationStatus | None) -> str:
    if status == RegistrationStatus.WAITING:
        return _("The meeting is full: they are on its waiting list.")
    return _("Registered.")
