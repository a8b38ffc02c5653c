"""Every mail mailflow writes, rendered with invented people and the config's own network, venue, meetings and
texts: `mailflow preview` writes them to look at (.eml and .html), and `mailflow check` and every start
render them all with the coordinator's own templates (`[templates] dir`), so that a broken override fails
there, naming its file, and never in a mail. No database, no network.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import jinja2
from jinja2 import nodes

from mailflow.core.calendar.ics import MeetingDetails, meeting_details
from mailflow.core.digest import DigestFacts, FailureLine, MeetingLine, PersonLine, ReviewLine, build_digest
from mailflow.core.mail import compose, templates
from mailflow.core.mail.member_mail import MEMBER_KINDS, MemberMail, render_member_mail
from mailflow.core.mail.render import KINDS, Reply, render_digest, render_notice, render_reply
from mailflow.core.parsing.result import Person
from mailflow.core.sheet import SheetPerson, sign_in_sheet
from mailflow.core.vocabulary import MailKind
from mailflow.errors import ConfigError
from mailflow.settings import LANGUAGES, Config, Meeting

__all__ = ["Sample", "environment", "samples", "template_problems", "write_previews"]

LOTTE = Person("Lotte Verhaegen", "Vluchtelingenwerk Vlaanderen")
JONAS = Person("Jonas Claeys", None)
SENDER = "lotte.verhaegen@example.org"


@dataclass(frozen=True)
class Sample:
    """One mail as a kind and a language render it: "reply_register" in "fr"."""

    name: str
    language: str
    message: EmailMessage


def sample_meeting(config: Config, today: dt.date) -> MeetingDetails:
    """The first coming meeting of the config (else its first, else one on the next Tuesday), with its
    texts per language and its note."""
    meetings = sorted(config.meetings, key=lambda m: m.date)
    meeting = next((m for m in meetings if m.date >= today), meetings[0] if meetings else None)
    if meeting is None:
        tuesday = today + dt.timedelta(days=(1 - today.weekday()) % 7 or 7)
        meeting = Meeting(tuesday, "Dringende medische hulp", ("Nora Jacobs (Dokters van de Wereld)",))
    details = meeting_details(meeting, config.venue, config.network)
    if not details.speakers:
        details = dataclasses.replace(details, speakers=("Nora Jacobs",))
    return details


def samples(config: Config, env: jinja2.Environment, today: dt.date) -> Iterator[Sample]:
    """Every kind of mail in every language: the replies, the mails about a meeting, the digest and the
    notice of held replies. A reply kind without templates of its own is left out."""
    meeting = sample_meeting(config, today)
    now = meeting.starts_at - dt.timedelta(days=1, hours=9, minutes=30)  # the morning before
    known = set(env.list_templates())
    for language in LANGUAGES:
        network = dataclasses.replace(config.network, language=language)
        for kind in KINDS:
            if not {f"reply_{kind}.txt", f"reply_{kind}.html"} <= known:
                continue
            reply = _reply(kind, language, meeting)
            message = render_reply(
                env, reply, network=network, sender=_sender(config), message_id=_id(), now=now
            )
            yield Sample(f"reply_{kind}", language, message)
        for member_kind in MEMBER_KINDS:
            mail = _member_mail(member_kind, language, meeting)
            message = render_member_mail(
                env, mail, network=network, sender=_sender(config), message_id=_id(), now=now
            )
            yield Sample(str(member_kind), language, message)
        # The digest of the meeting's morning: with the sign-in sheet to mark and the page to print.
        morning = meeting.starts_at.replace(hour=8, minute=0)
        digest = build_digest(_digest_facts(meeting, morning), meeting.date, network)
        people = [SheetPerson(7, LOTTE.name, LOTTE.organisation, SENDER)]
        message = render_digest(
            env,
            digest,
            network=network,
            to_address=network.coordinator,
            sender=_sender(config),
            message_id=_id(),
            now=morning,
            sheet=sign_in_sheet(meeting, people, network),
        )
        yield Sample("digest", language, message)
        message = render_notice(
            env,
            limit="replies_per_address_per_day",
            allowed=config.limits.replies_per_address_per_day,
            held_id=42,
            network=network,
            to_address=network.coordinator,
            sender=_sender(config),
            message_id=_id(),
            now=now,
        )
        yield Sample("notice_held", language, message)


def _sender(config: Config) -> str:
    return config.smtp.sender if config.smtp else config.network.signup_address


def _id() -> str:
    return "<preview@mailflow.invalid>"


def _reply(kind: str, language: str, meeting: MeetingDetails) -> Reply:
    two = kind in (MailKind.REGISTER, MailKind.WAITLIST, MailKind.CANCEL)
    return Reply(
        kind=kind,
        language=language,
        to_address=SENDER,
        to_name=LOTTE.name,
        people=(LOTTE, JONAS) if two else (LOTTE,),
        meeting=meeting if kind in (MailKind.REGISTER, MailKind.WAITLIST, MailKind.CANCEL) else None,
        unsure=kind == MailKind.WAITLIST,
        in_reply_to="<question@example.org>",
        references=(),
        subject="Inschrijving",
        calendar_cancel=(meeting,) if kind in (MailKind.CANCEL, MailKind.UNSUBSCRIBE) else (),
        question=kind == MailKind.REGISTER,
    )


def _member_mail(kind: MailKind, language: str, meeting: MeetingDetails) -> MemberMail:
    previous = dataclasses.replace(
        meeting, starts_at=meeting.starts_at - dt.timedelta(minutes=30), place_name="Vormingscentrum De Kring"
    )
    return MemberMail(
        kind=kind,
        names=("Lotte Verhaegen",) if kind != MailKind.INVITATION else ("Lotte Verhaegen", "Jonas Claeys"),
        to_address=SENDER,
        language=language,
        meeting=meeting,
        calendar=None
        if kind == MailKind.FOLLOWUP
        else "CANCEL"
        if kind == MailKind.MEETING_CANCELLED
        else "PUBLISH",
        days_before=1 if kind == MailKind.REMINDER else 0,
        changes=("time", "place") if kind == MailKind.UPDATE else (),
        previous=previous if kind == MailKind.UPDATE else None,
        followup="https://in-gent.example/leernetwerk/verslag" if kind == MailKind.FOLLOWUP else None,
        next_meeting=meeting if kind == MailKind.FOLLOWUP else None,
    )


def _digest_facts(meeting: MeetingDetails, now: dt.datetime) -> DigestFacts:
    lotte = PersonLine(LOTTE.name, LOTTE.organisation, SENDER, 7)
    jonas = PersonLine(JONAS.name, None, "jonas.claeys@example.org", 8)
    return DigestFacts(
        new_members=(lotte,),
        cancellations=((jonas, meeting.date),),
        leavers=(),
        erasures=1,
        review=(
            ReviewLine(
                now, "Is er parking?", "question: asks something, registers nobody", "eva@example.org"
            ),
            ReviewLine(
                now,
                "Inschrijving",
                "unsure reading: register: wants to attend or join; surname read from the mail address",
                "mo@example.org",
            ),
        ),
        failures=(FailureLine("weg@example.org", "550 5.1.1 no such user", MailKind.REMINDER),),
        bounces=(),
        missed_reminders=0,
        unsure=(PersonLine("Mo", None, "mo@example.org"),),
        waiting=(),
        next_meeting=meeting,
        expected=(lotte,),
        coming=(MeetingLine(meeting.date, str(meeting.theme), 40, 1),),
    )


# --- writing them out ---------------------------------------------------------------------------------------


def write_previews(config: Config, out: Path, today: dt.date) -> list[Path]:
    """Every sample as `out/<language>/<name>.eml` (the whole mail) and `.html` (its HTML part, to open in
    a browser). Returns the paths written. Raises ConfigError for a broken override."""
    env = environment(config)
    written: list[Path] = []
    for sample in samples(config, env, today):
        folder = out / sample.language
        folder.mkdir(parents=True, exist_ok=True)
        eml, page = folder / f"{sample.name}.eml", folder / f"{sample.name}.html"
        eml.write_bytes(compose.message_bytes(sample.message))
        html = sample.message.get_body(("html",))
        assert html is not None
        page.write_text(html.get_content(), encoding="utf-8")
        written += [eml, page]
    return written


# --- the coordinator's own templates ------------------------------------------------------------------------


def environment(config: Config, today: dt.date | None = None) -> jinja2.Environment:
    """The Jinja environment of this config: mailflow's templates, with `[templates] dir` before them.
    Raises ConfigError naming the file when an override is broken."""
    env = templates.make_environment(overrides=config.templates_dir)
    problems = template_problems(config, env, today or dt.date(2026, 1, 1))
    if problems:
        raise ConfigError("; ".join(problems))
    return env


def template_problems(config: Config, env: jinja2.Environment, today: dt.date) -> list[str]:
    """What is wrong with the overrides in `[templates] dir`, each naming its file: a syntax error, a block
    the page around it does not have (or lacks), a name mailflow does not use, or a mail that fails to
    render (an unknown variable, with StrictUndefined) or renders empty."""
    folder = config.templates_dir
    if folder is None:
        return []
    ours = templates.make_environment()
    known = set(ours.list_templates())
    problems: list[str] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".txt", ".html")):
        if path.name not in known:
            problems.append(f"{path}: mailflow has no template of this name (known: the files in templates/)")
            continue
        try:
            mine = env.parse(path.read_text(encoding="utf-8"), path.name, str(path))
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"{path}, line {exc.lineno}: {exc.message}")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot be read ({exc})")
            continue
        problems += _block_problems(path, mine, ours, env)
    if problems:
        return problems
    try:
        for sample in samples(config, env, today):
            for part in (sample.message.get_body(("plain",)), sample.message.get_body(("html",))):
                if part is None or not str(part.get_content()).strip():
                    problems.append(f"{folder}: {sample.name} in {sample.language} renders empty")
    except Exception as exc:  # noqa: BLE001 - whatever an override makes Jinja raise, check names its file
        problems.append(_render_problem(folder, exc))
    return problems


def _blocks(tree: nodes.Template) -> set[str]:
    return {block.name for block in tree.find_all(nodes.Block)}


def _parsed(env: jinja2.Environment, name: str) -> nodes.Template:
    assert env.loader is not None
    return env.parse(env.loader.get_source(env, name)[0])


def _block_problems(
    path: Path, mine: nodes.Template, ours: jinja2.Environment, env: jinja2.Environment
) -> list[str]:
    """A page others extend must keep every block of ours (else their content vanishes); a template that
    extends a page may only fill blocks that page has (else its content is silently dropped)."""
    default = _parsed(ours, path.name)
    problems = []
    if not list(default.find_all(nodes.Extends)) and _blocks(default):
        missing = sorted(_blocks(default) - _blocks(mine))
        if missing:
            problems.append(f"{path}: the block {', '.join(missing)} is missing (the mails fill it)")
    for extends in mine.find_all(nodes.Extends):
        if not isinstance(extends.template, nodes.Const):
            continue
        parent = str(extends.template.value)
        try:
            unknown = sorted(_blocks(mine) - _blocks(_parsed(env, parent)))
        except jinja2.TemplateNotFound:
            problems.append(f"{path}: extends {parent}, which is no template of mailflow's")
            continue
        if unknown:
            problems.append(f"{path}: the block {', '.join(unknown)} is not in {parent}, so it never shows")
    return problems


def _render_problem(folder: Path, exc: Exception) -> str:
    """Which override a rendering failed in, and why: the last frame of the traceback in `folder`."""
    where = [
        frame for frame in traceback.extract_tb(exc.__traceback__) if Path(frame.filename).parent == folder
    ]
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if where:
        return f"{where[-1].filename}, line {where[-1].lineno}: {message}"
    return f"{folder}: {message}"
