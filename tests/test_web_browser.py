"""The web page in a real browser: Debian's Chromium, driven by Selenium (offline, the system chromedriver),
against `mailflow web` on 127.0.0.1 with real Dovecot and SQLite. The coordinator logs in, corrects a member,
applies a mail waiting in review, records who came, and forgets a person, by clicking and typing as a person
would; each step is checked on the page, in the database and in the mailbox. The browser must report no error
(a style the Content-Security-Policy blocked would be one).

MAILFLOW_WEB_SCREENSHOTS=DIR keeps screenshots of the pages (docs/web-*.png are made so).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from browser import headless_chromium
from helpers import database, registration
from passes import Mailflow, mail
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from test_web_flows import MEETINGS, NOVEMBER, NOW
from test_web_pages import PASSWORD
from test_web_server import WebServer, free_port, web_section

from mailflow.adapters.db import models, queries

pytestmark = pytest.mark.servers

ANNA = ("Anna Peters", "anna.peeters@example.org")  # as mailflow read her name: the coordinator corrects it
BART = ("Bart Claes", "bart.claes@example.org")


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Iterator[webdriver.Chrome]:
    with headless_chromium(chromium, 1200) as driver:
        driver.implicitly_wait(5)
        yield driver


class Coordinator:
    """What the coordinator does in the browser: open pages, fill in fields, press buttons."""

    def __init__(self, browser: webdriver.Chrome, url: str) -> None:
        self.browser, self.url = browser, url

    def open(self, path: str) -> None:
        self.browser.get(self.url + path)

    def click(self, text: str) -> None:
        """Press the button or follow the link that shows `text`, and wait for the page it leads to."""
        xpath = f"//button[normalize-space()={_literal(text)}] | //a[normalize-space()={_literal(text)}]"
        # A mark on the page being left: the next page's window has none. (Waiting for the old <html> to go
        # stale asks Chromium about a node mid-navigation, which it may answer with an error of its own.)
        self.browser.execute_script("window.leaving = true")
        self.browser.find_element(By.XPATH, xpath).click()
        WebDriverWait(self.browser, 20, ignored_exceptions=(WebDriverException,)).until(
            lambda browser: browser.execute_script(
                "return !window.leaving && document.readyState === 'complete'"
            )
        )

    def type(self, field_id: str, text: str) -> None:
        field = self.browser.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(text)

    def page(self) -> str:
        return self.browser.find_element(By.TAG_NAME, "body").text

    def errors(self) -> list[str]:
        return [e["message"] for e in self.browser.get_log("browser") if e["level"] == "SEVERE"]

    def screenshot(self, name: str) -> None:
        folder = os.environ.get("MAILFLOW_WEB_SCREENSHOTS")
        if not folder:
            return
        height = self.browser.execute_script("return document.documentElement.scrollHeight")
        self.browser.set_window_size(1200, min(max(height, 600), 2400))
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.browser.save_screenshot(str(Path(folder) / f"web-{name}.png"))
        self.browser.set_window_size(1200, 900)


def _literal(text: str) -> str:
    return f'"{text}"' if '"' not in text else f"'{text}'"


def test_the_coordinator_works_through_the_page_in_a_browser(browser, make_config, imap, smtp_sink, tmp_path):
    url = f"sqlite:///{tmp_path}/mailflow.db"
    config = make_config(
        imap, smtp_sink, url, imap={"since": "2000-01-01"}, meetings=MEETINGS, web=web_section(free_port())
    )
    flow = Mailflow(config, imap, smtp_sink)
    for name, address in (ANNA, BART):
        flow.send(
            mail((name, address), f"Dag,\n\nIk kom graag naar de bijeenkomst van 13 januari.\n\n{name}\n")
        )
    flow.send(registration(1, question=True))  # Karim registers and asks about parking: waits in review
    with database(url) as db:
        anna, bart = (queries.members_at(db, address)[0] for _, address in (ANNA, BART))
        anna.unsure = True
        november = db.scalar(sa.select(models.Meeting).where(models.Meeting.date == NOVEMBER))
        for member in (anna, bart):  # both had a place in November too
            db.add(
                models.Registration(
                    member=member,
                    meeting=november,
                    status="registered",
                    created_at=NOW - dt.timedelta(days=40),
                    updated_at=NOW - dt.timedelta(days=40),
                )
            )
        db.commit()
        anna_id, bart_id, november_id = anna.id, bart.id, november.id
    assert imap.count("mailflow/review") == 1

    with WebServer(config, now=(NOW + dt.timedelta(minutes=10)).isoformat()) as server:
        me = Coordinator(browser, server.url)
        me.open("/members")
        assert browser.current_url.endswith("/login")
        me.type("password", "wrong")
        me.click("Aanmelden")
        assert "Verkeerd wachtwoord" in me.page()
        me.type("password", PASSWORD)
        me.click("Aanmelden")
        assert browser.current_url.endswith("/meetings") and "Bijeenkomsten" in me.page()
        me.click("13 jan 2026")  # full: Anna and Bart have the places, Karim waits
        assert "2 van 2" in me.page() and "Op de wachtlijst (1)" in me.page()
        me.screenshot("meeting")

        # Correct a member: found by a search, her name and organisation put right, "unsure" cleared.
        me.open("/members")
        me.type("search", "peters")
        me.click("Zoeken")
        me.click("Anna Peters")
        assert "onzekere lezing" in me.page()
        me.type("name", "Anna Peeters")
        me.type("organisation", "CAW Oost-Vlaanderen")
        browser.find_element(By.NAME, "unsure").click()
        me.click("Bewaren")
        assert "Bewaard." in me.page() and "onzekere lezing" not in me.page()

        # Apply a mail waiting in review: the count in the menu, the mail, mailflow's reading, applied.
        me.open("/review")
        assert browser.find_element(By.CSS_SELECTOR, "nav .count").text == "1"
        me.click("Inschrijving leernetwerk")
        assert "Is er parking in de buurt?" in me.page() and "inschrijven" in me.page()
        me.screenshot("review")
        me.click("Lezing van mailflow toepassen (inschrijven)")
        assert "naar de map met verwerkte mails verplaatst" in me.page()
        assert "Er wacht niets op je." in me.page()

        # Record who came in November: Anna did, Bart did not, two came unregistered.
        me.open(f"/meetings/{november_id}")
        browser.find_element(By.CSS_SELECTOR, f'input[name="came"][value="{anna_id}"]').click()
        me.type("walk_ins", "2")
        me.click("Bewaar wie kwam")
        assert "Genoteerd: 1 kwamen, 1 niet, 2 kwamen zonder inschrijving." in me.page()

        # Forget Bart: the page asks first, and names what goes.
        me.open(f"/members/{bart_id}")
        me.click("Vergeten…")
        assert "Deze persoon vergeten?" in me.page() and "bart.claes@example.org" in me.page()
        me.click("Ja, vergeet hen")
        assert "Gewist: er blijft niets van hen over" in me.page() and "Bart Claes" not in me.page()
        # The wrong password's 401 is the only error the browser saw: no style or icon refused or missing.
        assert [e for e in me.errors() if "/login - " not in e or "401" not in e] == []

    with database(url) as db:
        anna = db.get(models.Member, anna_id)
        assert (anna.name, anna.organisation, anna.unsure) == ("Anna Peeters", "CAW Oost-Vlaanderen", False)
        assert not queries.members_at(db, BART[1])
        came = {
            r.member_id: r.attended
            for r in db.scalars(
                sa.select(models.Registration).where(models.Registration.meeting_id == november_id)
            )
        }
        assert came == {anna_id: True}  # Bart's record went with him
        assert db.get(models.Meeting, november_id).walk_ins == 2
    assert imap.count("mailflow/review") == 0
    assert not any(b"bart.claes" in raw for raw in imap.fetch_all("mailflow/processed"))
