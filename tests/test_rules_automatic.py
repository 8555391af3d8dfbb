"""The guard's patterns, row by row: subjects and texts that machines write, and the addresses
nobody reads. Near-misses are a person's words that must stay a person's. (Headers are
tests/test_guard.py's.)"""

from __future__ import annotations

import pytest

from responder.model import Channel, Inbound
from responder.triage.guard import _AUTO_SUBJECT, _MACHINE_TEXT, _NO_REPLY, _SYSTEM_LOCALPART, automatic_signs, is_no_reply


@pytest.mark.parametrize(("subject", "automatic"), [
    ("Automatic reply: Question about therapy", True),
    ("Auto-Response: your message", True),
    ("AutoReply", True),
    ("Auto: away until Monday", True),
    ("Out of Office: back 6/3", True),
    ("OOO today", True),
    ("On vacation", True),
    ("Away from the office", True),
    ("Undeliverable: Question", True),
    ("Undelivered Mail Returned to Sender", True),
    ("Delivery Status Notification (Failure)", True),
    ("Mail delivery failed: returning message to sender", True),
    ("Returned mail: see transcript for details", True),
    ("failure notice", True),
    ("Non-delivery report", True),
    ("Message not delivered", True),
    ("Warning: could not send message for past 4 hours", True),
    ("Read: Question about therapy", True),
    ("Return receipt", True),
    ("Respuesta automática: Consulta", True),
    ("Fuera de la oficina", True),
    ("Invitation: Intake call @ Tue", True),
    ("Updated invitation: Intake call", True),
    ("Accepted: Intake call", True),
    ("Declined: Intake call", True),
    ("Tentatively accepted: Intake call", True),
    ("Canceled event: Intake call", True),
    # near-misses
    ("Re: reply about my appointment", False),
    ("Question about automatic payments", False),
    ("Out of town next week, can we do video?", False),
    ("Reading recommendations?", False),
    ("Invitation to join your group?", False),
    ("I accepted the new job: need evening sessions", False),
])
def test_subjects_machines_write(subject: str, automatic: bool) -> None:
    assert bool(_AUTO_SUBJECT.pattern.match(subject)) is automatic
    message = Inbound(channel=Channel.EMAIL, key="k", sender="person@example.org", subject=subject, text="Hello", fresh_text="Hello")
    assert ("subject reads as an automatic notice" in automatic_signs(message)) is automatic


@pytest.mark.parametrize(("text", "automatic"), [
    ("Your verification code is 482913.", True),
    ("Your sign in code: 1234", True),
    ("Reply C to confirm or R to reschedule.", True),
    ("Reminder from Bright Dental: your cleaning is Tue.", True),
    ("Your one-time passcode is 5521.", True),
    ("Your code is 7781", True),
    ("Thanks for texting Acme Plumbing! We'll reply soon.", True),
    ("This number does not accept incoming text messages.", True),
    ("Our office is currently closed.", True),
    ("Missed call from +1 503 555 0101", True),
    ("New voicemail from (503) 555-0101", True),
    ("This is an automated message.", True),
    ("Do not reply to this text.", True),
    # near-misses
    ("Can you text me the code for the door?", False),
    ("Please reply to confirm my appointment.", False),
    ("Thanks for texting me back so fast.", False),
    ("I missed your call yesterday, sorry!", False),
    ("Is your office closed on Fridays?", False),
    ("Please do not reply to this email address, he reads it. My husband hit me again tonight.", False),  # a person's
])
def test_texts_machines_write(text: str, automatic: bool) -> None:
    assert bool(_MACHINE_TEXT.pattern.search(text)) is automatic
    message = Inbound(channel=Channel.SMS, key="k", sender="+15035550101", text=text, fresh_text=text)
    assert (_MACHINE_TEXT.reason in automatic_signs(message)) is automatic


@pytest.mark.parametrize(("address", "system", "no_reply"), [
    ("mailer-daemon@example.org", True, False),
    ("MAILER-DAEMON@example.org", True, False),
    ("postmaster@example.org", True, False),
    ("maildaemon@example.org", True, False),
    ("owner-therapists@lists.example.org", True, False),
    ("therapists-request@lists.example.org", True, False),
    ("therapists-owner@lists.example.org", True, False),
    ("bounces+12345@mail.example.org", True, False),
    ("list-bounces@lists.example.org", True, False),
    ("noreply@example.org", False, True),
    ("no-reply@example.org", False, True),
    ("do_not_reply@example.org", False, True),
    ("donotreply@example.org", False, True),
    ("noreply-billing@example.org", False, True),
    ("alerts.noreply@example.org", False, True),
    # near-misses
    ("noreen@example.org", False, False),
    ("replies@example.org", False, False),
    ("postmaster.general@example.org", False, False),
    ("bouncehouse@example.org", False, False),
    ("jordan.lee@example.org", False, False),
])
def test_addresses_nobody_reads(address: str, system: bool, no_reply: bool) -> None:
    local = address.partition("@")[0]
    assert (bool(_SYSTEM_LOCALPART.pattern.match(local)), bool(_NO_REPLY.pattern.match(local))) == (system, no_reply)
    assert is_no_reply(address) is (system or no_reply)
