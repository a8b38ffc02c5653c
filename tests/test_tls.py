"""TLS on IMAP and SMTP against real servers whose certificates a throwaway CA (trustme) signed.

A certificate is verified against the system's trust store, or against the configured `ca_file` alone;
STARTTLS, where configured, is required: a server that does not offer it hears nothing more, least of all the
password. A Wiretap between mailflow and the server shows what crossed the wire.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers import ImapBox, MakeConfig, TlsFiles, make_tls_files
from servers import Dovecot, dovecot_binary
from wiretap import Wiretap

from mailflow.adapters.config_file import load_config
from mailflow.adapters.imap import Inbox
from mailflow.adapters.smtp import SmtpOutbox
from mailflow.errors import DeliveryError, MailboxError
from mailflow.settings import Imap, Smtp
from mailflow.testing.servers import SmtpSink

pytestmark = pytest.mark.servers  # every test here starts a server with a certificate, or a relay

SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-pass-7Q2fw9"
NO_SMTP = SimpleNamespace(host="127.0.0.1", port=25)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A second throwaway CA: trusting it must not make the first one's certificates good."""
    return make_tls_files(tmp_path_factory.mktemp("other-ca"))


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A server certificate that signed itself (no CA at all), for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.in-gent.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("self-signed")
    files = SimpleNamespace(cert_file=folder / "server.crt", key_file=folder / "server.key")
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


@pytest.fixture(scope="module")
def self_signed_imap(self_signed: SimpleNamespace) -> Iterator[Dovecot]:
    if dovecot_binary() is None:
        pytest.skip("Dovecot not installed: the IMAP TLS tests need it")
    with Dovecot(tls_cert=self_signed.cert_file, tls_key=self_signed.key_file) as server:
        yield server


def _self_signed_context(files: SimpleNamespace) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert_file, files.key_file)
    return context


def _imap(make_config: MakeConfig, server: Any, **keys: Any) -> Imap:
    config = load_config(make_config(server, NO_SMTP, imap=keys, smtp=None))
    assert config.imap is not None
    return config.imap


def _smtp(make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch, sink: Any, **keys: Any) -> Smtp:
    monkeypatch.setenv("MAILFLOW_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    imap = SimpleNamespace(host="127.0.0.1", port=143, username="signup", password="unused")
    config = load_config(
        make_config(
            imap, sink, smtp={"username": SMTP_USER, "password_env": "MAILFLOW_TEST_SMTP_PASSWORD", **keys}
        )
    )
    assert config.smtp is not None
    return config.smtp


# --- IMAP ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_imap_certificate_verified_with_the_configured_ca(
    make_config, imap_tls_server: Dovecot, tls_files: TlsFiles, tls: str
) -> None:
    port = imap_tls_server.tls_port if tls == "ssl" else imap_tls_server.port
    with Wiretap("127.0.0.1", port) as wire:
        settings = _imap(make_config, imap_tls_server, tls=tls, port=wire.port, ca_file=tls_files.ca_file)
        with Inbox(settings) as inbox:
            assert inbox.client is not None
            assert "INBOX" in [name for _flags, _sep, name in inbox.client.list_folders()]
    assert imap_tls_server.password.encode() not in wire.client_bytes  # it crossed encrypted
    assert b"LOGIN" not in wire.client_bytes.upper()


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
@pytest.mark.parametrize("trusted", ["system store", "another CA"])
def test_imap_certificate_of_an_unknown_ca_is_refused(
    make_config, imap_tls_server: Dovecot, other_ca: TlsFiles, tls: str, trusted: str
) -> None:
    port = imap_tls_server.tls_port if tls == "ssl" else imap_tls_server.port
    ca_file = other_ca.ca_file if trusted == "another CA" else None
    with Wiretap("127.0.0.1", port) as wire:
        settings = _imap(make_config, imap_tls_server, tls=tls, port=wire.port, ca_file=ca_file)
        with pytest.raises(
            MailboxError, match=r"certificate refused \(unable to get local issuer certificate\)"
        ):
            Inbox(settings).connect()
    assert imap_tls_server.password.encode() not in wire.client_bytes


def test_imap_uses_the_system_trust_store(
    make_config, monkeypatch, imap_tls_server: Dovecot, tls_files: TlsFiles
) -> None:
    # OpenSSL's default verify paths honour SSL_CERT_FILE: with our CA there, no ca_file is needed.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca_file))
    settings = _imap(make_config, imap_tls_server, tls="ssl", port=imap_tls_server.tls_port)
    assert settings.ca_file is None
    with Inbox(settings) as inbox:
        assert inbox.client is not None


def test_imap_self_signed_certificate_is_refused_unless_the_config_names_it(
    make_config, self_signed_imap: Dovecot, self_signed: SimpleNamespace
) -> None:
    port = self_signed_imap.tls_port
    with pytest.raises(MailboxError, match=r"certificate refused \(self-signed certificate\)"):
        Inbox(_imap(make_config, self_signed_imap, tls="ssl", port=port)).connect()
    named = _imap(make_config, self_signed_imap, tls="ssl", port=port, ca_file=self_signed.cert_file)
    with Inbox(named) as inbox:
        assert inbox.client is not None


def test_imap_starttls_not_offered_is_refused_before_the_password_is_sent(make_config, imap: ImapBox) -> None:
    assert imap.kind == "dovecot" or pytest.skip("needs Dovecot (ssl = no, no STARTTLS)")
    with Wiretap(imap.host, imap.port) as wire:
        settings = _imap(make_config, imap, tls="starttls", port=wire.port)
        with pytest.raises(MailboxError, match="does not offer STARTTLS; refusing to go on without TLS"):
            Inbox(settings).connect()
    said = wire.client_bytes.upper()
    assert b"CAPABILITY" in said  # it asked, and stopped there
    assert b"LOGIN" not in said and b"AUTHENTICATE" not in said
    assert imap.password.encode() not in wire.client_bytes


# --- SMTP ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_smtp_certificate_verified_with_the_configured_ca(
    make_config, monkeypatch, tls_files: TlsFiles, tls: str
) -> None:
    with (
        SmtpSink(
            tls_context=tls_files.server_context(),
            require_starttls=tls == "starttls",
            implicit_tls=tls == "ssl",
            auth={SMTP_USER: SMTP_PASSWORD},
        ) as sink,
        Wiretap(sink.host, sink.port) as wire,
    ):
        settings = _smtp(
            make_config,
            monkeypatch,
            SimpleNamespace(host=sink.host, port=wire.port),
            tls=tls,
            ca_file=tls_files.ca_file,
        )
        with SmtpOutbox(settings) as outbox:
            outbox.connect().send(b"Subject: x\r\n\r\nok\r\n", settings.sender, "ine@example.org")
        assert len(sink.wait_for(1)) == 1
    assert SMTP_PASSWORD.encode() not in wire.client_bytes
    assert b"AUTH" not in wire.client_bytes.upper()


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
@pytest.mark.parametrize("trusted", ["system store", "another CA"])
def test_smtp_certificate_of_an_unknown_ca_is_refused(
    make_config, monkeypatch, tls_files: TlsFiles, other_ca: TlsFiles, tls: str, trusted: str
) -> None:
    ca_file = other_ca.ca_file if trusted == "another CA" else None
    with (
        SmtpSink(
            tls_context=tls_files.server_context(),
            require_starttls=tls == "starttls",
            implicit_tls=tls == "ssl",
            auth={SMTP_USER: SMTP_PASSWORD},
        ) as sink,
        Wiretap(sink.host, sink.port) as wire,
    ):
        settings = _smtp(
            make_config,
            monkeypatch,
            SimpleNamespace(host=sink.host, port=wire.port),
            tls=tls,
            ca_file=ca_file,
        )
        with pytest.raises(
            DeliveryError, match=r"certificate refused \(unable to get local issuer certificate\)"
        ):
            SmtpOutbox(settings).connect()
    assert SMTP_PASSWORD.encode() not in wire.client_bytes


def test_smtp_self_signed_certificate_is_refused_unless_the_config_names_it(
    make_config, monkeypatch, self_signed: SimpleNamespace
) -> None:
    with SmtpSink(
        tls_context=_self_signed_context(self_signed), implicit_tls=True, auth={SMTP_USER: SMTP_PASSWORD}
    ) as sink:
        with pytest.raises(DeliveryError, match=r"certificate refused \(self-signed certificate\)"):
            SmtpOutbox(_smtp(make_config, monkeypatch, sink, tls="ssl")).connect()
        named = _smtp(make_config, monkeypatch, sink, tls="ssl", ca_file=self_signed.cert_file)
        with SmtpOutbox(named) as outbox:
            outbox.connect().send(b"Subject: x\r\n\r\nok\r\n", named.sender, "ine@example.org")
        assert len(sink.wait_for(1)) == 1


def test_smtp_uses_the_system_trust_store(make_config, monkeypatch, tls_files: TlsFiles) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca_file))
    with SmtpSink(
        tls_context=tls_files.server_context(), require_starttls=True, auth={SMTP_USER: SMTP_PASSWORD}
    ) as sink:
        settings = _smtp(make_config, monkeypatch, sink, tls="starttls")
        assert settings.ca_file is None
        with SmtpOutbox(settings) as outbox:
            outbox.connect()


def test_smtp_starttls_not_offered_is_refused_before_the_password_is_sent(make_config, monkeypatch) -> None:
    # This server would take the password in clear (no TLS, AUTH offered): mailflow must not give it.
    with SmtpSink(auth={SMTP_USER: SMTP_PASSWORD}) as sink, Wiretap(sink.host, sink.port) as wire:
        settings = _smtp(
            make_config, monkeypatch, SimpleNamespace(host=sink.host, port=wire.port), tls="starttls"
        )
        with pytest.raises(DeliveryError, match="does not offer STARTTLS; refusing to go on without TLS"):
            SmtpOutbox(settings).connect()
        assert sink.messages == []
    said = wire.client_bytes.upper()
    assert b"EHLO" in said
    assert b"AUTH" not in said and b"MAIL FROM" not in said
