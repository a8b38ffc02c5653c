"""A meeting as a calendar event: the practical details and the .ics (RFC 5545) that goes with a confirmation.

Pure: no network, no database, no clock — the stamp time is passed in.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import urllib.parse
from dataclasses import dataclass, replace

import icalendar

from mailflow import __version__
from mailflow.core import i18n
from mailflow.core.typography import finish
from mailflow.settings import Meeting, Network, Venue, in_language

# RFC 5546 3.2.1: a PUBLISH carries the organizer; clients that see it as attachment only show it.
METHODS = ("PUBLISH", "REQUEST", "CANCEL")
STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED")


@dataclass(frozen=True)
class MeetingDetails:
    """Everything a volunteer needs to come to one meeting. The texts may be `Localized` (the config gives
    them per language): `for_language()` gives the details as a mail in one language shows them."""

    date: dt.date
    starts_at: dt.datetime  # aware, in the network's timezone
    ends_at: dt.datetime | None
    theme: str
    speakers: tuple[str, ...]
    place_name: str
    place_address: str  # "" when the meeting names its own place in one string
    uid: str  # stable across mails (and a move of the date), so a calendar updates the event, never adds one
    sequence: int = 0  # RFC 5545 3.8.7.4: raised with each change told, so calendars take the newest
    note: str | None = None  # the coordinator's practical note ("bring your ID"), in every mail about it


def for_language(details: MeetingDetails, language: str) -> MeetingDetails:
    """The details with every text in `language`, where the config gives one (else the network's)."""
    return replace(
        details,
        theme=in_language(details.theme, language),
        speakers=tuple(in_language(name, language) for name in details.speakers),
        place_name=in_language(details.place_name, language),
        place_address=in_language(details.place_address, language),
        note=in_language(details.note, language) if details.note else None,
    )


def map_url(details: MeetingDetails) -> str:
    """An OpenStreetMap search for the place: its address where it has one (a building's name finds
    less), else the place as written."""
    query = str(details.place_address or details.place_name)
    return "https://www.openstreetmap.org/search?" + urllib.parse.urlencode({"query": query})


def meeting_details(meeting: Meeting, venue: Venue, network: Network) -> MeetingDetails:
    """Combine a configured meeting with the venue:
    its own place if it has one, the venue's hours in the network's zone."""
    zone = network.timezone
    starts_at = dt.datetime.combine(meeting.date, venue.start, tzinfo=zone)
    ends_at = dt.datetime.combine(meeting.date, venue.end, tzinfo=zone) if venue.end is not None else None
    if meeting.place:
        place_name, place_address = meeting.place, ""
    else:
        place_name, place_address = venue.name, venue.address
    domain = network.signup_address.rpartition("@")[2] or "mailflow.invalid"
    return MeetingDetails(
        date=meeting.date,
        starts_at=starts_at,
        ends_at=ends_at,
        theme=meeting.theme,
        speakers=tuple(meeting.speakers),
        place_name=place_name,
        place_address=place_address,
        uid=f"meeting-{meeting.date.isoformat()}@{domain}",
        note=meeting.note,
    )


def location_text(details: MeetingDetails) -> str:
    """The place on one line: "Campus Sint-Annaplein, Sint-Annaplein 31, 9000 Gent"."""
    return ", ".join(part for part in (details.place_name, details.place_address) if part)


def ics_filename(details: MeetingDetails, network: Network) -> str:
    """A filename a volunteer recognises in a download folder: "leernetwerk-2026-01-13.ics"."""
    first_word = network.name.split()[0] if network.name.split() else ""
    slug = re.sub(r"[^a-z0-9]+", "-", first_word.lower()).strip("-") or "meeting"
    return f"{slug}-{details.date.isoformat()}.ics"


def meeting_ics(
    details: MeetingDetails,
    network: Network,
    method: str = "PUBLISH",
    *,
    now: dt.datetime | None = None,
    language: str | None = None,
    status: str = "CONFIRMED",
) -> bytes:
    """The meeting as an iCalendar object with one VEVENT and the VTIMEZONE its TZID needs.

    `now` becomes DTSTAMP (RFC 5545 3.8.7.2: when the object was made); without it the meeting's start is
    used, so the same input always gives the same bytes. `language` picks the DESCRIPTION labels
    (default: the network's).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    stamp = (now or details.starts_at).astimezone(dt.UTC)
    language = language or network.language
    # Building the VTIMEZONE and serialising cost some 3 ms, and a pass sends the same meeting to everyone:
    # build each (meeting, language, status) once and put this mail's DTSTAMP into the cached bytes. The
    # texts are the language's before the cache sees them: a Localized compares as its network text only.
    details = replace(for_language(details, language), note=None)
    before, after = _ics_around_stamp(details, network, method, language, status)
    return before + _ical_utc(stamp) + after


def _ical_utc(moment: dt.datetime) -> bytes:
    """An RFC 5545 3.3.5 UTC date-time ("20251201T091500Z"), as icalendar writes one: seconds, no fraction."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ").encode("ascii")


@functools.lru_cache(maxsize=64)
def _ics_around_stamp(
    details: MeetingDetails, network: Network, method: str, language: str, status: str
) -> tuple[bytes, bytes]:
    """The calendar's bytes before and after the DTSTAMP value."""
    stamp = details.starts_at.astimezone(dt.UTC)
    ics = build_ics(details, network, method, stamp=stamp, language=language, status=status)
    marker = b"\r\nDTSTAMP:" + _ical_utc(stamp) + b"\r\n"
    if (
        ics.count(marker) != 1
    ):  # a changed icalendar writes DTSTAMP differently: better to fail a test than guess
        raise RuntimeError("DTSTAMP not found once in the calendar icalendar wrote")
    before, _, after = ics.partition(marker)
    return before + b"\r\nDTSTAMP:", b"\r\n" + after


def build_ics(
    details: MeetingDetails,
    network: Network,
    method: str,
    *,
    stamp: dt.datetime,
    language: str,
    status: str,
) -> bytes:
    """meeting_ics() without the cache: every call builds the calendar anew with icalendar."""
    translations = i18n.translations(language)  # nl's for a language mailflow does not write in
    theme_label, speakers_label = translations.gettext("Theme"), translations.gettext("Speakers")

    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//mailflow//mailflow {__version__}//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)

    event = icalendar.Event()
    event.add("uid", details.uid)
    event.add("dtstamp", stamp)
    event.add("sequence", details.sequence)
    event.add("dtstart", details.starts_at)
    if details.ends_at is not None:
        event.add("dtend", details.ends_at)
    event.add("summary", finish(f"{network.name}: {details.theme}", language))
    event.add("location", location_text(details))
    description = [f"{theme_label}: {details.theme}"]
    if details.speakers:
        description.append(f"{speakers_label}: {', '.join(details.speakers)}")
    event.add("description", finish("\n".join(description), language))
    event.add("status", status)
    organizer = icalendar.vCalAddress(f"mailto:{network.signup_address}")
    organizer.params["cn"] = network.name
    event.add("organizer", organizer)
    calendar.add_component(event)

    # Outlook needs a VTIMEZONE for every TZID (RFC 5545 3.6.5); a window around the meeting keeps it short.
    calendar.add_missing_timezones(
        first_date=details.date - dt.timedelta(days=366), last_date=details.date + dt.timedelta(days=366)
    )
    ics: bytes = calendar.to_ical()
    return ics
