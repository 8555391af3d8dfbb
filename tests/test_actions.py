"""Acting on each category the way a good practice would: refer out what it does not offer, thank
referring professionals and ask a clinician to reach the client, pass current clients' messages
to their clinician, answer Spanish in Spanish."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from servers.smtp import SmtpSink
from support import CORPUS, inquiry, migrated, responder, write_config

from responder.config import load
from responder.service import Service
from responder.triage.parse import parse_sms


@pytest.fixture
def service(tmp_path: Path, smtp: SmtpSink) -> Service:
    return Service(migrated(load(write_config(tmp_path, email={"smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}}))))


def sent(service: Service, smtp: SmtpSink, count: int) -> list:  # type: ignore[type-arg]
    service.delivery.run()
    received = smtp.wait_for(count)
    time.sleep(0.2)
    assert len(smtp.messages) == count, [m.rcpt_tos for m in smtp.messages]
    return received


@pytest.mark.parametrize(("body", "partner", "phone"), [
    ("Hi, my son Eli is 8 and has big meltdowns at school. Could one of your therapists see him? We have Cigna.",
     "Willow Child & Family Center", "(555) 010-0300"),
    ("My psychiatrist retired and I need someone who can prescribe my ADHD medication. I don't need therapy, just med management.",
     "Lakeside Psychiatry", "(555) 010-0200"),
    ("The court ordered a custody evaluation in our divorce and our attorney said to find an evaluator. How soon could you do it?",
     "Northside Forensic Psychology", "(555) 010-0400"),
])
def test_a_need_the_practice_does_not_serve_is_referred_out_kindly(service: Service, smtp: SmtpSink, body: str, partner: str, phone: str) -> None:
    outcome = service.pipeline.ingest_email("test", inquiry(subject="A question", body=body))
    assert (outcome.category, outcome.action) == ("new_inquiry", "refer_out")
    [reply] = sent(service, smtp, 1)
    text = reply.message.get_content()
    assert partner in text and phone in text
    others = {"Willow Child & Family Center", "Lakeside Psychiatry", "Northside Forensic Psychology"} - {partner}
    assert not any(other in text for other in others)
    for pitch in ("$160", "consultation", "in network", "book a time"):
        assert pitch not in text, pitch


def test_a_referral_gets_its_thank_you_draft_a_task_and_is_recorded(service: Service, smtp: SmtpSink, tmp_path: Path) -> None:
    raw = inquiry(sender="Dr. Owen Prideaux <oprideaux@junipeds.example.org>", subject="Referral: anxious teen",
                  body="Hello, I'm a pediatrician and I'd like to refer a patient, age 15, for anxiety. Mom can be reached at "
                       "555-015-2281. They have Aetna.\n\nOwen Prideaux, MD\nJuniper Pediatrics")
    outcome = service.pipeline.ingest_email("test", raw)
    assert (outcome.category, outcome.status) == ("professional_referral", "held")
    [draft] = service.approvals.waiting()
    assert draft.to == "oprideaux@junipeds.example.org" and "Thank you" in draft.body
    received = sent(service, smtp, 2)  # the task and the draft notice; the thank-you waits
    task = next(m for m in received if "referral" in m.message["Subject"].lower() and "approval" not in m.message["Subject"].lower())
    assert task.rcpt_tos == ["clinician@practice.test"]
    content = task.message.get_content()
    assert "please reach the client" in content.lower() and "555-015-2281" in content and "Aetna" in content
    second = inquiry(sender="Dr. Owen Prideaux <oprideaux@junipeds.example.org>", subject="Another referral",
                     body="Hi again, I'd like to refer another patient of mine, a 16 year old with depression.\n\nOwen Prideaux, MD\nJuniper Pediatrics")
    service.pipeline.ingest_email("test", second)
    service.close()
    report = json.loads(responder(tmp_path / "config.yaml", "report", "referrals", "--json", check=True).stdout)
    assert [(r["name"], r["organization"], r["count"]) for r in report] == [("Dr. Owen Prideaux", "Juniper Pediatrics", 2)]
    text = responder(tmp_path / "config.yaml", "report", "referrals", "--since", "2000-01-01", check=True).stdout
    assert "2  Dr. Owen Prideaux, Juniper Pediatrics <oprideaux@junipeds.example.org>" in text
    assert "no referrals" in responder(tmp_path / "config.yaml", "report", "referrals", "--until", "2000-01-01", check=True).stdout


def test_an_existing_clients_message_notifies_and_sends_them_nothing(service: Service, smtp: SmtpSink) -> None:
    outcome = service.pipeline.ingest_email("test", inquiry(sender="devon@example.net", subject="Re: Appointment reminder",
                                                            body="Hi Priya, something came up at work and I can't make Thursday at 4. Could we reschedule?"))
    assert (outcome.category, outcome.action, outcome.status) == ("existing_client", "off", "notified")
    [notice] = sent(service, smtp, 1)
    assert notice.rcpt_tos == ["clinician@practice.test"]
    assert "current client" in notice.message["Subject"] and "can't make Thursday" in notice.message.get_content()


def test_spanish_in_gives_spanish_out(service: Service, smtp: SmtpSink) -> None:
    raw = (CORPUS / "training" / "dev" / "036-spanish-depression-ohp.eml").read_bytes()
    assert service.pipeline.ingest_email("test", raw).action == "auto"
    [reply] = sent(service, smtp, 1)
    text = reply.message.get_content()
    assert text.startswith("Hola") and "Gracias por escribir" in text and "No estamos dentro de la red" in text
    assert "988" in text and "Thank you" not in text


def test_spanish_texts_and_crises_are_answered_in_spanish(service: Service) -> None:
    form = json.loads((CORPUS / "training" / "dev" / "014-spanish-ya-no-quiero-vivir.sms.json").read_text())
    inbound = parse_sms(form)
    from responder.replying.policy import decide
    from responder.triage.classify import classify

    classification = classify(inbound, service.config)
    assert classification.facts.language == "es" and classification.category == "crisis"
    outgoing = service.composer.outgoing(inbound, classification, decide(classification, service.config))
    reply = next(o for o in outgoing if o.kind == "reply")
    assert "Busque ayuda ahora" in reply.body and "988" in reply.body


def test_mail_that_looks_automatic_but_reads_as_a_person_reaches_a_clinician(service: Service, smtp: SmtpSink) -> None:
    """The headers say machine (Precedence: bulk), the words a person asking for care: no reply,
    but practice.notify gets it to look at, rather than nobody."""
    svc = service
    body = ("Hello, I've been struggling with depression since my divorce and I'm looking for a therapist who takes Cigna."
            " Do you have openings for a new client on weekday evenings?")
    outcome = svc.pipeline.ingest_email("test", inquiry(body=body, subject="Message", Precedence="bulk"))
    assert (outcome.category, outcome.status) == ("automated", "notified")
    [task] = sent(svc, smtp, 1)
    assert task.rcpt_tos == ["clinician@practice.test"] and "may be from a person" in task.message["Subject"]
    assert "struggling with depression" in task.message.get_content()
    machine = svc.pipeline.ingest_email("test", inquiry(body="Thank you for your payment. Receipt #4471, amount $29.95.", subject="Receipt",
                                                        Precedence="bulk"))
    assert machine.status == "skipped", "a machine's own mail still notifies nobody"



def test_a_person_who_left_only_a_phone_number_is_called_back_not_forgotten(service: Service, smtp: SmtpSink) -> None:
    """A contact form with no email, only "please call me": nobody can be answered by email, so
    practice.notify is asked to reach them, with the message that holds the number."""
    form = (CORPUS / "training" / "blind26" / "034-form-phone-only.eml").read_bytes()
    outcome = service.pipeline.ingest_email("test", form)
    assert (outcome.category, outcome.status) == ("new_inquiry", "notified")
    [task] = sent(service, smtp, 1)
    assert task.rcpt_tos == ["clinician@practice.test"] and task.message["Subject"].startswith("Please reach Gail:"), "the person, not the form"
    body = task.message.get_content()
    assert "there is no email address to reply to" in body and "Phone: 555-244-8170" in body and "please call me" in body
    assert "Read as: new inquiry" in body
