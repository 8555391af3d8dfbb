"""The risk table, phrase by phrase: which rules read each phrase, and which mentions the
discounts set aside. A row per rule, and near-misses that must read as nothing."""

from __future__ import annotations

import pytest

from responder.triage.risk import _CRISIS, read_risk
from responder.triage.rules import RuleKind, matching, word_rule

CRISIS_ROWS = [
    # phrase -> the ids of the rules that read it
    ("I want to kill myself.", {"ending_a_life"}),
    ("Sometimes I think about ending it all.", {"ending_a_life"}),
    ("I'm feeling suicidal.", {"suicide_named"}),
    ("Honestly kms", {"ending_a_life_slang"}),
    ("I just want to die.", {"wishes_to_die"}),
    ("I go to bed hoping I won't wake up.", {"hopes_not_to_wake"}),
    ("I hope I just don't wake up tomorrow.", {"hopes_not_to_wake"}),
    ("I don't really care if I wake up.", {"indifferent_to_living"}),
    ("I wish I was never born.", {"wishes_dead_or_gone"}),
    ("I don't want to be alive.", {"not_want_to_be_alive"}),
    ("I won't be around much longer.", {"will_not_be_around"}),
    ("There's no reason to keep going.", {"no_point_going_on"}),
    ("What's the point.", {"no_point_going_on"}),
    ("I can't do this anymore.", {"cannot_go_on"}),
    ("Everyone would be better off without me.", {"better_off_without_me"}),
    ("I've made peace with it.", {"peace_with_dying"}),
    ("I have a plan to do it.", {"has_a_plan"}),
    ("She left a goodbye note.", {"goodbye_messages"}),
    ("I wrote letters to my kids.", {"farewell_letters"}),
    ("I'm giving away my things.", {"giving_things_away"}),
    ("I've been saving my pills.", {"gathering_pills", "dwells_on_means"}),
    ("The pills are counted.", {"pills_ready", "dwells_on_means"}),
    ("I took a handful of pills.", {"overdose"}),
    ("He stopped taking his insulin.", {"stopped_medication"}),
    ("I've been cutting myself.", {"self_harm"}),
    ("Parent workshop on self-harm.", {"self_harm_named"}),
    ("The urge to cut is back.", {"self_harm_urge"}),
    ("I'd rather not wake up.", {"rather_not_be_alive"}),
    ("I'm at the bridge.", {"dangerous_place"}),
    ("I keep thinking about the pills in the cabinet.", {"dwells_on_means"}),
    ("I keep thinking about hurting him.", {"thoughts_of_harming"}),
    ("I'm afraid I'll hurt my kids.", {"may_harm_someone"}),
    ("He hits me when he drinks.", {"violence_against_them"}),
    ("He is hitting me right now.", {"violence_against_them", "violence_happening"}),
    ("He said I'll be sorry.", {"threatened"}),
    ("I'm not sure I want to live.", {"unsure_want_to_live"}),
    ("Ya no quiero vivir.", {"wants_to_die_spanish"}),
    ("How many pills would it take?", {"how_to_die"}),
    ("I wish I hadn't woken up.", {"wishes_not_woken"}),
    ("I've written down my passwords for her.", {"affairs_in_order"}),
    ("My husband keeps a gun in the house.", {"firearm_named"}),
    ("She sent me a photo of a razor.", {"means_shown"}),
    ("I sat in the garage with the car running.", {"car_in_garage"}),
    ("I slowed down on the bridge again.", {"high_place", "dangerous_place"}),
    ("I burned my arm on purpose.", {"self_harm_body"}),
    ("Tell my mom I love her.", {"farewell_words"}),
    ("I have pictures in my head of dropping the baby.", {"intrusive_thoughts"}),
    ("He's going to kill us all.", {"threatened", "threatened_to_harm"}),
    ("He grabbed a kitchen knife.", {"holds_weapon"}),
    ("I'm scared of what I might do.", {"afraid_of_what_they_might_do"}),
    ("I'm done fighting.", {"giving_up"}),
    ("I'm hiding in the bathroom.", {"hiding_from_danger"}),
    ("Me despedí de mi hermana.", {"farewell_spanish"}),
    ("Sorry, for everything.", {"farewell_sorry"}),
    ("I feel exactly like I did back then.", {"old_state_back"}),
    ("It's exactly like before I tried.", {"state_before_attempt"}),
    ("If things aren't better by Friday, that's my answer.", {"deadline"}),
    ("Fui otra vez al puente.", {"high_place_spanish"}),
    ("I can't stop wanting to do more.", {"cannot_stop_urge"}),
    ("The dark thoughts are back.", {"old_thoughts_back"}),
    # near-misses: nothing here is risk
    ("We offer a non-suicidal self-injury group.", set()),
    ("kill me now lol", set()),
    ("This commute is killing me.", set()),
    ("I'd kill for a coffee.", set()),
    ("I'm looking for a therapist for my anxiety.", set()),
    ("We saved the receipts from last year.", set()),
    ("Can I take the bridge exit to your office?", set()),
    ("I want to end my lease early.", set()),
    ("He stopped taking his vitamins.", set()),
    ("We took a lot of pictures.", set()),
    ("Sorry for the long email.", set()),
    ("I'm done with fighting.", set()),
]


@pytest.mark.parametrize(("phrase", "expected"), CRISIS_ROWS)
def test_the_crisis_rules_that_read_a_phrase(phrase: str, expected: set[str]) -> None:
    assert {rule.id for rule in matching(_CRISIS, phrase)} == expected


def test_every_crisis_rule_has_a_row() -> None:
    """A rule without a row could be removed, or broken, without a test noticing."""
    assert {rule.id for rule in _CRISIS} == set().union(*(ids for _, ids in CRISIS_ROWS))
    assert len({rule.id for rule in _CRISIS}) == len(_CRISIS)


READING_ROWS = [
    # phrase -> (present, discounted, laughed off): the ids in each
    ("I'm not suicidal.", set(), {"suicide_named"}, set()),  # negated
    ("I'm not going to hurt myself.", set(), {"self_harm"}, set()),
    ("i'm not gonna hurt myself or anything so please don't call anyone", set(), {"self_harm"}, set()),
    ("No thoughts of killing myself.", set(), {"ending_a_life", "intrusive_thoughts"}, set()),
    ("She asked whether I had ever had any suicidal thoughts.", set(), {"suicide_named"}, set()),  # a question
    ("My father died by suicide when I was 12.", set(), {"suicide_named"}, set()),  # the past, someone else's
    ("Our school runs suicide prevention training.", set(), {"suicide_named"}, set()),
    ("I was suicidal years ago and the thoughts are back now.", {"suicide_named", "old_thoughts_back"}, set(), set()),  # now again
    ("I was suicidal years ago, but I've been stable for a long time now.", set(), {"suicide_named"}, set()),  # recovered
    ("I wanted to die at 15, and I feel that way again now.", {"wishes_to_die"}, set(), set()),
    ("I could kill myself for forgetting, jk.", set(), {"ending_a_life"}, set()),  # a figure of speech
    ("Her PHQ-9 item 9 was 0 and we talked about suicide safety.", set(), {"suicide_named"}, set()),  # screened negative
    ("gonna kms lol", set(), set(), {"ending_a_life_slang"}),  # laughter: the model decides
    ("I want to kill myself \U0001F480", set(), set(), {"ending_a_life"}),
    ("I am suicidal.\nI used to cut myself in high school.", {"suicide_named"}, {"self_harm"}, set()),  # sentence by sentence
    ("I'm at the bridge\nright now.", {"dangerous_place"}, set(), set()),  # a hard-wrapped line is one sentence
]


@pytest.mark.parametrize(("phrase", "present", "discounted", "laughed"), READING_ROWS)
def test_what_the_discounts_set_aside(phrase: str, present: set[str], discounted: set[str], laughed: set[str]) -> None:
    risk = read_risk(phrase)
    assert ({r.id for r in risk.present}, {r.id for r in risk.discounted}, {r.id for r in risk.laughed_off}) == (present, discounted, laughed)


def test_a_topic_alone_is_only_mentioned_and_a_statement_is_not() -> None:
    assert read_risk("Do you run a group on self-harm? We also talked about suicide.").only_mentioned
    assert not read_risk("I've been cutting myself and I'm suicidal.").only_mentioned
    assert {rule.id for rule in _CRISIS if rule.kind is RuleKind.RISK_TOPIC} == {"suicide_named", "self_harm_named", "firearm_named"}


def test_a_reason_is_shown_once_however_many_rules_give_it() -> None:
    assert read_risk("I've been saving my pills. The pills are counted.").reasons == [
        "risk: gathering pills", "risk: dwells on a means of dying"]


def test_a_practice_word_is_known_by_its_kind_not_its_words() -> None:
    """Whatever its reason says, a word the practice configured decides."""
    assert read_risk("The word is pineapple.", ["pineapple"]).named_by_practice
    assert not read_risk("I want to kill myself.").named_by_practice
    assert word_rule("pineapple", "anything at all").kind is RuleKind.PRACTICE_WORD
