"""The mails as people see them: the HTML of every kind, in every language, opened in headless Chromium
(Debian's, driven by Selenium, offline) 390 px wide, as on a phone, and 800 px, as in a mail program's
reading pane. A page must not be blank and must not be wider than the screen.

MAILFLOW_MAIL_SCREENSHOTS=DIR keeps a screenshot of each page there (docs/mail-*.png are made so).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import headless_chromium
from helpers import EXAMPLE_CONFIG
from PIL import Image
from selenium import webdriver

from mailflow.adapters.config_file import load_config
from mailflow.core.mail.member_mail import MEMBER_KINDS
from mailflow.usecases.preview import Sample, environment, samples

pytestmark = pytest.mark.servers

WIDTHS = (390, 800)
TODAY = dt.date(2026, 12, 1)  # before the example's first meeting (2027-01-12)

MEASURE = """
return {
    window: window.innerWidth,
    page: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    chrome: window.outerHeight - window.innerHeight,
    text: document.body ? document.body.innerText.trim().length : 0,
    links: [...document.querySelectorAll("a")].map((a) => a.getBoundingClientRect().right),
};
"""


@pytest.fixture(scope="module")
def every_mail() -> dict[str, list[Sample]]:
    """Every kind of mail, by kind, in nl, fr and en, with the example config's network and meetings."""
    config = load_config(EXAMPLE_CONFIG)
    by_kind: dict[str, list[Sample]] = {}
    for sample in samples(config, environment(config), TODAY):
        by_kind.setdefault(sample.name, []).append(sample)
    return by_kind


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Iterator[webdriver.Chrome]:
    with headless_chromium(chromium, 800, images=False) as driver:
        yield driver


def look(browser: webdriver.Chrome, page: Path, width: int) -> tuple[list[str], bytes]:
    """Open `page` in a window `width` px wide; returns what is wrong with it, and a screenshot of it all."""
    browser.set_window_size(width, 900)
    browser.get(page.as_uri())
    measured = browser.execute_script(MEASURE)
    problems = []
    if measured["page"] > measured["window"]:
        problems.append(f"the page is {measured['page']} px wide on a screen of {measured['window']} px")
    if measured["text"] < 150:
        problems.append(f"the page shows {measured['text']} characters of text")
    if any(right > measured["window"] for right in measured["links"]):
        problems.append("a link reaches past the right edge of the screen")
    # The whole mail in one picture: the window's height is the page's plus the browser's own frame.
    browser.set_window_size(width, min(max(measured["height"], 400), 6000) + measured["chrome"])
    screenshot = browser.get_screenshot_as_png()
    problems.extend(blank(screenshot, width))
    return problems, screenshot


def blank(png: bytes, width: int) -> list[str]:
    """What makes the screenshot no picture of a mail: another width, or one colour nearly everywhere."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    problems = []
    if image.width != width:
        problems.append(f"the screenshot is {image.width} px wide, not {width}")
    pixels = image.width * image.height
    colours = image.getcolors(maxcolors=pixels) or []
    most = max((count for count, _ in colours), default=pixels)
    if most > 0.995 * pixels:  # a short mail in a wide pane is mostly white, but never all
        problems.append(f"{most / pixels:.1%} of the screenshot is one colour: a blank page")
    return problems


def html_of(sample: Sample, folder: Path) -> Path:
    part = sample.message.get_body(("html",))
    assert part is not None
    path = folder / f"{sample.name}-{sample.language}.html"
    path.write_text(part.get_content(), encoding="utf-8")
    return path


KINDS = [
    "reply_register",
    "reply_waitlist",
    "reply_cancel",
    "reply_unsubscribe",
    "reply_erase",
    "reply_question",
    *(str(kind) for kind in MEMBER_KINDS),
    "digest",
    "notice_held",
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_mail_fits_a_phone_and_a_reading_pane(browser, every_mail, kind, tmp_path):
    assert [sample.language for sample in every_mail[kind]] == ["nl", "fr", "en"]
    keep = os.environ.get("MAILFLOW_MAIL_SCREENSHOTS")
    problems = []
    for sample in every_mail[kind]:
        page = html_of(sample, tmp_path)
        for width in WIDTHS:
            found, screenshot = look(browser, page, width)
            problems += [f"{kind} {sample.language} at {width} px: {problem}" for problem in found]
            if keep:
                Path(keep, f"mail-{kind}-{sample.language}-{width}.png").write_bytes(screenshot)
    assert problems == []


def test_a_blank_or_too_wide_page_fails_the_look(browser, tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    problems, _ = look(browser, empty, 390)
    assert "the page shows 0 characters of text" in problems
    assert any("blank page" in problem for problem in problems)

    wide = tmp_path / "wide.html"
    wide.write_text(
        "<!DOCTYPE html><html><body><p>" + "Leernetwerk " * 30 + '</p><table style="width:700px"><tr>'
        "<td>a table as wide as a desktop mail</td></tr></table></body></html>",
        encoding="utf-8",
    )
    problems, _ = look(browser, wide, 390)
    assert any(p.startswith("the page is ") and p.endswith(" on a screen of 390 px") for p in problems)
