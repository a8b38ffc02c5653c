"""What the IMAP and SMTP clients share: a verifying TLS context, and a short,
secret-free word for a network error."""

from __future__ import annotations

import socket
import ssl


def tls_context(ca_file: object | None) -> ssl.SSLContext:
    """A verifying TLS context: the system's trust store, or only the given CA file."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def describe(exc: BaseException) -> str:
    """A short, secret-free description of a network or library error, for messages and logs."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
