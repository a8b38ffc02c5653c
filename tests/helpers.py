"""Helpers shared by the tests: a handle on the test mailbox (`ImapBox`) and a writer for mailflow config
files.

Import them as `from helpers import registration` (tests/ is on sys.path; it is not a package).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import json
import os
import re
import ssl
import time
import tomllib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import imapclient
import trustme
from imapclient.exceptions import IMAPClientError

SIGNUP_ADDRESS = "leernetwerk@in-gent.example"
COORDINATOR = "coordinator@in-gent.example"
# Found beside the tests, not through the package: an installed mailflow has no config.example.toml.
EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"


class ImapBox:
    """The test user's mailbox on the session IMAP server: seed it, inspect it, open clients on it."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.kind: str = server.kind
        self.host: str = server.host
        self.port: int = server.port
        self.username: str = server.username
        self.password: str = server.password
        self._clients: list[imapclient.IMAPClient] = []
        self._own: imapclient.IMAPClient | None = None
        self._separator: str | None = None

    def name(self, folder: str) -> str:
        """The server's name of a folder written as mailflow's config writes it, "/" between levels: the
        server's separator may be "." and its folders may live under a prefix such as "INBOX."."""
        if folder.upper() == "INBOX":
            return folder
        if self._separator is None:
            self._separator = self._helper().list_folders("", "")[0][1].decode()  # LIST "" "": the separator
        return getattr(self.server, "prefix", "") + folder.replace("/", self._separator)

    def config_name(self, name: str) -> str:
        """The reverse of `name`."""
        prefix = getattr(self.server, "prefix", "")
        if name.upper() == "INBOX" or not name.startswith(prefix):
            return name
        self.name("x")  # learns the separator
        assert self._separator is not None
        return name[len(prefix) :].replace(self._separator, "/")

    def client(self) -> imapclient.IMAPClient:
        """A new logged-in IMAPClient; closed at teardown if the test did not."""
        client = imapclient.IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        client.login(self.username, self.password)
        self._clients.append(client)
        return client

    def _helper(self) -> imapclient.IMAPClient:
        # One connection for the helpers; reopened if a test stopped the server under it.
        if self._own is not None:
            try:
                self._own.noop()
            except (OSError, imaplib.IMAP4.error):
                _close(self._own)
                self._own = None
        if self._own is None:
            self._own = self.client()
        return self._own

    def close(self) -> None:
        for client in self._clients:
            _close(client)
        self._clients.clear()
        self._own = None

    def reset(self) -> None:
        """Delete every folder but INBOX and empty INBOX, so each test starts from a blank mailbox."""
        client = self._helper()
        names = [name for _flags, _delim, name in client.list_folders() if name.upper() != "INBOX"]
        # Children before parents: Maildir refuses to delete a folder that still has children.
        for name in sorted(names, key=lambda n: (-self.config_name(n).count("/"), n)):
            try:
                client.delete_folder(name)
            except IMAPClientError:
                pass  # a \Noselect parent such as "mailflow" vanishes with its last child
        client.select_folder("INBOX")
        uids = client.search("ALL")
        if uids:
            client.delete_messages(uids)
            client.expunge()
        _leave(client)
        left = self.folders()
        if left != ["INBOX"]:
            raise RuntimeError(f"could not reset the test mailbox, folders left: {left}")

    def ensure_folder(self, folder: str) -> None:
        client = self._helper()
        if folder.upper() != "INBOX" and not client.folder_exists(self.name(folder)):
            client.create_folder(self.name(folder))

    def append(
        self, folder: str, raw: bytes, msg_time: dt.datetime | None = None, flags: Iterable[str] = ()
    ) -> int:
        """APPEND one message (creating the folder if missing); returns its UID."""
        self.ensure_folder(folder)
        response = self._helper().append(self.name(folder), raw, flags=tuple(flags), msg_time=msg_time)
        return _appenduids(response)[0]

    def append_many(self, folder: str, raws: Iterable[bytes]) -> list[int]:
        """MULTIAPPEND many messages in one command (pymap: ~50x faster than one APPEND each); returns their
        UIDs."""
        self.ensure_folder(folder)
        messages = list(raws)
        if not messages:
            return []
        # Unlike append(), multiappend returns (typ, [text]).
        _typ, data = self._helper().multiappend(self.name(folder), messages)
        return _appenduids(data[-1])

    def fetch_all(self, folder: str) -> list[bytes]:
        """The raw messages in `folder`, by UID; [] when the folder does not exist. Sets no flags
        (BODY.PEEK)."""
        return list(self.fetch_by_uid(folder).values())

    def fetch_by_uid(self, folder: str) -> dict[int, bytes]:
        client = self._helper()
        if not client.folder_exists(self.name(folder)):
            return {}
        client.select_folder(self.name(folder), readonly=True)
        try:
            uids = sorted(client.search("ALL"))
            if not uids:
                return {}
            data = client.fetch(uids, ["BODY.PEEK[]"])
            return {uid: data[uid][b"BODY[]"] for uid in uids}
        finally:
            _leave(client)

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        """The flags of every message in `folder`, by UID."""
        client = self._helper()
        client.select_folder(self.name(folder), readonly=True)
        try:
            uids = client.search("ALL")
            return dict(client.get_flags(uids)) if uids else {}
        finally:
            _leave(client)

    def count(self, folder: str) -> int:
        """How many messages `folder` holds; 0 when it does not exist."""
        client = self._helper()
        if not client.folder_exists(self.name(folder)):
            return 0
        return int(client.folder_status(self.name(folder), ["MESSAGES"])[b"MESSAGES"])

    def folders(self) -> list[str]:
        """Every folder name, sorted, written as the config writes it ("/" between levels)."""
        return sorted(self.config_name(name) for _flags, _delim, name in self._helper().list_folders())


def _leave(client: imapclient.IMAPClient) -> None:
    # pymap has no UNSELECT and refuses CLOSE on a read-only mailbox: it just stays selected there.
    if b"UNSELECT" in client.capabilities():
        client.unselect_folder()


def _close(client: imapclient.IMAPClient) -> None:
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error):
        with contextlib.suppress(OSError):
            client.shutdown()


def _appenduids(response: bytes) -> list[int]:
    # RFC 4315 UIDPLUS: "[APPENDUID <uidvalidity> <uid-set>]", uid-set like "7" or "7:9" or "7,9".
    match = re.search(rb"APPENDUID \d+ ([\d:,]+)", response)
    if not match:
        raise AssertionError(f"server sent no APPENDUID: {response!r}")
    uids: list[int] = []
    for part in match.group(1).decode().split(","):
        first, _, last = part.partition(":")
        low, high = sorted((int(first), int(last or first)))
        uids.extend(range(low, high + 1))
    return uids


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost, as PEM files."""

    ca: trustme.CA
    ca_file: Path  # what a client trusts: mailflow's `ca_file` key
    cert_file: Path  # the server's certificate chain
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


def make_tls_files(directory: Path) -> TlsFiles:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(ca, directory / "ca.pem", directory / "server.crt", directory / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_file))
    with open(files.cert_file, "wb") as chain:
        chain.writelines(pem.bytes() for pem in cert.cert_chain_pems)
    cert.private_key_pem.write_to_path(str(files.key_file))
    return files


def default_meetings(today: dt.date | None = None) -> list[dict[str, Any]]:
    """Three Tuesday meetings, the first 2-3 weeks after `today`, four weeks apart."""
    today = today or dt.date.today()
    first = today + dt.timedelta(days=14 + (1 - today.weekday()) % 7)
    themes = [
        ("Samen sterk in de buurt", ["Ine Verbeke"]),
        ("Digitale drempels", ["Karim Aziz", "Lotte De Smet"]),
        ("Vrijwilligers vinden en houden", []),
    ]
    return [
        {"date": first + dt.timedelta(weeks=4 * i), "theme": theme, "speakers": speakers, "capacity": 30}
        for i, (theme, speakers) in enumerate(themes)
    ]


class MakeConfig(Protocol):
    """The `make_config` fixture: `make_config(imap, smtp, database_url=None, *, directory=None,
    **overrides)`."""

    def __call__(
        self,
        imap: Any,
        smtp: Any,
        database_url: str | None = None,
        /,
        *,
        directory: Path | None = None,
        **overrides: Any,
    ) -> Path: ...


def write_config(
    directory: Path,
    imap: Any,
    smtp_sink: Any,
    database_url: str,
    monkeypatch: Any = None,
    /,
    **overrides: Any,
) -> Path:
    """Write `directory/config.toml` for the test servers; returns its path. Tests use the `make_config`
    fixture.

    It starts from config.example.toml, the file users copy, so the tests read every section and key a user's
    file has; the test network, venue, servers, database and meetings take the place of the example's.
    The IMAP password goes into a fresh environment variable (through `monkeypatch` when given) and the file
    holds only its name. `overrides` replace keys per section, e.g. `imap={"batch_size": 2}`,
    `meetings=[...]`; a section given as None is left out, and so is a key given as None.
    """
    password_env = f"MAILFLOW_TEST_IMAP_PASSWORD_{uuid.uuid4().hex[:8].upper()}"
    if monkeypatch is not None:
        monkeypatch.setenv(password_env, imap.password)
    else:
        os.environ[password_env] = imap.password
    tests: dict[str, Any] = {
        "network": {
            "name": "Leernetwerk In-Gent",
            "timezone": "Europe/Brussels",
            "language": "nl",
            "signup_address": SIGNUP_ADDRESS,
            "coordinator": COORDINATOR,
        },
        "venue": {
            "name": "Buurthuis De Sleutel",
            "address": "Voorbeeldstraat 12, 9000 Gent",
            "start": "19:30",
            "end": "21:30",
        },
        "imap": {
            "host": imap.host,
            "port": imap.port,
            "tls": "none",
            "username": imap.username,
            "password_env": password_env,
            "folder": "INBOX",
            "processed_folder": "mailflow/processed",
            "review_folder": "mailflow/review",
            "batch_size": 50,
            "poll_interval": 1,
        },
        # The sink takes mail without a login.
        "smtp": {
            "host": smtp_sink.host,
            "port": smtp_sink.port,
            "tls": "none",
            "from": SIGNUP_ADDRESS,
            "username": None,
            "password_env": None,
        },
        "database": {"url": database_url},
        # Left out: the example knows WVG, which would change how the tests' mails from WVG are read.
        "organisations": None,
        "meetings": default_meetings(),
    }
    sections = _merged(tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8")), tests)
    sections = _merged(sections, overrides)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(to_toml(sections), encoding="utf-8")
    return path


def _merged(sections: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`sections` with `changes` applied: a table merges key by key, None drops a section, anything else
    replaces."""
    merged = dict(sections)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def to_toml(document: Mapping[str, Any]) -> str:
    """Enough TOML for config files: tables of scalars and lists, and arrays of tables."""
    out: list[str] = []
    for name, value in document.items():
        if isinstance(value, Mapping):
            out.append(f"[{name}]")
            out.extend(f"{key} = {_toml_value(item)}" for key, item in value.items() if item is not None)
            out.append("")
        elif isinstance(value, list) and all(isinstance(item, Mapping) for item in value):
            for table in value:
                out.append(f"[[{name}]]")
                out.extend(f"{key} = {_toml_value(item)}" for key, item in table.items() if item is not None)
                out.append("")
        else:
            raise TypeError(f"top-level {name} must be a table or a list of tables")
    return "\n".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, (dt.date, dt.time)):  # dt.datetime is a dt.date: written as an offset date-time
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Path):
        return json.dumps(str(value), ensure_ascii=False)
    raise TypeError(f"cannot write {value!r} as TOML")


_FIRST_NAMES = ["Ine", "Karim", "Lotte", "Bram", "Sofie", "Youssef", "Hanne", "Pieter", "Amina", "Wout"]
_LAST_NAMES = [
    "Verbeke",
    "Aziz",
    "De Smet",
    "Claes",
    "Peeters",
    "Janssens",
    "Maes",
    "Willems",
    "Mertens",
    "Wouters",
    "Jacobs",
    "Goossens",
    "Hermans",
    "Dubois",
    "Lambert",
    "Dumont",
    "Martens",
    "Vermeulen",
    "Pauwels",
]


def registration(number: int, question: bool = False, tag: str = "reg") -> bytes:
    """A short Dutch registration from an invented volunteer of their own: Message-ID
    <tag-number@example.org>.

    With `question` it also asks something, so mailflow registers and answers it and files it for review.
    """
    first = _FIRST_NAMES[number % len(_FIRST_NAMES)]
    last = _LAST_NAMES[number // len(_FIRST_NAMES) % len(_LAST_NAMES)]
    address = f"{first}.{last.replace(' ', '')}.{number}@example.org".lower()
    ask = " Is er parking in de buurt?" if question else ""
    return (
        f"From: {first} {last} <{address}>\r\n"
        f"To: {SIGNUP_ADDRESS}\r\n"
        "Subject: Inschrijving leernetwerk\r\n"
        f"Message-ID: <{tag}-{number}@example.org>\r\n"
        "Date: Mon, 15 Dec 2025 09:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Dag,\r\n\r\nIk schrijf me graag in voor het leernetwerk.{ask}\r\n\r\nGroeten,\r\n{first} {last}\r\n"
    ).encode()


def replies(sink: Any) -> list[Any]:
    """What the SMTP sink received for volunteers: all but the coordinator's digest, which may go at any
    hour."""
    return [received for received in sink.messages if COORDINATOR not in received.rcpt_tos]


def wait_for_replies(sink: Any, count: int, timeout: float = 30.0) -> list[Any]:
    """Wait until the sink holds at least `count` replies to volunteers; returns them. Raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while len(found := replies(sink)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"SMTP sink got {len(found)} of {count} replies within {timeout} s")
        time.sleep(0.05)
    return found


def wait_for_first_pass(database_url: str, timeout: float = 30.0) -> None:
    """Until a `mailflow run` process has read the mailbox once, which marks where new mail starts.

    Polls the database: this waits for another process, which no injected clock can hurry.
    """
    import sqlalchemy as sa

    deadline = time.monotonic() + timeout
    engine = sa.create_engine(database_url)
    try:
        while time.monotonic() < deadline:
            try:
                with engine.connect() as connection:
                    if connection.scalar(sa.text("select count(*) from mailbox_state")):
                        return
            except sa.exc.SQLAlchemyError:
                pass  # the schema is still being created
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError("the daemon never made its first pass")


@contextlib.contextmanager
def database(database_url: str) -> Iterator[Any]:
    """A session on mailflow's database (migrated if new), closed with its connections afterwards."""
    from mailflow.adapters.db.engine import close_database, open_database

    sessions = open_database(database_url)
    try:
        with sessions() as db:
            yield db
    finally:
        close_database(sessions)
