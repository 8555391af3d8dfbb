"""How a person will pay, phrase by phrase, with the example practice's plans (Aetna, Blue Cross
Blue Shield, Cigna, UnitedHealthcare, Medicare): the plan read, and the reason given."""

from __future__ import annotations

import pytest

from responder.config import Config
from responder.triage.facts.insurance import OTHER_PLANS, OTHER_PLANS_BESIDE_INSURANCE_WORDS, insurance

ROWS = [
    # a plan in network, by name, alias, affiliate or short name
    ("I have Aetna.", "aetna", "Aetna named (in network)"),
    ("Do you take Blue Cross?", "bcbs", "Blue Cross Blue Shield named (in network)"),
    ("I have BlueCross BlueShield through work.", "bcbs", "Blue Cross Blue Shield named (in network)"),  # spaces optional
    ("We're on Anthem.", "bcbs", "Blue Cross Blue Shield named (in network)"),
    ("I have Regence.", "bcbs", "Blue Cross Blue Shield named (in network)"),  # an affiliate
    ("I'm on Meritain Health.", "aetna", "Aetna named (in network)"),
    ("My plan is UMR.", "uhc", "UnitedHealthcare named (in network)"),
    ("I have United through my job.", "uhc", "UnitedHealthcare named (in network)"),  # a short name, beside insurance words
    ("I have Medicare.", "medicare", "Medicare named (in network)"),
    # a plan not in network
    ("I have Kaiser.", "other", "kaiser named (not in network)"),
    ("I have Medi-Cal.", "other", "medi-cal named (not in network)"),
    ("I have Providence insurance.", "other", "providence named (not in network)"),  # ambiguous, beside insurance words
    ("I have Medicare Advantage through Humana.", "other", "humana named (not in network)"),  # the company on the card
    # the current plan over an old one
    ("I used to have Cigna but now I have Aetna.", "aetna", "Aetna named (in network)"),
    ("My old Cigna card expired; I have Aetna.", "aetna", "Aetna named (in network)"),
    ("I had Aetna, now Cigna.", "cigna", "Cigna named (in network)"),
    ("I switched to Cigna from Aetna.", "cigna", "Cigna named (in network)"),
    ("Cigna ended in March. I have Aetna as of April.", "aetna", "Aetna named (in network)"),
    ("Cigna ended in March. I have Aetna.", "cigna", "Cigna named (in network)"),  # nothing says which is current
    # paying themselves
    ("I'd rather pay out of pocket even though I have Aetna.", "self_pay", "chooses to pay themselves"),
    ("I don't want to use my insurance.", "self_pay", "chooses to pay themselves"),
    ("I'll pay cash.", "self_pay", "chooses to pay themselves"),
    ("Mr. Pruitt will pay for services privately.", "self_pay", "chooses to pay themselves"),
    ("I'd be paying for it myself, I know insurance doesn't cover these.", "self_pay", "chooses to pay themselves"),
    ("I don't have insurance.", "self_pay", "paying themselves"),
    ("Do you have a sliding scale?", "self_pay", "paying themselves"),
    ("What is your self-pay rate?", "self_pay", "paying themselves"),
    ("I'm between jobs, so no insurance for now.", "self_pay", "paying themselves"),
    ("No tengo seguro.", "self_pay", "paying themselves"),
    ("Pagaré en efectivo.", "self_pay", "paying themselves"),
    ("How much is a session out-of-pocket? I have Cigna.", "cigna", "Cigna named (in network)"),  # a plan named counts over a fallback
    # near-misses
    ("Do you take insurance?", "unknown", None),
    ("What does a session cost?", "unknown", None),
    ("United Airlines lost my bag.", "unknown", None),
    ("I work at the Providence hospital.", "unknown", None),
    ("Is the Oxford office open?", "unknown", None),
    ("I'm on the blue team at work.", "unknown", None),
    ("Aetnaa", "unknown", None),
    ("I pay my bills online.", "unknown", None),
]


@pytest.mark.parametrize(("phrase", "plan", "reason"), ROWS)
def test_the_plan_read_from_a_phrase(phrase: str, plan: str, reason: str | None, config: Config) -> None:
    reasons: list[str] = []
    assert insurance(phrase, config, reasons) == plan
    assert reasons == ([f"insurance: {reason}"] if reason else [])


@pytest.mark.parametrize("name", OTHER_PLANS + OTHER_PLANS_BESIDE_INSURANCE_WORDS)
def test_every_plan_out_of_network_is_read_as_one(name: str, config: Config) -> None:
    assert insurance(f"I have {name.title()} insurance.", config, []) == "other"


@pytest.mark.parametrize("name", OTHER_PLANS_BESIDE_INSURANCE_WORDS)
def test_a_plan_name_that_is_also_a_place_needs_insurance_words(name: str, config: Config) -> None:
    assert insurance(f"See you at the {name.title()} office on Main Street.", config, []) == "unknown"


def test_a_practice_adds_plans_it_is_not_in_network_with(config: Config) -> None:
    settings = config.practice.insurance.model_copy(update={"other_aliases": ["zenith health"]})
    custom = config.model_copy(update={"practice": config.practice.model_copy(update={"insurance": settings})})
    assert insurance("I have Zenith Health.", config, []) == "unknown"
    assert insurance("I have Zenith Health.", custom, []) == "other"
