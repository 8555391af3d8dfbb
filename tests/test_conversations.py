"""One person, one conversation, and every message after the first reaches a human (issue 12):
a person's later messages, by any address or number they are known by, get no second automatic
reply; the conversation waits on us and practice.notify is told, at most once per
conversations.notice_every_minutes. Real parts: the store on SQLite, replies and notices through
the SMTP sink and the Twilio stand-in."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers.smtp import SmtpSink
from servers.twilio import TwilioStandIn
from sqlalchemy import select
from support import inquiry, migrated, write_config

from responder.config import load
from responder.conversations.identify import e164
from responder.service import Service
from responder.storage.schema import conversations, identities, messages

CLINICIAN_EMAIL = "clinician@practice.test"
CLINICIAN_PHONE = "+15550100099"
THREAD_REPLY = "Tuesday afternoons work best, could someone call me at 555-013-2231?"


def service_for(tmp_path: Path, smtp: SmtpSink, twilio: TwilioStandIn | None = None, **conversation_settings: Any) -> Service:
    sections: dict[str, Any] = {"email": {"smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}}}
    if conversation_settings:
        sections["conversations"] = conversation_settings
    if twilio is not None:
        sections["sms"] = {"twilio": {"account_sid": twilio.account_sid, "auth_token": twilio.auth_token,
                                      "from_number": twilio.from_number, "api_base_url": twilio.base_url},
                           "webhook_url": "https://responder.example.org/sms/inbound"}
    path = write_config(tmp_path, **sections)
    data = yaml.safe_load(path.read_text())
    data["practice"]["notify"] = {"email": CLINICIAN_EMAIL, **({"sms": CLINICIAN_PHONE} if twilio is not None else {})}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return Service(migrated(load(path, environ={})))


def delivered(service: Service, smtp: SmtpSink, count: int) -> list[Any]:
    """Send what is owed; the emails the sink got, exactly ``count`` of them."""
    service.delivery.run()
    if count:
        smtp.wait_for(count)
    time.sleep(0.2)
    assert len(smtp.messages) == count, [(m.rcpt_tos, m.message["Subject"]) for m in smtp.messages]
    return list(smtp.messages)


def conversation_of(service: Service, message_id: int) -> dict[str, Any]:
    with service.store.engine.connect() as conn:
        row = conn.execute(select(conversations).join(messages, messages.c.conversation_id == conversations.c.id)
                           .where(messages.c.id == message_id)).mappings().one()
        return dict(row)


def text(twilio: TwilioStandIn, sender: str, body: str, n: int) -> dict[str, str]:
    return {"MessageSid": f"SM{n:032x}", "From": sender, "To": twilio.from_number, "Body": body}


@pytest.fixture
def smtp_clear(smtp: SmtpSink) -> SmtpSink:
    smtp.messages.clear()
    return smtp


def test_a_thread_reply_from_another_address_joins_and_notifies_once(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp)
    first = service.pipeline.ingest_email("test", inquiry(sender="jordan.lee@example.org"))
    [reply] = delivered(service, smtp, 1)
    assert reply.rcpt_tos == ["jordan.lee@example.org"]

    answer = inquiry(sender="Jordan Lee <jlee.work@example.com>", subject="Re: " + reply.message["Subject"], body=THREAD_REPLY,
                     In_Reply_To=reply.message["Message-ID"], References=reply.message["Message-ID"])
    outcome = service.pipeline.ingest_email("test", answer)
    assert outcome.status == "notified"
    assert any("no automatic reply" in r for r in service.store.message(outcome.message_id)["reasons"])
    conversation = conversation_of(service, outcome.message_id)
    assert conversation["id"] == conversation_of(service, first.message_id)["id"] and conversation["waiting_on_us"]

    [_, notice] = delivered(service, smtp, 2)  # the notice, and no second reply to either address
    assert notice.rcpt_tos == [CLINICIAN_EMAIL]
    body = notice.message.get_content()
    assert "Jordan Lee" in body and "an email" in body
    assert "Tuesday" not in body, "conversations.notice_includes_text is false by default"
    # The person is known now by the new address and the number they gave.
    with service.store.engine.connect() as conn:
        known = {(i.kind, i.value) for i in conn.execute(select(identities).where(identities.c.conversation_id == conversation["id"]))}
    assert {("email", "jordan.lee@example.org"), ("email", "jlee.work@example.com"), ("phone", "+15550132231")} <= known


def test_an_emailed_notice_quotes_the_person_only_when_the_practice_allows(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp, notice_includes_text=True)
    service.pipeline.ingest_email("test", inquiry())
    [reply] = delivered(service, smtp, 1)
    service.pipeline.ingest_email("test", inquiry(subject="Re: hello", body=THREAD_REPLY, In_Reply_To=reply.message["Message-ID"]))
    [_, notice] = delivered(service, smtp, 2)
    assert "Tuesday afternoons work best" in notice.message.get_content()


def test_two_messages_within_notice_every_minutes_give_one_notice(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp, notice_every_minutes=10)
    service.pipeline.ingest_email("test", inquiry())
    delivered(service, smtp, 1)
    second = service.pipeline.ingest_email("test", inquiry(subject="Re: Looking for a therapist", body=THREAD_REPLY))
    third = service.pipeline.ingest_email("test", inquiry(subject="Re: Looking for a therapist", body="Or Thursday mornings."))
    assert (second.status, third.status) == ("notified", "skipped")
    assert any("the next notice lists it" in r for r in service.store.message(third.message_id)["reasons"])
    assert conversation_of(service, third.message_id)["waiting_on_us"]
    [_, notice] = delivered(service, smtp, 2)
    assert notice.rcpt_tos == [CLINICIAN_EMAIL]


def test_a_message_held_back_by_the_interval_is_told_once_the_interval_has_passed(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    """Nothing follows the held-back message: it must still reach a person, once, after the interval."""
    smtp = smtp_clear
    service = service_for(tmp_path, smtp, notice_every_minutes=0.02)  # 1.2 seconds
    service.pipeline.ingest_email("test", inquiry())
    assert service.pipeline.ingest_email("test", inquiry(subject="Re: Looking for a therapist", body=THREAD_REPLY)).status == "notified"
    held = service.pipeline.ingest_email("test", inquiry(subject="Re: Looking for a therapist", body="Or Thursday mornings."))
    assert held.status == "skipped" and service.pipeline.notify_waiting() == 0, "not before the interval has passed"
    time.sleep(1.5)
    assert service.pipeline.notify_waiting() == 1
    assert service.pipeline.notify_waiting() == 0, "told once"
    notices = [m for m in delivered(service, smtp, 3) if m.rcpt_tos == [CLINICIAN_EMAIL]]
    assert len(notices) == 2 and all(m.message["Subject"].startswith("1 new message") for m in notices)


def test_a_second_text_notifies_and_gets_no_second_reply(tmp_path: Path, smtp_clear: SmtpSink, twilio_api: TwilioStandIn) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp, twilio_api)
    number = "+15550134471"
    first = service.pipeline.ingest_sms("twilio:test", text(twilio_api, number, "Hi, are you taking new clients for anxiety? I have Aetna.", 1))
    assert first.status == "answered"
    second = service.pipeline.ingest_sms("twilio:test", text(twilio_api, number, "Great, evenings work best for me, I'm Sam.", 2))
    assert second.status == "notified"
    service.delivery.run()
    time.sleep(0.2)
    to_person = [m for m in twilio_api.sent if m["To"] == number]
    to_clinician = [m for m in twilio_api.sent if m["To"] == CLINICIAN_PHONE]
    assert len(to_person) == 1, "one automatic reply, to the first text only"
    [notice] = to_clinician
    assert "evenings" not in notice["Body"] and "Sam" not in notice["Body"], "no message text by SMS"
    assert "1 new message" in notice["Body"]
    [emailed] = delivered(service, smtp, 1)
    assert emailed.rcpt_tos == [CLINICIAN_EMAIL] and "a text" in emailed.message.get_content()
    assert conversation_of(service, first.message_id)["id"] == conversation_of(service, second.message_id)["id"]


def test_an_email_giving_a_number_and_a_text_from_it_are_one_conversation(tmp_path: Path, smtp_clear: SmtpSink,
                                                                       twilio_api: TwilioStandIn) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp, twilio_api)
    emailed = service.pipeline.ingest_email("test", inquiry(body="Hi, I'm looking for a therapist for anxiety. I have Aetna. "
                                                                 "You can text me at 555-013-2231 if that's easier."))
    assert emailed.status == "answered"
    texted = service.pipeline.ingest_sms("twilio:test", text(twilio_api, "+15550132231", "Hi, this is Jordan, I emailed earlier. Is Tuesday ok?", 1))
    assert texted.status == "notified"
    assert conversation_of(service, emailed.message_id)["id"] == conversation_of(service, texted.message_id)["id"]
    service.delivery.run()
    time.sleep(0.2)
    assert not [m for m in twilio_api.sent if m["To"] == "+15550132231"], "no automatic text after the emailed reply"


def test_a_crisis_inside_a_thread_is_answered_at_once(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp)
    service.pipeline.ingest_email("test", inquiry())
    [reply] = delivered(service, smtp, 1)
    service.pipeline.ingest_email("test", inquiry(subject="Re: hello", body=THREAD_REPLY, In_Reply_To=reply.message["Message-ID"]))
    crisis = service.pipeline.ingest_email("test", inquiry(subject="Re: hello", body="I can't do this anymore, I want to kill myself tonight.",
                                                           In_Reply_To=reply.message["Message-ID"]))
    assert (crisis.category, crisis.status) == ("crisis", "answered")
    sent = delivered(service, smtp, 4)[2:]  # after the first reply and the notice: the alert and the crisis reply
    assert sorted(r for m in sent for r in m.rcpt_tos) == sorted([CLINICIAN_EMAIL, "jordan.lee@example.org"])
    assert conversation_of(service, crisis.message_id)["waiting_on_us"]


def test_automated_mail_in_a_thread_notifies_nobody(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp)
    service.pipeline.ingest_email("test", inquiry())
    [reply] = delivered(service, smtp, 1)
    away = inquiry(subject="Automatic reply: " + reply.message["Subject"], body="I am out of the office until Monday.",
                   In_Reply_To=reply.message["Message-ID"], Auto_Submitted="auto-replied")
    outcome = service.pipeline.ingest_email("test", away)
    assert (outcome.category, outcome.status) == ("automated", "skipped")
    assert service.store.message(outcome.message_id)["conversation_id"] is None
    delivered(service, smtp, 1)  # nothing more


def test_a_referral_is_the_clients_conversation_with_the_referrer_as_its_source(tmp_path: Path, smtp_clear: SmtpSink,
                                                                              twilio_api: TwilioStandIn) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp, twilio_api)
    referral = service.pipeline.ingest_email("test", inquiry(
        sender="Dr. Owen Prideaux <oprideaux@junipeds.example.org>", subject="Referral: anxious teen",
        body="Hello, I'm a pediatrician and I'd like to refer a patient, age 15, for anxiety. Mom can be reached at "
             "555-015-2281. They have Aetna.\n\nOwen Prideaux, MD\nJuniper Pediatrics\n(555) 015-0000"))
    assert referral.category == "professional_referral"
    conversation = conversation_of(service, referral.message_id)
    assert conversation["referral_source"] == "oprideaux@junipeds.example.org"
    with service.store.engine.connect() as conn:
        known = [(i.kind, i.value) for i in conn.execute(select(identities).where(identities.c.conversation_id == conversation["id"]))]
    assert known == [("phone", "+15550152281")], "the client's number; never the referrer's address or office number"
    # The mother texts: her conversation is the referral's, and she gets her own first reply (the
    # thank-you went to the referrer, not to her).
    texted = service.pipeline.ingest_sms("twilio:test", text(twilio_api, "+15550152281", "Hi, Dr. Prideaux said to reach out about my son, "
                                                                                      "he's 15 and anxious. Do you take Aetna?", 1))
    assert texted.status == "answered"
    assert conversation_of(service, texted.message_id)["id"] == conversation["id"]


@pytest.mark.parametrize(("written", "normal"), [
    ("555-013-2231", "+15550132231"), ("(555) 013-2231", "+15550132231"), ("555.013.2231", "+15550132231"),
    ("1 555 013 2231", "+15550132231"), ("+1 (555) 013-2231", "+15550132231"), ("+44 20 7946 0958", "+442079460958"),
    ("013-2231", None), ("12345", None),
])
def test_a_number_a_person_gives_is_known_in_e164(written: str, normal: str | None) -> None:
    assert e164(written) == normal


def test_each_notice_lists_only_what_came_after_the_last_one(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp, notice_every_minutes=0)
    service.pipeline.ingest_email("test", inquiry())
    delivered(service, smtp, 1)
    for n, body in enumerate((THREAD_REPLY, "Or Thursday mornings.")):
        assert service.pipeline.ingest_email("test", inquiry(subject="Re: Looking for a therapist", body=body)).status == "notified"
        notice = delivered(service, smtp, 2 + n)[-1]
        assert notice.message["Subject"].startswith("1 new message from"), notice.message["Subject"]


def test_the_referrer_answering_our_thank_you_reaches_a_person_in_the_clients_conversation(tmp_path: Path, smtp_clear: SmtpSink) -> None:
    smtp = smtp_clear
    service = service_for(tmp_path, smtp)
    referral = service.pipeline.ingest_email("test", inquiry(
        sender="Dr. Owen Prideaux <oprideaux@junipeds.example.org>", subject="Referral: anxious teen",
        body="Hello, I'm a pediatrician and I'd like to refer a patient, age 15, for anxiety. Mom can be reached at "
             "555-015-2281. They have Aetna.\n\nOwen Prideaux, MD\nJuniper Pediatrics"))
    [draft] = service.approvals.waiting()  # the thank-you waits for approval, as referrals' replies do by default
    assert service.approvals.approve(draft.id, "jordan")
    thanks = next(m for m in delivered(service, smtp, 3) if m.rcpt_tos == ["oprideaux@junipeds.example.org"])
    again = service.pipeline.ingest_email("test", inquiry(
        sender="Dr. Owen Prideaux <oprideaux@junipeds.example.org>", subject="Re: " + thanks.message["Subject"],
        body="Thank you! One more thing: mom says evenings are best, and he would prefer a male therapist.",
        In_Reply_To=thanks.message["Message-ID"], References=thanks.message["Message-ID"]))
    assert again.status == "notified", "not throttled away, not thanked twice: a person reads it"
    conversation = conversation_of(service, again.message_id)
    assert conversation["id"] == conversation_of(service, referral.message_id)["id"] and conversation["waiting_on_us"]
    with service.store.engine.connect() as conn:
        known = [i.value for i in conn.execute(select(identities).where(identities.c.conversation_id == conversation["id"]))]
    assert known == ["+15550152281"], "the referrer is the source, never one of the client's identities"
    [notice] = delivered(service, smtp, 4)[3:]
    assert notice.rcpt_tos == [CLINICIAN_EMAIL]
