"""The age of the person the therapy is for, phrase by phrase (facts/age.py): an age in years,
the youngest of several, and numbers that are no age."""

from __future__ import annotations

from datetime import date

import pytest
from support import inquiry

from responder.config import Config
from responder.triage.classify import classify
from responder.triage.facts.age import all_ages
from responder.triage.parse import parse_email
from responder.triage.text import unwrap


def age(text: str, on: date | None = None) -> int | None:
    """The rules' age: the youngest of those the message gives (classify also asks the learned
    reader, tests/test_learned_facts.py)."""
    return min(all_ages(text, on), default=None)

@pytest.mark.parametrize(("phrase", "expected"), [
    ("My son, 16, has been struggling.", 16),
    ("our daughter (14) won't go to school", 14),
    ("I have a 15-year-old who is anxious.", 15),
    ("looking for help for my 9yo", 9),
    ("Age: 15", 15),
    ("She just turned 13.", 13),
    ("I'm 42 and have never done therapy.", 42),
    ("Im 34, recently divorced", 34),
    ("Mi hija tiene 14 años.", 14),
    ("mi hijo de 10 años", 10),
    ("Patient is Dale Pykkonen, 67", 67),
    ("Student: Ana Ruiz, 9", 9),
    # several people: the youngest to be seen
    ("Our kids are 8 and 12; my son is 12, my daughter is 8.", 8),
    ("They need real marriage counseling. They're 29 and 31, married four years.", 29),  # a couple referred
    ("We'd like marriage counseling. I am 70 and Carol is 67.", 67),
    ("Busco consejería de pareja para mi esposa y yo. Ella tiene 41 y yo 45.", 41),
    ("Yo tengo 52 y ella 49. Queremos terapia de pareja.", 49),
    ("I'm looking for individual therapy for each of them. Elijah is 14 and has been angry. Naomi is 9.", 9),
    ("Our son's 2nd grade teacher asked us to get him evaluated. He's eight.", 8),
    ("Grandkids? They're 8 and 5. I'll be 65 in March.", 64),  # "they're 8 and 5": children, not a referred couple
    ("Mi hija Daniela tiene dieciséis años y la veo muy triste.", 16),
    ("Tengo treinta y cinco años.", 35),
    ("I'm referring one of our 8th graders. Aaliyah turned 13 in October.", 13),
    ("We're a family of five - my two (8 and 15) and his daughter who is 12.", 8),
    # the writer's own children beside the one to be seen
    ("We are foster parents of a boy who just turned 13. He's settled in with our own kids (6 and 8).", 13),
    ("I'm writing on behalf of my father. He's seventy-eight. My own kids are 9 and 12 and miss him.", 78),
    ("My mom, Irene, is 82. She got overwhelmed (my kids are 10 and 12 and were loud). She would need a ride.", 82),
    # the writer's own age
    ("My wife and I separated in July; the kids (17 and 14) are with me. I turned 51 in August. I need someone for me.", 51),
    # the writer's own age, when the therapy is for someone else
    ("My mom, Irene, is 82. I'm 51 and stretched. Is there someone who sees older adults? She would need to be in person.", 82),
    # as people write them
    ("my dad is 61, lost the farm lease", 61),
    ("my mom, shes 74 and down", 74),
    ("retired, 67. grandson got diagnosed", 67),
    ("54 male, aetna", 54),
    ("28F, do you take aetna", 28),
    ("we're both 22", 22),
    ("one of my players, who's 16, showed", 16),
    ("Referring my pt Marcus Webb, 34, panic disorder", 34),
    ("Mr. Desmond Achterberg, 41, was the driver", 41),
    ("a 45-year- old woman", 45),
    ("Nia (15, she sees Sam on Tuesdays)", 15),
    ("Owen Pruitt's mom (he's 13)", 13),
    ("I am 68 and on Medicare", 68),
    ("hola tengo 16 años", 16),
    ("she had cutting at age 12; she is a 14-year-old 8th grader", 14),  # "at age 12" is the past
    ("my daughter turns 13 next month", 12),  # not 13 yet
    ("he's almost 16", 15),
    ("my son turned 13 last week", 13),
    ("Hello, I’m 30 and looking for a therapist", 30),  # a typographic apostrophe
    ("any openings for couples counseling? were 27 and 30, have bcbs", 27),
    ("I have a widow in our church, 72, who would benefit from your grief group.", 72),
    ("My husband (38) and I (35) want couples counseling by video, since we have a 4-year-old and no sitter.", 35),
    ("I have a 15 yo student who'd like to start counseling", 15),
    ("I'm 31. My 2-year-old is in daycare until 5.", 31),
    # the writer's own age, when the therapy is for them; the child's, when it is for the child
    ("38 y/o guy here, pretty sure I have ADHD (my 8 year old just got diagnosed). Looking for an adult evaluation.", 38),
    ("I'm 34 and my daughter (she's 6) is my world, but I need help with my depression.", 34),
    ("I'm 45 and my son is 16 and needs help with anxiety.", 16),
    ("I'm 40. Looking for therapy for my son, 15.", 15),
    ("M, 52. Looking for someone to talk to.", 52),
    # whose age: the one the therapy is for, not the writer's when it is for someone else, nor a relative's when it is for the writer
    ("I am writing on behalf of my dad, Harold Jessup, who is 81. I would drive him (I'm 54 and work from home).", 81),
    ("my mom is 74 with early dementia and I'm her only caregiver. I need someone to talk to for ME, not her.", None),
    ("I'm 66 and I have been caring for my mother at home since her dementia got worse.", 66),
    ("I'm a night-shift ICU nurse (26) and I've started having panic attacks. Looking for a therapist for myself.", 26),
    ("I have a 15 yo student who'd like to start counseling. This # is best for me.", 15),
    ("I'm forty-one, divorce was final in October, two boys I see every other weekend.", 41),
    ("Mr. Hollister is 39, works days, and would prefer to attend in person.", 39),
    ("My husband and I are 66 and 69, married 45 yrs.", 66),
    ("hey, I'm a sophomore at COD, 19, and my parents said I could use their insurance", 19),
    ("mi esposo y yo queremos empezar terapia de pareja. Él tiene 45 y yo 41.", 41),
    ("I have a client, Travis Lund, 24, court-ordered to complete 12 wks of counseling.", 24),
    ("I am raising my two grandchildren, Aiden (11) and Kayla (15). I am 67 myself, but this is for the kids.", 11),
    ("My nephew Nico just turned 19. His little sister (12) went through something similar.", 19),
    ("My 8 year old won't go to school. I'm 39 and had anxiety as a kid too.", 8),
    ("I'm 31. My 2-year-old is in daycare until 5.", 31),
    ("Client age: 34\nMessage: I have two kids, 4 and 7, and no time for myself.", 34),  # a form's field decides
    ("I’ll be 65 in March and was supposed to retire this spring", 64),
    ("I'm a 58-year-old Army veteran; my wife (she's 55) talked me into getting help.", 58),
    ("our twin daughters, who are 15, lost their grandmother", 15),
    ("My wife has been hitting me for a couple of years. I'm 44. The kids (9 and 12) are at home. Who do guys talk to?", 44),
    ("our kids (6 and 9) are struggling since the divorce", 6),
    ("my twins, 8, are anxious", 8),
    ("my mom will be 65 in March", 64),
    ("mi hija cumple 13 en mayo", 12),
    ("I am in my 40s", None),
    ("Tenemos 27 y 30 años", 27),  # a couple's: the younger
    ("mis hijos de 11 y 15 años", 11),
    ("Our kids are 10 and 14 and they're angry", 10),
    ("I will be 10 minutes late", None),
    # no age
    ("I'm 10 minutes late, sorry!", None),
    ("I'm 5 min away", None),
    ("We married 20 years ago.", None),
    ("My baby is 6 months old.", None),
    ("hes 6 wks", None),
    ("we have a 2 year old at home", None),  # a toddler at home, not someone seen
    ("Who is seeking services?: My child (13-17)", None),  # a form's range
    ("Five (5) sessions are authorized", None),
    ("my teenage son", None),
    ("See you at 3pm", None),
    ("I'm 2nd in line", None),
])
def test_the_age_a_message_gives(phrase: str, expected: int | None) -> None:
    assert age(phrase) == expected


@pytest.mark.parametrize(("phrase", "expected"), [
    ("Patient: Roy Haldane (DOB 03/14/1953)", 73),
    ("DOB: 12/20/1953", 72),  # the birthday has not come yet this year
    ("Date of birth: 2011-06-02", 15),
    ("born on March 14, 1990", 36),
    ("Fecha de nacimiento: 5/3/12", 14),  # month first, two-digit year
    ("DOB 13/45/1990", None),  # no such day
])
def test_a_date_of_birth_is_an_age_on_the_day_the_message_was_sent(phrase: str, expected: int | None) -> None:
    assert age(phrase, date(2026, 12, 7)) == expected
    assert age(phrase) is None  # without the day it was sent, no age


def test_an_age_wrapped_onto_the_next_line_is_read() -> None:
    assert age(unwrap("I am writing for my husband, Clint, because he won't do it himself. He is\n52. We lost the ranch lease.")) == 52


def test_a_date_of_birth_is_the_clients_whoever_else_is_named() -> None:
    assert age("Patient: Evelyn Marsh DOB: 04/22/1951. Her son (age 49) drives her to appointments.", date(2026, 12, 7)) == 75


def test_classify_reads_a_date_of_birth_against_the_messages_date(config: Config) -> None:
    body = "Referring Mr. Osei Bannerman (DOB 03/14/1979) for individual therapy. Aetna."
    assert classify(parse_email(inquiry(body=body, Date="Mon, 07 Dec 2026 09:00:00 -0600")), config).facts.age == 47


def test_eval_measures_age_and_language_where_a_set_labels_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml
    from support import inquiry, write_config

    from responder.config import load
    from responder.triage.evaluate import evaluate

    (tmp_path / "a.eml").write_bytes(inquiry(body="Hi, my son, 16, is anxious. We have Aetna."))
    (tmp_path / "b.eml").write_bytes(inquiry(body="Hola, tengo 30 años y busco terapia."))
    (tmp_path / "labels.yaml").write_text(yaml.safe_dump({
        "a.eml": {"category": "new_inquiry", "insurance": "aetna", "services": ["teen"], "age": 16, "language": "en"},
        "b.eml": {"category": "new_inquiry", "services": ["individual"], "age": 31, "language": "es"},
    }))
    (tmp_path / "config").mkdir()
    config = load(write_config(tmp_path / "config"), environ={})
    accuracy = evaluate(tmp_path, config).accuracy()
    assert accuracy["age"] == 0.5 and accuracy["language"] == 1.0  # b is labelled 31, which it does not say: counted wrong
    (tmp_path / "labels.yaml").write_text(yaml.safe_dump({"a.eml": {"category": "new_inquiry", "services": ["teen"]}}))
    assert "age" not in evaluate(tmp_path, config).accuracy(), "a set that labels no age is not measured on it"
