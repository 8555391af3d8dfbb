"""Which clinicians fit a message (responder/matching.py), by the contract's rule, on the
reference group practice's clinicians; and `classify --json` naming them, earliest opening first."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import inquiry, responder, write_config

from responder.config import Config, load
from responder.matching import matched
from responder.model import Category, Classification, Facts

CLINICIANS: list[dict[str, Any]] = [
    {"id": "priya", "name": "Priya Raman, LCSW", "accepting_new_clients": True, "plans": ["aetna", "bcbs", "medicare"],
     "services": ["individual", "teen", "emdr"], "ages": [13, 70], "languages": ["en"], "modalities": ["telehealth", "in_person"]},
    {"id": "marco", "name": "Marco Ortiz, LMFT", "accepting_new_clients": True, "plans": ["cigna", "uhc"],
     "services": ["individual", "couples", "group"], "ages": [18, 99], "languages": ["en", "es"], "modalities": ["telehealth"]},
    {"id": "dana", "name": "Dana Whitfield, PhD", "accepting_new_clients": False, "services": ["individual", "couples"]},
]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    path = write_config(tmp_path_factory.mktemp("group"))
    data = yaml.safe_load(path.read_text())
    data["practice"]["clinicians"] = CLINICIANS
    data["practice"]["services"] = {"offered": ["individual", "couples", "teen", "group", "emdr"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load(path, environ={})


def asking(category: Category = Category.NEW_INQUIRY, **facts: Any) -> Classification:
    return Classification(category, Facts(**facts), ())


@pytest.mark.parametrize(("facts", "expected"), [
    ({"services": ("individual",)}, ["priya", "marco"]),  # dana accepts nobody new
    ({"services": ("individual",), "insurance": "aetna"}, ["priya"]),  # marco's panel lacks aetna
    ({"services": ("individual",), "insurance": "other"}, ["priya", "marco"]),  # out of network: any panel
    ({"services": ("individual",), "insurance": "self_pay"}, ["priya", "marco"]),
    ({"services": ("teen",), "age": 15}, ["priya"]),
    ({"services": ("individual",), "age": 16}, ["priya"]),  # marco sees adults only
    ({"services": ("individual",), "age": 75}, ["marco"]),  # priya up to 70
    ({"services": ("couples",)}, ["marco"]),
    ({"services": ("couples", "emdr")}, []),  # nobody offers both
    ({"services": ("individual",), "language": "es"}, ["marco"]),
    ({"services": ("individual",), "modality": "in_person"}, ["priya"]),
    ({"services": ("individual", "medication")}, ["priya", "marco"]),  # medication is not offered: not asked of them
    ({"services": ("medication",)}, []),  # only what the practice does not offer: referred out, nobody named
    ({"services": ("child", "family")}, []),
    ({}, ["priya", "marco"]),
])
def test_who_fits(config: Config, facts: dict[str, Any], expected: list[str]) -> None:
    assert matched(asking(**facts), config) == expected


def test_only_inquiries_and_referrals_are_matched(config: Config) -> None:
    assert matched(asking(Category.PROFESSIONAL_REFERRAL, services=("couples",)), config) == ["marco"]
    for category in (Category.EXISTING_CLIENT, Category.CRISIS, Category.AUTOMATED, Category.SOLICITATION):
        assert matched(asking(category, services=("individual",)), config) == []


def test_the_earliest_opening_comes_first_and_unknown_ones_last(config: Config) -> None:
    soon, later = datetime(2027, 3, 2, 20, tzinfo=timezone.utc), datetime(2027, 3, 4, 15, tzinfo=timezone.utc)
    assert matched(asking(services=("individual",)), config, {"priya": later, "marco": soon}) == ["marco", "priya"]
    assert matched(asking(services=("individual",)), config, {"priya": None, "marco": later}) == ["marco", "priya"]


def test_a_solo_practice_names_nobody(tmp_path: Path) -> None:
    assert matched(asking(services=("individual",)), load(write_config(tmp_path), environ={})) == []


def test_classify_names_the_clinicians_who_fit_and_the_age(tmp_path: Path, config: Config) -> None:
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["practice"]["clinicians"] = CLINICIANS
    data["practice"]["services"] = {"offered": ["individual", "couples", "teen", "group", "emdr"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    message = tmp_path / "teen.eml"
    message.write_bytes(inquiry(body="Hi, my son, 16, has had a hard time since we moved. We have Aetna. Can he be seen in person?"))
    result = responder(path, "classify", "--json", "--at", "2027-03-01T09:00:00-06:00", str(message))
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert (found["category"], found["services"], found["age"], found["language"], found["clinicians"]) == (
        "new_inquiry", ["teen"], 16, "en", ["priya"])


def test_preview_at_a_moment_names_who_fits(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["practice"]["clinicians"] = CLINICIANS
    data["practice"]["services"] = {"offered": ["individual", "couples", "teen", "group", "emdr"]}
    data["practice"]["timezone"] = "America/Chicago"
    data["practice"]["availability"] = {"hours": {"tue": "14:00-15:00"}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    message = tmp_path / "couple.eml"
    message.write_bytes(inquiry(body="Hello, my wife and I are looking for couples counseling. We have Cigna."))
    result = responder(path, "preview", "--at", "2027-03-01T09:00:00-06:00", str(message))
    assert result.returncode == 0, result.stderr
    # Tuesdays 14:00-15:00, one slot a day; the horizon (14 days) ends before the 16th.
    assert ("Marco Ortiz, LMFT fits what you describe and is free for a first conversation on Tuesday, March 2 at 2:00 PM "
            "or Tuesday, March 9 at 2:00 PM. To take a time, book here: https://harborlight.example.org/book\n\n") in result.stdout


@pytest.mark.parametrize(("text", "expected"), [
    ("Is Priya taking new clients?", "priya"),
    ("I read Priya Raman's profile.", "priya"),
    ("Could I see Ms. Raman?", "priya"),
    ("Does Dr. Whitfield have openings?", "dana"),
    ("I saw Marco speaks Spanish. Or is Priya better?", "marco"),  # the first named
    ("We want to mark this as urgent.", None),  # a word, not a name
    ("Is Jen taking new couples?", None),  # nobody here is called Jen
])
def test_a_clinician_asked_for_by_name(text: str, expected: str | None, config: Config) -> None:
    from responder.triage.facts.clinician import named_clinician

    assert named_clinician(text, config.practice.clinicians) == expected


def test_a_short_first_name_is_the_clinicians(config: Config) -> None:
    from responder.config import PracticeClinician
    from responder.triage.facts.clinician import named_clinician

    jennifer = PracticeClinician(id="jen", name="Jennifer Okafor, LPC")
    assert named_clinician("Is Jen taking new couples?", [jennifer]) == "jen"
    assert named_clinician("Is jenny there", [jennifer]) is None, "names are written with a capital"


def test_a_clinician_asked_for_by_name_comes_first_when_they_fit(config: Config) -> None:
    soon = datetime(2027, 3, 2, 20, tzinfo=timezone.utc)
    later = datetime(2027, 3, 9, 20, tzinfo=timezone.utc)
    assert matched(asking(services=("individual",), clinician="marco"), config, {"priya": soon, "marco": later}) == ["marco", "priya"]
    assert matched(asking(services=("individual",), clinician="dana"), config, {"priya": soon, "marco": later}) == ["priya", "marco"]
