"""The outbox (what waits to go, what was held, refused or went stale, and the latest sent) and the period
report with its charts: `mailflow report`'s page and CSV files, the same figures, made on request."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from mailflow.usecases.report import make_report
from mailflow.web import reads
from mailflow.web.desk import desk, now
from mailflow.web.security import policy_for_own_page

pages = Blueprint("outbox", __name__)


@pages.get("/outbox")
def overview() -> str:
    with desk().app.sessions() as db:
        attention, sent = reads.outbox_lines(db)
        return render_template("outbox.html", attention=attention, sent=sent)


@pages.get("/report")
def report_form() -> BaseResponse | str:
    """The period to report on (by default this year so far); the report itself has a URL of its own."""
    first, last = _date(request.args.get("first")), _date(request.args.get("last"))
    if first is not None and last is not None and first <= last:
        return redirect(
            url_for("outbox.report", first=first.isoformat(), last=last.isoformat(), name="report.html")
        )
    today = now().astimezone(desk().app.config.network.timezone).date()
    return render_template("report_form.html", first=today.replace(month=1, day=1), last=today)


@pages.get("/report/<first>/<last>/<name>")
def report(first: str, last: str, name: str) -> Response:
    """A file of the report of that period: "report.html", or one of the CSV files it links to."""
    start, end = _date(first), _date(last)
    if start is None or end is None or start > end or (end - start).days > 3660:
        abort(404)
    files = make_report(desk().app, start, end, now()).files
    if name not in files:
        abort(404)
    if name.endswith(".html"):
        page = files[name].decode("utf-8")
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = policy_for_own_page(page)
        return response
    response = Response(files[name], content_type="text/csv; charset=utf-8")
    response.headers.set("Content-Disposition", "attachment", filename=name)
    return response


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text or "")
    except ValueError:
        return None
