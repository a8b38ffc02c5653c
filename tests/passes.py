"""Driving mailflow as cron does, in end-to-end tests: one `mailflow run --once --now ...` pass at a time
against the real test servers, with the mail people received in each pass."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
from email.message import EmailMessage
from pathlib import Path

from helpers import COORDINATOR, SIGNUP_ADDRESS

from mailflow.cli import main


def mail(
    sender: tuple[str, str],
    body: str,
    subject: str = "Inschrijving",
    answers: EmailMessage | None = None,
    to: str = SIGNUP_ADDRESS,
) -> bytes:
    """A person's mail to the signup address; with `answers`, a reply in the thread of that mail of ours."""
    message = EmailMessage()
    message["From"] = email.utils.formataddr(sender) if sender[0] else sender[1]
    message["To"] = to
    message["Subject"] = f"Re: {subject}" if answers is not None else subject
    message["Date"] = "Mon, 15 Dec 2025 06:00:00 +0100"
    message["Message-ID"] = email.utils.make_msgid(domain="example.org")
    if answers is not None:
        message["In-Reply-To"] = answers["Message-ID"]
        message["References"] = f"{answers['In-Reply-To'] or ''} {answers['Message-ID']}".strip()
    message.set_content(body)
    return bytes(message)


class Mailflow:
    """Passes of `mailflow run --once`, a minute apart; each returns the mail people received in it."""

    def __init__(self, config: Path, imap, sink, now: dt.datetime | None = None) -> None:
        self.config, self.imap, self.sink, self.seen = config, imap, sink, 0
        self.now = now or dt.datetime(2025, 12, 15, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        self.digests: list[EmailMessage] = []

    def send(self, raw: bytes) -> list[EmailMessage]:
        self.imap.append("INBOX", raw)
        return self.run()

    def run(self, at: dt.datetime | None = None) -> list[EmailMessage]:
        self.now = at or self.now + dt.timedelta(minutes=1)
        assert main(["run", "--config", str(self.config), "--once", "--now", self.now.isoformat()]) == 0
        received = [
            email.message_from_bytes(m.data, policy=email.policy.default)
            for m in self.sink.messages[self.seen :]
        ]
        self.seen = len(self.sink.messages)
        self.digests += [m for m in received if m["To"].addresses[0].addr_spec == COORDINATOR]
        return [m for m in received if m["To"].addresses[0].addr_spec != COORDINATOR]


def plain_text(message: EmailMessage) -> str:
    """The text part of a mail, as a person reads it."""
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()
