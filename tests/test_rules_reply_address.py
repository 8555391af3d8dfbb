"""Where a personal reply goes, message by message: an address the person asks for, a form's
email field, Reply-To, or From."""

from __future__ import annotations

import pytest
from support import inquiry

from responder.config import Config
from responder.triage.facts.reply_address import reply_address
from responder.triage.parse import parse_email

ASKED = "the one the message asks to be answered at"
FORM = "the email field of a form"


@pytest.mark.parametrize(("body", "headers", "expected", "reason"), [
    ("Please write to me at sam.home@example.net, not this work address.", {}, "sam.home@example.net", ASKED),
    ("My personal email is sam.home@example.net.", {}, "sam.home@example.net", ASKED),
    ("Send replies to my home account at sam.home@example.net", {}, "sam.home@example.net", ASKED),
    ("Por favor, escriban a mi correo ana@example.net", {}, "ana@example.net", ASKED),
    ("Name: Sam Lee\nEmail: sam.form@example.net\nMessage: I need help.", {}, "sam.form@example.net", FORM),
    ("Nombre: Ana\nCorreo electrónico: ana@example.net", {}, "ana@example.net", FORM),
    ("First name: Bri\nLast name: Osei\nEmail: bri.osei@example.org\nReason: burnout", {}, "bri.osei@example.org", FORM),
    ("Parent/Guardian Name: Rebecca Ostrander\nEmail: r.ostrander@example.org\nClient's Name: Jamie", {}, "r.ostrander@example.org", FORM),
    ("I'm writing for my wife. Please don't reply to this work address. Send any forms directly to her at ada@example.com.",
     {}, "ada@example.com", ASKED),
    ("I need a therapist.", {"Reply_To": "Sam <Sam.Home@Example.net>"}, "sam.home@example.net", None),
    # near-misses: From it is
    ("I need a therapist.", {}, "jordan.lee@example.org", None),
    ("Email: sam.form@example.net\nMessage: I need help.", {}, "jordan.lee@example.org", None),  # no name field: no form
    ("Please reply to me at intake@practice.test", {}, "jordan.lee@example.org", None),  # the practice's own
    ("Our office email is office@clinic.example.", {}, "jordan.lee@example.org", None),
    ("If you could reply to me and cc him (daniel@example.org), that would be great.", {}, "jordan.lee@example.org", None),  # a copy
    # a form mailer at the practice's own website, whose form gave no email: nobody to write to
    ("Name: Gail Sorensen\nEmail:\nPhone: 555-244-8170\nHow can we help? Please call me.",
     {"From": "WordPress <wordpress@harborlight.example.org>"}, None, "none, the message came from the practice's own website"),
])
def test_the_reply_address_of_a_message(body: str, headers: dict[str, str], expected: str, reason: str | None, config: Config) -> None:
    reasons: list[str] = []
    assert reply_address(parse_email(inquiry(body=body, **headers)), config, reasons) == expected
    assert reasons == ([f"reply address: {reason}"] if reason else [])
