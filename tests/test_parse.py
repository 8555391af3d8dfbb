"""Real mail in all its mess becomes readable text; nothing in the corpus makes parsing raise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import CORPUS

from responder.config import Config
from responder.triage.classify import classify
from responder.triage.parse import parse_email, parse_sms

REAL = sorted((CORPUS / "real").glob("*/*.eml"))
DEV = CORPUS / "training" / "dev"


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_every_real_message_is_read_and_classified(path: Path, config: Config) -> None:
    message = parse_email(path.read_bytes())
    assert message.key
    classify(message, config)


def test_html_only_mail_becomes_text() -> None:
    message = parse_email((DEV / "006-outlook-html-only-optum.eml").read_bytes())
    assert message.part_types[-1] == "text/html" or "text/html" in message.part_types
    assert "Optum" in message.text
    assert "<" not in message.text and "&nbsp;" not in message.text


def test_a_web_forms_html_table_reads_as_its_fields(config: Config) -> None:
    """A form mailed as a two-column table, from the practice's own web server with no Reply-To:
    the person's address is its Email field, not the mailer's."""
    rows = "".join(f"<tr><td><strong>{label}</strong></td><td>{value}</td></tr>" for label, value in (
        ("Name", "Terrence Boateng"), ("Email", '<a href="mailto:t.boateng@example.com">t.boateng@example.com</a>'),
        ("Age", "52"), ("Message", "I'd like to continue EMDR along with regular therapy sessions.")))
    raw = (b"From: WordPress <wordpress@harborlight.example.org>\nTo: intake@practice.test\nSubject: Form Submission - Contact Us\n"
           b"Message-ID: <form@harborlight.example.org>\nContent-Type: text/html; charset=utf-8\n\n"
           + f"<html><body><table>{rows}<tr><td colspan=2>Sent from our site</td></tr></table></body></html>".encode())
    message = parse_email(raw)
    assert [line for line in message.text.splitlines() if line][:3] == ["Name: Terrence Boateng", "Email: t.boateng@example.com", "Age: 52"]
    reading = classify(message, config)
    assert reading.facts.reply_to == "t.boateng@example.com" and reading.facts.age == 52


def test_a_forms_label_rows_spanning_the_table_read_as_fields() -> None:
    """Gravity Forms puts each label on a row of its own, the value on the next."""
    rows = "".join(f'<tr><td colspan="2"><strong>{label}</strong></td></tr><tr><td>&nbsp;</td><td>{value}</td></tr>'
                   for label, value in (("Your Name", "Angela Moravec"), ("Your Email", "angela.moravec@example.com")))
    raw = (b"From: Harbor Light Counseling <forms@harborlight.example.org>\nTo: intake@practice.test\nSubject: New submission\n"
           b"Message-ID: <gf@harborlight.example.org>\nContent-Type: text/html; charset=utf-8\n\n"
           + f"<html><body><table>{rows}</table></body></html>".encode())
    lines = [line.strip() for line in parse_email(raw).text.splitlines() if line.strip()]
    assert lines == ["Your Name:", "Angela Moravec", "Your Email:", "angela.moravec@example.com"]


def test_encoded_words_and_declared_charsets_are_decoded() -> None:
    raw = (b"From: =?utf-8?q?Zo=C3=AB_Mart=C3=ADnez?= <zoe@example.org>\n"
           b"Subject: =?iso-8859-1?q?Informaci=F3n_sobre_terapia?=\n"
           b"Message-ID: <a@example.org>\nContent-Type: text/plain; charset=iso-8859-1\n"
           b"Content-Transfer-Encoding: 8bit\n\nQuisiera informaci\xf3n.\n")
    message = parse_email(raw)
    assert message.sender_name == "Zoë Martínez"
    assert message.subject == "Información sobre terapia"
    assert message.text == "Quisiera información."


def test_raw_8bit_headers_and_unknown_charsets_do_not_raise() -> None:
    raw = (b"From: J\xf6rg <jorg@example.org>\nSubject: Gr\xfc\xdfe\nContent-Type: text/plain; charset=x-nonsense\n\n"
           b"Hallo \xe4\n")
    message = parse_email(raw)
    assert message.sender == "jorg@example.org"
    assert message.subject == "Grüße"
    assert message.text.startswith("Hallo")


def test_a_lost_multipart_boundary_is_recovered() -> None:
    raw = (b"From: a@example.org\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative;\n\n"
           b"--XYZ\nContent-Type: text/plain\n\nthe words\n--XYZ--\n")
    assert parse_email(raw).text == "the words"


def test_quoted_earlier_messages_do_not_count_as_fresh_text() -> None:
    body = ("Thanks, Tuesday works.\n\nOn Mon, Mar 3, 2025 at 9:14 AM Harbor Light <intake@practice.test> wrote:\n"
            "> I want to kill myself is what someone else wrote\n> more quoted text\n")
    message = parse_email(b"From: a@example.org\nSubject: Re: hi\n\n" + body.encode())
    assert message.fresh_text == "Thanks, Tuesday works."
    assert "kill" in message.text


def test_a_forwarded_message_is_read_with_the_note_around_it() -> None:
    """A forward carries what the sender wants read ("I sent the message below to another
    practice"); its header block is set aside, and a reply quoted inside it still is not read."""
    body = ("I sent the message below to another practice; same info applies.\n\n"
            "---------- Forwarded message ---------\nFrom: Marcus <m@example.org>\nDate: Tue, Nov 17, 2026 at 8:14 PM\n"
            "Subject: Couples counseling\nTo: <info@example.com>\n\n\nMy partner and I want couples counseling. We have Aetna.\n\n"
            "On Mon, Nov 16, 2026 someone wrote:\n> an older message\n")
    message = parse_email(b"From: m@example.org\nSubject: Fwd: Couples counseling\n\n" + body.encode())
    assert message.fresh_text == ("I sent the message below to another practice; same info applies.\n\n"
                                  "My partner and I want couples counseling. We have Aetna.")


def test_malformed_address_headers_leave_the_rest_readable() -> None:
    raw = b"From: \"unterminated <a@example.org\nReply-To: <<>>@@\nTo: ,,,\nSubject: hi\n\nbody\n"
    message = parse_email(raw)
    assert message.text == "body"
    assert message.reply_to == ()


def test_a_message_without_message_id_gets_a_stable_key() -> None:
    raw = b"From: a@example.org\nSubject: hi\nDate: Mon, 3 Mar 2025 09:00:00 +0000\n\nbody\n"
    assert parse_email(raw).key == parse_email(raw).key and parse_email(raw).key.startswith("sha256:")


def test_empty_bytes_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_email(b"  \n")


def test_an_sms_form_becomes_a_message() -> None:
    form = json.loads((DEV / "019-pills-counted-tonight.sms.json").read_text())
    message = parse_sms(form)
    assert message.channel == "sms" and message.key == form["MessageSid"] and message.sender == form["From"]
    assert message.fresh_text == form["Body"]
