"""What the IMAP and SMTP clients share: a verifying TLS context, a short, secret-free word for a network
error, and the hint that turns such a word into a fix (which key, which port, which tls mode)."""

from __future__ import annotations

import re
import socket
import ssl

# The ports the standards give each protocol, and the tls mode each one speaks (RFC 8314, RFC 6409).
PORTS: dict[str, dict[int, str]] = {
    "imap": {993: "ssl", 143: "starttls"},
    "smtp": {465: "ssl", 587: "starttls", 25: "starttls"},
}

_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


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


def server_words(raw: object) -> str:
    """A server's own answer as text: bytes decoded, quotes and b'' gone, one line, and no mail address in it
    (an answer may quote the recipient, and logs never carry one)."""
    if isinstance(raw, tuple | list) and raw:
        raw = raw[0]
    if isinstance(raw, bytes):
        text = raw.decode("utf-8", "replace")
    else:
        text = str(raw)
        # imapclient and imaplib wrap the server's bytes in their repr: "b'[AUTHENTICATIONFAILED] ...'".
        found = re.fullmatch(r"""\(?b?(['"])(.*)\1,?\)?""", text.strip(), re.DOTALL)
        if found:
            text = found.group(2)
    text = " ".join(text.split())
    return _ADDRESS.sub("<address>", text)[:200]


def port_hint(section: str, port: int, tls: str) -> str:
    """Which tls mode the configured port usually speaks, when it is not the configured one; else ''."""
    expected = PORTS[section].get(port)
    if expected is not None and expected != tls:
        return f'port {port} expects {section}.tls = "{expected}"'
    if expected is None:
        usual = " or ".join(f'{p} with tls = "{mode}"' for p, mode in PORTS[section].items())
        return f"is {section}.port {port} right? {section.upper()} usually listens on {usual}"
    return ""


def connect_hint(section: str, host: str, port: int, tls: str, exc: BaseException) -> str:
    """The likely fix for a connection that failed before login: the key to check and what it should hold."""
    if isinstance(exc, ConnectionRefusedError):
        return f"nothing listens on port {port} of {host}: check {section}.host and {section}.port"
    if isinstance(exc, socket.gaierror):
        return f"check {section}.host: the name {host!r} is not known to DNS"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the server's certificate is not trusted for {host}: check {section}.host, or set "
            f"{section}.ca_file to the certificate of the CA that signed it"
        )
    # smtplib turns a silent server into "Connection unexpectedly closed: timed out".
    if isinstance(exc, socket.timeout | TimeoutError) or str(exc).endswith("timed out"):
        if tls != "ssl" and PORTS[section].get(port) == "ssl":
            return f'no greeting in plain text: port {port} expects {section}.tls = "ssl"'
        return (
            f"no answer from {host}:{port}: a firewall, a wrong {section}.port, or a server that expects "
            f'{section}.tls = "ssl" there'
        )
    if isinstance(exc, ssl.SSLError):
        ssl_port = next(p for p, mode in PORTS[section].items() if mode == "ssl")
        if tls == "ssl" and PORTS[section].get(port) != "ssl":
            hint = port_hint(section, port, tls) if port in PORTS[section] else ""
            return hint or (
                f"the server on port {port} does not speak TLS from the start: set {section}.tls = "
                f'"starttls" for this port, or {section}.port = {ssl_port} for tls = "ssl"'
            )
        return f"check {section}.tls and {section}.port"
    return f"check {section}.host, {section}.port and {section}.tls"
