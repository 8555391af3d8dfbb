"""The first name a reply greets the person by (facts/name.py): from a form's name field, from
what the person says, from From; and no name rather than a wrong one."""

from __future__ import annotations

import pytest

from responder.model import Channel, Inbound
from responder.triage.facts.name import first_name


def email(sender_name: str = "", text: str = "Hello, I'm looking for a therapist.") -> Inbound:
    return Inbound(channel=Channel.EMAIL, key="k", sender="someone@example.org", sender_name=sender_name, text=text)


@pytest.mark.parametrize(("sender_name", "text", "relayed", "expected"), [
    ("Jordan Lee", "Hi there", False, "Jordan"),
    ("LEE, JORDAN", "Hi there", False, "Jordan"),
    ("Dr. Owen Prideaux", "Hi", False, "Owen"),
    ("José Álvarez", "Hola", False, "José"),
    ("", "Name: Jordan Lee\nEmail: j@example.org\nMessage: hello", True, "Jordan"),
    ("", "full name: jordan lee\nemail: j@example.org", True, "Jordan"),  # typed in lower case
    ("Psychology Today", "Name: Ana Ruiz\nMessage: hola", True, "Ana"),
    ("", "Hi, my name is Sam and I'm looking for help.", False, "Sam"),
    ("", "Hola, me llamo Lucía y busco terapia.", False, "Lucía"),
    # no name rather than a wrong one
    ("Website Contact Form", "New submission: I need help", True, None),
    ("Info", "Hello", False, None),
    ("Front Desk", "Hello", False, None),
    ("jordan.lee@example.org", "Hello", False, None),
    ("Team 42", "Hello", False, None),
    ("Jordan Lee", "Hello", True, None),  # a relay's From is the service's
    ("", "I'm so tired of this.", False, None),
])
def test_the_name_a_reply_greets(sender_name: str, text: str, relayed: bool, expected: str | None) -> None:
    assert first_name(email(sender_name, text), relayed) == expected


def test_a_text_is_greeted_only_by_a_name_the_person_gives() -> None:
    said = Inbound(channel=Channel.SMS, key="k", sender="+15550100001", text="hi this is Maria, do you take Aetna?")
    assert first_name(said, relayed=False) == "Maria"
    assert first_name(Inbound(channel=Channel.SMS, key="k", sender="+15550100001", text="do you take aetna"), relayed=False) is None


def test_a_first_reply_greets_by_name_and_never_echoes_a_forms_subject(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from support import inquiry, write_config

    from responder.config import load
    from responder.replying.compose import Composer
    from responder.replying.policy import decide
    from responder.triage.classify import classify
    from responder.triage.parse import parse_email

    config = load(write_config(tmp_path), environ={})
    composer = Composer(config)

    def reply(raw: bytes) -> tuple[str, str]:
        message = parse_email(raw)
        classification = classify(message, config)
        [out] = [o for o in composer.outgoing(message, classification, decide(classification, config)) if o.kind == "reply"]
        return out.subject, out.body

    subject, body = reply(inquiry(sender="Jordan Lee <jordan.lee@example.org>", subject="Looking for a therapist"))
    assert subject == "Re: Looking for a therapist" and body.startswith("Hello Jordan,\n")
    form = inquiry(sender="Harbor Light Website <wordpress@harborlight.example.org>", subject="Form Submission - Contact Us",
                   body="Name: sam rivera\nEmail: sam.rivera@example.org\nMessage: I'm looking for a therapist for anxiety. I have Aetna.")
    subject, body = reply(form)
    assert subject == "Re: Your message to Harbor Light Counseling" and body.startswith("Hello Sam,\n")
