"""The clinicians' templates page under `responder serve`: headless Chromium signs in, follows the
link and reads every template in use, the practice's own among them, rendered for a sample
message; without a session it shows nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from argon2 import PasswordHasher
from support import eventually, start_responder, write_config
from test_pages import CHROMIUM, PASSWORD, Browserless
from test_serve import health, stop
from test_templates_yaml import PRACTICE_TEMPLATES

MINE = PRACTICE_TEMPLATES + """\
es:
  email:
    referral_thanks:
      subject: "Re: {{ original_subject }}"
      body: |
        Gracias por la referencia, de parte de {{ practice.name }}.
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    config = write_config(tmp_path, email={"maildir": {"inbox": "mail/inbox", "outbox": "mail/outbox", "poll_seconds": 5}},
                          templates="mine.yaml",
                          web={"secret_key": "a test secret key, long enough",
                               "clinicians": [{"username": "priya", "password_hash": PasswordHasher().hash(PASSWORD)}]})
    (tmp_path / "mine.yaml").write_text(MINE)
    port = yaml.safe_load(config.read_text())["server"]["port"]
    process = start_responder(config, "serve", log=tmp_path / "serve.log")
    try:
        eventually(lambda: health(port)[0] == 200, timeout=15, message="/healthz answering")
        yield f"http://127.0.0.1:{port}"
    finally:
        assert stop(process) == 0, (tmp_path / "serve.log").read_text()[-3000:]


def test_the_templates_page_needs_a_clinician(served: str) -> None:
    status, body, headers = Browserless(served).request("/templates")
    assert status == 303 and headers["location"] == "/login?next=/templates"
    assert "consultation" not in body


def test_a_clinician_sees_every_template_rendered_in_chromium(served: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Chromium is not installed: run scripts/test (it installs Debian's chromium with apt-get)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(served + "/")
        page.fill("#username", "priya")
        page.fill("#password", PASSWORD)
        page.click("button:has-text(\"Sign in\")")
        page.wait_for_url(served + "/")
        page.click("header nav >> text=Templates")
        page.wait_for_url(served + "/templates")
        assert page.locator("h2").all_inner_texts() == ["English · Email", "English · Text message", "Spanish · Email", "Spanish · Text message"]
        assert page.locator("article").count() == 35, "the 34 shipped, and the Spanish thank-you the practice added"
        assert "mine.yaml" in page.inner_text("main") and "never answered" in page.inner_text("main")
        assert "Could not be rendered" not in page.inner_text("main")

        first = page.inner_text("#en-email-first_reply")
        assert "Subject: Re: Looking for a therapist" in first and "Insurance and fees" in first and "To the person who wrote" in first
        assert "in network with Aetna, Blue Cross Blue Shield" in first, "rendered for a sample person whose plan is not named"
        text = page.inner_text("#en-sms-first_reply")
        assert "Hi, this is Harbor Light Counseling. Thank you for reaching out. A free 15-minute consultation is a good first step:" in text
        assert "es.sms.first_reply" in page.inner_text("#es-sms-first_reply") and "gracias por escribir" in page.inner_text("#es-sms-first_reply")
        assert "Gracias por la referencia, de parte de Harbor Light Counseling." in page.inner_text("#es-email-referral_thanks")
        alert = page.inner_text("#en-email-crisis_alert")
        assert "To the clinicians" in alert and "crisis message" in alert and "URGENT" in alert
        assert "Reply STOP to opt out" in page.inner_text("#en-sms-help")
        page.screenshot(path=str(tmp_path / "templates.png"), full_page=True)
        assert page.locator("form").count() == 1, "read-only: the only form is signing out"
        browser.close()
