"""Dovecot and PostgreSQL run from generated configs in temp dirs on 127.0.0.1, for the test suite only.

Both work as root (server processes drop to unprivileged users) and as a plain user; CONTRIBUTING.md says how
to install them.
"""

from __future__ import annotations

import contextlib
import glob
import grp
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Self

import psycopg

from mailflow.testing.servers import HOST, free_port, stop_process, wait_for_login


def dovecot_binary() -> str | None:
    """The dovecot master binary, or None; /usr/sbin is often not on a plain user's PATH."""
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None


def postgres_bindir() -> Path | None:
    """The directory with initdb and pg_ctl: Debian keeps them off PATH, under
    /usr/lib/postgresql/<version>/bin."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    return None


def _is_root() -> bool:
    return os.geteuid() == 0


class Dovecot:
    """A Dovecot IMAP server with one passwd-file user and Maildir storage; `stop()`/`start()` keep port and
    mail.

    With `tls_cert`/`tls_key` (PEM paths) it also offers STARTTLS on `port` and implicit TLS on `tls_port`.
    With `oauth2_introspection_url` it also offers AUTH=XOAUTH2 and OAUTHBEARER, and asks that URL (RFC 7662
    token introspection, POST) whether a token is valid.

    `separator` is the folder hierarchy separator: Dovecot's stock "." by default, what most users' servers
    run (Dovecot and Courier maildir, Cyrus); "/" as on Gmail and Exchange. `prefix` puts the user's folders
    under a namespace prefix, e.g. "INBOX." as Courier does.
    """

    kind = "dovecot"

    def __init__(
        self,
        username: str = "signup",
        password: str | None = None,
        tls_cert: str | os.PathLike[str] | None = None,
        tls_key: str | os.PathLike[str] | None = None,
        oauth2_introspection_url: str | None = None,
        separator: str = ".",
        prefix: str = "",
    ) -> None:
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
        self.binary = binary
        self.host = HOST
        self.port = free_port()
        self.tls_port = free_port() if tls_cert else None
        self.username = username
        self.separator = separator
        self.prefix = prefix
        self.password = password or uuid.uuid4().hex
        self.dir = Path(tempfile.mkdtemp(prefix="mailflow-dovecot-"))
        self.config = self.dir / "dovecot.conf"
        self.log = self.dir / "dovecot.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config(tls_cert, tls_key, oauth2_introspection_url)

    def _write_config(
        self,
        tls_cert: str | os.PathLike[str] | None,
        tls_key: str | os.PathLike[str] | None,
        oauth2_url: str | None = None,
    ) -> None:
        d = self.dir
        home = d / "home" / self.username
        for path in (d / "run", d / "state", home):
            path.mkdir(parents=True)
        if _is_root():
            # As root, Dovecot refuses to run the mail process as root and its login processes run as
            # dovenull: the mail user is nobody, and everyone may traverse the temp dir
            # (chmod, not mkdir's mode: a umask of 077 would still lock them out).
            uid, gid = _nobody()
            os.chown(home, uid, gid)
            for path in (d, d / "run", d / "state", d / "home"):
                path.chmod(0o755)
            users = ""
        else:
            uid, gid = os.getuid(), os.getgid()
            login = pwd.getpwuid(uid).pw_name
            group = _group_name(gid)
            # Rootless: every Dovecot process runs as us, so nothing may chroot.
            users = (
                f"default_login_user = {login}\n"
                f"default_internal_user = {login}\n"
                f"default_internal_group = {group}\n"
                "first_valid_uid = 0\n"
            )
        passwd = d / "passwd"
        passwd.write_text(f"{self.username}:{{PLAIN}}{self.password}:{uid}:{gid}::{home}::\n")
        passwd.chmod(0o644)
        if tls_cert:
            ssl = (
                f"ssl = yes\nssl_cert = <{Path(tls_cert).resolve()}\n"
                f"ssl_key = <{Path(tls_key or tls_cert).resolve()}\n"
            )
            imaps_port = self.tls_port
            imaps_address = f"    address = {HOST}\n"
        else:
            ssl, imaps_port, imaps_address = "ssl = no\n", 0, ""  # port 0: otherwise it tries to bind 993
        mechanisms, oauth2_passdb = "plain login", ""
        if oauth2_url:
            # Dovecot 2.3's oauth2 passdb, only for the token mechanisms; passwords still go to the
            # passwd-file.
            oauth2_conf = d / "oauth2.conf.ext"
            oauth2_conf.write_text(
                f"introspection_mode = post\nintrospection_url = {oauth2_url}\n"
                "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
            )
            mechanisms += " xoauth2 oauthbearer"
            oauth2_passdb = (
                f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {oauth2_conf}\n}}\n"
            )
        self.config.write_text(
            f"base_dir = {d}/run\n"
            f"state_dir = {d}/state\n"
            f"instance_name = mailflow-test-{self.port}\n"
            f"log_path = {self.log}\n"
            "protocols = imap\n"
            f"listen = {HOST}\n"
            f"{ssl}"
            "disable_plaintext_auth = no\n"
            f"auth_mechanisms = {mechanisms}\n"
            # A failed LOGIN would delay every later login from 127.0.0.1 by 2 to 15 s (the auth penalty,
            # switched off below in anvil): one wrong-password test would slow the rest of the suite.
            "auth_failure_delay = 0\n"
            f"{users}"
            "mail_location = maildir:~/Maildir\n"
            "mail_fsync = never\n"
            "namespace inbox {\n"
            "  inbox = yes\n"
            f"  separator = {self.separator}\n"
            f"  prefix = {self.prefix}\n"
            "}\n"
            "protocol imap {\n"
            # The default of 10 is too few for concurrent test clients.
            "  mail_max_userip_connections = 100\n"
            "}\n"
            "service imap-login {\n"
            "  chroot =\n"
            "  inet_listener imap {\n"
            f"    address = {HOST}\n"
            f"    port = {self.port}\n"
            "  }\n"
            "  inet_listener imaps {\n"
            f"{imaps_address}"
            f"    port = {imaps_port}\n"
            "  }\n"
            "}\n"
            "service anvil {\n"
            "  chroot =\n"
            "  unix_listener anvil-auth-penalty {\n"
            "    mode = 0\n"
            "  }\n"
            "}\n"
            f"{oauth2_passdb}"
            "passdb {\n"
            "  driver = passwd-file\n"
            f"  args = scheme=PLAIN username_format=%u {passwd}\n"
            "}\n"
            "userdb {\n"
            "  driver = passwd-file\n"
            f"  args = username_format=%u {passwd}\n"
            "}\n"
        )

    def start(self, timeout: float = 30.0) -> Dovecot:
        """Start the master in the foreground and wait until LOGIN works."""
        self._proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config)],
            # its own process group, so close() can kill every Dovecot process at once
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # everything goes to log_path
        )
        try:
            wait_for_login(self.host, self.port, self.username, self.password, timeout, self._proc, self.log)
            if self.tls_port:
                wait_for_login(
                    self.host,
                    self.tls_port,
                    self.username,
                    self.password,
                    timeout,
                    self._proc,
                    self.log,
                    ssl_port=True,
                )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the master and wait for it (about 1 s: it waits for its children). Mail stays on disk."""
        proc, self._proc = self._proc, None
        stop_process(proc, grace=15)

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        """SIGSTOP every Dovecot process: connections stay open and new ones are accepted, but nobody
        answers."""
        self._signal_all(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT every Dovecot process after `pause()`."""
        self._signal_all(signal.SIGCONT)

    def _signal_all(self, signum: int) -> None:
        if self._proc is None:
            raise RuntimeError("dovecot is not running")
        os.killpg(self._proc.pid, signum)  # its own process group: the master and every child

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """Kill every Dovecot process and remove the temp dir; faster than `stop()`, which waits about 1 s."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _nobody() -> tuple[int, int]:
    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return user.pw_uid, user.pw_gid


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


class Postgres:
    """A PostgreSQL cluster in a temp dir (initdb + pg_ctl, fsync off), trust auth for user postgres on
    127.0.0.1."""

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.bindir = bindir
        self.host = HOST
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mailflow-postgres-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.url = f"postgresql+psycopg://postgres@{HOST}:{self.port}/postgres"
        self._initialised = False
        if _is_root():
            # initdb refuses to run as root: run the cluster as the postgres user, who must own the dir.
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if _is_root():
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, timeout=120, cwd=self.dir, check=False
        )
        if done.returncode != 0:
            out = (done.stdout + done.stderr).decode("utf-8", "replace")
            log = self.log.read_text("utf-8", "replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed with {done.returncode}:\n{out}\n{log}")

    def start(self) -> Postgres:
        if not self._initialised:
            self._run(
                "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"
            )
            self._initialised = True
        # -k: the socket goes to our dir, not the root-only /var/run/postgresql.
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses={HOST} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start", "-o", options
        )
        return self

    def stop(self) -> None:
        if self.data.joinpath("postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database; returns its SQLAlchemy URL."""
        name = name or f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/{name}"

    def drop_database(self, name: str) -> None:
        """Drop a database even if the code under test left connections open (PostgreSQL 13+)."""
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _dsn(self, database: str) -> str:
        return f"host={HOST} port={self.port} user=postgres dbname={database} connect_timeout=10"

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    """Poll `predicate()` until it is true or `timeout` passes; returns its last truth value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
