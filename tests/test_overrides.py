"""The coordinator's own wording: `[templates] dir` with templates named as mailflow's own, `[texts]` for the
small things, texts per language in the config; a broken override fails `check`, `preview` and every start,
naming its file, and never a mail. And `mailflow preview`, which writes every mail to look at. Pure: no
servers."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pytest
from helpers import EXAMPLE_CONFIG

from mailflow import daemon
from mailflow.adapters.config_file import load_config
from mailflow.adapters.db import agenda
from mailflow.cli import main
from mailflow.core.mail import templates
from mailflow.errors import ConfigError
from mailflow.settings import LANGUAGES, Config
from mailflow.usecases import check, preview
from mailflow.usecases.context import build_app
from mailflow.usecases.meeting_changes import sync_meetings

TODAY = dt.date(2026, 12, 1)
KINDS = {
    "reply_register", "reply_waitlist", "reply_cancel", "reply_unsubscribe", "reply_erase", "reply_question",
    "reply_propose", "invitation", "reminder", "promoted", "update", "meeting_cancelled", "followup",
    "digest", "notice_held",
}  # fmt: skip


def config_with(tmp_path: Path, extra: str = "", **overrides: str) -> Path:
    """The example config, with SQLite in `tmp_path`, `extra` TOML at the end, and templates of our own."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
        '# url = "sqlite:////var/lib/mailflow/mailflow.db"', f'url = "sqlite:///{tmp_path}/mailflow.db"'
    )
    if overrides:
        folder = tmp_path / "eigen"
        folder.mkdir()
        for name, source in overrides.items():
            (folder / name.replace("__", ".")).write_text(source, encoding="utf-8")
        text = text.replace('# dir = "templates"', 'dir = "eigen"')
    path = tmp_path / "config.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def problems(config: Config) -> list[str]:
    return preview.template_problems(
        config, templates.make_environment(overrides=config.templates_dir), TODAY
    )


# --- overrides that work ------------------------------------------------------------------------------------

OWN_REMINDER = """{% import "_blocks.txt" as blocks with context %}
{{ blocks.greeting() }}

Vergeet je identiteitskaart niet!

{{ blocks.meeting_block() }}
{{ blocks.signoff() }}
"""


def test_an_override_replaces_ours_and_the_rest_stay(tmp_path: Path) -> None:
    config = load_config(config_with(tmp_path, reminder__txt=OWN_REMINDER))
    assert problems(config) == []
    mails = {
        (s.name, s.language): s.message for s in preview.samples(config, preview.environment(config), TODAY)
    }
    reminder = mails[("reminder", "nl")].get_body(("plain",))
    assert reminder is not None and "Vergeet je identiteitskaart niet!" in reminder.get_content()
    html = mails[("reminder", "nl")].get_body(("html",))
    assert html is not None and "Vergeet" not in html.get_content()  # reminder.html is still ours
    invitation = mails[("invitation", "nl")].get_body(("plain",))
    assert invitation is not None and "Vergeet" not in invitation.get_content()


def test_check_says_the_overrides_render(tmp_path: Path) -> None:
    config = load_config(config_with(tmp_path, reminder__txt=OWN_REMINDER))
    said: list[str] = []
    assert check._check_templates(config, said.append, TODAY)
    folder = config.templates_dir
    assert said == [
        f"ok   templates: 1 of your own in {folder}; every mail renders in nl, fr and en with them"
    ]


# --- overrides that are broken ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"reminder__txt": "Dag {{ to_name }\n"}, "reminder.txt, line 1: unexpected '}'"),
        ({"reminder__txt": "Dag {{ voornaam }},\n"}, "reminder.txt, line 1: 'voornaam' is undefined"),
        (
            {"_layout__html": "<html><body>{% block inhoud %}{% endblock %}</body></html>\n"},
            "_layout.html: the block content is missing",
        ),
        (
            {"reminder__html": '{% extends "_layout.html" %}{% block contnet %}x{% endblock %}\n'},
            "reminder.html: the block contnet is not in _layout.html",
        ),
        ({"remider__txt": "Dag\n"}, "remider.txt: mailflow has no template of this name"),
        ({"reminder__txt": "{% if false %}x{% endif %}\n"}, "reminder in nl renders empty"),
        # The meeting's details are rendered once for everyone: a person's name has no place in them.
        (
            {"_meeting__txt": "Tot dan, {{ greeting_name }}!\n"},
            "_meeting.txt, line 1: 'greeting_name' is undefined",
        ),
    ],
    ids=[
        "syntax",
        "unknown-variable",
        "layout-without-content",
        "unknown-block",
        "unknown-name",
        "empty",
        "person-in-meeting-details",
    ],
)
def test_a_broken_override_is_named_with_what_is_wrong(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    path = config_with(tmp_path, **files)
    config = load_config(path)
    found = problems(config)
    assert any(expected in problem for problem in found), found
    assert all(str(config.templates_dir) in problem for problem in found)

    # It stops every start, before anything is opened or sent: never a mail...
    with pytest.raises(ConfigError, match=expected.split(":")[0]):
        build_app(config)
    assert not (tmp_path / "mailflow.db").exists()
    # ...and `mailflow check` says so.
    said: list[str] = []
    assert not check._check_templates(config, said.append, TODAY)
    assert any(line.startswith("FAIL templates: ") and expected in line for line in said)


def test_preview_refuses_a_broken_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config_with(tmp_path, reminder__txt="Dag {{ voornaam }},\n")
    assert main(["preview", "--config", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "reminder.txt, line 1: 'voornaam' is undefined" in err


def test_a_templates_dir_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    path = config_with(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace('# dir = "templates"', 'dir = "nergens"'))
    with pytest.raises(ConfigError, match="templates.dir: .*nergens is not a folder"):
        load_config(path)


# --- texts in the config ------------------------------------------------------------------------------------


def test_texts_per_language_and_the_short_name_are_read(tmp_path: Path) -> None:
    extra = '\n[texts]\nsignature = { nl = "Sarah", fr = "Sarah, coordinatrice" }\ncontact = "09 123 45 67"\n'
    text = config_with(tmp_path).read_text(encoding="utf-8").replace("\n[texts]\n", "\n")
    path = tmp_path / "config.toml"
    path.write_text(
        text.replace('# short_name = "Leernetwerk"', 'short_name = "LN"') + extra, encoding="utf-8"
    )
    config = load_config(path)
    assert config.network.short == "LN"
    assert config.network.texts.signature == "Sarah"
    assert config.network.texts.signature.in_language("fr") == "Sarah, coordinatrice"  # type: ignore[union-attr]
    assert config.network.texts.contact == "09 123 45 67"
    meeting = config.meetings[0]
    assert meeting.theme == "Dringende medische hulp"  # the network language's text, as stored
    assert meeting.theme.in_language("fr") == "Aide médicale urgente"  # type: ignore[attr-defined]
    assert meeting.note is not None and meeting.note.in_language("en").startswith("The entrance")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("meeting", "message"),
    [
        ('theme = { fr = "Aide médicale urgente" }', "gives fr but not nl, the network's language"),
        ('theme = { nl = "x", de = "y" }', "unknown language 'de'"),
        ('theme = { nl = "" }', "meetings 1: theme.nl must be a string, not empty"),
        ('theme = "x"\nspeakers = { nl = ["A", "B"], fr = ["A"] }', "give each language the same number"),
        ('theme = "x"\nspeakers = [{ fr = "A" }]', "speaker 1 needs a name in nl too"),
    ],
)
def test_a_text_per_language_that_cannot_be_used_is_refused(
    tmp_path: Path, meeting: str, message: str
) -> None:
    text = config_with(tmp_path).read_text(encoding="utf-8")
    start = text.index("\n[[meetings]]\n") + 1
    path = tmp_path / "config.toml"
    path.write_text(text[:start] + f"[[meetings]]\ndate = 2027-01-12\n{meeting}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


# --- mailflow preview ---------------------------------------------------------------------------------------


def test_preview_writes_every_mail_in_every_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "voorbeeld"
    path = config_with(tmp_path)
    assert main(["preview", "--config", str(path), "--out", str(out), "--now", "2026-12-01T10:00+01:00"]) == 0
    assert f"wrote {len(KINDS) * 3 * 2} files to {out}" in capsys.readouterr().out
    for language in LANGUAGES:
        assert {p.stem for p in (out / language).glob("*.eml")} == KINDS
        assert {p.stem for p in (out / language).glob("*.html")} == KINDS
    reminder = email.message_from_bytes(
        (out / "fr" / "reminder.eml").read_bytes(), policy=email.policy.default
    )
    assert reminder["Content-Language"] == "fr" and "Aide médicale urgente" in str(
        reminder.get_body(("plain",)).get_content()
    )  # type: ignore[union-attr]
    assert (out / "en" / "digest.html").read_text(encoding="utf-8").lstrip().startswith("<!DOCTYPE html>")
    assert not (tmp_path / "mailflow.db").exists()  # no database: nothing is stored or sent


# --- what people were told compares the network language's text ---------------------------------------------


def test_a_french_text_changed_alone_is_no_change_of_the_meeting(tmp_path: Path) -> None:
    """The meeting row and what was announced hold the network language's texts: correcting the French
    theme tells nobody, a new Dutch theme does (with a higher SEQUENCE)."""
    path = config_with(tmp_path)
    now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    def sequence_after(old: str, new: str) -> tuple[int, str]:
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        with build_app(load_config(path)) as app:
            sync_meetings(app, now)
            with app.sessions() as db:
                row = agenda.meeting_on(db, dt.date(2027, 1, 12))
                assert row is not None
                return row.sequence, row.theme

    assert sequence_after("", "") == (0, "Dringende medische hulp")
    assert sequence_after('fr = "Aide médicale urgente"', 'fr = "Aide médicale d\'urgence"') == (
        0,
        "Dringende medische hulp",
    )
    assert sequence_after('nl = "Dringende medische hulp"', 'nl = "Medische hulp"') == (1, "Medische hulp")


def test_a_template_broken_while_the_daemon_runs_is_refused_at_the_reload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGHUP reads the config again, and the templates with it: a broken one is one error line naming the
    file, and the running config and templates stay."""
    path = config_with(tmp_path, reminder__txt=OWN_REMINDER)
    with build_app(load_config(path)) as app:
        running_config, running_templates = app.config, app.templates
        (tmp_path / "eigen" / "reminder.txt").write_text("Dag {{ voornaam }},\n", encoding="utf-8")
        asked = daemon.Asked()
        asked.reload.set()
        daemon.reload_if_asked(app, lambda: dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), asked)
        assert app.config is running_config and app.templates is running_templates
    assert "reminder.txt, line 1: 'voornaam' is undefined" in caplog.text
