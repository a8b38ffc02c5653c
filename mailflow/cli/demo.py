"""`mailflow demo`: the real pipeline, end to end, with no mail account.

It starts a throwaway IMAP server (pymap) and SMTP sink on 127.0.0.1, writes a config for them, drops the
sample mails into the inbox, runs exactly what `mailflow run --once` runs, and shows what was registered and
answered.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import secrets
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import imapclient
from dateutil.rrule import MONTHLY, TU, rrule

from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import queries
from mailflow.testing.servers import PymapServer, SmtpSink
from mailflow.usecases.context import App, build_app
from mailflow.usecases.passes import run_once

PASSWORD_ENV = "MAILFLOW_DEMO_IMAP_PASSWORD"
THEMES = ("Dringende medische hulp", "Toegang tot onderwijs", "Juridische bijstand")


def demo(say: Callable[[str], object], keep: str | None = None) -> int:
    now = dt.datetime.now(dt.UTC)
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="mailflow-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    say("Starting a throwaway IMAP server (pymap) and SMTP sink (aiosmtpd) on 127.0.0.1 ...")
    with PymapServer(password=secrets.token_urlsafe(12)) as imap, SmtpSink() as smtp:
        os.environ[PASSWORD_ENV] = imap.password  # the config names the variable, never the password
        config_path = workdir / "mailflow-demo.toml"
        config_path.write_text(_config_text(imap, smtp, workdir, now), encoding="utf-8")
        samples = sorted(
            (p for p in resources.files("mailflow.samples").iterdir() if p.name.endswith(".eml")),
            key=lambda p: p.name,
        )
        with imapclient.IMAPClient(imap.host, port=imap.port, ssl=False) as client:
            client.login(imap.username, imap.password)
            for sample in samples:
                client.append("INBOX", sample.read_bytes())
        say(
            f"Dropped {len(samples)} sample mails into the inbox; "
            "running one pass (as `mailflow run --once`).\n"
        )

        app = build_app(load_config(config_path))
        with app:
            ok = run_once(app, lambda: dt.datetime.now(dt.UTC))
            _show(app, smtp, say)
    say(f"\nConfig and database: {workdir}" if keep else "")
    return 0 if ok else 1


def _next_meetings(now: dt.datetime, count: int = 3) -> list[dt.date]:
    # The network's rhythm: the second Tuesday of every second month.
    rule = rrule(MONTHLY, interval=2, byweekday=TU(2), dtstart=now.replace(tzinfo=None), count=count)
    return [d.date() for d in rule]


def _config_text(imap: PymapServer, smtp: SmtpSink, workdir: Path, now: dt.datetime) -> str:
    meetings = "".join(
        f'\n[[meetings]]\ndate = {day.isoformat()}\ntheme = "{theme}"\n'
        'speakers = ["Nora Jacobs (advocate)"]\n'
        for day, theme in zip(_next_meetings(now), THEMES, strict=False)
    )
    return f"""# Written by `mailflow demo`: throwaway servers on 127.0.0.1.
[network]
name = "Leernetwerk Mensen Zonder Wettig Verblijf"
signup_address = "leernetwerk@in-gent.example"
coordinator = "coordinator@in-gent.example"

[venue]
name = "Campus Sint-Annaplein"
address = "Sint-Annaplein 31, 9000 Gent"
start = "19:30"
end = "22:00"

[imap]
host = "{imap.host}"
port = {imap.port}
tls = "none"
username = "{imap.username}"
password_env = "{PASSWORD_ENV}"
since = {now.date().isoformat()}

[smtp]
host = "{smtp.host}"
port = {smtp.port}
tls = "none"

[database]
url = "sqlite:///{workdir / "demo.db"}"
{meetings}"""


def _show(app: App, smtp: SmtpSink, say: Callable[[str], object]) -> None:
    with app.sessions() as db:
        members = queries.members_by_id(db)
        say(f"Registered {len(members)} members:")
        for m in members:
            say(f"  {m.name:<24} {m.organisation or '-':<32} {m.language}")
        review = queries.inbound_not_processed(db)
        for row in review:
            say(f"  (uid {row.uid} went to {row.destination}: {row.reason})")
    say(f"\n{len(smtp.messages)} replies reached the SMTP sink:")
    for received in smtp.messages:
        reply = email.message_from_bytes(received.data, policy=email.policy.default)
        body = reply.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        say(f"\n--- To: {reply['To']}  Subject: {reply['Subject']}")
        say("\n".join("    " + line for line in text.strip().splitlines()[:14]))
