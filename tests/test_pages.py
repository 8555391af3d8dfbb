"""The clinicians' page under `responder serve`: headless Chromium signs in, edits and approves a
draft, and the reply reaches a real SMTP server exactly once; requests without a session or
without the CSRF token change nothing."""

from __future__ import annotations

import http.cookiejar
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from argon2 import PasswordHasher
from servers.smtp import SmtpSink
from support import CORPUS, eventually, start_responder, write_config
from test_serve import health, stop

PASSWORD = "a long clinic password"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@dataclass
class Served:
    url: str
    smtp: SmtpSink
    folder: Path

    def drop(self, name: str) -> None:
        shutil.copy(CORPUS / "training" / "dev" / name, self.folder / "mail" / "inbox" / "new" / name)


@pytest.fixture
def served(tmp_path: Path, smtp: SmtpSink) -> Iterator[Served]:
    config = write_config(tmp_path, email={"maildir": {"inbox": "mail/inbox", "poll_seconds": 0.3},
                                           "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}})
    data = yaml.safe_load(config.read_text())
    data["replies"] = {"professional_referral": {"mode": "approve"}, "new_inquiry": {"mode": "approve"}}
    data["web"] = {"secret_key": "a test secret key, long enough",
                   "clinicians": [{"username": "priya", "password_hash": PasswordHasher().hash(PASSWORD)}]}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    port = data["server"]["port"]
    process = start_responder(config, "serve", log=tmp_path / "serve.log")
    try:
        eventually(lambda: health(port)[0] == 200, timeout=15, message="/healthz answering")
        served = Served(f"http://127.0.0.1:{port}", smtp, tmp_path)
        served.drop("002-pastor-couple-referral.eml")
        smtp.wait_for(2, timeout=10)  # the notice and the task: the draft exists
        yield served
    finally:
        assert stop(process) == 0, (tmp_path / "serve.log").read_text()[-3000:]


class Browserless:
    """An HTTP client with its own cookie jar, for requests a browser would not make."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=5) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), dict(error.headers)

    def sign_in(self) -> str:
        _, html, _ = self.request("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        status, _, headers = self.request("/login", {"csrf": csrf, "username": "priya", "password": PASSWORD, "next": "/"})
        assert status == 303 and headers["location"] == "/"
        cookie = headers["set-cookie"].lower()
        assert "responder_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        _, html, _ = self.request("/")
        return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_nothing_of_a_client_without_signing_in(served: Served) -> None:
    anonymous = Browserless(served.url)
    for path in ("/", "/drafts/1", "/history"):
        status, body, headers = anonymous.request(path)
        assert status == 303 and headers["location"].startswith("/login"), path
        assert "Dale" not in body and "pastor" not in body.lower()
    status, body, _ = anonymous.request("/login")
    assert status == 200 and "grace" not in body.lower()


def test_actions_without_a_session_or_without_the_token_change_nothing(served: Served) -> None:
    anonymous = Browserless(served.url)
    assert anonymous.request("/drafts/1/approve", {"body": "forged"})[0] == 403
    assert anonymous.request("/drafts/1/reject", {})[0] == 403
    clinician = Browserless(served.url)
    csrf = clinician.sign_in()
    assert clinician.request("/drafts/1/approve", {"body": "no token"})[0] == 403
    forged = ("y" if csrf[0] == "x" else "x") + csrf[1:]  # one character off, never the token itself
    assert clinician.request("/drafts/1/approve", {"body": "wrong token", "csrf": forged})[0] == 403
    status, html, _ = clinician.request("/")
    assert status == 200 and 'id="draft-1"' in html, "still waiting"
    time.sleep(1)
    assert all(m.rcpt_tos == ["clinician@practice.test"] for m in served.smtp.messages), "only the clinician's notices were sent"
    assert Browserless(served.url).request("/login", {"username": "priya", "password": "wrong", "csrf": "none"})[0] == 403


def test_wrong_password_is_refused(served: Served) -> None:
    client = Browserless(served.url)
    _, html, _ = client.request("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    status, body, _ = client.request("/login", {"csrf": csrf, "username": "priya", "password": "not it"})
    assert status == 401 and "Wrong user name or password" in body
    assert client.request("/")[0] == 303


def test_a_clinician_signs_in_edits_and_approves_in_chromium(served: Served, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run scripts/test (it installs Debian's chromium with apt-get)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # a phone
        page.goto(served.url + "/")
        assert page.url.startswith(served.url + "/login")
        page.fill("#username", "priya")
        page.fill("#password", PASSWORD)
        page.click("button:has-text(\"Sign in\")")
        page.wait_for_url(served.url + "/")
        card = page.locator("#draft-1")
        assert "professional referral" in card.inner_text()
        assert "Why:" in card.inner_text()
        page.screenshot(path=str(tmp_path / "waiting.png"), full_page=True)
        page.fill("#body-1", "Dear Pastor Dale,\n\nThank you for sending them our way. I will call them this week.\n\nPriya")
        page.click("#draft-1 >> text=Approve and send")
        page.wait_for_url(re.compile(r".*/\?done=approved"))
        assert "Approved" in page.inner_text("main")
        page.goto(served.url + "/history")
        assert "edited" in page.inner_text("main") and "priya" in page.inner_text("main")
        browser.close()
    eventually(lambda: len(served.smtp.messages) >= 3, timeout=10, message="the approved reply")
    time.sleep(2.5)  # a delivery run or two later: still once
    replies = [m for m in served.smtp.messages if m.rcpt_tos != ["clinician@practice.test"]]
    assert len(replies) == 1
    assert replies[0].message.get_content().strip() == "Dear Pastor Dale,\n\nThank you for sending them our way. I will call them this week.\n\nPriya"
