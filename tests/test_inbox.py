"""Clinicians answer conversations from the command line (issue 12): `responder conversations
list/show/reply/mark/assign` on a store the pipeline filled, replies sent once through the real
SMTP sink and the Twilio stand-in, outcomes, the referrer's thank-you drafted on a conversion,
notices to the assigned clinician, quiet conversations closed, and every view logged."""

from __future__ import annotations

import email
import json
import random
import time
from collections import defaultdict
from datetime import timedelta
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers.smtp import SmtpSink
from servers.twilio import TwilioStandIn
from sqlalchemy import select, update
from support import inquiry, responder, start_responder
from test_conversations import CLINICIAN_EMAIL, THREAD_REPLY, delivered, service_for, text

from responder.config import load
from responder.inbox import Forbidden, Refused, Viewer
from responder.model import Channel, ConversationOutcome, Kind, Role
from responder.service import Service
from responder.storage.schema import access_log, conversations, outbox
from responder.storage.store import utcnow

PRIYA = {"id": "priya", "name": "Priya Raman, LCSW", "email": "priya@practice.test", "phone": "+15550100091"}
ADMIN = Viewer("jordan", Role.ADMIN)


@pytest.fixture
def smtp_clear(smtp: SmtpSink) -> SmtpSink:
    smtp.messages.clear()
    return smtp


def with_clinicians(service: Service) -> Path:
    """The service's configuration file, with Priya among practice.clinicians; the service restarted on it."""
    path = Path(service.config.base_dir) / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["practice"]["clinicians"] = [PRIYA]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def cli(path: Path, *args: str, code: int = 0) -> Any:
    result = responder(path, "conversations", *args)
    assert result.returncode == code, result.stderr
    return json.loads(result.stdout) if "--json" in args else result


def test_a_reply_from_the_command_line_reaches_the_person_once_threaded_under_their_email(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp)
    service.pipeline.ingest_email("test", inquiry())
    [first] = delivered(service, smtp, 1)
    theirs = inquiry(subject="Re: " + first.message["Subject"], body=THREAD_REPLY, In_Reply_To=first.message["Message-ID"])
    later = service.pipeline.ingest_email("test", theirs)
    assert later.status == "notified"
    delivered(service, smtp, 2)  # the notice
    path = Path(service.config.base_dir) / "config.yaml"

    [listed] = cli(path, "list", "--json")
    assert listed["waiting_on_us"] and listed["known_as"][0] == "jordan.lee@example.org" and listed["message_count"] == 2
    cli(path, "reply", str(listed["id"]), "--channel", "email", "--body", "Tuesday at 3 works. Priya will call you.", "--as", "priya")

    [*_, sent] = delivered(service, smtp, 3)
    assert sent.rcpt_tos == ["jordan.lee@example.org"]
    written = email.message_from_bytes(sent.message.as_bytes(), policy=default_policy)
    asked = email.message_from_bytes(theirs, policy=default_policy)
    assert written["In-Reply-To"] == asked["Message-ID"] and asked["Message-ID"] in written["References"]
    assert written["Subject"] == asked["Subject"] and written["Auto-Submitted"] is None, "a person wrote it: no auto-reply headers"
    assert "intake@practice.test" in written["From"] and "Priya will call you." in written.get_content()
    delivered(service, smtp, 3)  # a second delivery run sends nothing more

    shown = cli(path, "show", str(listed["id"]), "--json")
    assert not shown["waiting_on_us"]
    assert [(m["direction"], m["kind"]) for m in shown["messages"]] == [
        ("in", "new_inquiry"), ("out", "reply"), ("in", "new_inquiry"), ("out", "conversation_notice"), ("out", "human_reply")]
    assert shown["messages"][-1]["author"] == "priya" and shown["messages"][-1]["state"] == "sent"
    assert shown["messages"][2]["text"].startswith("Tuesday afternoons")
    with service.store.engine.connect() as conn:
        logged = [(row.actor, row.action) for row in conn.execute(select(access_log).order_by(access_log.c.id))]
    assert logged == [("priya", "replied"), (logged[1][0], "viewed")] and logged[1][0].startswith("cli:")


def test_a_text_reply_goes_once_and_never_to_a_number_that_opted_out(tmp_path: Path, smtp_clear: SmtpSink,
                                                                     twilio_api: TwilioStandIn) -> None:
    service = service_for(tmp_path, smtp_clear, twilio_api)
    number = "+15550134472"
    first = service.pipeline.ingest_sms("twilio:test", text(twilio_api, number, "Hi, are you taking new clients? I have Aetna.", 11))
    service.delivery.run()
    conversation = service.store.message(first.message_id)["conversation_id"]
    path = Path(service.config.base_dir) / "config.yaml"
    before = len([m for m in twilio_api.sent if m["To"] == number])

    cli(path, "reply", str(conversation), "--channel", "sms", "--body", "Hi Sam, this is Priya.\nDoes Tuesday work?")
    time.sleep(0.2)
    mine = [m for m in twilio_api.sent if m["To"] == number][before:]
    assert [m["Body"] for m in mine] == ["Hi Sam, this is Priya.\nDoes Tuesday work?"]
    no_email = cli(path, "reply", str(conversation), "--channel", "email", "--body", "hello", code=1)
    assert "no address" in no_email.stderr

    service.pipeline.ingest_sms("twilio:test", text(twilio_api, number, "STOP", 12))
    refused = cli(path, "reply", str(conversation), "--channel", "sms", "--body", "One more thing", code=1)
    assert "opted out" in refused.stderr
    time.sleep(0.2)
    assert len([m for m in twilio_api.sent if m["To"] == number]) == before + 1
    cli(path, "reply", "9999", "--channel", "sms", "--body", "hello", code=1)
    cli(path, "show", "9999", code=1)
    cli(path, "mark", "9999", "closed", code=1)


def test_a_form_sent_twice_is_one_reply(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    service = service_for(tmp_path, smtp_clear)
    first = service.pipeline.ingest_email("test", inquiry())
    conversation = service.store.message(first.message_id)["conversation_id"]
    once = service.inbox.reply(conversation, ADMIN, Channel.EMAIL, "We can talk Tuesday.", token="a1b2")
    again = service.inbox.reply(conversation, ADMIN, Channel.EMAIL, "We can talk Tuesday.", token="a1b2")
    assert once == again
    with service.store.engine.connect() as conn:
        assert conn.execute(select(outbox.c.id).where(outbox.c.kind == Kind.HUMAN_REPLY)).scalars().all() == [once]
    with pytest.raises(Refused):
        service.inbox.reply(conversation, ADMIN, Channel.EMAIL, "   ")


def test_a_clinician_sees_only_what_is_assigned_to_them(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    service = service_for(tmp_path, smtp_clear)
    mine = service.store.message(service.pipeline.ingest_email("test", inquiry(sender="a@example.org")).message_id)["conversation_id"]
    other = service.store.message(service.pipeline.ingest_email("test", inquiry(sender="b@example.org")).message_id)["conversation_id"]
    with service.store.transaction() as conn:
        conn.execute(update(conversations).where(conversations.c.id == mine).values(clinician="priya"))
    priya = Viewer("priya", Role.CLINICIAN, "priya")
    listed, total = service.inbox.list(priya)
    assert [c.id for c in listed] == [mine] and total == 1
    assert service.inbox.show(mine, priya) is not None
    for attempt in (lambda: service.inbox.show(other, priya), lambda: service.inbox.reply(other, priya, Channel.EMAIL, "hi"),
                    lambda: service.inbox.mark(other, priya, ConversationOutcome.CLOSED)):
        with pytest.raises(Forbidden):
            attempt()
    assert {c.id for c in service.inbox.list(Viewer("jordan", Role.INTAKE))[0]} == {mine, other}


def test_a_referral_that_becomes_a_client_drafts_the_thank_you_and_counts_as_a_conversion(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp)
    path = Path(service.config.base_dir) / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["replies"] = {"professional_referral": {"mode": "off"}}  # no thank-you went when the referral came
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    service = Service(load(path, environ={}))
    referral = service.pipeline.ingest_email("test", inquiry(
        sender="Dr. Owen Prideaux <oprideaux@junipeds.example.org>", subject="Referral: anxious teen",
        body="Hello, I'm a pediatrician and I'd like to refer a patient, age 15, for anxiety. Mom can be reached at "
             "mom.of.teen@example.org. They have Aetna.\n\nOwen Prideaux, MD\nJuniper Pediatrics"))
    conversation = service.store.message(referral.message_id)["conversation_id"]
    assert not responder(path, "drafts", "list", "--json").stdout.strip("[]\n")

    cli(path, "mark", str(conversation), "consultation_booked")
    [draft] = json.loads(responder(path, "drafts", "list", "--json").stdout)
    assert draft["to"] == "oprideaux@junipeds.example.org" and "for your referral" in draft["body"]
    cli(path, "mark", str(conversation), "became_client")  # a thank-you already waits: no second one
    assert len(json.loads(responder(path, "drafts", "list", "--json").stdout)) == 1

    again = service.pipeline.ingest_email("test", inquiry(
        sender="Dr. Owen Prideaux <oprideaux@junipeds.example.org>", subject="Re: Referral: anxious teen",
        body="Following up on my referral of a patient, age 15, for anxiety: mom is at mom.of.teen@example.org.\n\nOwen Prideaux, MD"))
    assert service.store.message(again.message_id)["conversation_id"] == conversation
    [source] = json.loads(responder(path, "report", "referrals", "--json").stdout)
    assert (source["address"], source["referrals"], source["became_clients"]) == ("oprideaux@junipeds.example.org", 1, 1)
    assert source["count"] == 2, "two referral messages about one person: one referral"
    assert "1 became clients" in responder(path, "report", "referrals").stdout


def test_a_notice_goes_to_the_assigned_clinician_too(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp)
    service.pipeline.ingest_email("test", inquiry())
    [first] = delivered(service, smtp, 1)
    path = with_clinicians(service)
    conversation = cli(path, "list", "--json")[0]["id"]
    cli(path, "assign", str(conversation), "priya")
    cli(path, "assign", str(conversation), "nobody-here", code=2)
    service = Service(load(path, environ={}))
    service.pipeline.ingest_email("test", inquiry(subject="Re: hi", body=THREAD_REPLY, In_Reply_To=first.message["Message-ID"]))
    notices = delivered(service, smtp, 3)[1:]
    assert sorted(r for m in notices for r in m.rcpt_tos) == sorted([CLINICIAN_EMAIL, "priya@practice.test"])


def test_a_quiet_conversation_is_closed_and_a_new_message_opens_it(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    service = service_for(tmp_path, smtp_clear, close_after_days=30)
    first = service.pipeline.ingest_email("test", inquiry())
    conversation = service.store.message(first.message_id)["conversation_id"]
    with service.store.transaction() as conn:
        conn.execute(update(conversations).values(last_activity_at=utcnow() - timedelta(days=31)))
    assert service.inbox.close_quiet() == 1
    assert service.inbox.list(ADMIN)[0][0].status == "closed"
    again = service.pipeline.ingest_email("test", inquiry(body="Hello again, I'm ready to start now."))
    assert service.store.message(again.message_id)["conversation_id"] == conversation
    assert service.inbox.list(ADMIN)[0][0].status == "open"


def test_sigkill_at_random_moments_while_clinicians_replies_go_out_sends_each_once(tmp_path: Path, smtp_clear: SmtpSink,
                                                                                   twilio_api: TwilioStandIn) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp, twilio_api)
    people = [f"person{n}@example.org" for n in range(24)]
    numbers = [f"+1555014{n:04d}" for n in range(8)]
    for person in people:
        service.pipeline.ingest_email("test", inquiry(sender=person))
    for n, number in enumerate(numbers):
        service.pipeline.ingest_sms("twilio:test", text(twilio_api, number, "Hi, are you taking new clients? I have Aetna.", 100 + n))
    service.delivery.run()
    smtp.messages.clear()
    twilio_api.sent.clear()
    for listed in service.inbox.list(ADMIN, limit=100)[0]:
        channel = Channel.SMS if listed.known_as[0].startswith("+") else Channel.EMAIL
        service.inbox.reply(listed.id, ADMIN, channel, f"Hello from Priya, about conversation {listed.id}.")
    service.close()
    path = Path(service.config.base_dir) / "config.yaml"

    smtp.data_delay = 0.1  # sending takes seconds: the kills fall among the sends
    twilio_api.delay_next(len(numbers) * 3, 0.1)
    chance = random.Random(12)
    for _ in range(8):
        process = start_responder(path, "poll", "--once")
        time.sleep(chance.uniform(1.2, 4.0))
        process.kill()
        process.wait()
    responder(path, "poll", "--once", check=True)
    time.sleep(0.3)
    by_person: dict[str, set[str]] = defaultdict(set)
    for message in smtp.messages:
        by_person[message.rcpt_tos[0]].add(message.message["Message-ID"])
    assert sorted(by_person) == sorted(people) and all(len(ids) == 1 for ids in by_person.values()), by_person
    texted = sorted(m["To"] for m in twilio_api.sent)
    assert texted == sorted(numbers), "each text once"


def test_a_draft_is_seen_by_the_clinician_its_conversation_is_assigned_to(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    service = service_for(tmp_path, smtp_clear)
    path = with_clinicians(service)
    data = yaml.safe_load(path.read_text())
    data["replies"] = {"new_inquiry": {"mode": "approve"}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    service = Service(load(path, environ={}))
    held = service.pipeline.ingest_email("test", inquiry())
    assert held.status == "held"
    [draft] = service.approvals.waiting()
    priya = Viewer("priya", Role.CLINICIAN, "priya")
    assert not priya.may_see(draft) and ADMIN.may_see(draft)
    service.inbox.assign(service.store.message(held.message_id)["conversation_id"], ADMIN, "priya")
    [draft] = service.approvals.waiting()
    assert priya.may_see(draft) and not Viewer("marco", Role.CLINICIAN, "marco").may_see(draft)
    assert [e["draft_id"] for e in service.approvals.history(clinician="priya")] == [draft.id]
    assert service.approvals.history(clinician="marco") == []


def test_a_reply_in_a_referral_goes_to_the_client_never_to_the_referrer(tmp_path: Path, smtp_clear: SmtpSink,
                                                                        twilio_api: TwilioStandIn) -> None:
    service = service_for(tmp_path, smtp_clear, twilio_api)
    referral = service.pipeline.ingest_email("test", inquiry(
        sender="Dr. Owen Prideaux <oprideaux@junipeds.example.org>", subject="Referral: anxious teen",
        body="Hello, I'd like to refer a patient, age 15, for anxiety. Mom can be reached at 555-015-2281. They have Aetna."
             "\n\nOwen Prideaux, MD\nJuniper Pediatrics"))
    conversation = service.store.message(referral.message_id)["conversation_id"]
    view = service.inbox.show(conversation, ADMIN)
    assert (view.targets.email, view.targets.phone) == (None, "+15550152281")
    with pytest.raises(Refused):
        service.inbox.reply(conversation, ADMIN, Channel.EMAIL, "Hello")
    service.inbox.reply(conversation, ADMIN, Channel.SMS, "Hello, this is Harbor Light: Dr. Prideaux asked us to reach out.")
    service.delivery.run()
    time.sleep(0.2)
    assert [m["To"] for m in twilio_api.sent if "asked us to reach out" in m["Body"]] == ["+15550152281"]
