"""The figures of an invented half year of the network, for the report's tests (tests/test_report*.py)."""

from __future__ import annotations

import datetime as dt

from mailflow.core.report import MeetingFigures, ReportFigures, count_by_organisation, new_members_per_month
from mailflow.settings import Organisation

KNOWN = (
    Organisation("Werkgroep Vluchtelingen Gent", ("WVG",), municipality="Gent"),
    Organisation("Rode Kruis Vlaanderen", municipality="Mechelen"),
    Organisation("CAW Oost-Vlaanderen", municipality="Gent"),
    Organisation("Buurtwerk Kortrijk", municipality="Kortrijk"),
    Organisation("Dokters van de Wereld", municipality="Brussel"),
    Organisation("Vluchtelingenwerk Vlaanderen"),  # no municipality: its members count as unknown
)

MEETINGS = (
    MeetingFigures(dt.date(2027, 1, 12), "Dringende medische hulp", "confirmed", 40, 38, 5, 7, 31, 4),
    MeetingFigures(
        dt.date(2027, 3, 9),
        "Toegang tot onderwijs voor kinderen zonder wettig verblijf",
        "confirmed",
        40,
        40,
        12,
        3,
        35,
        2,
    ),
    MeetingFigures(dt.date(2027, 5, 11), "Juridische bijstand", "cancelled", None, 12, 0, 12),
    MeetingFigures(dt.date(2027, 6, 8), "Vrijwillige terugkeer", "confirmed", 30, 22, 0, 4),
)

# One organisation per member who took part, as the database holds them: names, aliases, other spellings.
TOOK_PART = (
    ["Werkgroep Vluchtelingen Gent"] * 9
    + ["WVG"] * 3
    + ["werkgroep vluchtelingen gent"]
    + ["Rode Kruis Vlaanderen"] * 7
    + ["CAW Oost-Vlaanderen"] * 6
    + ["Vluchtelingenwerk Vlaanderen"] * 4
    + [None] * 3
    + ["Buurtwerk Kortrijk"] * 2
    + ["Dokters van de Wereld"] * 5
    + ["Wijkcentrum De Kring"]  # not in the config
)

FIRST, LAST = dt.date(2027, 1, 1), dt.date(2027, 6, 30)
JOINED = [dt.date(2027, 1, 5)] * 4 + [dt.date(2027, 2, 10)] * 7 + [dt.date(2027, 4, 1)] * 2
JOINED += [dt.date(2027, 6, 30)] * 9


def figures(**changes: object) -> ReportFigures:
    """The half year's figures; `changes` replace any of them (meetings=(), ...)."""
    organisations, municipalities = count_by_organisation(TOOK_PART, KNOWN)
    values: dict[str, object] = {
        "network": "Leernetwerk In-Gent",
        "first": FIRST,
        "last": LAST,
        "made": dt.date(2027, 7, 2),
        "meetings": MEETINGS,
        "organisations": organisations,
        "municipalities": municipalities,
        "new_members": new_members_per_month(JOINED, FIRST, LAST),
    }
    values.update(changes)
    return ReportFigures(**values)
