"""Headless Chromium for the tests that look at a page as people see it: Debian's browser and chromedriver
(the `chromium` fixture finds them), driven by Selenium, offline."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


@contextlib.contextmanager
def headless_chromium(chromium: Any, width: int, *, images: bool = True) -> Iterator[webdriver.Chrome]:
    """A window `width` px wide and 900 high that keeps the page's console messages for the test to read;
    quit on leaving."""
    options = webdriver.ChromeOptions()
    options.binary_location = chromium.browser
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root (CI does)
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",  # a scroll bar would narrow the page by its width
        "--force-device-scale-factor=1",
        f"--window-size={width},900",
    ):
        options.add_argument(argument)
    if not images:
        options.add_argument("--blink-settings=imagesEnabled=false")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromium.driver))
    try:
        yield driver
    finally:
        driver.quit()
