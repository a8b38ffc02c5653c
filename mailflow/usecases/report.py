"""The period report: the figures of the meetings from one date to another, counted in the database, made
into CSV files and an HTML page by core/report.py. Reads only; writes nothing, sends nothing."""

from __future__ import annotations

import datetime as dt

from mailflow.adapters.db import agenda, reporting
from mailflow.core import report
from mailflow.core.vocabulary import RegistrationStatus
from mailflow.usecases.context import App


def gather_figures(app: App, first: dt.date, last: dt.date, now: dt.datetime) -> report.ReportFigures:
    """The report's figures for the meetings dated `first` to `last` (both included), the members who took
    part in them by `now`, and the members who joined on those days (local dates)."""
    zone = app.config.network.timezone
    start = dt.datetime.combine(first, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    with app.sessions() as db:
        meetings = agenda.meetings_between(db, first, last)
        ids = [m.id for m in meetings]
        counts = reporting.registration_counts(db, ids)
        attended = reporting.attended_counts(db, ids)
        per_meeting = tuple(
            report.MeetingFigures(
                date=m.date,
                theme=m.theme,
                status=m.status,
                capacity=m.capacity,
                registered=counts.get(m.id, {}).get(RegistrationStatus.REGISTERED, 0),
                waiting=counts.get(m.id, {}).get(RegistrationStatus.WAITING, 0),
                cancelled=counts.get(m.id, {}).get(RegistrationStatus.CANCELLED, 0),
                attended=attended.get(m.id, 0) if m.attendance_recorded_at is not None else None,
                walk_ins=m.walk_ins or 0,
            )
            for m in meetings
        )
        organisations = reporting.organisations_taking_part(db, first, last, now)
        joined = [moment.astimezone(zone).date() for moment in reporting.members_joined(db, start, end)]
    per_organisation, per_municipality = report.count_by_organisation(organisations, app.config.organisations)
    return report.ReportFigures(
        network=app.config.network.name,
        first=first,
        last=last,
        made=now.astimezone(zone).date(),
        meetings=per_meeting,
        organisations=per_organisation,
        municipalities=per_municipality,
        new_members=report.new_members_per_month(joined, first, last),
    )


def make_report(app: App, first: dt.date, last: dt.date, now: dt.datetime) -> report.Report:
    """The report's files, in the network's language."""
    figures = gather_figures(app, first, last, now)
    return report.build_report(figures, app.templates, app.config.network.language)
