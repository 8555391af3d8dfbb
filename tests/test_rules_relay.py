"""The relay's rules, row by row: where a directory or website form puts a person's address and
words, and its own boilerplate. Near-misses must not read as a relay's. (Whole relays are
tests/test_relays.py's.)"""

from __future__ import annotations

import pytest

from responder.triage.relay import _EMAIL_FIELD, _ENVELOPE, _REPLY_THEM, _WORDS


@pytest.mark.parametrize(("line", "matches"), [
    ("Email: sam@example.net", True),
    ("E-mail address: sam@example.net", True),
    ("Contact email: sam@example.net", True),
    ("**Contact email:** sam@example.net", True),
    ("Sender email: sam@example.net", True),
    ("Your email = sam@example.net", True),
    ("Reply-To: sam@example.net", True),
    ("From: Jane Doe <jane@example.org>", True),
    ("Correo electrónico: ana@example.net", True),
    ("De: Ana <ana@example.net>", True),
    ("Referring provider contact: dwhitcomb@example.org | 555-014-2277", True),
    ("Provider email: dwhitcomb@example.org", True),
    # near-misses
    ("Billing email: clinic@example.net", False),
    ("Please email me at sam@example.net", False),
    ("The email from my insurer: nothing", False),
])
def test_a_relays_email_field(line: str, matches: bool) -> None:
    assert bool(_EMAIL_FIELD.pattern.search(line)) is matches


@pytest.mark.parametrize(("text", "matches"), [
    ("Reply to them directly at sam@example.net", True),
    ("Respond to this person at sam@example.net", True),
    ("You can reach them at sam@example.net", True),
    ("Email her at sam@example.net", True),
    ("Responda directamente a esta persona en ana@example.net", True),
    # near-misses
    ("Please reply to me at sam@example.net", False),
    ("Do not reply to this email", False),
])
def test_where_a_relay_says_to_answer_the_person(text: str, matches: bool) -> None:
    assert bool(_REPLY_THEM.pattern.search(text)) is matches


@pytest.mark.parametrize(("text", "matches"), [
    ("Message: I need help.", True),
    ("Message Body:", True),
    ("Comments: evenings please", True),
    ("How can we help?: I feel stuck", True),
    ("Maya Chen sent you a message through your profile:", True),
    ("You have a new message from Daniel K.", True),
    ("Mensaje: necesito ayuda", True),
    ("Reason for seeking therapy: Burnout and anxiety at work", True),
    ("What brings you in today?: trouble sleeping", True),
    ("Alguien te envió un mensaje desde tu perfil:", True),
    ("Maple Grove Pediatrics has sent you a referral.", True),
    ("You have received a new referral via CareLink.", True),
    ("Tell us a little about what brings you in: We are a blended family", True),
    ("Clinical notes: Recently retired; worsening worry.", True),
    # near-misses
    ("I sent a message last week and heard nothing.", False),
    ("Your message could not be delivered.", False),
    ("Subject: Returning to therapy", False),
])
def test_where_a_relay_carries_a_persons_words(text: str, matches: bool) -> None:
    assert bool(_WORDS.pattern.search(text)) is matches


@pytest.mark.parametrize(("line", "envelope"), [
    ("Please do not reply to this email. This mailbox is not monitored.", True),
    ("Do not reply to this message. Sent by Intakely on behalf of the practice.", True),
    ("replies go to an unmonitored mailbox.", True),
    ("You're receiving this because you have a profile.", True),
    ("This e-mail was sent from a contact form on Harbor Light Counseling", True),
    ("This is an automated notification from TherapyNook.", True),
    ("Manage email preferences: https://example.com/settings", True),
    ("Por favor, no responda a este correo", True),
    ("Darse de baja: https://example.com/baja", True),
    ("(c) 2026 PsychFinder Inc. Privacy Policy | Terms of Use", True),
    # near-misses: a person's own lines stay
    ("I don't know if anyone reads these at night.", False),
    ("Please reply by email, I can't take calls at work.", False),
    ("I received your name from my doctor.", False),
])
def test_a_relays_own_boilerplate(line: str, envelope: bool) -> None:
    assert bool(_ENVELOPE.pattern.search(line)) is envelope
