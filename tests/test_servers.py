"""Smoke tests of the test servers themselves: if these fail, fix the fixtures before reading any other
failure."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import imapclient
import pytest
import sqlalchemy
from helpers import EXAMPLE_CONFIG, ImapBox, MakeConfig, TlsFiles, to_toml
from servers import Dovecot, Postgres

from mailflow.adapters.config_file import load_config
from mailflow.adapters.secrets import reveal
from mailflow.testing.servers import SmtpSink


def make_mail(subject: str = "Inschrijving", sender: str = "an.peeters@voorbeeld.example") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"An Peeters <{sender}>"
    msg["To"] = "leernetwerk@in-gent.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{time.time_ns()}@voorbeeld.example>"
    msg.set_content("Ik kom graag naar de volgende bijeenkomst.\n\nAn\n")
    return msg.as_bytes().replace(b"\n", b"\r\n")


# --- IMAP ---------------------------------------------------------------------------------------------------


def test_imap_starts_empty(imap: ImapBox) -> None:
    assert imap.folders() == ["INBOX"]
    assert imap.count("INBOX") == 0


def test_imap_append_select_fetch(imap: ImapBox) -> None:
    raw = make_mail()
    uid = imap.append("INBOX", raw)
    client = imap.client()
    assert client.select_folder("INBOX")[b"EXISTS"] == 1
    assert client.search("ALL") == [uid]
    fetched = client.fetch([uid], ["BODY.PEEK[]", "FLAGS"])[uid]
    assert fetched[b"BODY[]"] == raw  # byte for byte, CRLF included
    assert b"\\Seen" not in fetched[b"FLAGS"]  # PEEK set no flag
    assert imap.fetch_all("INBOX") == [raw]


def test_imap_append_many_and_msg_time(imap: ImapBox) -> None:
    uids = imap.append_many("INBOX", [make_mail(f"mail {i}") for i in range(5)])
    assert len(uids) == 5 and uids == sorted(uids)
    when = imapclient.datetime_util.datetime_to_native(
        imapclient.datetime_util.parse_to_datetime(b"01-Mar-2026 10:00:00 +0100")
    )
    uid = imap.append("INBOX", make_mail("dated"), msg_time=when)
    client = imap.client()
    client.select_folder("INBOX", readonly=True)
    assert client.fetch([uid], ["INTERNALDATE"])[uid][b"INTERNALDATE"] == when
    assert imap.count("INBOX") == 6


def test_imap_move_between_folders(imap: ImapBox) -> None:
    uid = imap.append("INBOX", make_mail())
    client = imap.client()
    client.create_folder(imap.name("mailflow/processed"))  # the server's separator may be "."
    client.select_folder("INBOX")
    assert b"MOVE" in client.capabilities()
    client.move([uid], imap.name("mailflow/processed"))
    assert imap.count("INBOX") == 0
    assert imap.count("mailflow/processed") == 1
    assert "mailflow/processed" in imap.folders()


def test_imap_folders_made_by_a_test_are_gone_in_the_next(imap: ImapBox) -> None:
    # Relies on test order within this module: the previous test left mailflow/processed with one message.
    assert imap.folders() == ["INBOX"]


def test_imap_append_creates_missing_folder(imap: ImapBox) -> None:
    imap.append("mailflow/review", make_mail())
    assert imap.count("mailflow/review") == 1
    assert imap.count("does-not-exist") == 0
    assert imap.fetch_all("does-not-exist") == []


def test_imap_wrong_password_is_refused(imap: ImapBox) -> None:
    client = imapclient.IMAPClient(imap.host, port=imap.port, ssl=False, timeout=10)
    try:
        with pytest.raises(imapclient.exceptions.LoginError):
            client.login(imap.username, imap.password + "x")
    finally:
        client.shutdown()


def test_imap_idle_sees_append_from_another_connection(imap: ImapBox) -> None:
    idler = imap.client()
    idler.select_folder("INBOX")
    idler.idle()
    try:
        threading.Timer(0.1, imap.append, ("INBOX", make_mail())).start()
        responses: list[tuple[object, ...]] = []
        deadline = time.monotonic() + 5  # Dovecot waits a fixed 500 ms before it tells an idler
        while time.monotonic() < deadline and not any(b"EXISTS" in r for r in responses):
            responses += idler.idle_check(timeout=0.5)
    finally:
        idler.idle_done()
    assert (1, b"EXISTS") in responses


def test_own_imap_server_restarts_on_the_same_port(own_imap_server: Dovecot) -> None:
    box = ImapBox(own_imap_server)
    try:
        box.append("INBOX", make_mail())
        port = own_imap_server.port
        own_imap_server.stop()
        with pytest.raises(OSError):
            socket.create_connection((own_imap_server.host, port), timeout=2).close()
        own_imap_server.start()
        assert own_imap_server.port == port
        # Dovecot keeps its Maildir on disk; pymap's dict backend starts empty again.
        assert box.count("INBOX") == (1 if own_imap_server.kind == "dovecot" else 0)
    finally:
        box.close()


def test_imap_tls_server(imap_tls_server: Dovecot, tls_files: TlsFiles) -> None:
    context = tls_files.client_context()  # verifies the certificate and that it names 127.0.0.1
    implicit = imapclient.IMAPClient(
        "127.0.0.1", port=imap_tls_server.tls_port, ssl=True, ssl_context=context
    )
    implicit.login(imap_tls_server.username, imap_tls_server.password)
    implicit.logout()
    plain = imapclient.IMAPClient("127.0.0.1", port=imap_tls_server.port, ssl=False, timeout=10)
    plain.starttls(context)
    plain.login(imap_tls_server.username, imap_tls_server.password)
    plain.logout()
    with pytest.raises(ssl.SSLCertVerificationError):  # without our CA the certificate is refused
        imapclient.IMAPClient(
            "127.0.0.1", port=imap_tls_server.tls_port, ssl=True, ssl_context=ssl.create_default_context()
        )


# --- SMTP ---------------------------------------------------------------------------------------------------


def send(sink: SmtpSink, to: list[str], raw: bytes | None = None) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        return smtp.sendmail("leernetwerk@in-gent.example", to, raw or make_mail())


def test_smtp_sink_keeps_messages(smtp_sink: SmtpSink) -> None:
    raw = make_mail()
    assert send(smtp_sink, ["an.peeters@voorbeeld.example"], raw) == {}
    (received,) = smtp_sink.wait_for(1, timeout=5)
    assert received.mail_from == "leernetwerk@in-gent.example"
    assert received.rcpt_tos == ["an.peeters@voorbeeld.example"]
    assert received.data == raw
    smtp_sink.clear()
    assert smtp_sink.messages == []


def test_smtp_sink_wait_for_times_out(smtp_sink: SmtpSink) -> None:
    with pytest.raises(TimeoutError):
        smtp_sink.wait_for(1, timeout=0.1)


@pytest.mark.parametrize(("mode", "code"), [("4xx", 451), ("5xx", 554), ("421", 421)])
def test_smtp_sink_data_failures(smtp_sink: SmtpSink, mode: str, code: int) -> None:
    smtp_sink.mode = mode
    with pytest.raises(smtplib.SMTPDataError) as failure:
        send(smtp_sink, ["an.peeters@voorbeeld.example"])
    assert failure.value.smtp_code == code
    assert smtp_sink.messages == []


def test_smtp_sink_421_closes_the_connection(smtp_sink: SmtpSink) -> None:
    smtp_sink.mode = "421"
    with (
        socket.create_connection((smtp_sink.host, smtp_sink.port), timeout=5) as sock,
        sock.makefile("rwb") as stream,
    ):

        def say(line: bytes) -> bytes:
            stream.write(line + b"\r\n")
            stream.flush()
            return stream.readline()

        assert stream.readline().startswith(b"220")
        assert say(b"HELO test").startswith(b"250")
        assert say(b"MAIL FROM:<leernetwerk@in-gent.example>").startswith(b"250")
        assert say(b"RCPT TO:<an.peeters@voorbeeld.example>").startswith(b"250")
        assert say(b"DATA").startswith(b"354")
        assert say(b"Subject: x\r\n\r\nbody\r\n.").startswith(b"421 ")
        assert stream.readline() == b""  # the server closed the connection


def test_smtp_sink_recipient_rejections(smtp_sink: SmtpSink) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_sink, ["reject5@voorbeeld.example"])
    assert refused.value.recipients["reject5@voorbeeld.example"][0] == 550
    with pytest.raises(smtplib.SMTPRecipientsRefused) as deferred:
        send(smtp_sink, ["defer4.jan@voorbeeld.example"])
    assert deferred.value.recipients["defer4.jan@voorbeeld.example"][0] == 450
    # Some refused, some accepted: smtplib returns the refusals and the message goes to the rest.
    partial = send(smtp_sink, ["reject5@voorbeeld.example", "an.peeters@voorbeeld.example"])
    assert partial["reject5@voorbeeld.example"][0] == 550
    assert smtp_sink.wait_for(1)[0].rcpt_tos == ["an.peeters@voorbeeld.example"]


@pytest.mark.servers  # its own SMTP sink with TLS
def test_smtp_sink_starttls_and_auth(tls_files: TlsFiles) -> None:
    server_context, client_context = tls_files.server_context(), tls_files.client_context()
    with SmtpSink(tls_context=server_context, require_starttls=True, auth={"mailer": "s3cret"}) as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.starttls(context=client_context)
            with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
                smtp.login("mailer", "wrong")
            assert wrong.value.smtp_code == 535
            smtp.login("mailer", "s3cret")
            smtp.sendmail("leernetwerk@in-gent.example", ["an.peeters@voorbeeld.example"], make_mail())
        assert len(sink.wait_for(1)) == 1
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
            smtp.starttls(context=client_context)
            with pytest.raises(smtplib.SMTPSenderRefused) as no_auth:
                smtp.sendmail("leernetwerk@in-gent.example", ["an.peeters@voorbeeld.example"], make_mail())
            assert no_auth.value.smtp_code == 530


@pytest.mark.servers  # its own SMTP sink with TLS
def test_smtp_sink_implicit_tls(tls_files: TlsFiles) -> None:
    server_context, client_context = tls_files.server_context(), tls_files.client_context()
    with SmtpSink(tls_context=server_context, implicit_tls=True, auth={"mailer": "s3cret"}) as sink:
        with smtplib.SMTP_SSL(sink.host, sink.port, timeout=10, context=client_context) as smtp:
            smtp.login("mailer", "s3cret")
            smtp.sendmail("leernetwerk@in-gent.example", ["an.peeters@voorbeeld.example"], make_mail())
        assert len(sink.wait_for(1)) == 1


# --- PostgreSQL and the database_url fixture ----------------------------------------------------------------


def test_postgres_create_database_and_connect(postgres_server: Postgres) -> None:
    url = postgres_server.create_database()
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("select 1")).scalar() == 1
            assert (
                conn.execute(sqlalchemy.text("select current_database()")).scalar() == url.rsplit("/", 1)[1]
            )
    finally:
        engine.dispose()


def test_database_url_is_empty_and_writable(database_url: str) -> None:
    engine = sqlalchemy.create_engine(database_url)
    try:
        assert sqlalchemy.inspect(engine).get_table_names() == []
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("create table t (id integer primary key, name text)"))
            conn.execute(sqlalchemy.text("insert into t (id, name) values (1, 'Ine')"))
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("select name from t")).scalar() == "Ine"
    finally:
        engine.dispose()


# --- helpers ------------------------------------------------------------------------------------------------


def test_make_config_loads(
    tmp_path: Path, imap: ImapBox, smtp_sink: SmtpSink, make_config: MakeConfig
) -> None:
    path = make_config(imap, smtp_sink, f"sqlite:///{tmp_path}/m.db", imap={"batch_size": 7})
    assert imap.password not in path.read_text()
    # The shape of the shipped example: its sections and its IMAP keys (the tests add port and no oauth2).
    import tomllib

    written, example = (
        tomllib.loads(path.read_text()),
        tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8")),
    )
    assert set(written) == set(example) - {"organisations"}
    assert set(written["imap"]) >= set(example["imap"])
    config = load_config(path)
    assert config.imap is not None and config.smtp is not None
    assert (config.imap.host, config.imap.port, config.imap.batch_size) == (imap.host, imap.port, 7)
    assert reveal(config.imap.password) == imap.password
    assert config.smtp.port == smtp_sink.port
    assert len(config.meetings) == 3


def test_to_toml_round_trips() -> None:
    import datetime as dt
    import tomllib

    document = {
        "a": {"s": 'quote " and é', "n": 3, "b": True, "d": dt.date(2027, 1, 12), "l": ["x", "y"]},
        "m": [{"date": dt.date(2027, 2, 9)}, {"date": dt.date(2027, 3, 9)}],
    }
    assert tomllib.loads(to_toml(document)) == document
