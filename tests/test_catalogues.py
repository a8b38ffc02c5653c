"""The gettext catalogues: every text translated into nl and fr, the same placeholders in every language, and
a mailflow.pot that matches what the templates and the Python sources ask for. Pure: no servers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from mailflow.core import i18n

ROOT = Path(__file__).resolve().parent.parent
POT = i18n.LOCALE_DIR / "mailflow.pot"
TRANSLATED = ("nl", "fr")  # en is the msgids themselves: its msgstr may stay empty
# %(name)s from {% trans %} and _() (Jinja's newstyle gettext), {name} from str.format in the Python sources.
PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)\}")
# A number a language may write out instead ("one"), so a plural form may leave it out.
COUNTS = {"count", "num"}


def read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def key(message: Message) -> tuple[str | None, str]:
    return message.context, forms(message.id)[0]


def entries(catalog: Catalog) -> dict[tuple[str | None, str], Message]:
    return {key(message): message for message in catalog if message.id}


def forms(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """A message's text as its forms: one, or singular and plural(s)."""
    return (text or "",) if text is None or isinstance(text, str) else tuple(text)


def placeholders(text: str) -> set[str]:
    return {percent or brace for percent, brace in PLACEHOLDER.findall(text)}


def formats(message: Message, translation: str) -> bool:
    """The translation formats as the code will format it: no stray "%" (every {% trans %} text goes through
    "%"), no unbalanced brace in a str.format text."""
    names = set().union(*(placeholders(text) for text in forms(message.id)))
    values = dict.fromkeys(names, "x")
    try:
        if "%(" in forms(message.id)[0] or not names:
            translation % values  # the formatting is the test
        else:
            translation.format(**values)
    except (KeyError, ValueError, TypeError, IndexError):
        return False
    return True


@pytest.fixture(scope="module")
def pot() -> dict[tuple[str | None, str], Message]:
    return entries(read(POT))


def test_the_template_catalogue_is_up_to_date_with_the_sources(tmp_path: Path) -> None:
    """Re-extract as CONTRIBUTING.md says; a text changed in a template or in Python must be in
    mailflow.pot."""
    fresh = tmp_path / "mailflow.pot"
    extract = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-c", "Translators:"]
    CommandLineInterface().run([*extract, "-o", str(fresh), str(ROOT)])
    extracted, committed = set(entries(read(fresh))), set(entries(read(POT)))
    assert extracted, "nothing extracted: is babel.cfg still pointing at mailflow/ and templates/?"
    assert not extracted - committed, "new texts: run pybabel extract and pybabel update (CONTRIBUTING.md)"
    assert not committed - extracted, "texts no longer used: run pybabel extract and pybabel update"


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_every_catalogue_has_exactly_the_texts_of_the_template(
    language: str, pot: dict[tuple[str | None, str], Message]
) -> None:
    catalogue = entries(read(i18n.po_path(language)))
    assert not set(pot) - set(catalogue), f"missing from {language}.po: run pybabel update"
    assert not set(catalogue) - set(pot), f"{language}.po has texts the .pot has not: run pybabel update"


@pytest.mark.parametrize("language", TRANSLATED)
def test_nl_and_fr_translate_every_text_and_none_is_fuzzy(language: str) -> None:
    catalogue = read(i18n.po_path(language))
    for message in catalogue:
        if not message.id:
            continue
        assert not message.fuzzy, f"{language}: fuzzy, check and remove the flag: {message.id!r}"
        strings = forms(message.string)
        assert len(strings) == (catalogue.num_plurals if message.pluralizable else 1), message.id
        assert all(strings), f"{language}: not translated: {message.id!r}"


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_every_translation_has_the_placeholders_of_its_msgid(language: str) -> None:
    for message in read(i18n.po_path(language)):
        if not message.id:
            continue
        source = [placeholders(text) for text in forms(message.id)]
        expected = set().union(*source)
        for translation in forms(message.string):
            if not translation:
                assert language == "en", message.id  # English falls back to the msgid
                continue
            found = placeholders(translation)
            if message.pluralizable:
                # Each form has every placeholder but the number, which "one" may replace.
                assert expected - COUNTS <= found <= expected, f"{language}: {translation!r}"
            else:
                assert found == expected, f"{language}: {translation!r} for {message.id!r}"
            assert formats(message, translation), f"{language}: does not format: {translation!r}"


def test_english_is_the_msgid_itself() -> None:
    """en.po translates nothing, so English mail is exactly the texts in the templates and the sources."""
    assert all(not any(forms(message.string)) for message in read(i18n.po_path("en")) if message.id)


def test_the_compiled_catalogues_translate_and_fall_back() -> None:
    assert i18n.translations("nl").gettext("Kind regards,") == "Met vriendelijke groet,"
    assert i18n.translations("fr").pgettext("time of day", "%(hour)s:%(minute)s") == "%(hour)sh%(minute)s"
    assert i18n.translations("en").gettext("Kind regards,") == "Kind regards,"
    # French: 0 and 1 take the singular (Plural-Forms n > 1); the digest's "Expected: 0" has its own text.
    singular, plural = "Expected: %(count)s person", "Expected: %(count)s people"
    assert [i18n.translations("fr").ngettext(singular, plural, n) for n in (0, 1, 2)] == [
        "Attendus : %(count)s personne",
        "Attendus : %(count)s personne",
        "Attendus : %(count)s personnes",
    ]
    # A language mailflow does not write in gets the network's default, as the old dictionaries did.
    assert i18n.translations("de").gettext("Theme") == "Thema"
