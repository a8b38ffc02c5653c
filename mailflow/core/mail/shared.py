"""What every mail's template may use, whatever its kind: the network and the coordinator's own words (the
signature, the contact line), whom the mail greets and how many people it is for, and the meeting it is
about in the mail's language (with a map link for its place and the coordinator's practical note).

Pure: values in, a dict out; every value that came from a mail is cleaned before a template sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailflow.core.calendar.ics import MeetingDetails, for_language, location_text, map_url
from mailflow.core.mail.compose import clean_text
from mailflow.core.mail.greeting import greeting_name
from mailflow.core.typography import finish
from mailflow.settings import LANGUAGES, Network, in_language

__all__ = ["finished", "mail_language", "meeting_values", "shared_context"]


def mail_language(language: str, network: Network) -> str:
    """The language a mail is written in: the one asked for when mailflow writes it, else the network's."""
    return language if language in LANGUAGES else network.language


def shared_context(
    network: Network, language: str, names: Sequence[str | None] = (), addressed: int | None = None
) -> dict[str, Any]:
    """The values of every mail: `names` are the people it greets (their first names; none: "Hello,"),
    `addressed` how many people it speaks to (default: as many as it greets, at least one)."""
    cleaned = [name for name in (clean_text(n) for n in names if n) if name]
    signature = in_language(network.texts.signature, language) if network.texts.signature else ""
    contact = in_language(network.texts.contact, language) if network.texts.contact else ""
    return {
        "language": language,
        "network_name": network.name,
        "short_name": network.short,
        "signup_address": network.signup_address,
        "greeting_name": greeting_name(cleaned, language),
        "addressed": addressed if addressed is not None else max(len(cleaned), 1),
        "signature": [line.strip() for line in signature.splitlines() if line.strip()] or [network.name],
        "contact": " ".join(contact.split()),
    }


def meeting_values(meeting: MeetingDetails | None, language: str, prefix: str = "") -> dict[str, Any]:
    """A meeting in the mail's language for the templates: `meeting`, its `location` on one line and its
    `map_url` (with a `prefix`: "previous_meeting", ...)."""
    if meeting is None:
        return {f"{prefix}meeting": None, f"{prefix}location": "", f"{prefix}map_url": ""}
    shown = for_language(meeting, language)
    return {
        f"{prefix}meeting": shown,
        f"{prefix}location": location_text(shown),
        f"{prefix}map_url": map_url(shown),
    }


def finished(text: str, html: str, language: str) -> tuple[str, str]:
    """A mail's two bodies with its language's typography (French spacing)."""
    return finish(text, language), finish(html, language)
