"""Texts end to end: signed webhooks posted to `responder serve` under its real server, replies
sent through the twilio library to a loopback stand-in of Twilio's Messages API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from servers.smtp import SmtpSink
from servers.twilio import TwilioStandIn
from sqlalchemy import update
from support import eventually, migrated, responder, start_responder, write_config
from test_serve import health, stop
from twilio.request_validator import RequestValidator

from responder.config import load
from responder.replying.segments import count
from responder.service import Service
from responder.storage.schema import messages

WEBHOOK_URL = "https://responder.example.org/sms/inbound"
CLINICIAN_PHONE = "+15550100099"


def sms_config(folder: Path, twilio: TwilioStandIn, smtp: SmtpSink | None = None, **sms: object) -> Path:
    settings = {"twilio": {"account_sid": twilio.account_sid, "auth_token": "${TWILIO_AUTH_TOKEN}",
                           "from_number": twilio.from_number, "api_base_url": twilio.base_url},
                "webhook_url": WEBHOOK_URL, **sms}
    sections: dict[str, object] = {"sms": settings}
    if smtp is not None:
        sections["email"] = {"smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}}
    path = write_config(folder, **sections)
    data = yaml.safe_load(path.read_text())
    data["practice"]["notify"] = {"email": "clinician@practice.test", "sms": CLINICIAN_PHONE}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Webhook:
    """Posts forms to /sms/inbound as Twilio does, signed with Twilio's algorithm."""

    def __init__(self, port: int, token: str) -> None:
        self.url = f"http://127.0.0.1:{port}/sms/inbound"
        self.validator = RequestValidator(token)
        self.count = 0

    def form(self, sender: str, body: str, sid: str | None = None) -> dict[str, str]:
        self.count += 1
        return {"MessageSid": sid or f"SM{self.count:032x}", "AccountSid": "AC" + "1" * 32, "From": sender,
                "To": "+15550100000", "Body": body, "NumMedia": "0", "NumSegments": "1"}

    def post(self, form: dict[str, str], signature: str | None = "sign") -> tuple[int, str, float]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "sign":
            signature = self.validator.compute_signature(WEBHOOK_URL, form)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        request = urllib.request.Request(self.url, data=urllib.parse.urlencode(form).encode(), headers=headers, method="POST")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read().decode(), time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), time.monotonic() - started

    def text(self, sender: str, body: str, sid: str | None = None) -> dict[str, str]:
        form = self.form(sender, body, sid)
        status, answer, took = self.post(form)
        assert status == 200 and "<Response" in answer, (status, answer)
        assert took < 1, f"the webhook took {took:.2f}s"
        return form


@pytest.fixture
def served(tmp_path: Path, twilio_api: TwilioStandIn, smtp: SmtpSink) -> Iterator[tuple[Webhook, TwilioStandIn, SmtpSink]]:
    config = sms_config(tmp_path, twilio_api, smtp)
    port = yaml.safe_load(config.read_text())["server"]["port"]
    process = start_responder(config, "serve", env={"TWILIO_AUTH_TOKEN": twilio_api.auth_token}, log=tmp_path / "serve.log")
    try:
        eventually(lambda: health(port)[0] == 200, timeout=15, message="/healthz answering")
        yield Webhook(port, twilio_api.auth_token), twilio_api, smtp
    finally:
        assert stop(process) == 0, (tmp_path / "serve.log").read_text()[-3000:]
    log = (tmp_path / "serve.log").read_text()
    assert "+1555012" not in log, "no full phone number in the log"


def sent_to(twilio: TwilioStandIn, number: str) -> list[dict[str, str]]:
    return [m for m in twilio.sent if m["To"] == number]


def test_a_text_gets_one_short_useful_reply_within_seconds(served: tuple[Webhook, TwilioStandIn, SmtpSink]) -> None:
    webhook, twilio, _ = served
    started = time.monotonic()
    form = webhook.text("+15550123001", "Hi do you take Aetna? Looking for a therapist for anxiety")
    [reply] = twilio.wait_for(1, timeout=5)
    assert time.monotonic() - started < 5
    assert (reply["To"], reply["From"]) == ("+15550123001", "+15550100000")
    body = reply["Body"]
    for expected in ("Harbor Light Counseling", "consult", "https://harborlight.example.org/book", "in network with Aetna", "988", "Reply STOP to opt out"):
        assert expected in body, expected
    assert count(body) <= 3
    assert webhook.post(form)[0] == 200, "Twilio's retry of the same MessageSid"
    time.sleep(1.5)
    assert len(twilio.sent) == 1, "one reply per MessageSid"


def test_forged_or_unsigned_webhooks_are_refused_and_change_nothing(served: tuple[Webhook, TwilioStandIn, SmtpSink]) -> None:
    webhook, twilio, _ = served
    unsigned = webhook.form("+15550123002", "I want to start therapy")
    assert webhook.post(unsigned, signature=None)[0] == 403
    assert webhook.post(unsigned, signature="bm90IGEgc2lnbmF0dXJl")[0] == 403
    tampered = dict(unsigned)
    signature = webhook.validator.compute_signature(WEBHOOK_URL, unsigned)
    tampered["Body"] = "something else"
    assert webhook.post(tampered, signature=signature)[0] == 403
    time.sleep(1.5)
    assert twilio.sent == []
    webhook.text(unsigned["From"], unsigned["Body"], sid=unsigned["MessageSid"])
    assert len(twilio.wait_for(1)) == 1, "the refused posts stored nothing: the genuine one is new"


def test_stop_start_and_help(served: tuple[Webhook, TwilioStandIn, SmtpSink]) -> None:
    webhook, twilio, _ = served
    number = "+15550123003"
    webhook.text(number, "stop")
    webhook.text(number, "Actually, can I ask about couples counseling?")
    time.sleep(2)
    assert sent_to(twilio, number) == [], "no reply to STOP, nothing after it"
    webhook.text(number, "HELP")
    time.sleep(1.5)
    assert sent_to(twilio, number) == [], "an opted-out number gets nothing, HELP included"
    webhook.text(number, "Start")
    time.sleep(1.5)
    assert sent_to(twilio, number) == [], "Twilio confirms START itself"
    webhook.text(number, "HELP")
    [help_text] = eventually(lambda: sent_to(twilio, number), timeout=5, message="the help text")
    assert "Harbor Light Counseling" in help_text["Body"] and "(555) 010-0000" in help_text["Body"]
    webhook.text(number, "I'd like to ask about couples counseling, we have Cigna")
    replies = eventually(lambda: sent_to(twilio, number)[1:], timeout=5, message="a reply after START")
    assert "in network with Cigna" in replies[0]["Body"]
    assert "Reply STOP" not in replies[0]["Body"], "only the first text to a number says how to opt out"


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "Cancel", "END", "quit", "REVOKE", "OptOut"])
def test_every_opt_out_keyword_is_honoured(served: tuple[Webhook, TwilioStandIn, SmtpSink], word: str) -> None:
    webhook, twilio, _ = served
    webhook.text("+15550123010", word)
    webhook.text("+15550123010", "hello, are you taking new clients?")
    time.sleep(1.5)
    assert twilio.sent == []


def test_a_crisis_text_gets_the_crisis_reply_and_alerts_by_text_and_email(served: tuple[Webhook, TwilioStandIn, SmtpSink]) -> None:
    webhook, twilio, smtp = served
    webhook.text("+15550123004", "i want to kill myself tonight. i have the pills counted out")
    texts = twilio.wait_for(2, timeout=5)
    alert = next(t for t in texts if t["To"] == CLINICIAN_PHONE)
    reply = next(t for t in texts if t["To"] == "+15550123004")
    assert "+15550123004" in alert["Body"] and "pills" not in alert["Body"], "who wrote, and no clinical detail in a text"
    assert "988" in reply["Body"] and "741741" in reply["Body"]
    for word in ("$", "consult", "insurance", "book"):
        assert word not in reply["Body"].lower()
    [email] = smtp.wait_for(1)
    assert email.rcpt_tos == ["clinician@practice.test"] and "+15550123004" in email.message.get_content()


@pytest.mark.parametrize("status", [429, 500])
def test_rate_limits_and_server_errors_are_retried(served: tuple[Webhook, TwilioStandIn, SmtpSink], status: int) -> None:
    webhook, twilio, _ = served
    twilio.fail_next(1, status)
    webhook.text("+15550123005", "Hi, I'm looking for a therapist")
    [reply] = twilio.wait_for(1, timeout=15)
    assert reply["To"] == "+15550123005"
    refused = [r for r in twilio.requests if r.method == "POST" and r.status == status]
    assert len(refused) == 1


def test_an_unsubscribed_number_is_marked_opted_out(served: tuple[Webhook, TwilioStandIn, SmtpSink]) -> None:
    webhook, twilio, _ = served
    twilio.fail_next(1, 400, code=21610)
    webhook.text("+15550123006", "Hi, I'm looking for a therapist")
    eventually(lambda: [r for r in twilio.requests if r.status == 400], timeout=5, message="the refused send")
    time.sleep(6)  # past the first retry delay: a permanent error is not retried
    assert twilio.sent == []
    webhook.text("+15550123006", "hello? is this still the counseling office")
    time.sleep(1.5)
    assert twilio.sent == [] and len([r for r in twilio.requests if r.method == "POST"]) == 1


def test_polling_fetches_texts_where_there_is_no_public_url(tmp_path: Path, twilio_api: TwilioStandIn) -> None:
    from datetime import datetime, timedelta, timezone

    config = sms_config(tmp_path, twilio_api, poll=True, webhook_url=None)
    env = {"TWILIO_AUTH_TOKEN": twilio_api.auth_token}
    twilio_api.add_inbound("+15550123007", "Old text, long ago", date_sent=datetime.now(timezone.utc) - timedelta(days=3))
    twilio_api.add_inbound("+15550123008", "Hi, do you have openings for teens? We have BCBS")
    first = responder(config, "poll", "--once", env=env, check=True)
    assert "1 new message(s); 1 sent" in first.stdout, "what was sent before the first run's window is not fetched"
    assert "+15550123008" not in first.stderr, "no full number in the log (the twilio library logs requests)"
    assert "0 new message(s); 0 sent" in responder(config, "poll", "--once", env=env, check=True).stdout
    [reply] = twilio_api.sent
    assert reply["To"] == "+15550123008" and "Blue Cross Blue Shield" in reply["Body"]


def test_check_reports_whether_the_twilio_credentials_work(tmp_path: Path, twilio_api: TwilioStandIn) -> None:
    config = sms_config(tmp_path, twilio_api)
    good = responder(config, "check", env={"TWILIO_AUTH_TOKEN": twilio_api.auth_token})
    assert good.returncode == 0 and "ok   Twilio accepted the credentials" in good.stdout, good.stdout
    bad = responder(config, "check", env={"TWILIO_AUTH_TOKEN": "wrong"})
    assert bad.returncode == 1 and "FAIL sms transport" in bad.stdout and "401" in bad.stdout


def test_classify_reads_a_saved_webhook_form(tmp_path: Path, twilio_api: TwilioStandIn) -> None:
    config = sms_config(tmp_path, twilio_api)
    saved = tmp_path / "text.sms.json"
    saved.write_text(json.dumps(Webhook(0, "x").form("+15550123009", "Do you offer EMDR by video? I have Optum")))
    [line] = responder(config, "classify", "--json", str(saved), env={"TWILIO_AUTH_TOKEN": "x"}, check=True).stdout.splitlines()
    result = json.loads(line)
    assert (result["channel"], result["insurance"], result["modality"], result["reply_to"]) == ("sms", "uhc", "telehealth", "+15550123009")
    assert "emdr" in result["services"]


def test_check_warns_when_a_text_template_runs_past_three_segments(tmp_path: Path, twilio_api: TwilioStandIn) -> None:
    config = sms_config(tmp_path, twilio_api)
    (tmp_path / "mine" / "sms").mkdir(parents=True)
    (tmp_path / "mine" / "sms" / "help.j2").write_text("{% block body %}" + "Call us. " * 60 + "{% endblock %}")
    config.write_text(config.read_text() + "templates: mine\n")
    result = responder(config, "check", env={"TWILIO_AUTH_TOKEN": twilio_api.auth_token})
    assert "warn template sms/help.j2 renders to 4 SMS segments" in result.stdout, result.stdout
    assert "ok   templates" in result.stdout


def test_a_send_that_timed_out_after_twilio_took_it_is_not_sent_twice(tmp_path: Path, twilio_api: TwilioStandIn, smtp: SmtpSink) -> None:
    config = sms_config(tmp_path, twilio_api, smtp)
    data = yaml.safe_load(config.read_text())
    data["sms"]["twilio"]["timeout_seconds"] = 1
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    port = data["server"]["port"]
    twilio_api.delay_next(1, 2.5)  # Twilio accepts the text, but only after the client gave up
    process = start_responder(config, "serve", env={"TWILIO_AUTH_TOKEN": twilio_api.auth_token}, log=tmp_path / "serve.log")
    try:
        eventually(lambda: health(port)[0] == 200, timeout=15, message="/healthz answering")
        Webhook(port, twilio_api.auth_token).text("+15550123011", "Hi, I'm looking for a therapist")
        twilio_api.wait_for(1, timeout=5)
        eventually(lambda: len([r for r in twilio_api.requests if r.method == "GET"]) >= 1, timeout=12, message="the retry looking first")
        time.sleep(1)
        assert len(twilio_api.sent) == 1
    finally:
        assert stop(process) == 0


def _service(tmp_path: Path, twilio: TwilioStandIn) -> Service:
    return Service(migrated(load(sms_config(tmp_path, twilio), environ={"TWILIO_AUTH_TOKEN": twilio.auth_token})))


def test_the_webhook_only_records_a_text_and_settling_reads_it_later(tmp_path: Path, twilio_api: TwilioStandIn) -> None:
    """What the webhook does while Twilio waits: record the text as received. Reading it,
    deciding and owing the reply is settling, done off the request; a restart in between (a
    crash) loses nothing, because whoever runs next settles what is received."""
    webhook = Webhook(0, "x")
    with _service(tmp_path, twilio_api) as service:
        form = webhook.form("+15550123020", "Hi, looking for a therapist for anxiety, I have Aetna")
        received = service.pipeline.ingest_sms("twilio:test", form, defer=True)
        assert received.status == "received"
        assert service.pipeline.ingest_sms("twilio:test", form, defer=True).status == "duplicate", "Twilio's retry"
        assert service.store.outgoing() == [] and service.store.message(received.message_id)["category"] is None
    with _service(tmp_path, twilio_api) as restarted:
        assert restarted.run_once().delivery.sent == 1
        row = restarted.store.message(received.message_id)
        assert (row["status"], row["category"]) == ("answered", "new_inquiry")
        assert restarted.pipeline.settle() == 0, "settled once"
    [reply] = twilio_api.sent
    assert reply["To"] == "+15550123020" and "Aetna" in reply["Body"]


def test_a_text_is_settled_against_the_opt_outs_that_came_before_it(tmp_path: Path, twilio_api: TwilioStandIn) -> None:
    """STOP and START take effect when they come, not when a text is settled: a text still
    waiting when STOP comes is not answered, and one that came while the number was opted out
    is settled at once, against that opt-out."""
    webhook = Webhook(0, "x")
    with _service(tmp_path, twilio_api) as service:
        ingest = service.pipeline.ingest_sms
        before_stop = ingest("twilio:test", webhook.form("+15550123021", "Do you see teens?"), defer=True)
        assert ingest("twilio:test", webhook.form("+15550123021", "STOP"), defer=True).status == "opted_out"
        assert service.pipeline.settle() == 1
        assert service.store.message(before_stop.message_id)["status"] == "skipped", "nothing is sent after STOP"
        while_out = ingest("twilio:test", webhook.form("+15550123021", "i want to kill myself tonight"), defer=True)
        assert while_out.status == "alerted", "settled at once: no reply to the number, a clinician alerted"
        assert ingest("twilio:test", webhook.form("+15550123021", "START"), defer=True).status == "opted_in"
        after_start = ingest("twilio:test", webhook.form("+15550123021", "Hi again, do you take Cigna?"), defer=True)
        assert after_start.status == "received" and service.pipeline.settle() == 1
        assert service.store.message(after_start.message_id)["status"] == "answered"
        service.delivery.run()
    assert [m["To"] for m in twilio_api.sent] == [CLINICIAN_PHONE, "+15550123021"]
    assert "Cigna" in twilio_api.sent[1]["Body"]


def test_workers_racing_to_settle_answer_each_text_once(tmp_path: Path, twilio_api: TwilioStandIn) -> None:
    """Four workers on one store (threads of serve, or other processes) all settling at once."""
    webhook = Webhook(0, "x")
    workers = [_service(tmp_path, twilio_api) for _ in range(4)]
    try:
        for n in range(40):
            workers[0].pipeline.ingest_sms("twilio:test", webhook.form(f"+1555012{3100 + n}", "Hi, do you have openings?"), defer=True)
        with ThreadPoolExecutor(len(workers)) as pool:
            settled = [future.result() for future in [pool.submit(w.pipeline.settle) for w in workers]]
        assert sum(settled) == 40, settled
        outbox = workers[0].store.outgoing()
        assert sorted(row["to_addr"] for row in outbox) == sorted(f"+1555012{3100 + n}" for n in range(40))
        assert workers[0].store.received() == []
    finally:
        for worker in workers:
            worker.close()


def test_a_received_text_the_store_cannot_read_back_is_recorded_and_skipped(tmp_path: Path, twilio_api: TwilioStandIn) -> None:
    webhook = Webhook(0, "x")
    with _service(tmp_path, twilio_api) as service:
        broken = service.pipeline.ingest_sms("twilio:test", webhook.form("+15550123022", "Hello"), defer=True)
        fine = service.pipeline.ingest_sms("twilio:test", webhook.form("+15550123023", "Hi, are you taking new clients?"), defer=True)
        with service.store.transaction() as conn:
            conn.execute(update(messages).where(messages.c.id == broken.message_id).values(raw=b"{not json"))
        assert service.pipeline.settle() == 2
        assert service.store.message(broken.message_id)["status"] == "unreadable"
        assert service.store.message(fine.message_id)["status"] == "answered"


def test_texts_posted_just_before_serve_is_killed_are_all_answered_once(tmp_path: Path, twilio_api: TwilioStandIn) -> None:
    config = sms_config(tmp_path, twilio_api)
    port = yaml.safe_load(config.read_text())["server"]["port"]
    env = {"TWILIO_AUTH_TOKEN": twilio_api.auth_token}
    webhook = Webhook(port, twilio_api.auth_token)
    numbers = [f"+1555012{3200 + n}" for n in range(30)]
    for round_, chunk in enumerate((numbers[:15], numbers[15:])):
        process = start_responder(config, "serve", env=env, log=tmp_path / f"serve{round_}.log")
        eventually(lambda: health(port)[0] == 200, timeout=15, message="/healthz answering")
        for number in chunk:
            webhook.text(number, "Hi, I'm looking for a therapist, do you take Aetna?")
        process.kill()
        process.wait()
    responder(config, "poll", "--once", env=env, check=True)
    assert sorted(m["To"] for m in twilio_api.sent) == sorted(numbers), "every text answered, none twice"
