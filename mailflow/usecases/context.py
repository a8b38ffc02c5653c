"""The wired parts one process works with (the App), built from the settings; and a meeting's details as
the database holds them. `meeting_changes.sync_meetings` writes the meetings down."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Self, overload

import jinja2
from sqlalchemy.orm import Session, sessionmaker

from mailflow.adapters.db import models
from mailflow.adapters.db.engine import close_database, open_database
from mailflow.core.mail import render
from mailflow.core.parsing import ParseContext
from mailflow.settings import Config
from mailflow.settings import Meeting as MeetingConfig
from mailflow.usecases import preview


@dataclass
class App:
    """The wired parts one process works with."""

    config: Config
    sessions: sessionmaker[Session]
    templates: jinja2.Environment
    context: ParseContext
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def message_domain(self) -> str:
        return self.config.network.signup_address.rpartition("@")[2]

    @property
    def sender(self) -> str:
        """The From address of every mail mailflow sends."""
        smtp = self.config.smtp
        return smtp.sender if smtp else self.config.network.signup_address

    def close(self) -> None:
        close_database(self.sessions)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class Thread:
    """One of our mails that a mail answers: a reply is read in its context (its meeting, its people)."""

    kind: str  # the MailKind of our mail
    meeting: models.Meeting | None
    members: tuple[models.Member, ...]  # whom it was about; only when the answer comes from its recipient


@overload
def meeting_details(app: App, meeting: models.Meeting) -> render.MeetingDetails: ...
@overload
def meeting_details(app: App, meeting: models.Meeting | None) -> render.MeetingDetails | None: ...
def meeting_details(app: App, meeting: models.Meeting | None) -> render.MeetingDetails | None:
    """The practical details of a meeting as the database holds them (the config as last read), with the
    .ics UID and SEQUENCE people's calendars know it by. The database holds the network language's texts;
    the config's texts in other languages, and its practical note, come with them while the config says
    the same in that language."""
    if meeting is None:
        return None
    held = MeetingConfig(
        meeting.date, meeting.theme, tuple(meeting.speakers), meeting.place, meeting.capacity
    )
    configured = next((m for m in app.config.meetings if m.date == meeting.date), None)
    if configured is not None:
        held = dataclasses.replace(
            held,
            theme=configured.theme if configured.theme == held.theme else held.theme,
            speakers=configured.speakers
            if list(configured.speakers) == list(held.speakers)
            else held.speakers,
            place=configured.place if configured.place == held.place else held.place,
            note=configured.note,
        )
    details = render.meeting_details(held, app.config.venue, app.config.network)
    return dataclasses.replace(details, uid=meeting.uid or details.uid, sequence=meeting.sequence)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing new"


def parse_context(config: Config | None) -> ParseContext:
    """What the parser may know from the config: meetings, organisations and our own addresses."""
    if config is None:
        return ParseContext()
    own = {config.network.signup_address.lower(), config.network.coordinator.lower()}
    if config.smtp is not None:
        own.add(config.smtp.sender.lower())
    return ParseContext(
        meetings=config.meetings,
        organisations=config.organisations,
        own_addresses=tuple(sorted(own)),
        own_domain=config.network.signup_address.rpartition("@")[2].lower(),
    )


def build_app(config: Config) -> App:
    """Load the templates (with the coordinator's own, checked: a broken one stops the start, never a mail;
    ConfigError) and open the database (migrating it): the parts every working command needs."""
    environment = preview.environment(config)
    return App(
        config=config,
        sessions=open_database(config.database_url),
        templates=environment,
        context=parse_context(config),
    )
