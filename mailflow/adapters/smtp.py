"""SMTP only: hand a finished message to the mail server, and say whether a failure is worth retrying.

No database here; `usecases.sending.send_outbox` decides what to send and records the outcome.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from typing import Protocol, Self

from mailflow.adapters.network import describe, tls_context
from mailflow.adapters.secrets import reveal
from mailflow.errors import ConfigError, DeliveryError
from mailflow.settings import Smtp

log = logging.getLogger(__name__)


class SmtpOutbox:
    """One SMTP session, opened on first use and reused for a batch. Use as a context manager."""

    def __init__(self, settings: Smtp) -> None:
        self.settings = settings
        self.connection: smtplib.SMTP | None = None

    def connect(self) -> SmtpOutbox:
        """Connect, start TLS as configured and log in. Raises DeliveryError saying what failed."""
        s = self.settings
        where = f"SMTP {s.host}:{s.port}"
        context = tls_context(s.ca_file) if s.tls != "none" else None
        connection: smtplib.SMTP | None = None
        try:
            if s.tls == "ssl":
                connection = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.tls == "starttls":
                    _start_tls(connection, context, where)
            if s.username:
                self._login(connection)
        except (ConfigError, DeliveryError):
            _quit_quietly(connection)
            raise
        except ssl.SSLCertVerificationError as exc:
            _quit_quietly(connection)
            raise DeliveryError(f"{where}: certificate refused ({exc.verify_message})") from None
        except smtplib.SMTPAuthenticationError as exc:
            _quit_quietly(connection)
            raise DeliveryError(
                f"{where}: login refused for the configured user ({exc.smtp_code})", permanent=True
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            _quit_quietly(connection)
            raise DeliveryError(f"{where}: cannot connect ({describe(exc)})") from None
        self.connection = connection
        return self

    def _login(self, connection: smtplib.SMTP) -> None:
        s = self.settings
        assert s.username is not None
        if not s.oauth2_token:
            connection.login(s.username, reveal(s.password))
            return
        connection.ehlo_or_helo_if_needed()
        try:
            connection.auth("XOAUTH2", _xoauth2(s.username, reveal(s.oauth2_token)))
        except smtplib.SMTPAuthenticationError:
            # An access token lives about an hour: the token command, asked again, refreshes it. Retry once.
            log.info("SMTP %s: XOAUTH2 token refused; asking the token command for a new one", s.host)
            connection.auth("XOAUTH2", _xoauth2(s.username, reveal(s.oauth2_token)))

    def send(self, raw: bytes, sender: str, recipient: str) -> None:
        """Send one message to one recipient. Raises DeliveryError(permanent=True) on a 5xx,
        else a retryable one."""
        if self.connection is None:
            raise DeliveryError("SMTP: not connected")
        try:
            refused = self.connection.sendmail(sender, [recipient], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, _ = next(iter(exc.recipients.values()))
            raise DeliveryError(f"recipient refused ({code})", permanent=_permanent(code)) from None
        except smtplib.SMTPResponseException as exc:  # SMTPDataError, SMTPSenderRefused, ...
            if exc.smtp_code == 421:  # RFC 5321: the server is closing the connection
                self.close()
            raise DeliveryError(
                f"server answered {exc.smtp_code}", permanent=_permanent(exc.smtp_code)
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(f"connection lost ({describe(exc)})") from None
        if refused:  # only possible with several recipients; kept for completeness
            code, _ = next(iter(refused.values()))
            raise DeliveryError(f"recipient refused ({code})", permanent=_permanent(code))

    def close(self) -> None:
        _quit_quietly(self.connection)
        self.connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _start_tls(connection: smtplib.SMTP, context: ssl.SSLContext | None, where: str) -> None:
    # No fallback to plaintext: a server that does not offer STARTTLS hears nothing more,
    # least of all a password.
    connection.ehlo_or_helo_if_needed()
    if not connection.has_extn("starttls"):
        raise DeliveryError(f"{where}: the server does not offer STARTTLS; refusing to go on without TLS")
    connection.starttls(context=context)


class _AuthAnswer(Protocol):
    """What SMTP.auth calls: with no challenge for the initial response, then with each server challenge."""

    def __call__(self, challenge: bytes | None = None, /) -> str: ...


def _xoauth2(username: str, token: str) -> _AuthAnswer:
    """The XOAUTH2 client (Google and Microsoft): "user=<u>^Aauth=Bearer <token>^A^A" as the initial response.

    A refusal comes as a 334 challenge holding a JSON error; the client answers it with an empty line and the
    server then says 535 (https://developers.google.com/gmail/imap/xoauth2-protocol).
    """
    blob = f"user={username}\x01auth=Bearer {token}\x01\x01"

    def answer(challenge: bytes | None = None, /) -> str:
        return blob if challenge is None else ""

    return answer


def _permanent(code: int) -> bool:
    return 500 <= code < 600


def _quit_quietly(connection: smtplib.SMTP | None) -> None:
    if connection is None:
        return
    try:
        connection.quit()
    except Exception:  # noqa: BLE001 - the connection is going away either way
        connection.close()
