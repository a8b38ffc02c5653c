"""The network, venue and first meeting that the rendering and instruction-phrase tests write about."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from mailflow.settings import Meeting, Network, Venue

BRUSSELS = ZoneInfo("Europe/Brussels")
SENDER = "leernetwerk@in-gent.example"
NETWORK = Network(
    name="Leernetwerk Mensen Zonder Wettig Verblijf",
    timezone=BRUSSELS,
    language="nl",
    signup_address=SENDER,
    coordinator="coordinator@in-gent.example",
)
VENUE = Venue(
    name="Campus Sint-Annaplein",
    address="Sint-Annaplein 31, 9000 Gent",
    start=dt.time(19, 30),
    end=dt.time(22, 0),
)
MEETING = Meeting(
    date=dt.date(2026, 1, 13), theme="Dringende medische hulp", speakers=("Anouk Baert", "Mieke Declerck")
)
