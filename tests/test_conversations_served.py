"""Issue 12 from the outside, as its acceptance check runs: `responder serve` on Dovecot (IMAP
IDLE), an SMTP server and the Twilio stand-in; a person emails, answers in the thread and texts
from the number they gave; a clinician answers from the command line by each channel; a crisis
inside the thread is answered at once; a referral converts; /metrics shows the new series."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml
from servers.dovecot import Dovecot
from servers.smtp import SmtpSink
from servers.twilio import TwilioStandIn
from support import eventually, inquiry, responder, start_responder
from test_serve import health, metrics, stop
from test_sms import CLINICIAN_PHONE, Webhook, sms_config

PERSON = "sam.rivera@example.org"
NUMBER = "+15550132231"
CLINICIAN = "clinician@practice.test"


def test_a_person_a_clinician_and_a_referrer_from_the_outside(tmp_path: Path, dovecot: Dovecot, smtp: SmtpSink,
                                                              twilio_api: TwilioStandIn, tls_files) -> None:  # type: ignore[no-untyped-def]
    smtp.messages.clear()
    config = sms_config(tmp_path, twilio_api, smtp)
    data = yaml.safe_load(config.read_text())
    data["email"]["imap"] = {"host": "127.0.0.1", "port": dovecot.ssl_port, "username": dovecot.user, "password": "${IMAP_PASSWORD}"}
    data["replies"] = {"professional_referral": {"mode": "auto"}}
    data["conversations"] = {"notice_every_minutes": 0}  # every message told at once, so each step shows its notice
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    env = {"SSL_CERT_FILE": str(tls_files.ca_file), "IMAP_PASSWORD": "intake-password", "TWILIO_AUTH_TOKEN": twilio_api.auth_token}
    port = data["server"]["port"]
    process = start_responder(config, "serve", env=env, log=tmp_path / "serve.log")

    def emails_to(address: str) -> list:  # type: ignore[type-arg]
        return [m for m in smtp.messages if m.rcpt_tos == [address]]

    def texts_to(number: str) -> list:  # type: ignore[type-arg]
        return [m for m in twilio_api.sent if m["To"] == number]

    try:
        eventually(lambda: health(port)[0] == 200, timeout=20, message="/healthz answering")
        webhook = Webhook(port, twilio_api.auth_token)
        dovecot.deliver(inquiry(sender=f"Sam Rivera <{PERSON}>", body="Hi, I'm looking for a therapist for anxiety. I have Aetna. "
                                                                      "You can text me at 555-013-2231."))
        [first] = eventually(lambda: emails_to(PERSON), timeout=15, message="the first reply")
        # A reply in the thread: a notice, no second automatic reply.
        dovecot.deliver(inquiry(sender=f"Sam Rivera <{PERSON}>", subject="Re: " + first.message["Subject"],
                                body="Tuesday afternoons work best, could someone call me?", In_Reply_To=first.message["Message-ID"]))
        eventually(lambda: len(emails_to(CLINICIAN)) >= 1, timeout=15, message="the notice of the thread reply")
        # A text from the number the email gave: the same conversation, a notice, no automatic text.
        webhook.text(NUMBER, "Hi it's Sam, I emailed earlier. Is Tuesday ok?")
        eventually(lambda: len(emails_to(CLINICIAN)) >= 2, timeout=15, message="the notice of the text")
        time.sleep(1)
        assert len(emails_to(PERSON)) == 1 and texts_to(NUMBER) == [], "no second automatic reply by either channel"
        assert all("Tuesday" not in m["Body"] for m in texts_to(CLINICIAN_PHONE)), "no message text by SMS"

        [conversation] = json.loads(responder(config, "conversations", "list", "--json", env=env, check=True).stdout)
        assert conversation["waiting_on_us"] and set(conversation["known_as"]) == {PERSON, NUMBER}
        ident = str(conversation["id"])
        responder(config, "conversations", "reply", ident, "--channel", "sms", "--body", "Hi Sam, Tuesday at 3 works. Priya", "--as", "priya",
                  env=env, check=True)
        responder(config, "conversations", "reply", ident, "--channel", "email", "--body", "Dear Sam,\n\nTuesday at 3 it is.\n\nPriya",
                  env=env, check=True)
        time.sleep(2)  # serve's own delivery runs meanwhile: still once each
        assert [m["Body"] for m in texts_to(NUMBER)] == ["Hi Sam, Tuesday at 3 works. Priya"]
        human = [m for m in emails_to(PERSON) if "Tuesday at 3 it is." in m.message.get_content()]
        assert len(human) == 1 and human[0].message["In-Reply-To"] is not None

        # A crisis inside the thread: answered at once, whatever the conversation's state.
        dovecot.deliver(inquiry(sender=PERSON, subject="Re: " + first.message["Subject"], In_Reply_To=first.message["Message-ID"],
                                body="I can't do this anymore. I want to kill myself tonight."))
        eventually(lambda: len(emails_to(PERSON)) == 3, timeout=15, message="the crisis reply")
        assert any("988" in m.message.get_content() for m in emails_to(PERSON)[2:])

        # A referral that becomes a client shows in report referrals.
        dovecot.deliver(inquiry(sender="Dr. Owen Prideaux <oprideaux@junipeds.example.org>", subject="Referral: anxious teen",
                                body="Hello, I'd like to refer a patient, age 15, for anxiety. Mom can be reached at 555-015-2281. "
                                     "They have Aetna.\n\nOwen Prideaux, MD\nJuniper Pediatrics"))
        eventually(lambda: emails_to("oprideaux@junipeds.example.org"), timeout=15, message="the referrer's thank-you")
        listed = json.loads(responder(config, "conversations", "list", "--json", env=env, check=True).stdout)
        referred = next(c for c in listed if c["referral_source"] == "oprideaux@junipeds.example.org")
        responder(config, "conversations", "mark", str(referred["id"]), "became_client", env=env, check=True)
        [source] = json.loads(responder(config, "report", "referrals", "--json", env=env, check=True).stdout)
        assert (source["referrals"], source["became_clients"]) == (1, 1)

        shown = metrics(port)
        assert shown[("responder_conversations", (("status", "open"),))] == 2
        assert shown[("responder_first_human_response_seconds_count", (("channel", "sms"),))] == 1
    finally:
        assert stop(process) == 0, (tmp_path / "serve.log").read_text()[-3000:]
