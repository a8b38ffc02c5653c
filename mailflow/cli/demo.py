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
import textwrap
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


NEXT_STEPS = """
Next, on your own mailbox (from the mailflow checkout):
  cp config.example.toml config.toml  # fill in [imap] and [smtp] (host, username), the network, the meetings;
                                      # the passwords go in the variables that password_env names
  mailflow check                      # logs in, prepares both folders and the database; sends nothing
  mailflow run --once                 # one pass; `mailflow run` keeps answering (deploy/ has a unit)"""


def demo(say: Callable[[str], object], keep: str | None = None) -> int:
    """Run the demo in `keep` (kept afterwards), or in a temporary folder removed at the end: it holds the
    sample people's mail and database, which nobody should find in /tmp later."""
    if keep:
        workdir = Path(keep)
        workdir.mkdir(parents=True, exist_ok=True)
        ok = _demo(say, workdir)
        say(f"\nConfig and database kept in {workdir}")
    else:
        with tempfile.TemporaryDirectory(prefix="mailflow-demo-") as tmp:
            ok = _demo(say, Path(tmp))
    say(NEXT_STEPS)
    return 0 if ok else 1


def _demo(say: Callable[[str], object], workdir: Path) -> bool:
    now = dt.datetime.now(dt.UTC)
    say("Starting a throwaway IMAP server (pymap) and SMTP sink (aiosmtpd) on 127.0.0.1 ...")
    with PymapServer(password=secrets.token_urlsafe(12)) as imap, SmtpSink() as smtp:
        os.environ[PASSWORD_ENV] = imap.password  # the config names the variable, never the password
        config_path = workdir / "mailflow-demo.toml"
        config_path.write_text(_config_text(imap, smtp, workdir, now), encoding="utf-8")
        samples = sorted(
            (p for p in resources.files("mailflow.samples").iterdir() if p.name.endswith(".eml")),
            key=lambda p: p.name,
        )
        raws = [sample.read_bytes() for sample in samples]
        with imapclient.IMAPClient(imap.host, port=imap.port, ssl=False) as client:
            client.login(imap.username, imap.password)
            for raw in raws:
                client.append("INBOX", raw)
        say(
            f"Dropped {len(samples)} sample mails into the inbox; "
            "running one pass (as `mailflow run --once`).\n"
        )

        app = build_app(load_config(config_path))
        with app:
            ok = run_once(app, lambda: dt.datetime.now(dt.UTC))
            _explain(app, raws, smtp, say)
            _show(app, smtp, say)
    return ok


# What mailflow did with a mail of each kind, for a newcomer reading the demo.
WHY = {
    "auto_reply": "an out-of-office: NOT answered, on purpose. It says it was written by a machine "
    "(Auto-Submitted: auto-replied, RFC 3834); answering could start two robots mailing each other forever",
    "bounce": "a bounce: NOT answered, on purpose (a delivery report is never answered, RFC 3834)",
}


def _explain(app: App, raws: list[bytes], smtp: SmtpSink, say: Callable[[str], object]) -> None:
    say("What happened to each sample mail:")
    with app.sessions() as db:
        for number, raw in enumerate(raws, 1):
            headers = email.message_from_bytes(raw, policy=email.policy.default)
            row = queries.inbound_by_message_id(db, str(headers["Message-ID"]).strip())
            say(f"  {number}. From {headers['From']}, {headers['Subject']!r}")
            if row is None:
                say("     not read (see the log above)")
                continue
            replies = sum(1 for m in smtp.messages if row.sender in [r.lower() for r in m.rcpt_tos])
            if row.intent in WHY:
                say(
                    textwrap.fill(
                        WHY[row.intent] + ".",
                        110,
                        break_on_hyphens=False,
                        initial_indent=" " * 5,
                        subsequent_indent=" " * 5,
                    )
                )
            else:
                sent = f"{replies} reply sent to the writer" if replies else "no reply sent"
                say(f"     read as {row.reason or row.intent}; {sent}.")
            say(f"     Moved to {row.destination or 'nowhere: it stays in the inbox'}.")
    say("")


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
