"""The report in a real browser: headless Chromium (Debian's, driven by Selenium) opens the page from its
file, as the funder would, offline. The page must fit the window, show its four charts at a real size, and its
screenshot, 1200 px wide, must not be blank.

MAILFLOW_REPORT_SCREENSHOT=FILE keeps that screenshot (docs/report.png is made so).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sample_report
from browser import headless_chromium
from PIL import Image
from selenium import webdriver

from mailflow.core.mail.templates import make_environment
from mailflow.core.report import build_report

pytestmark = pytest.mark.servers

CHART_BLUE = (0x00, 0x72, 0xB2)  # the bars of the single-series charts and "registered" (core/charts.py)

MEASURE = """
const charts = [...document.querySelectorAll("svg")].map((svg) => {
    const box = svg.getBoundingClientRect();
    const bars = [...svg.querySelectorAll("rect")].filter((r) => r.getBoundingClientRect().width > 0);
    return {width: box.width, height: box.height, bars: bars.length};
});
return {
    window: window.innerWidth,
    page: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight,
    text: document.body ? document.body.innerText.trim().length : 0,
    charts: charts,
};
"""


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Iterator[webdriver.Chrome]:
    with headless_chromium(chromium, 1200) as driver:
        yield driver


def write_report(folder: Path, **changes: object) -> Path:
    files = build_report(sample_report.figures(**changes), make_environment(), "nl").files
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder / "report.html"


def look(browser: webdriver.Chrome, page: Path, width: int, charts: int = 4) -> tuple[list[str], bytes]:
    """Open `page` in a window `width` px wide; returns what is wrong with it, and a screenshot of all
    of it."""
    browser.set_window_size(width, 900)
    browser.get(page.as_uri())
    measured = browser.execute_script(MEASURE)
    problems = []
    if measured["page"] > measured["window"]:
        problems.append(f"the page is {measured['page']} px wide in a window of {measured['window']} px")
    if measured["text"] < 200:
        problems.append(f"the page shows {measured['text']} characters of text")
    if len(measured["charts"]) != charts:
        problems.append(f"{len(measured['charts'])} charts on the page, not {charts}")
    for number, chart in enumerate(measured["charts"], start=1):
        if chart["width"] < width / 3 or chart["height"] < 40:
            problems.append(f"chart {number} is {chart['width']:.0f} x {chart['height']:.0f} px")
        if not chart["bars"]:
            problems.append(f"chart {number} shows no bar")
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    problems.extend(f"the browser says: {error}" for error in errors)
    browser.set_window_size(width, min(max(measured["height"], 600), 8000))
    screenshot = browser.get_screenshot_as_png()
    problems.extend(blank(screenshot, width))
    return problems, screenshot


def blank(png: bytes, width: int) -> list[str]:
    """What makes the screenshot no picture of a page: another width, one colour nearly everywhere, no chart
    colour."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    problems = []
    if image.width != width:
        problems.append(f"the screenshot is {image.width} px wide, not {width}")
    pixels = image.width * image.height
    colours = image.getcolors(maxcolors=pixels) or []
    most = max((count for count, _ in colours), default=pixels)
    if most > 0.97 * pixels:
        problems.append(f"{most / pixels:.1%} of the screenshot is one colour: a blank page")
    blue = sum(count for count, colour in colours if colour == CHART_BLUE)
    if blue < 2000:
        problems.append(f"only {blue} pixels of the charts' blue in the screenshot")
    return problems


def test_the_report_in_a_browser_1200_px_wide(browser, tmp_path):
    problems, screenshot = look(browser, write_report(tmp_path / "report"), 1200)
    (tmp_path / "report.png").write_bytes(screenshot)
    keep = os.environ.get("MAILFLOW_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(tmp_path / "report.png", keep)
    assert problems == []
    assert Image.open(io.BytesIO(screenshot)).height > 2000  # the whole page, not the first screen


def test_the_report_fits_an_800_px_window(browser, tmp_path):
    problems, _ = look(browser, write_report(tmp_path / "report"), 800)
    assert problems == []


def test_a_blank_or_broken_page_fails_the_look(browser, tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    problems, _ = look(browser, empty, 1200)
    assert "0 charts on the page, not 4" in problems
    assert any("blank page" in problem for problem in problems)

    page = write_report(tmp_path / "broken")
    html = page.read_text(encoding="utf-8")
    # Charts squeezed to nothing, and a table too wide for the window.
    page.write_text(
        html.replace(
            "</style>", "svg.chart { width: 0; height: 0; } .table { overflow: visible; }</style>"
        ).replace("<main>", '<main><div style="width: 2000px">wide</div>'),
        encoding="utf-8",
    )
    problems, _ = look(browser, page, 1200)
    assert any(p.startswith("the page is ") and p.endswith(" wide in a window of 1200 px") for p in problems)
    assert "chart 1 is 0 x 0 px" in problems
