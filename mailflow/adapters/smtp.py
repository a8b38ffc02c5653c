"""SMTP only: hand a finished message to the mail server, and say whether a failure is worth retrying.

No database here; `usecases.sending.send_outbox` decides what to send and records the outcome.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from typing import Protocol, Self

from mailflow.adapters.network import connect_hint, describe, port_hint, server_words, tls_context
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
            hint = connect_hint("smtp", s.host, s.port, s.tls, exc)
            raise DeliveryError(f"{where}: certificate refused ({exc.verify_message}): {hint}") from None
        except smtplib.SMTPAuthenticationError as exc:
            _quit_quietly(connection)
            secret = "smtp.oauth2_token_*" if s.oauth2_token else "smtp.password_env or smtp.password_command"
            raise DeliveryError(
                f"{where}: login refused for the configured user ({exc.smtp_code}): the server said "
                f'"{server_words(exc.smtp_error)}"; check smtp.username and the secret that {secret} gives',
                permanent=True,
            ) from None
        except smtplib.SMTPNotSupportedError:
            # smtplib says "SMTP AUTH extension not supported": we are connected, the server offers no login.
            _quit_quietly(connection)
            raise DeliveryError(_no_auth(where, s), permanent=True) from None
        except ssl.SSLError as exc:
            _quit_quietly(connection)
            hint = connect_hint("smtp", s.host, s.port, s.tls, exc)
            raise DeliveryError(f"{where}: TLS failed ({exc.reason}): {hint}") from None
        except smtplib.SMTPResponseException as exc:
            _quit_quietly(connection)
            raise DeliveryError(
                f"{where}: the server refused the session ({exc.smtp_code} {server_words(exc.smtp_error)}); "
                "check smtp.host and smtp.port"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            _quit_quietly(connection)
            hint = connect_hint("smtp", s.host, s.port, s.tls, exc)
            raise DeliveryError(f"{where}: cannot connect ({describe(exc)}): {hint}") from None
        self.connection = connection
        return self

    def _login(self, connection: smtplib.SMTP) -> None:
        s = self.settings
        assert s.username is not None
        if not s.oauth2_token:
            connection.login(s.username, reveal(s.password, "smtp.password"))
            return
        connection.ehlo_or_helo_if_needed()
        try:
            connection.auth("XOAUTH2", _xoauth2(s.username, reveal(s.oauth2_token, "smtp.oauth2_token")))
        except smtplib.SMTPAuthenticationError:
            # An access token lives about an hour: the token command, asked again, refreshes it. Retry once.
            log.info("SMTP %s: XOAUTH2 token refused; asking the token command for a new one", s.host)
            connection.auth("XOAUTH2", _xoauth2(s.username, reveal(s.oauth2_token, "smtp.oauth2_token")))

    def send(self, raw: bytes, sender: str, recipient: str) -> None:
        """Send one message to one recipient. Raises DeliveryError(permanent=True) on a 5xx,
        else a retryable one."""
        if self.connection is None:
            raise DeliveryError("SMTP: not connected")
        try:
            refused = self.connection.sendmail(sender, [recipient], raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, words = next(iter(exc.recipients.values()))
            raise DeliveryError(
                _answered("recipient refused", code, words), permanent=_permanent(code)
            ) from None
        except smtplib.SMTPResponseException as exc:  # SMTPDataError, SMTPSenderRefused, ...
            if exc.smtp_code == 421:  # RFC 5321: the server is closing the connection
                self.close()
            raise DeliveryError(
                _answered("server answered", exc.smtp_code, exc.smtp_error),
                permanent=_permanent(exc.smtp_code),
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(f"connection lost ({describe(exc)})") from None
        if refused:  # only possible with several recipients; kept for completeness
            code, words = next(iter(refused.values()))
            raise DeliveryError(_answered("recipient refused", code, words), permanent=_permanent(code))

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


def _answered(what: str, code: int, words: bytes | str) -> str:
    """ "server answered 550 5.1.1 No such user": the code and the server's own words, which say why; any mail
    address in them is left out (see network.server_words)."""
    text = server_words(words)
    return f"{what} {code} {text}" if text else f"{what} {code}"


def _no_auth(where: str, s: Smtp) -> str:
    if s.tls == "none":
        hint = 'many servers offer AUTH only over TLS: set smtp.tls = "starttls" or "ssl"'
    else:
        hint = port_hint("smtp", s.port, s.tls)
    return (
        f"{where}: connected, but the server offers no AUTH, so smtp.username cannot log in: "
        f"wrong port or tls mode? {hint or 'check smtp.port and smtp.tls'}; "
        "or leave smtp.username out if this server takes mail without a login"
    )


def _permanent(code: int) -> bool:
    return 500 <= code < 600


def _quit_quietly(connection: smtplib.SMTP | None) -> None:
    if connection is None:
        return
    try:
        connection.quit()
    except Exception:  # noqa: BLE001 - the connection is going away either way
        connection.close()
