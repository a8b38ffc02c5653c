"""The messages a newcomer reads when a config or a server is wrong: each names the key or the server, says
what was expected, and gives the likely fix; meetings are counted as people count them; no secret in any.

Configs go through `parse_config`/`load_config` (fast lane); servers are real (Dovecot or pymap, aiosmtpd),
staged wrong: a wrong password, a closed port, a tls mode that does not fit the port.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import ImapBox, TlsFiles
from servers import Dovecot

from mailflow.adapters.config_file import load_config, parse_config
from mailflow.adapters.db.engine import open_database
from mailflow.adapters.imap import Inbox
from mailflow.adapters.secrets import reveal
from mailflow.adapters.smtp import SmtpOutbox
from mailflow.errors import ConfigError, DeliveryError, MailboxError, StoreError
from mailflow.settings import Imap, Secret, Smtp
from mailflow.testing.servers import SmtpSink, free_port

NETWORK = {"signup_address": "leernetwerk@in-gent.example", "coordinator": "coordinator@in-gent.example"}
VENUE = {"name": "Buurthuis De Sleutel", "address": "Voorbeeldstraat 12, 9000 Gent"}
IMAP = {"host": "imap.in-gent.example", "username": "leernetwerk", "password_env": "MAILFLOW_IMAP_PASSWORD"}
SMTP = {"host": "smtp.in-gent.example", "port": 587, "tls": "starttls"}
EXAMPLE_RULE = '"FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TU" (every other month, the second Tuesday)'
SECRET = "cmd-Secret-8d41e2"


def _meetings(*dates: str) -> list[dict[str, Any]]:
    return [{"date": date, "theme": f"Thema {n}"} for n, date in enumerate(dates, start=1)]


CONFIGS: list[tuple[str, dict[str, Any], str]] = [
    (
        "a date typo in the second meeting",
        {"meetings": [*_meetings("2026-01-13"), {"date": "10/03/2026", "theme": "b"}]},
        "meetings 2: date must be an ISO date like 2026-01-13 (year-month-day), got '10/03/2026'",
    ),
    (
        "the third meeting has no theme",
        {"meetings": [*_meetings("2026-01-13", "2026-03-10"), {"date": "2026-05-12"}]},
        "meetings 3: theme is missing: add it under that [[meetings]] table",
    ),
    (
        "two meetings share a date",
        {"meetings": _meetings("2026-01-13", "2026-03-10", "2026-03-10")},
        (
            "meetings 2 and 3 share the date 2026-03-10: each meeting needs its own date; correct one, "
            "or remove the double"
        ),
    ),
    (
        "a misspelt key in a meeting",
        {"meetings": [{"date": "2026-01-13", "theme": "a", "speaker": ["Ine"]}]},
        "unknown key meetings 1: speaker (a typo? did you mean meetings 1: speakers?)",
    ),
    (
        "a meeting's speakers as one string",
        {"meetings": [{"date": "2026-01-13", "theme": "a", "speakers": "Ine"}]},
        "meetings 1: speakers must be a list of strings, got 'Ine'",
    ),
    (
        "meetings written as one table",
        {"meetings": {"date": "2026-01-13", "theme": "a"}},
        "meetings must be written as [[meetings]] tables",
    ),
    (
        "the second organisation has no name",
        {"organisations": [{"name": "Caritas"}, {"aliases": ["WVG"]}]},
        "organisations 2: name is missing: add it under that [[organisations]] table",
    ),
    (
        "an rrule part without its '='",
        {"recurrence": {"rule": "FREQ=MONTHLY;INTERVAL2;BYDAY=+2TU"}},
        (
            "recurrence.rule: 'INTERVAL2' is not a NAME=VALUE part; separate the parts with ';', "
            f"like {EXAMPLE_RULE}"
        ),
    ),
    (
        "an rrule with a comma for a semicolon",
        {"recurrence": {"rule": "FREQ=MONTHLY,INTERVAL=2"}},
        "recurrence.rule 'FREQ=MONTHLY,INTERVAL=2' is not an RFC 5545 RRULE",
    ),
    (
        "an rrule part misspelt",
        {"recurrence": {"rule": "FREQ=MONTHLY;BYDAYS=+2TU"}},
        "recurrence.rule: unknown part 'BYDAYS' (did you mean BYDAY?)",
    ),
    (
        "an rrule value misspelt",
        {"recurrence": {"rule": "FREQ=MONTHY;INTERVAL=2"}},
        (
            f"recurrence.rule 'FREQ=MONTHY;INTERVAL=2' is not an RFC 5545 RRULE (invalid 'FREQ': MONTHY); "
            f"write it like {EXAMPLE_RULE}"
        ),
    ),
    (
        "a section name misspelt",
        {"databse": {"url": "sqlite:///mailflow.db"}},
        "unknown key databse (a typo? did you mean database?)",
    ),
    (
        "an imap key misspelt",
        {"imap": {**IMAP, "fodler": "INBOX"}},
        "unknown key imap.fodler (a typo? did you mean imap.folder?)",
    ),
    (
        "an unknown time zone",
        {"network": {**NETWORK, "timezone": "Europe/Gent"}},
        "network.timezone: unknown time zone 'Europe/Gent'; give a tz database name like Europe/Brussels",
    ),
    (
        "the signup address missing",
        {"network": {"coordinator": "coordinator@in-gent.example"}},
        "network.signup_address is missing: add it under [network]",
    ),
    (
        "a name and address as the coordinator",
        {"network": {**NETWORK, "coordinator": "Coordinator <coordinator@in-gent.example>"}},
        (
            "network.coordinator must be a plain address like name@example.org, "
            "got 'Coordinator <coordinator@in-gent.example>'"
        ),
    ),
    (
        "the venue ends before it starts",
        {"venue": {**VENUE, "start": "19:30", "end": "09:30"}},
        "venue.end (09:30) must be later than venue.start (19:30); times are 24-hour, like 21:30",
    ),
    (
        "plain text to a remote server",
        {"imap": {**IMAP, "tls": "none"}},
        (
            'imap.tls = "none" is refused for imap.in-gent.example: passwords would cross the network in '
            'clear; use tls = "ssl" or "starttls" (plain text is allowed for 127.0.0.1 and localhost only)'
        ),
    ),
    (
        "a tls mode that does not exist",
        {"imap": {**IMAP, "tls": "tls"}},
        "imap.tls must be one of ssl, starttls, none, got 'tls'",
    ),
    (
        "the port as a string",
        {"imap": {**IMAP, "port": "993"}},
        "imap.port must be a whole number, got '993'",
    ),
    (
        "a ca_file that is not there",
        {"imap": {**IMAP, "ca_file": "certs/ca.pem"}},
        (
            "imap.ca_file: /srv/mailflow/certs/ca.pem does not exist; give the CA certificate's path (PEM), "
            "absolute or relative to the config file's folder, or leave the key out to use the system's "
            "trust store"
        ),
    ),
    (
        "the password in the file",
        {"imap": {**IMAP, "password": "hunter2"}},
        "imap.password: secrets never sit in the file; use password_env or password_command",
    ),
    (
        "no secret at all",
        {"imap": {k: v for k, v in IMAP.items() if k != "password_env"}},
        (
            "imap: give password_env, password_command, oauth2_token_env or oauth2_token_command: "
            "there is no secret to log in with (the secret itself never sits in the file)"
        ),
    ),
    (
        "the processed folder is the inbox",
        {"imap": {**IMAP, "processed_folder": "INBOX"}},
        (
            "imap.folder, imap.processed_folder and imap.review_folder must all differ, "
            "got 'INBOX', 'INBOX' and 'mailflow/review'"
        ),
    ),
    (
        "an smtp user without a password",
        {"smtp": {**SMTP, "username": "leernetwerk"}},
        (
            "smtp.username is set: give smtp.password_env or smtp.password_command too, "
            "or leave smtp.username out if the server takes mail without a login"
        ),
    ),
]


@pytest.mark.parametrize(("sections", "message"), [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS])
def test_a_broken_config_says_which_key_and_how_to_fix_it(sections: dict[str, Any], message: str) -> None:
    data = {"network": NETWORK, "venue": VENUE, **sections}
    with pytest.raises(ConfigError) as failure:
        parse_config(data, base_dir=Path("/srv/mailflow"))
    assert str(failure.value).startswith(message)
    assert "[0]" not in str(failure.value) and "[1]" not in str(failure.value)  # counted from 1


def test_a_file_that_is_not_toml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[network]\nsignup_address = "leernetwerk@in-gent.example\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config file .*config\.toml is not valid TOML: .*\(at line 2"):
        load_config(path)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            f"/nonexistent/password-helper --account {SECRET}",
            (
                "imap.password_command: the password command '/nonexistent/password-helper' was not found; "
                "give its full path, or install it"
            ),
        ),
        (
            f"sh -c 'echo {SECRET}; exit 3'",
            (
                "imap.password_command: the password command 'sh' exited with status 3; "
                "run it by hand as the mailflow user to see why"
            ),
        ),
        (
            f"sh -c 'echo {SECRET} >&2; kill -9 $$'",
            (
                "imap.password_command: the password command 'sh' was killed by signal 9; "
                "run it by hand as the mailflow user to see why"
            ),
        ),
        (
            "true",
            (
                "imap.password_command: the password command 'true' printed nothing; "
                "it must print the secret on its standard output"
            ),
        ),
        (
            f"pass show 'mail/{SECRET}",
            "imap.password_command: a quote is not closed; check the command's quoting",
        ),
    ],
    ids=["not found", "fails", "killed", "prints nothing", "unclosed quote"],
)
def test_a_password_command_is_named_by_its_program_never_its_secret(command: str, message: str) -> None:
    with pytest.raises(ConfigError) as failure:
        reveal(Secret(command=command), "imap.password")
    assert str(failure.value) == message
    assert SECRET not in str(failure.value)


def test_an_unset_password_variable_is_named_with_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILFLOW_SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as failure:
        reveal(Secret(env="MAILFLOW_SMTP_PASSWORD"), "smtp.password")
    assert str(failure.value) == (
        "smtp.password_env: the environment variable MAILFLOW_SMTP_PASSWORD is not set or empty; export it "
        "before starting mailflow (a service: put it in the unit's EnvironmentFile)"
    )


# --- the database -------------------------------------------------------------------------------------------


def test_a_database_under_a_file_says_the_folder_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder", encoding="utf-8")
    with pytest.raises(StoreError) as failure:
        open_database(f"sqlite:///{tmp_path}/data/mailflow.db")
    assert str(failure.value).startswith(f"database {tmp_path}/data/mailflow.db: SQLite cannot use it (")
    assert f"{tmp_path}/data is a file, not a folder; set database.url to a writable place" in str(
        failure.value
    )


def _unwritable_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    # root writes through any mode bits; /sys takes no new files from anyone.
    folder = Path("/sys")
    try:
        (folder / "mailflow-probe").touch()
    except OSError:
        return folder
    pytest.skip("no folder here is closed to root")


def test_a_database_in_a_read_only_folder_says_which_folder_and_why(tmp_path: Path) -> None:
    # What systemd's ProtectSystem=strict does to a database beside /etc/mailflow/config.toml.
    folder = _unwritable_folder(tmp_path)
    with pytest.raises(StoreError) as failure:
        open_database(f"sqlite:///{folder}/mailflow.db")
    message = str(failure.value)
    assert message.startswith(
        f"database {folder}/mailflow.db: SQLite cannot use it (unable to open database file)"
    )
    assert f"the folder {folder} is not writable for this user (" in message
    assert "(ReadWritePaths= for a service), or set database.url to a writable place" in message


# --- servers ------------------------------------------------------------------------------------------------


def _imap(monkeypatch: pytest.MonkeyPatch, host: str, port: int, password: str, **keys: Any) -> Imap:
    monkeypatch.setenv("MAILFLOW_TEST_ERR_PASSWORD", password)
    imap = {"host": host, "port": port, "tls": "none", "username": "signup", "timeout": 2}
    imap |= {"password_env": "MAILFLOW_TEST_ERR_PASSWORD", **keys}
    config = parse_config({"network": NETWORK, "venue": VENUE, "imap": imap}, base_dir=Path("/srv"))
    assert config.imap is not None
    return config.imap


def _smtp(monkeypatch: pytest.MonkeyPatch, port: int, password: str | None = None, **keys: Any) -> Smtp:
    smtp: dict[str, Any] = {"host": "127.0.0.1", "port": port, "tls": "none", "timeout": 2, **keys}
    if password is not None:
        monkeypatch.setenv("MAILFLOW_TEST_ERR_SMTP", password)
        smtp |= {"username": "mailer", "password_env": "MAILFLOW_TEST_ERR_SMTP"}
    config = parse_config({"network": NETWORK, "venue": VENUE, "smtp": smtp}, base_dir=Path("/srv"))
    assert config.smtp is not None
    return config.smtp


def _imap_error(settings: Imap) -> str:
    with pytest.raises(MailboxError) as failure:
        Inbox(settings).connect()
    return str(failure.value)


def _smtp_error(settings: Smtp) -> str:
    with pytest.raises(DeliveryError) as failure:
        SmtpOutbox(settings).connect()
    return str(failure.value)


def test_imap_wrong_password_shows_the_servers_words_not_bytes(monkeypatch, imap: ImapBox) -> None:
    wrong = "wrong-Secret-5a0c19"
    message = _imap_error(_imap(monkeypatch, imap.host, imap.port, wrong, username=imap.username))
    assert re.fullmatch(
        rf'IMAP {imap.host}:{imap.port}: login refused for the configured user: the server said "[^"]+"; '
        r"check imap.username and the secret that imap.password_env or imap.password_command gives",
        message,
    ), message
    said = message.split('"')[1]
    assert "b'" not in message and "\\" not in message
    if imap.kind == "dovecot":
        assert said == "[AUTHENTICATIONFAILED] Authentication failed."
    assert wrong not in message and imap.username not in message


def test_imap_closed_port_says_nothing_listens(monkeypatch) -> None:
    port = free_port()
    message = _imap_error(_imap(monkeypatch, "127.0.0.1", port, "unused"))
    assert message == (
        f"IMAP 127.0.0.1:{port}: cannot connect (connection refused): nothing listens on port {port} of "
        "127.0.0.1: check imap.host and imap.port"
    )


@pytest.mark.servers
def test_imap_ssl_on_the_starttls_port_says_to_use_starttls(
    monkeypatch, imap_tls_server: Dovecot, tls_files: TlsFiles
) -> None:
    port = imap_tls_server.port
    settings = _imap(
        monkeypatch, "127.0.0.1", port, imap_tls_server.password, tls="ssl", ca_file=str(tls_files.ca_file)
    )
    assert _imap_error(settings) == (
        f"IMAP 127.0.0.1:{port}: TLS failed (WRONG_VERSION_NUMBER): the server on port {port} does not speak "
        f'TLS from the start: set imap.tls = "starttls" for this port, or imap.port = 993 for tls = "ssl"'
    )


@pytest.mark.servers
def test_imap_starttls_on_the_ssl_port_points_at_tls_ssl(
    monkeypatch, imap_tls_server: Dovecot, tls_files: TlsFiles
) -> None:
    port = imap_tls_server.tls_port
    assert port is not None
    settings = _imap(
        monkeypatch,
        "127.0.0.1",
        port,
        imap_tls_server.password,
        tls="starttls",
        ca_file=str(tls_files.ca_file),
    )
    assert _imap_error(settings) == (
        f"IMAP 127.0.0.1:{port}: cannot connect (timed out): no answer from 127.0.0.1:{port}: a firewall, "
        'a wrong imap.port, or a server that expects imap.tls = "ssl" there'
    )


def test_imap_certificate_of_another_name_says_which_key(monkeypatch, imap_tls_server: Dovecot) -> None:
    port = imap_tls_server.tls_port
    assert port is not None
    message = _imap_error(_imap(monkeypatch, "127.0.0.1", port, "unused", tls="ssl"))
    assert message == (
        f"IMAP 127.0.0.1:{port}: certificate refused (unable to get local issuer certificate): the "
        "server's certificate is not trusted for 127.0.0.1: check imap.host, or set imap.ca_file to the "
        "certificate of the CA that signed it"
    )


def test_smtp_closed_port_says_nothing_listens(monkeypatch) -> None:
    port = free_port()
    assert _smtp_error(_smtp(monkeypatch, port)) == (
        f"SMTP 127.0.0.1:{port}: cannot connect (connection refused): nothing listens on port {port} of "
        "127.0.0.1: check smtp.host and smtp.port"
    )


def test_smtp_without_auth_says_it_connected_and_what_to_change(monkeypatch, smtp_sink: SmtpSink) -> None:
    message = _smtp_error(_smtp(monkeypatch, smtp_sink.port, "smtp-Secret-0b9e44"))
    assert message == (
        f"SMTP 127.0.0.1:{smtp_sink.port}: connected, but the server offers no AUTH, so smtp.username cannot "
        'log in: wrong port or tls mode? many servers offer AUTH only over TLS: set smtp.tls = "starttls" or '
        '"ssl"; or leave smtp.username out if this server takes mail without a login'
    )
    assert "cannot connect" not in message and "smtp-Secret-0b9e44" not in message


@pytest.mark.servers
def test_smtp_wrong_password_keeps_the_code_and_the_servers_words(monkeypatch, tls_files: TlsFiles) -> None:
    wrong = "wrong-Secret-77e1d0"
    with SmtpSink(
        tls_context=tls_files.server_context(), require_starttls=True, auth={"mailer": "right-one"}
    ) as sink:
        settings = _smtp(monkeypatch, sink.port, wrong, tls="starttls", ca_file=str(tls_files.ca_file))
        message = _smtp_error(settings)
    assert message == (
        f"SMTP 127.0.0.1:{sink.port}: login refused for the configured user (535): the server said "
        '"5.7.8 Authentication credentials invalid"; check smtp.username and the secret that '
        "smtp.password_env or smtp.password_command gives"
    )
    assert wrong not in message


@pytest.mark.servers
def test_smtp_ssl_on_a_plain_port_says_to_use_starttls(monkeypatch, tls_files: TlsFiles) -> None:
    with SmtpSink(tls_context=tls_files.server_context(), require_starttls=True) as sink:
        message = _smtp_error(_smtp(monkeypatch, sink.port, tls="ssl", ca_file=str(tls_files.ca_file)))
    assert message == (
        f"SMTP 127.0.0.1:{sink.port}: TLS failed (WRONG_VERSION_NUMBER): the server on port {sink.port} does "
        f'not speak TLS from the start: set smtp.tls = "starttls" for this port, or smtp.port = 465 for '
        'tls = "ssl"'
    )


@pytest.mark.servers
def test_smtp_starttls_on_an_implicit_tls_port_points_at_tls_ssl(monkeypatch, tls_files: TlsFiles) -> None:
    with SmtpSink(tls_context=tls_files.server_context(), implicit_tls=True) as sink:
        message = _smtp_error(_smtp(monkeypatch, sink.port, tls="starttls", ca_file=str(tls_files.ca_file)))
    assert message.startswith(f"SMTP 127.0.0.1:{sink.port}: cannot connect (")
    assert 'expects smtp.tls = "ssl"' in message


@pytest.mark.parametrize(
    ("recipient", "mode", "message", "permanent"),
    [
        ("reject5@example.org", None, "recipient refused 550 5.1.1 No such user (test)", True),
        ("defer4@example.org", None, "recipient refused 450 4.2.1 Mailbox busy, try later (test)", False),
        ("ine@example.org", "5xx", "server answered 554 5.6.0 Rejected (test)", True),
        ("ine@example.org", "4xx", "server answered 451 4.3.0 Temporary failure (test)", False),
    ],
)
def test_a_refused_mail_keeps_the_servers_own_words(
    monkeypatch, smtp_sink: SmtpSink, recipient: str, mode: str | None, message: str, permanent: bool
) -> None:
    smtp_sink.mode = mode
    settings = _smtp(monkeypatch, smtp_sink.port)
    with SmtpOutbox(settings) as outbox, pytest.raises(DeliveryError) as failure:
        outbox.connect().send(b"Subject: x\r\n\r\nok\r\n", settings.sender, recipient)
    assert (str(failure.value), failure.value.permanent) == (message, permanent)
