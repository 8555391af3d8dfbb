"""The category tables (vendors, scams, referrers, current clients, people asking for care),
phrase by phrase: which rules read each phrase. A row per rule, and near-misses that must read as
nothing. Then how their findings act: by kind, never by the words of a reason."""

from __future__ import annotations

import pytest
from support import inquiry

from responder.config import Config
from responder.model import Category
from responder.triage import classify
from responder.triage.classify import classify as read
from responder.triage.parse import parse_email
from responder.triage.rules import RuleKind, matching

TABLE = (*classify._SCAM, *classify._SOLICITATION, *classify._REFERRAL, *classify._EXISTING,
         classify._PROFESSIONAL, classify._SEES_CLINICIAN, classify._GREETS_SOMEONE, classify._ASKS_FOR_CARE)

ROWS = [
    # solicitation
    ("We can get you onto the first page of Google.", {"search_engine_pitch"}),
    ("Our digital agency offers marketing services to practices like yours.", {"marketing_pitch"}),
    ("We fill your calendar with new clients.", {"grow_the_practice"}),
    ("Can I book a quick call this week?", {"sales_call"}),
    ("We offer credentialing with every panel.", {"vendor_service"}),
    ("We're hiring therapists, 1099.", {"recruiting", "hiring"}),
    ("You are pre-approved for a business loan.", {"financing_offer"}),
    ("We would like to acquire your practice.", {"buy_the_practice"}),
    ("Your listing will be removed unless you upgrade.", {"directory_upsell"}),
    ("We help therapists get 20 new clients/mo.", {"sales_outreach"}),
    ("Practices using Brightline see 30% more bookings.", {"platform_pitch"}),
    ("We're considering a sale and a recapitalization.", {"recapitalization"}),
    ("Your account is past due.", {"payment_demand"}),
    ("Now hiring, set your own hours.", {"recruiting", "hiring"}),
    ("We handle revenue cycle and denial management.", {"billing_vendor"}),
    ("Join our webinar for 3 CE credits.", {"promotion"}),
    ("Could I contribute a guest post with backlinks?", {"content_marketing"}),
    ("Are you overpaying on card processing fees? Reply YES.", {"sales_pitch"}),
    ("Msg & data rates may apply. Reply STOP to end.", {"marketing_text", "sales_pitch"}),
    ("Click here to unsubscribe.", {"unsubscribe_line"}),
    ("XJS*C4JDBQADN1", {"spam_test_string"}),
    ("Having trouble viewing this email? View it in your browser.", {"newsletter_layout"}),
    ("Limited-time offer: 20% off.", {"advertising"}),
    ("Hello dear, I want a serious relationship.", {"personal_spam"}),
    # scams
    ("I uploaded the file to a secure folder for you.", {"document_link_phishing"}),
    ("Verify your mailbox now.", {"phishing"}),
    ("Please buy gift cards and wire transfer the rest.", {"payment_scam"}),
    ("Your package is on hold. USPS", {"delivery_scam"}),
    ("Unpaid toll: pay now to avoid a $50 late fee.", {"toll_scam"}),
    ("Verify ownership of your Google Business listing.", {"listing_scam"}),
    ("Please review and sign the document.", {"document_phishing"}),
    ("I will pay upfront with a cashier's check.", {"overpayment_scam"}),
    ("Action required: awaiting your signature.", {"urgent_document_phishing"}),
    # referrers
    ("I'd like to refer a patient to you.", {"refers_someone", "refers_a_client"}),
    ("I'm referring one of my students.", {"refers_someone"}),
    ("New referral for counseling.", {"a_referral"}),
    ("Our client would benefit from therapy.", {"their_client"}),
    ("I'm a pediatrician and I see a teen who needs counseling.", {"professional_writing", "signs_as_professional"}),
    ("My parishioner asked me about counseling.", {"their_patient"}),
    ("Patient: Ana Ruiz", {"referral_form"}),
    ("I am requesting an appointment for her.", {"on_behalf_of_a_client"}),
    ("She asked me to help her find a therapist.", {"helps_find_care"}),
    ("We are discharging a patient next week.", {"discharge"}),
    ("I have a young couple who could use support.", {"speaks_for_someone"}),
    ("I'm writing on behalf of a client of ours.", {"on_behalf_of_someone"}),
    ("She signed a release of information.", {"release_of_information"}),
    ("With her mother's permission, I'm writing.", {"family_permission"}),
    ("I'm writing, as her teacher, about a student.", {"someone_in_their_care"}),
    ("Dr. Patel, MD", {"signs_as_professional"}),
    # current clients
    ("I need to reschedule.", {"change_appointment"}),
    ("Is my appointment on Tuesday?", {"own_appointments"}),
    ("I'm running ten minutes late.", {"running_late"}),
    ("My card was declined for the session on 3/14.", {"session_of_theirs"}),
    ("Can we keep seeing you next month?", {"care_here", "confirms_appointment"}),
    ("Can we do tomorrow's session over video?", {"their_appointment", "appointment_they_have"}),
    ("Soy paciente de la doctora.", {"current_client_spanish", "signs_as_professional"}),
    ("Thank you for today.", {"thanks_for_session"}),
    ("Could we move my 3pm to Friday?", {"move_appointment"}),
    ("Appointment reminder for Monday.", {"appointment_they_have"}),
    ("I can't make it today.", {"cannot_make_it"}),
    ("Yes", {"confirms_appointment"}),
    ("As we discussed, here is my thought record.", {"ongoing_relationship"}),
    ("My statement shows a charge for the session I paid.", {"own_bill"}),
    ("Can we pause our sessions for a month?", {"continuing_sessions", "continuing_therapy", "own_appointments"}),
    ("The zoom link is not working.", {"session_link"}),
    ("I'd like to stop therapy for now.", {"continuing_therapy"}),
    ("My insurance changed.", {"insurance_update", "asks_for_care"}),
    ("My son sees Marisol on Thursdays.", {"sees_clinician"}),
    ("Hi Priya, quick question.", {"greets_clinician"}),
    # a person asking for care
    ("I'm looking for a therapist.", {"asks_for_care"}),
    # near-misses
    ("Thanks for getting back to me.", set()),
    ("My friend recommended you.", set()),
    ("I saw your profile on Psychology Today.", set()),
    ("Can you send me your rates?", set()),
    ("Is there parking near the office?", set()),
    ("My daughter is in therapy at school.", set()),
    ("I'm a teacher.", set()),
    ("My mother is a nurse.", set()),
    ("hi there, question about fees", set()),
    ("Hello Team, question about fees", set()),
    ("see you there", set()),
]


@pytest.mark.parametrize(("phrase", "expected"), ROWS)
def test_the_category_rules_that_read_a_phrase(phrase: str, expected: set[str]) -> None:
    assert {rule.id for rule in matching(TABLE, phrase)} == expected


def test_every_category_rule_has_a_row() -> None:
    assert {rule.id for rule in TABLE} == set().union(*(ids for _, ids in ROWS))
    assert len({rule.id for rule in TABLE}) == len(TABLE)


def test_scams_are_known_by_their_kind() -> None:
    assert {rule.kind for rule in classify._SCAM} == {RuleKind.SCAM}
    assert RuleKind.SCAM not in {rule.kind for rule in (*classify._SOLICITATION, *classify._REFERRAL, *classify._EXISTING)}


def _read(body: str, config: Config):  # type: ignore[no-untyped-def]
    return read(parse_email(inquiry(subject="Question", body=body)), config)


def test_the_models_reading_is_evidence_not_a_reason(config: Config) -> None:
    """The model quotes the person's words: it is kept apart, to be shown and purged as such."""
    result = _read("Hi, I'm looking for a therapist for my anxiety. I have Aetna.", config)
    assert result.category == Category.NEW_INQUIRY
    assert result.evidence and all(line.startswith("model: reads as new inquiry") for line in result.evidence)
    assert not any(reason.startswith("model:") for reason in result.reasons)
    assert "asks for care" in result.reasons


def test_a_single_practice_word_makes_a_referral_without_a_professional_signature(config: Config) -> None:
    """Referral rules count only from a professional or when two agree; the practice's own word
    is enough on its own, known by its kind."""
    words = {"professional_referral": ["warm handoff"]}
    custom = config.model_copy(update={"classification": config.classification.model_copy(update=words)})
    body = "Hello, this is a warm handoff for a young man looking for a therapist for anxiety."
    assert _read(body, config).category != Category.PROFESSIONAL_REFERRAL
    result = _read(body, custom)
    assert result.category == Category.PROFESSIONAL_REFERRAL
    assert result.reasons[-1] == 'practice\'s referral word "warm handoff"' and result.evidence == ()
