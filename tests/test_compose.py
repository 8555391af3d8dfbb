"""Replies: the four things a person needs, answered for their own situation, safely built."""

from __future__ import annotations

import email
from email.policy import default as default_policy
from pathlib import Path

import pytest
from support import inquiry

from responder.config import Config, load
from responder.replying.compose import Composer
from responder.replying.policy import decide
from responder.triage.classify import classify
from responder.triage.parse import parse_email


def reply_to(raw: bytes, config: Config):  # type: ignore[no-untyped-def]
    message = parse_email(raw)
    classification = classify(message, config)
    outgoing = Composer(config).outgoing(message, classification, decide(classification, config))
    return message, outgoing


def only_reply(raw: bytes, config: Config):  # type: ignore[no-untyped-def]
    _, outgoing = reply_to(raw, config)
    replies = [o for o in outgoing if o.kind == "reply"]
    assert len(replies) == 1
    return replies[0]


def test_the_first_reply_covers_consultation_availability_insurance_payment_and_emergencies(config: Config) -> None:
    body = only_reply(inquiry(), config).body
    for expected in ("free 15-minute consultation", "https://harborlight.example.org/book", "accepting new clients",
                     "within two weeks", "telehealth or in person", "Monday: 9 AM to 6 PM", "Thursday: 12 PM to 8 PM",
                     "credit card", "24 hours notice", "988", "911"):
        assert expected in body, expected


def test_an_in_network_plan_is_named_and_nothing_about_out_of_network(config: Config) -> None:
    body = only_reply(inquiry(body="I'm looking for a therapist, I have Blue Cross."), config).body
    assert "in network with Blue Cross Blue Shield" in body
    assert "superbill" not in body.lower() and "out-of-network" not in body.lower() and "not in network" not in body


def test_a_plan_out_of_network_gets_the_superbill_and_self_pay_answer(config: Config) -> None:
    body = only_reply(inquiry(body="I'm looking for a therapist. I have Kaiser."), config).body
    assert "not in network with your plan" in body
    assert "superbill" in body and "$160 per session" in body and "sliding scale" in body


def test_no_plan_named_gets_the_plans_accepted_and_the_rate(config: Config) -> None:
    body = only_reply(inquiry(body="I'm looking for a therapist for my grief."), config).body
    assert "in network with Aetna, Blue Cross Blue Shield, Cigna, UnitedHealthcare and Medicare" in body
    assert "$160 per session" in body


def test_self_pay_gets_the_rate_and_the_sliding_scale(config: Config) -> None:
    body = only_reply(inquiry(body="I'd like to pay out of pocket, what do you charge for therapy?"), config).body
    assert "$160 per session" in body and "sliding scale" in body


def test_the_reply_is_threaded_and_marked_automatic(config: Config) -> None:
    raw = inquiry(subject="Looking for help", References="<older@example.org>")
    original, outgoing = reply_to(raw, config)
    reply = email.message_from_bytes(outgoing[0].raw, policy=default_policy)
    assert reply["Subject"] == "Re: Looking for help"
    assert reply["In-Reply-To"] == original.message_id
    assert reply["References"].split() == ["<older@example.org>", original.message_id]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["Message-ID"].endswith("@practice.test>") and reply["Message-ID"] == outgoing[0].message_id
    assert reply["From"] == "Harbor Light Counseling <intake@practice.test>"
    assert reply["To"] == "jordan.lee@example.org"


def test_a_crisis_gets_resources_and_nothing_about_fees_or_booking_and_the_clinician_is_alerted(config: Config) -> None:
    raw = inquiry(sender="Alex Doe <alex@example.org>", body="I have Aetna. I don't want to be alive anymore.")
    _, outgoing = reply_to(raw, config)
    alert, reply = outgoing
    assert alert.kind == "alert" and alert.to == "clinician@practice.test"
    assert "alex@example.org" in alert.body and "Alex Doe" in alert.subject
    for resource in config.practice.crisis.resources:
        assert resource in reply.body
    for word in ("$", "consultation", "book", "insurance", "Aetna", "fee", "payment", "network"):
        assert word.lower() not in reply.body.lower(), word


def test_an_encoded_line_break_in_the_subject_cannot_inject_a_header(config: Config) -> None:
    raw = inquiry(subject="x").replace(b"Subject: x", b"Subject: =?utf-8?q?Help=0D=0ABcc:_victim@example.net=0D=0A?=")
    reply = only_reply(raw, config)
    parsed = email.message_from_bytes(reply.raw, policy=default_policy)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Re: Help Bcc: victim@example.net"
    assert b"\r\nBcc:" not in reply.raw and b"\nBcc:" not in reply.raw


def overriding(config: Config, tmp_path: Path, name: str, source: str) -> Composer:
    (tmp_path / "email").mkdir(parents=True, exist_ok=True)
    (tmp_path / "email" / name).write_text(source)
    return Composer(config.model_copy(update={"templates": tmp_path}))


def test_a_practice_template_overrides_the_shipped_one_file_by_file(config: Config, tmp_path: Path) -> None:
    composer = overriding(config, tmp_path, "first_reply.j2", "{% block subject %}Hello{% endblock %}{% block body %}Our own words, {{ practice.name }}.{% endblock %}")
    message = parse_email(inquiry())
    classification = classify(message, config)
    assert composer.reply(message, classification).body == "Our own words, Harbor Light Counseling.\n"
    assert composer.validate() == []


@pytest.mark.parametrize("source", [
    "{% block subject %}x{% endblock %}{% block body %}{{ practice.__class__.__mro__ }}{% endblock %}",
    "{% block subject %}x{% endblock %}{% block body %}{{ ''.__class__.__base__.__subclasses__() }}{% endblock %}",
    "{% block subject %}x{% endblock %}{% block body %}{{ no_such_thing }}{% endblock %}",
    "{% block body %}no subject{% endblock %}",
])
def test_check_refuses_templates_that_escape_the_sandbox_or_use_unknown_names(config: Config, tmp_path: Path, source: str) -> None:
    problems = overriding(config, tmp_path, "first_reply.j2", source).validate()
    assert problems and problems[0].startswith("email/first_reply.j2")


def test_contract_configuration_renders_every_template(tmp_path: Path) -> None:
    from support import CONTRACT_ENV, CORPUS

    (tmp_path / "config.yaml").write_text((CORPUS / "contract-config.yaml").read_text())
    assert Composer(load(tmp_path / "config.yaml", environ=CONTRACT_ENV)).validate() == []


def test_a_draft_notice_by_text_says_where_and_nothing_of_the_message(config: Config) -> None:
    from support import CONTRACT_ENV, CORPUS

    folder = config.base_dir
    (folder / "contract.yaml").write_text((CORPUS / "contract-config.yaml").read_text())
    contract = load(folder / "contract.yaml", environ=CONTRACT_ENV)
    message = parse_email(inquiry(body="My husband and I need couples counseling; he drinks too much. We have Aetna."))
    notices = Composer(contract).draft_notices(7, message, classify(message, contract))
    assert sorted(n.channel for n in notices) == ["email", "sms"]
    text = next(n for n in notices if n.channel == "sms")
    assert text.to == "+15550100099" and "http://127.0.0.1:8000/drafts/7" in text.body
    for word in ("drinks", "husband", "Aetna", "jordan"):
        assert word not in text.body
