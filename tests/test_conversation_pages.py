"""Conversations on the clinicians' page under `responder serve` (issue 12): who sees what by
role (a clinician gets 403 and nothing of a conversation not assigned to them), a reply typed
in headless Chromium reaching the person once, the segment count as a text is typed, the
outcome, sign-in attempts limited, and the access log an admin reads and exports."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from argon2 import PasswordHasher
from servers.smtp import SmtpSink
from servers.twilio import TwilioStandIn
from support import eventually, inquiry, start_responder, write_config
from test_pages import CHROMIUM, Browserless
from test_serve import health, stop
from test_sms import Webhook

PASSWORD = "a long clinic password"
PERSON = "sam.rivera@example.org"
OTHER = "alex.kim@example.org"


@dataclass
class Served:
    url: str
    smtp: SmtpSink
    twilio: TwilioStandIn
    folder: Path

    def deliver(self, raw: bytes, name: str) -> None:
        (self.folder / "mail" / "inbox" / "new" / name).write_bytes(raw)

    def client(self, username: str) -> tuple[Browserless, str]:
        client = Browserless(self.url)
        return client, sign_in(client, username)


def sign_in(client: Browserless, username: str, password: str = PASSWORD) -> str:
    _, html, _ = client.request("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    status, body, _ = client.request("/login", {"csrf": csrf, "username": username, "password": password, "next": "/conversations"})
    assert status == 303, body
    status, html, _ = client.request("/conversations")
    assert status == 200, html
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


@pytest.fixture
def served(tmp_path: Path, smtp: SmtpSink, twilio_api: TwilioStandIn) -> Iterator[Served]:
    smtp.messages.clear()
    config = write_config(tmp_path, email={"maildir": {"inbox": "mail/inbox", "poll_seconds": 0.3},
                                           "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}},
                          sms={"twilio": {"account_sid": twilio_api.account_sid, "auth_token": twilio_api.auth_token,
                                          "from_number": twilio_api.from_number, "api_base_url": twilio_api.base_url},
                               "webhook_url": "https://responder.example.org/sms/inbound"})
    data = yaml.safe_load(config.read_text())
    data["practice"]["clinicians"] = [{"id": "priya", "name": "Priya Raman, LCSW", "email": "priya@practice.test"},
                                      {"id": "marco", "name": "Marco Ortiz, LMFT"}]
    hashed = PasswordHasher().hash(PASSWORD)
    data["web"] = {"secret_key": "a test secret key, long enough", "clinicians": [
        {"username": "owner", "password_hash": hashed, "role": "admin"},
        {"username": "jordan", "password_hash": hashed, "role": "intake"},
        {"username": "priya", "password_hash": hashed, "role": "clinician", "clinician": "priya"}]}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    (tmp_path / "mail" / "inbox" / "new").mkdir(parents=True, exist_ok=True)
    port = data["server"]["port"]
    process = start_responder(config, "serve", log=tmp_path / "serve.log")
    try:
        eventually(lambda: health(port)[0] == 200, timeout=15, message="/healthz answering")
        served = Served(f"http://127.0.0.1:{port}", smtp, twilio_api, tmp_path)
        served.deliver(inquiry(sender=f"Sam Rivera <{PERSON}>", body="Hi, I'm looking for a therapist for anxiety. I have Aetna. "
                                                                     "You can also text me at 555-013-2231."), "1.eml")
        served.deliver(inquiry(sender=OTHER, body="Hello, do you see couples? We have Cigna."), "2.eml")
        smtp.wait_for(2, timeout=10)  # both first replies: both conversations exist
        yield served
    finally:
        assert stop(process) == 0, (tmp_path / "serve.log").read_text()[-3000:]


def conversation_of(client: Browserless, address: str) -> int:
    _, html, _ = client.request("/conversations")
    return int(re.search(rf'/conversations/(\d+)">#\d+ {re.escape(address)}', html).group(1))  # type: ignore[union-attr]


def test_a_clinician_sees_only_the_conversations_assigned_to_them(served: Served) -> None:
    jordan, jordan_csrf = served.client("jordan")
    sam, alex = conversation_of(jordan, PERSON), conversation_of(jordan, OTHER)
    priya, priya_csrf = served.client("priya")
    status, html, _ = priya.request("/conversations")
    assert status == 200 and PERSON not in html and OTHER not in html
    status, html, _ = priya.request(f"/conversations/{sam}")
    assert status == 403 and PERSON not in html and "anxiety" not in html, "403, and nothing of it shown"

    assert jordan.request(f"/conversations/{sam}/assign", {"csrf": jordan_csrf, "clinician": "priya"})[0] == 303
    status, html, _ = priya.request("/conversations")
    assert PERSON in html and OTHER not in html
    status, html, _ = priya.request(f"/conversations/{sam}")
    assert status == 200 and "anxiety" in html and "Assigned to priya" in html and 'name="clinician"' not in html
    for path, form in ((f"/conversations/{alex}", None), (f"/conversations/{alex}/reply", {"csrf": priya_csrf, "channel": "email", "body": "x"}),
                       (f"/conversations/{alex}/mark", {"csrf": priya_csrf, "outcome": "closed"}),
                       (f"/conversations/{sam}/assign", {"csrf": priya_csrf, "clinician": "marco"})):
        status, html, _ = priya.request(path, form)
        assert status == 403 and OTHER not in html, path
    time.sleep(0.5)
    assert len([m for m in served.smtp.messages if m.rcpt_tos == [OTHER]]) == 1, "only the first reply: nothing priya tried was sent"
    anonymous = Browserless(served.url)
    assert anonymous.request(f"/conversations/{sam}")[0] == 303 and anonymous.request("/conversations")[0] == 303
    assert anonymous.request(f"/conversations/{sam}/reply", {"channel": "email", "body": "forged"})[0] == 403


def test_a_reply_typed_in_chromium_reaches_the_person_once_and_a_text_counts_its_segments(served: Served, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run scripts/test (it installs Debian's chromium with apt-get)")
    jordan, _ = served.client("jordan")
    sam = conversation_of(jordan, PERSON)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update"])
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        page.goto(f"{served.url}/conversations/{sam}")
        page.fill("#username", "jordan")
        page.fill("#password", PASSWORD)
        page.click("button:has-text(\"Sign in\")")
        page.wait_for_url(f"{served.url}/conversations/{sam}")
        assert "anxiety" in page.inner_text("main") and "+15550132231" in page.inner_text("main")
        page.check("input[value=sms]")
        page.fill("#reply-body", "x" * 161)
        assert page.inner_text("#segments") == "2 text segments"
        page.fill("#reply-body", "Hi Sam, Tuesday at 3? – Jordan")  # an en dash: not GSM, still one segment
        assert page.inner_text("#segments") == "1 text segment"
        page.check("input[value=email]")
        page.fill("#reply-body", "Dear Sam,\n\nTuesday at 3 works for a first call with Priya.\n\nJordan")
        page.click("button:has-text(\"Send\")")
        page.wait_for_url(f"{served.url}/conversations/{sam}")
        assert "on its way" in page.inner_text("main")
        page.screenshot(path=str(tmp_path / "conversation.png"), full_page=True)
        page.go_back()  # the form again, with the same token: sending it twice is one reply
        for width, height in ((390, 844), (1280, 900)):  # the dashboard at phone and desktop width: nothing runs off the side
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{served.url}/dashboard")
            assert page.locator("svg").count() >= 4
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"wider than {width}px"
            page.screenshot(path=str(tmp_path / f"dashboard-{width}.png"), full_page=True)
        browser.close()
    eventually(lambda: any(m.rcpt_tos == [PERSON] and "Tuesday at 3" in m.message.get_content() for m in served.smtp.messages),
               timeout=10, message="the clinician's reply")
    time.sleep(2)
    mine = [m for m in served.smtp.messages if m.rcpt_tos == [PERSON] and "Tuesday at 3" in m.message.get_content()]
    assert len(mine) == 1 and mine[0].message["Auto-Submitted"] is None
    _, html, _ = jordan.request(f"/conversations/{sam}")
    assert "by jordan" in html and "human reply" in html


def test_the_outcome_is_recorded_from_the_page(served: Served) -> None:
    jordan, csrf = served.client("jordan")
    sam = conversation_of(jordan, PERSON)
    assert jordan.request(f"/conversations/{sam}/mark", {"csrf": csrf, "outcome": "consultation_booked"})[0] == 303
    _, html, _ = jordan.request(f"/conversations/{sam}")
    assert "The outcome is recorded" in html and "Consultation booked</span>" in html
    assert jordan.request(f"/conversations/{sam}/mark", {"csrf": csrf, "outcome": "invented"})[0] == 303
    assert "Choose an outcome" in jordan.request(f"/conversations/{sam}")[1]


def test_sign_in_attempts_are_limited_per_user_name(served: Served) -> None:
    attacker = Browserless(served.url)
    for _ in range(5):
        _, html, _ = attacker.request("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        assert attacker.request("/login", {"csrf": csrf, "username": "priya", "password": "guess"})[0] == 401
    _, html, _ = attacker.request("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    status, body, _ = attacker.request("/login", {"csrf": csrf, "username": "priya", "password": PASSWORD})
    assert status == 429 and "Too many attempts" in body and "15 minutes" in body, "even the right password waits: minutes, not forever"
    served.client("jordan")  # another user signs in as ever
    assert "sign-in refused: too many failed attempts" in (served.folder / "serve.log").read_text()


def test_every_view_is_in_the_access_log_an_admin_reads_and_exports(served: Served) -> None:
    jordan, _ = served.client("jordan")
    sam = conversation_of(jordan, PERSON)
    jordan.request(f"/conversations/{sam}")
    assert jordan.request("/access-log")[0] == 403 and jordan.request("/access-log.csv")[0] == 403
    owner, _ = served.client("owner")
    status, html, _ = owner.request("/access-log")
    assert status == 200 and re.search(rf"<td>jordan</td>\s*<td><a href=\"/conversations/{sam}\">#{sam}</a></td><td>viewed</td>", html)
    status, exported, headers = owner.request("/access-log.csv")
    assert status == 200 and {k.lower(): v for k, v in headers.items()}["content-type"].startswith("text/csv")
    [header, row] = exported.strip().splitlines()
    assert header == "at (UTC),user,conversation,action,detail" and row.split(",")[1:] == ["jordan", str(sam), "viewed", ""]
    assert PERSON not in exported


def test_an_exported_cell_never_runs_as_a_formula() -> None:
    from responder.web.conversations import _cell

    assert [_cell(v) for v in ("=HYPERLINK(1)", "+1", "-1", "@SUM(1)", "jordan", "")] == [
        "'=HYPERLINK(1)", "'+1", "'-1", "'@SUM(1)", "jordan", ""]


def test_the_dashboard_draws_its_charts_on_the_server(served: Served) -> None:
    jordan, _ = served.client("jordan")
    status, html, headers = jordan.request("/dashboard")
    assert status == 200 and html.count("<svg") >= 4 and "<script" not in html
    assert PERSON not in html and "anxiety" not in html, "no person's address or words on the dashboard"
    assert Browserless(served.url).request("/dashboard")[0] == 303


def test_a_text_from_the_page_goes_once_and_never_after_stop(served: Served) -> None:
    jordan, csrf = served.client("jordan")
    sam = conversation_of(jordan, PERSON)
    _, html, _ = jordan.request(f"/conversations/{sam}")
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    form = {"csrf": csrf, "token": token, "channel": "sms", "body": "Hi Sam, it's Jordan from Harbor Light. Tuesday at 3?"}
    assert jordan.request(f"/conversations/{sam}/reply", form)[0] == 303
    assert jordan.request(f"/conversations/{sam}/reply", form)[0] == 303  # the same form again: one text
    eventually(lambda: [m for m in served.twilio.sent if m["To"] == "+15550132231"], timeout=10, message="the text")
    time.sleep(1.5)
    assert [m["Body"] for m in served.twilio.sent if m["To"] == "+15550132231"] == [form["body"]]
    Webhook(int(served.url.rsplit(":", 1)[1]), served.twilio.auth_token).text("+15550132231", "STOP")
    eventually(lambda: "opted out (STOP)" in jordan.request(f"/conversations/{sam}")[1], timeout=10, message="the opt-out shown")
    _, html, _ = jordan.request(f"/conversations/{sam}")
    assert 'value="sms"' not in html
    forged = {**form, "token": "another", "body": "One more thing"}
    assert jordan.request(f"/conversations/{sam}/reply", forged)[0] == 303
    assert "Not sent: the person&#39;s number opted out" in jordan.request(f"/conversations/{sam}")[1]
    time.sleep(1)
    assert len([m for m in served.twilio.sent if m["To"] == "+15550132231"]) == 1


def test_the_waitlist_page_lists_who_was_told_the_clinicians_are_full(served: Served) -> None:
    # The fixture's clinicians offer no service: each inquiry was told they are full, and waits.
    jordan, _ = served.client("jordan")
    status, html, _ = jordan.request("/waitlist")
    assert status == 200 and PERSON in html and OTHER in html
    priya, _ = served.client("priya")
    status, html, _ = priya.request("/waitlist")
    assert status == 200 and PERSON not in html and OTHER not in html, "a clinician sees only her own"
