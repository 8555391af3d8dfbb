"""Telehealth or in person, phrase by phrase: a preference stated, or both left open."""

from __future__ import annotations

import pytest

from responder.triage.facts.modality import modality


@pytest.mark.parametrize(("phrase", "expected"), [
    ("Do you offer telehealth?", "telehealth"),
    ("I'd prefer video sessions.", "telehealth"),
    ("Can we meet on Zoom?", "telehealth"),
    ("I want to meet online.", "telehealth"),
    ("Por videollamada.", "telehealth"),
    ("Dr. Smith said video is ok.", "telehealth"),  # "Dr." ends no sentence
    ("I'd like to come in to the office.", "in_person"),
    ("In-person, please.", "in_person"),
    ("En persona, por favor.", "in_person"),
    ("Is the Beaverton office open?", "in_person"),  # a place's office
    # both named: the one preferred
    ("I prefer video over in person.", "telehealth"),
    ("I'd rather do in person than video.", "in_person"),
    ("I'd like in person sessions, but video is fine too.", "in_person"),
    # declined: the other one
    ("I'd prefer not to do video.", "in_person"),
    # left open
    ("In person or video, whichever.", "unknown"),
    ("Video or coming in, either is fine.", "unknown"),
    ("Evenings after 5 or on video.", "unknown"),
    # near-misses
    ("My office is in Portland.", "unknown"),
    ("My home office is noisy.", "unknown"),
    ("I'm free after 5.", "unknown"),
])
def test_the_modality_read_from_a_phrase(phrase: str, expected: str) -> None:
    assert modality(phrase) == expected
