"""Automatic mail is never answered; a person's mail is, even when it looks machine-sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import CORPUS, inquiry

from responder.config import Config
from responder.triage.classify import classify
from responder.triage.parse import parse_email

AUTO = sorted(p for p in (CORPUS / "real" / "auto").glob("*.eml") if not p.name.startswith("negative_"))
NEGATIVE = sorted((CORPUS / "real" / "auto").glob("negative_*.eml"))
SPAM = {"flanker_spam_broken-ctype.eml", "flanker_spam_broken-headers.eml", "mailparser_spam_gtube_mail_test_16.eml",
        "mailparser_spam_mail_malformed_3.eml"}


@pytest.mark.parametrize("path", AUTO, ids=lambda p: p.name)
def test_real_automatic_mail_is_never_answered(path: Path, config: Config) -> None:
    result = classify(parse_email(path.read_bytes()), config)
    allowed = {"automated", "solicitation"} if path.name in SPAM else {"automated"}
    assert result.category in allowed, result.reasons
    assert result.facts.reply_to is None
    assert not result.unsure_if_person, result.evidence


@pytest.mark.parametrize("path", NEGATIVE, ids=lambda p: p.name)
def test_real_personal_mail_is_not_taken_for_automatic(path: Path, config: Config) -> None:
    assert classify(parse_email(path.read_bytes()), config).category != "automated"


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-replied"}, {"Auto_Submitted": "auto-generated; type=vacation"},
    {"Precedence": "bulk"}, {"Precedence": "list"}, {"Precedence": "junk"},
    {"List_Id": "<therapists.lists.example.org>"}, {"List_Post": "<mailto:list@example.org>"},
    {"X_Autoreply": "yes"}, {"X_Autorespond": "yes"}, {"X_Auto_Response_Suppress": "All"},
    {"X_Auto_Response_Suppress": "DR, OOF"}, {"Return_Path": "<>"},
], ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items()))
def test_each_automatic_header_alone_stops_a_reply(headers: dict[str, str], config: Config) -> None:
    result = classify(parse_email(inquiry(**headers)), config)
    assert result.category == "automated", result.reasons
    # ... but the model reads a person asking for therapy: the headers alone do not get the last word
    assert result.unsure_if_person and result.facts.reply_to is None


@pytest.mark.parametrize(("body", "category", "unsure"), [
    ("Hello, I've been struggling with depression since my divorce and I'm looking for a therapist who takes Cigna."
     " Do you have openings for a new client on weekday evenings?", "automated", True),
    ("I keep thinking everyone would be better off without me and I can't see a way out.", "crisis", False),  # alerted instead
    # near-misses: what machines write
    ("Your message to intake@practice.test could not be delivered: mailbox full.", "automated", False),
    ("This month on the directory: profiles with a photo get more views. Manage your notifications.", "automated", False),
    ("Thank you for your payment. Receipt #4471, amount $29.95.", "automated", False),
])
def test_where_headers_and_model_disagree_a_human_decides(body: str, category: str, unsure: bool, config: Config) -> None:
    result = classify(parse_email(inquiry(body=body, subject="Message", Precedence="bulk")), config)
    assert result.unsure_if_person is unsure, result.evidence
    assert result.category == category


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.org", "postmaster@example.org",
                                    "owner-therapists@lists.example.org", "therapists-request@lists.example.org",
                                    "no-reply@example.org", "noreply@example.org", "do-not-reply@example.org"])
def test_system_and_no_reply_senders_are_not_answered(sender: str, config: Config) -> None:
    assert classify(parse_email(inquiry(sender=sender)), config).category == "automated"


def test_a_multipart_report_is_automatic(config: Config) -> None:
    raw = inquiry().replace(b"Content-Type: text/plain", b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\nX-Old: text/plain')
    assert classify(parse_email(raw), config).category == "automated"


def test_auto_submitted_no_is_a_person(config: Config) -> None:
    assert classify(parse_email(inquiry(Auto_Submitted="no")), config).category == "new_inquiry"


def test_list_unsubscribe_alone_does_not_make_list_mail(config: Config) -> None:
    raw = inquiry(List_Unsubscribe="<https://directory.example.com/unsubscribe?u=1>")
    assert classify(parse_email(raw), config).category == "new_inquiry"


def test_a_directory_contact_form_is_answered_at_its_reply_to(config: Config) -> None:
    raw = inquiry(sender="TherapyFinder <no-reply@therapyfinder.example.com>", Reply_To="Sam Rivera <sam.rivera@example.net>",
                  List_Unsubscribe="<mailto:unsubscribe@therapyfinder.example.com>",
                  subject="New message from a potential client",
                  body="Sam Rivera sent you a message:\n\nHi, I'm looking for a counselor for my depression. I have Cigna.")
    result = classify(parse_email(raw), config)
    assert result.category == "new_inquiry"
    assert result.facts.reply_to == "sam.rivera@example.net"
    assert result.facts.insurance == "cigna"


def test_the_practice_is_never_answered(config: Config) -> None:
    from responder.replying.policy import decide

    for own in ("intake@practice.test", "hello@practice.test", "Intake@Practice.test"):
        decision = decide(classify(parse_email(inquiry(sender=own)), config), config)
        assert decision.action == "off", own
