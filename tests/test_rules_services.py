"""What is asked for, phrase by phrase, in the contract's service words: the services table, who
the therapy is for (ages, children, teens), and when individual therapy is the default."""

from __future__ import annotations

import pytest

from responder.model import Category
from responder.triage.facts.services import _SERVICE_RULES, services

NEW = Category.NEW_INQUIRY
ROWS = [
    # the table, a service each
    ("My husband and I keep fighting.", NEW, ("couples",)),
    ("Me and my wife need help.", NEW, ("couples",)),
    ("We're premarital and want counseling.", NEW, ("couples",)),
    ("We need terapia de pareja.", NEW, ("couples",)),
    ("Do you do family therapy? The whole family needs help.", NEW, ("family",)),
    ("Do you have family therapy or couples sessions?", NEW, ("couples", "family")),  # couples named outright
    ("The whole family needs help; my husband and I keep fighting.", NEW, ("family",)),  # a family, not a couple
    ("Do you run a DBT group?", NEW, ("group",)),
    ("I'm looking for group therapy for grief.", NEW, ("group",)),  # the group is what they ask for
    ("I'd like to join a group and also individual therapy.", NEW, ("individual", "group")),
    ("I'd like to join a women's group.", NEW, ("group",)),  # a group for people like them
    ("Is there a moms group?", NEW, ("group",)),
    # individual sessions named beside a couple's or a family's: both; "on my own" or "for me and my wife" is not that
    ("We need couples counseling and I'd also like individual sessions for myself.", NEW, ("individual", "couples")),
    ("We want family therapy, and one-on-one time for me too.", NEW, ("individual", "family")),
    ("My husband and I need marriage counseling; I can't get past it on my own.", NEW, ("couples",)),
    ("my husband and I are looking for marriage counseling, and I'd also like a few sessions on my own.", NEW, ("individual", "couples")),
    ("We'd like couples counseling by video, since we have a 4-year-old and no sitter.", NEW, ("couples",)),  # no child client
    ("Looking for couples therapy for me and my wife.", NEW, ("couples",)),
    ("Looking for individual therapy for my son, 16.", NEW, ("teen",)),  # the teen's own sessions
    ("My son just turned 18 and is a senior in high school. He's been depressed and agreed to see someone.", NEW, ("individual",)),
    ("Do you have a men's group? I'd also want to see someone 1-on-1.", NEW, ("individual", "group")),
    ("¿Tienen grupos de apoyo para mujeres?", NEW, ("group",)),
    ("im asking for my niece, she is 7 and I have custody of her now. do yall see little kids?", NEW, ("child",)),
    ("My husband and I want marriage counseling. I'd also like to see someone on my own for anxiety.", NEW, ("individual", "couples")),
    ("My wife suggested couples counseling, but I'm not looking for that right now. Just individual sessions for me.", NEW, ("individual",)),
    ("Our son is 9. The school counselor recommended a formal ADHD evaluation. We're not looking for counseling, just the testing.", NEW,
     ("assessment",)),
    ("Do you offer EMDR?", NEW, ("individual", "emdr")),
    ("I need medication management.", NEW, ("medication",)),
    ("Can you prescribe for my ADHD?", NEW, ("medication",)),
    ("I'm looking for a psychiatrist.", NEW, ("medication",)),
    ("I need medication management and therapy.", NEW, ("individual", "medication")),
    ("Do any of your providers prescribe? My Lexapro ran out.", NEW, ("medication",)),
    ("do u have anybody who can prescribe? im almost out of my zoloft", NEW, ("medication",)),
    ("Do you have a prescriber who can take over my meds?", NEW, ("medication",)),
    ("I just need someone to manage meds, not looking for therapy.", NEW, ("medication",)),
    ("I'm a psychiatrist; I manage meds for her and she needs talk therapy.", Category.PROFESSIONAL_REFERRAL, ("individual",)),
    ("I need ADHD testing.", NEW, ("assessment",)),
    ("The judge ordered an evaluation.", NEW, ("court",)),
    ("He's on probation.", NEW, ("court",)),
    ("Court-ordered counseling for custody.", NEW, ("individual", "court")),
    # who it is for
    ("My son is 9 and anxious.", NEW, ("child",)),
    ("My kindergartner has tantrums.", NEW, ("child",)),
    ("My 5th grader has anxiety.", NEW, ("child",)),
    ("We need to see a psychiatrist for my son who is 12.", NEW, ("medication",)),  # a prescriber, not a child's therapy
    ("My son is 10 and we need ADHD testing, not therapy.", NEW, ("assessment",)),
    ("I'm referring a 19-year-old for an ADHD evaluation. He is not requesting therapy at this time.", Category.PROFESSIONAL_REFERRAL,
     ("assessment",)),
    ("My son is 10; we need ADHD testing and counseling.", NEW, ("child", "assessment")),
    ("My daughter (14) is struggling.", NEW, ("teen",)),
    ("Our 15-year-old is depressed.", NEW, ("teen",)),
    ("Mi hijo tiene 15 años.", NEW, ("teen",)),
    ("I'm 16 and I want therapy.", NEW, ("teen",)),
    ("My teenager is withdrawn.", NEW, ("teen",)),
    ("He is in 7th grade.", NEW, ("teen",)),
    ("Do you see teens?", NEW, ("teen",)),
    ("Student: Ana Ruiz, 9", Category.PROFESSIONAL_REFERRAL, ("child",)),
    ("Patient is Maria Lopez, 16, anxious.", Category.PROFESSIONAL_REFERRAL, ("teen",)),
    # individual therapy: an adult's own need
    ("I've been struggling with anxiety.", NEW, ("individual",)),
    ("Looking for a therapist for myself.", NEW, ("individual",)),
    ("Busco una terapeuta para mí, me siento triste.", NEW, ("individual",)),
    ("My son is 9 months old and I have postpartum depression.", NEW, ("individual",)),  # a baby is not a client
    ("I have a couple of questions about anxiety.", NEW, ("individual",)),  # "a couple of" is no couple
    # had before, over, or declined
    ("We tried couples counseling last year; now I need help for my anxiety.", NEW, ("individual",)),
    ("I went to group therapy before. Now I need someone for my anxiety.", NEW, ("individual",)),
    ("Our EMDR is complete. I'd like to keep working on my anxiety.", NEW, ("individual",)),
    ("I don't need therapy, just medication management.", NEW, ("medication",)),
    ("I love my therapist; my son needs testing.", NEW, ("assessment",)),
    # in a crisis, only what they ask for: an opening, their plan taken, someone to see the person at risk
    ("I want to kill myself.", Category.CRISIS, ()),
    ("I want to kill myself. Do you have openings?", Category.CRISIS, ("individual",)),
    ("I want to kill myself. Do you take Cigna?", Category.CRISIS, ("individual",)),
    ("My daughter is 15 and said tonight she wants to die. Can you see her tomorrow?", Category.CRISIS, ("teen",)),
    ("Mi hijo tiene 16 años y ya no quiere vivir. ¿Lo pueden atender mañana?", Category.CRISIS, ("teen",)),
    ("He pushed me down the stairs last night. I wanted to ask about couples counseling.", Category.CRISIS, ("couples",)),  # named
    ("Mi hija de 15 años se cortó hoy y quiere morirse. Necesito una cita para ella lo antes posible.", Category.CRISIS, ("teen",)),
    # a couple, not "a couple of" anything
    ("Couple questions first: do you take Blue Cross?", NEW, ()),
    ("I have a young couple, married 8 months, who are struggling.", Category.PROFESSIONAL_REFERRAL, ("couples",)),
    ("its for me and my gf, we keep having the exact same fight", NEW, ("couples",)),
    ("wife says we need counseling. we have blue shield.", NEW, ("couples",)),
    ("Had a couple bad calls this year that keep replaying. Heard EMDR works for that.", NEW, ("individual", "emdr")),
    ("Mi pareja y yo queremos terapia de pareja.", NEW, ("couples",)),
    ("Mi pareja me grita todo el tiempo y me siento triste.", NEW, ("individual",)),  # "my partner" is no couple's therapy
    # a family's children are seen in its sessions, unless sessions of their own are asked for too
    ("We'd like family therapy, all of us together; our 16-year-old is angry at everyone.", NEW, ("family",)),
    ("We're hoping for family sessions, and separately individual sessions for our son Felix, 16.", NEW, ("family", "teen")),
    # groups as people ask about them; one-on-one only when it is wanted, not compared or had
    ("Do you have any groups for vets? Not big on one on one talking.", NEW, ("group",)),
    ("is the tuesday night anxiety group still running? id like to join if theres room.", NEW, ("group",)),
    ("One-on-one therapy in college helped some, but I think a group would push me.", NEW, ("group",)),
    ("I'd like to talk to someone one on one. I also saw that you run groups?", NEW, ("individual", "group")),
    ("Our daughter (15) just finished the hospital program and they recommended a DBT skills group for teens.", NEW, ("teen", "group")),
    # medication as people ask for it, not a prescriber's own; a toddler at home is no child client
    ("I'd like someone who can do the meds AND the talk therapy in one place.", NEW, ("individual", "medication")),
    ("I'd like to see a therapist AND get back on medication.", NEW, ("individual", "medication")),
    ("Does your practice have a psychiatrist or NP who can manage my 16yo's ADHD meds?", NEW, ("medication",)),
    ("Can someone manage my 16yo's ADHD meds? If not, does anyone there do counseling for teens?", NEW, ("teen", "medication")),
    ("Do you have anyone who can prescribe? I dont really need therapy just the meds.", NEW, ("medication",)),
    ("I am referring Ms. Lucia Bergamaschi, whom I have followed for medication management since 2021, for EMDR.",
     Category.PROFESSIONAL_REFERRAL, ("individual", "emdr")),
    ("Hi, my husband and I want couples counseling; we have a 2 year old so video works best.", NEW, ("couples",)),
    ("The Board of Nursing asked me to obtain a mental health evaluation.", NEW, ("assessment",)),
    ("Necesito una evaluación psicológica para la corte por la custodia de mi hijo.", NEW, ("assessment", "court")),
    ("Busco terapia para mí, me siento muy triste.", NEW, ("individual",)),
    ("Do you do ADHD testing for adults? My doctor wants a formal eval before she'll prescribe anything", NEW, ("assessment",)),
    ("Do you have a psychiatrist or NP who can take over my Lexapro? Not looking for therapy, just meds.", NEW, ("medication",)),
    ("hi! do you guys offer therapy and meds both? anxiety + probably depression", NEW, ("individual", "medication")),
    ("She has been under my care for a year for medication management, and now asks for EMDR.", Category.PROFESSIONAL_REFERRAL,
     ("individual", "emdr")),
    ("Presenting concern: work stress, insomnia, marital strain.", Category.PROFESSIONAL_REFERRAL, ("individual",)),
    ("I've had depression on and off since my teens. I'm 33 now.", NEW, ("individual",)),
    ("Our pediatrician suggested family sessions rather than individual therapy for either kid (6 and 9).", NEW, ("family",)),
    ("Mi hija de 14 años tiene ansiedad. También quisiera preguntar si yo podría tener sesiones para mí.", NEW, ("individual", "teen")),
    ("Busco terapia para mi hija de 14 años.", NEW, ("teen",)),  # "para mi hija" is not "para mí"
    ("My wife isn't interested in couples counseling, so this would just be for me.", NEW, ("individual",)),
    ("Hi I need someone for meds only, not therapy. Does anyone there prescribe?", NEW, ("medication",)),
    ("I have a 6th grader, turns 13 next month. Do you see kids that age?", Category.PROFESSIONAL_REFERRAL, ("child",)),
    ("Need a new prescriber AND a therapist, ideally same place.", NEW, ("individual", "medication")),
    ("Court says I have to finish the alcohol education class before I get my license back. 2nd DUI.", NEW, ("group", "court")),
    ("I've been in therapy before and I don't need more therapy right now; I want a formal autism assessment.", NEW, ("assessment",)),
    ("I'm a 38-year-old attorney and I've started having panic attacks, a couple of them in court.", NEW, ("individual",)),
    ("¿Tienen grupos de apoyo para la ansiedad en español? Me interesa solo el grupo, no terapia individual.", NEW, ("group",)),
    ("I'm the court-appointed guardian for my brother, 34, who has been very anxious.", NEW, ("individual",)),
    ("Needs: weekly individual therapy and an outpatient psychiatric prescriber.", Category.PROFESSIONAL_REFERRAL, ("individual", "medication")),
    ("do u have a psychiatrist or NP? just need someone to take over my adderall and lexapro. not looking for therapy.", NEW, ("medication",)),
    ("I don't think I want to sit one on one with someone, but a grief group might help me.", NEW, ("group",)),
    ("I'm 35 and want ADHD testing; my wife does most of the remembering for both of us. Not looking for therapy.", NEW, ("assessment",)),
    ("I'm an LPC (mostly trauma work with adolescents) looking for my own therapist, ideally EMDR-trained.", NEW, ("individual", "emdr")),
    ("I am 71 and my counselor of 12 years has just retired. Do you accept Medicare?", NEW, ("individual",)),
    ("My daughter turns 13 next month. She's in 7th grade and cries before school.", NEW, ("child",)),
    ("Do you do ADHD testing for kids? My son is 8. We just need the evaluation, he already sees a counselor at school.", NEW,
     ("assessment",)),
    # how they have been is a need of their own
    ("I cry every day since my divorce. I have Cigna.", NEW, ("individual",)),
    ("¿Cuánto cobran? No duermo y ando con los nervios de punta.", NEW, ("individual",)),
    ("What does it cost? Any openings?", NEW, ()),
    # near-misses
    ("What are your rates?", NEW, ()),
    ("Do you have openings?", NEW, ()),
    ("I'm with a group practice.", NEW, ()),
    ("Harbor Light Counseling", NEW, ()),  # the practice's name, not a wish for counseling
    ("I'm writing about my client's anxiety", Category.EXISTING_CLIENT, ()),
    ("Owen (13) has a fever, so we need to cancel his 4pm.", Category.EXISTING_CLIENT, ()),  # a current client asks nothing new
    ("Can we do our couples session by video this week?", Category.EXISTING_CLIENT, ()),
    # a parent asking for someone of their own beside the child's therapist; a year in high school
    ("My daughter is 8 and needs her own therapist. And honestly I need someone for me too.", NEW, ("individual", "child")),
    ("I'm the counselor at Eastbrook High. I have a sophomore who needs outside counseling.", Category.PROFESSIONAL_REFERRAL, ("teen",)),
    ("I don't think I need one-on-one therapy exactly, but your women's group sounds right.", NEW, ("group",)),
]


@pytest.mark.parametrize(("phrase", "category", "expected"), ROWS)
def test_the_services_read_from_a_phrase(phrase: str, category: Category, expected: tuple[str, ...]) -> None:
    reasons: list[str] = []
    assert services(phrase, category, reasons, "Harbor Light Counseling") == expected
    assert reasons == (["services: " + ", ".join(expected)] if expected else [])


def test_every_service_rule_has_a_row() -> None:
    table = {rule.id for rule in _SERVICE_RULES}
    assert table == {"couples", "family", "group", "emdr", "medication", "assessment", "court"}
    assert table <= {service for _, _, expected in ROWS for service in expected}


def test_a_current_clients_crisis_asks_for_no_new_service() -> None:
    """Beneath the risk, a cancellation from a client is a client's message, not an inquiry."""
    farewell = "Please cancel my appointments going forward, I won't be needing them. I want to kill myself."
    assert services(farewell, Category.CRISIS, [], "", Category.NEW_INQUIRY) == ("individual",)
    assert services(farewell, Category.CRISIS, [], "", Category.EXISTING_CLIENT) == ()
