"""IMAP only: connect, find and fetch new mail in the signup folder, move a mail once the database has
committed.

No parsing and no database here; `jobs` decides what a mail means and where it goes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self

import imapclient
import imapclient.exceptions
from imapclient.exceptions import IMAPClientError

from mailflow.adapters.imap_names import Hierarchy, server_name
from mailflow.adapters.network import connect_hint, describe, server_words, tls_context
from mailflow.adapters.secrets import reveal
from mailflow.errors import ConfigError, MailboxError
from mailflow.settings import Imap

log = logging.getLogger(__name__)


class _Client(Protocol):
    """What mailflow uses of imapclient.IMAPClient, which ships no type information (`mailflow check` too)."""

    def login(self, username: str, password: str) -> object: ...
    def oauth2_login(self, user: str, access_token: str) -> object: ...
    def starttls(self, ssl_context: ssl.SSLContext | None = None) -> object: ...
    def capabilities(self) -> tuple[bytes, ...]: ...
    def logout(self) -> object: ...
    def shutdown(self) -> None: ...
    def folder_exists(self, folder: str) -> bool: ...
    def list_folders(self, directory: str = "", pattern: str = "*") -> list[tuple[Any, ...]]: ...
    def namespace(self) -> tuple[Any, ...]: ...
    def create_folder(self, folder: str) -> object: ...
    def folder_status(self, folder: str, what: Sequence[str] | None = None) -> dict[bytes, Any]: ...
    def select_folder(self, folder: str, readonly: bool = False) -> dict[bytes, Any]: ...
    def search(self, criteria: Sequence[object], charset: str | None = None) -> list[int]: ...
    def fetch(self, messages: Sequence[int], data: Sequence[str]) -> dict[int, dict[bytes, Any]]: ...
    def move(self, messages: Sequence[int], folder: str) -> object: ...
    def copy(self, messages: Sequence[int], folder: str) -> object: ...
    def delete_messages(self, messages: Sequence[int]) -> object: ...
    def uid_expunge(self, messages: Sequence[int]) -> object: ...
    def expunge(self) -> object: ...
    def idle(self) -> object: ...
    def idle_check(self, timeout: float | None = None) -> list[tuple[Any, ...]]: ...
    def idle_done(self) -> object: ...
    def noop(self) -> object: ...


@dataclass(frozen=True)
class Fetched:
    """One mail as it sits in the folder. `raw` is None when the mail is larger than the limit and was not
    downloaded."""

    mailbox: str
    uidvalidity: int
    uid: int
    size: int
    internaldate: dt.datetime | None
    raw: bytes | None


class Inbox:
    """A logged-in IMAP connection to the signup mailbox. Use as a context manager."""

    def __init__(self, settings: Imap) -> None:
        self.settings = settings
        self.client: _Client | None = None
        self.capabilities: frozenset[bytes] = frozenset()
        self._hierarchy: Hierarchy | None = None
        self.exists = 0  # mails in the signup folder when it was last selected
        # The highest UID of the signup folder a reading pass has seen, and the UIDVALIDITY it belongs to: a
        # higher UID is new mail (see wait_for_mail).
        self._seen_uid: int | None = None
        self._uidvalidity: int | None = None

    # --- connection -----------------------------------------------------------------------------------------

    def connect(self) -> Self:
        """Connect, start TLS as configured and log in. Raises MailboxError saying what failed."""
        s = self.settings
        where = f"IMAP {s.host}:{s.port}"
        try:
            context = tls_context(s.ca_file) if s.tls != "none" else None
            # The timeout covers connecting and every read:
            # a server gone silent is left, not waited for forever.
            client: _Client = imapclient.IMAPClient(
                s.host, port=s.port, ssl=s.tls == "ssl", ssl_context=context, timeout=s.timeout
            )
            if s.tls == "starttls":
                _start_tls(client, context, where)
        except MailboxError:
            raise
        except ssl.SSLCertVerificationError as exc:
            hint = connect_hint("imap", s.host, s.port, s.tls, exc)
            raise MailboxError(f"{where}: certificate refused ({exc.verify_message}): {hint}") from None
        except ssl.SSLError as exc:
            hint = connect_hint("imap", s.host, s.port, s.tls, exc)
            raise MailboxError(f"{where}: TLS failed ({exc.reason}): {hint}") from None
        except (OSError, IMAPClientError) as exc:
            hint = connect_hint("imap", s.host, s.port, s.tls, exc)
            raise MailboxError(f"{where}: cannot connect ({describe(exc)}): {hint}") from None
        try:
            self._login(client)
        except ConfigError:
            _close_quietly(client)
            raise
        except (IMAPClientError, OSError) as exc:
            _close_quietly(client)
            raise MailboxError(_login_refused(where, s, exc)) from None
        self.client = client
        self.capabilities = frozenset(client.capabilities())
        log.info("connected to %s", where)
        return self

    def _login(self, client: _Client) -> None:
        s = self.settings
        if not s.oauth2_token:
            client.login(s.username, reveal(s.password, "imap.password"))
            return
        try:
            client.oauth2_login(s.username, reveal(s.oauth2_token, "imap.oauth2_token"))
        except imapclient.exceptions.LoginError:
            # An access token lives about an hour: the token command, asked again, refreshes it. Retry once.
            log.info("IMAP %s: XOAUTH2 token refused; asking the token command for a new one", s.host)
            client.oauth2_login(s.username, reveal(s.oauth2_token, "imap.oauth2_token"))

    def close(self) -> None:
        if self.client is not None:
            _close_quietly(self.client)
            self.client = None
        self._hierarchy = None

    def __enter__(self) -> Self:
        return self.connect() if self.client is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _imap(self) -> _Client:
        if self.client is None:
            raise MailboxError("IMAP: not connected")
        return self.client

    # --- folders --------------------------------------------------------------------------------------------

    @property
    def hierarchy(self) -> Hierarchy:
        """The server's folder separator and personal prefix, asked once per connection."""
        if self._hierarchy is None:
            try:
                # RFC 3501 6.3.8: LIST "" "" answers with the hierarchy delimiter (NIL on a flat server).
                listed = self._imap.list_folders("", "")
                raw = listed[0][1] if listed else b"/"
                separator = raw.decode() if isinstance(raw, bytes) else raw
                prefix = ""
                if b"NAMESPACE" in self.capabilities:
                    personal = self._imap.namespace()[0]
                    prefix = str(personal[0][0]) if personal else ""
            except (IMAPClientError, OSError) as exc:
                raise MailboxError(f"IMAP: cannot list folders ({describe(exc)})") from exc
            self._hierarchy = Hierarchy(separator, prefix)
        return self._hierarchy

    def server_name(self, folder: str) -> str:
        """The server's name of a folder as the config writes it ("/" between levels)."""
        s = self.settings
        keys = {
            s.folder: "imap.folder",
            s.processed_folder: "imap.processed_folder",
            s.review_folder: "imap.review_folder",
        }
        return server_name(folder, self.hierarchy, keys.get(folder, "the folder"))

    def ensure_folders(self) -> list[str]:
        """Create the processed and review folders when they are missing; the signup folder must exist.
        Returns the folders it created, as the config names them."""
        s = self.settings
        names = {f: self.server_name(f) for f in (s.folder, s.processed_folder, s.review_folder)}
        created = []
        try:
            if not self._imap.folder_exists(names[s.folder]):
                raise MailboxError(f"IMAP: folder {s.folder!r} (imap.folder) does not exist on {s.host}")
            for folder in (s.processed_folder, s.review_folder):
                if not self._imap.folder_exists(names[folder]):
                    self._create(folder, names[folder])
                    created.append(folder)
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP: cannot prepare folders ({describe(exc)})") from exc
        return created

    def _create(self, folder: str, name: str) -> None:
        try:
            self._imap.create_folder(name)
        except IMAPClientError as exc:
            h = self.hierarchy
            shown = f"{folder!r}" + (f" (on the server {name!r})" if name != folder else "")
            under = f" and its folders live under {h.prefix!r}" if h.prefix else ""
            raise MailboxError(
                f"IMAP: the server refused to create folder {shown}: {describe(exc)}; its folder "
                f"separator is {h.separator!r}{under}: choose another name (levels separated by '/'), "
                "or create the folder yourself and put its name in the config"
            ) from None
        log.info("created IMAP folder %s as %s", folder, name)

    def select(self) -> tuple[int, int]:
        """Select the signup folder read-write. Returns (UIDVALIDITY, UIDNEXT)."""
        try:
            info = self._imap.select_folder(self.server_name(self.settings.folder))
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(
                f"IMAP: cannot open folder {self.settings.folder!r} ({describe(exc)})"
            ) from exc
        uidvalidity = int(info[b"UIDVALIDITY"])
        if (
            uidvalidity != self._uidvalidity
        ):  # another folder behind the same name: what was seen means nothing
            self._uidvalidity, self._seen_uid = uidvalidity, None
        self.exists = int(info.get(b"EXISTS", 0))
        uidnext = int(info.get(b"UIDNEXT", 0))
        if not uidnext:  # RFC 3501 lets a server leave UIDNEXT out; the highest UID + 1 is the same thing
            uids = self._imap.search(["ALL"])
            uidnext = max(uids, default=0) + 1
        return uidvalidity, uidnext

    # --- reading --------------------------------------------------------------------------------------------

    def search_uids(self, first_uid: int, since: dt.date | None = None) -> list[int]:
        """UIDs in the selected folder from `first_uid` on
        (and, if given, that arrived on or after `since`)."""
        criteria: list[object] = ["UID", f"{max(first_uid, 1)}:*"]
        if since is not None:
            criteria += ["SINCE", since]
        try:
            uids = self._imap.search(criteria)
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP: search failed ({describe(exc)})") from exc
        # RFC 3501: "n:*" always matches the last message, even when its UID is below n.
        found = sorted(uid for uid in uids if uid >= first_uid)
        self._seen_uid = max(self._seen_uid or 0, first_uid - 1, *found)
        return found

    def fetch(self, uids: list[int], uidvalidity: int) -> Iterator[list[Fetched]]:
        """Download the given mails with BODY.PEEK[] (which sets no \\Seen flag), a batch at a time.

        Sizes are asked first (RFC822.SIZE), so a mail over the size limit is never downloaded whole.
        """
        s = self.settings
        for start in range(0, len(uids), s.batch_size):
            batch = uids[start : start + s.batch_size]
            try:
                meta = self._imap.fetch(batch, ["RFC822.SIZE", "INTERNALDATE"])
                small = [
                    uid for uid in batch if uid in meta and meta[uid][b"RFC822.SIZE"] <= s.max_message_bytes
                ]
                bodies = self._imap.fetch(small, ["BODY.PEEK[]"]) if small else {}
            except (IMAPClientError, OSError) as exc:
                raise MailboxError(f"IMAP: fetch failed ({describe(exc)})") from exc
            fetched = []
            for uid in batch:
                if uid not in meta:  # expunged by someone else meanwhile
                    continue
                raw = bodies.get(uid, {}).get(b"BODY[]")
                internaldate = meta[uid].get(b"INTERNALDATE")
                if isinstance(internaldate, dt.datetime) and internaldate.tzinfo is None:
                    internaldate = internaldate.astimezone()  # imapclient gives local time when normalising
                fetched.append(
                    Fetched(s.folder, uidvalidity, uid, int(meta[uid][b"RFC822.SIZE"]), internaldate, raw)
                )
            yield fetched

    # --- moving ---------------------------------------------------------------------------------------------

    def move(self, uids: list[int], folder: str) -> None:
        """Move mails out of the selected folder: MOVE (RFC 6851) where offered, else COPY,
        flag and expunge them."""
        try:
            name = self.server_name(folder)
            if b"MOVE" in self.capabilities:
                self._imap.move(uids, name)
            else:
                self._imap.copy(uids, name)
                self._expunge(uids)
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(
                f"IMAP: cannot move {len(uids)} mail(s) to {folder!r} ({describe(exc)})"
            ) from exc

    def _expunge(self, uids: list[int]) -> None:
        self._imap.delete_messages(uids)
        # RFC 4315 UID EXPUNGE removes only these mails, not others a person marked deleted.
        self._imap.uid_expunge(uids) if b"UIDPLUS" in self.capabilities else self._imap.expunge()

    # --- forgetting -----------------------------------------------------------------------------------------

    def find(self, folder: str, text: str) -> dict[int, bytes]:
        """Select `folder` and return, by UID, the mails whose headers or text contain `text` (RFC 3501 SEARCH
        TEXT, a substring match the caller confirms). A folder that does not exist holds nothing."""
        try:
            name = self.server_name(folder)
            if not self._imap.folder_exists(name):
                return {}
            self._imap.select_folder(name)
            uids = self._imap.search(["TEXT", text], charset="UTF-8" if not text.isascii() else None)
            found = self._imap.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP: cannot search folder {folder!r} ({describe(exc)})") from exc
        return {uid: data[b"BODY[]"] for uid, data in found.items() if b"BODY[]" in data}

    def headers(self, folder: str) -> list[bytes]:
        """The headers of every mail in `folder`, oldest first, read without changing anything (EXAMINE, and
        BODY.PEEK sets no \\Seen). A folder that does not exist holds nothing."""
        fields = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT FROM DATE)]"
        try:
            name = self.server_name(folder)
            if not self._imap.folder_exists(name):
                return []
            self._imap.select_folder(name, readonly=True)
            uids = self._imap.search(["ALL"])
            found = self._imap.fetch(uids, [fields]) if uids else {}
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP: cannot read folder {folder!r} ({describe(exc)})") from exc
        key = b"BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT FROM DATE)]"
        return [found[uid][key] for uid in sorted(found) if key in found[uid]]

    def delete(self, uids: list[int]) -> None:
        """Delete mails from the selected folder for good (\\Deleted, then expunged)."""
        if not uids:
            return
        try:
            self._expunge(uids)
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP: cannot delete {len(uids)} mail(s) ({describe(exc)})") from exc

    @property
    def can_idle(self) -> bool:
        return b"IDLE" in self.capabilities

    def wait_for_mail(self, timeout: float, stop: threading.Event) -> bool:
        """IDLE (RFC 2177) until the server announces new mail, `timeout` seconds pass or `stop` is set.

        Returns True when new mail arrived. The caller keeps `timeout` well under the 29 minutes after which a
        server may drop an idle client.
        """
        deadline = time.monotonic() + timeout
        if self._arrived_since_last_pass():
            return True
        try:
            self._imap.idle()
            try:
                while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
                    # Short checks, so that SIGTERM is honoured within a second.
                    asked, started = min(1.0, left), time.monotonic()
                    responses = self._imap.idle_check(timeout=asked)
                    for response in responses:
                        if response[:1] == (b"BYE",):  # RFC 3501 7.1.5: the server is closing the connection
                            raise MailboxError("IMAP: the server closed the connection")
                        if len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT"):
                            return True
                    if not responses and time.monotonic() - started < asked / 2:
                        # Woken with nothing to read: idle_check hides a closed connection that way, and
                        # polling it again would spin. Ending IDLE tells a dead connection (it raises) from a
                        # live one.
                        return False
                return False
            finally:
                self._imap.idle_done()
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP: connection lost while idle ({describe(exc)})") from exc

    def _arrived_since_last_pass(self) -> bool:
        """Whether the signup folder holds a UID above the last pass's: mail that arrived during the pass
        was announced in answer to one of its commands, and IDLE would not announce it again. Asked with UID
        SEARCH rather than read from imaplib's private `untagged_responses`."""
        if self._seen_uid is None:
            return False
        try:
            uids = self._imap.search(["UID", f"{self._seen_uid + 1}:*"])
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP: connection lost ({describe(exc)})") from exc
        new = [uid for uid in uids if uid > self._seen_uid]  # "n:*" always matches the last mail
        if new:
            self._seen_uid = max(new)  # told once: mail the next pass leaves alone must not wake it forever
        return bool(new)

    def noop(self) -> None:
        try:
            self._imap.noop()
        except (IMAPClientError, OSError) as exc:
            raise MailboxError(f"IMAP: connection lost ({describe(exc)})") from exc


def _start_tls(client: _Client, context: ssl.SSLContext | None, where: str) -> None:
    # No fallback to plaintext: a server that does not offer STARTTLS hears nothing more,
    # least of all a password.
    if b"STARTTLS" not in client.capabilities():
        _close_quietly(client)
        raise MailboxError(f"{where}: the server does not offer STARTTLS; refusing to go on without TLS")
    client.starttls(context)


def _login_refused(where: str, s: Imap, exc: BaseException) -> str:
    # The server's words, not ours: they never contain the password. The username is named by its key only.
    if isinstance(exc, OSError):
        return f"{where}: the connection broke during login ({describe(exc)}); try again, or check imap.tls"
    secret = "imap.oauth2_token_*" if s.oauth2_token else "imap.password_env or imap.password_command"
    said = server_words(exc.args or str(exc))
    return (
        f'{where}: login refused for the configured user: the server said "{said}"; '
        f"check imap.username and the secret that {secret} gives"
    )


def _close_quietly(client: _Client) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection is going away either way
        # The socket may be broken too; nothing is left to do about a failure here.
        with contextlib.suppress(Exception):
            client.shutdown()
