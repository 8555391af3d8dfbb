"""Which clinicians of a group practice fit a message, best first: the contract's rule. Pure.

A clinician fits when they accept new clients, offer every service asked for that the practice
offers, serve the person's age when it is known, speak the message's language, offer the
modality asked for when one is, and have the person's plan on their panel when the plan is in
network with the practice. When the practice offers none of the services asked for (a need to
refer out), nobody fits: a wrong name is worse than none. Among those who fit, the earliest open
slot comes first; those with none known follow, in the configuration's order. A clinician the
person asks for by name comes before all others when they fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .config import Config, PracticeClinician
from .model import Category, Classification

# Only someone asking for care, for themselves or a client, is matched to a clinician.
MATCHED = (Category.NEW_INQUIRY, Category.PROFESSIONAL_REFERRAL)


def fits(clinician: PracticeClinician, classification: Classification, config: Config) -> bool:
    facts = classification.facts
    practice = config.practice
    offered = set(practice.services.offered)
    asked = set(facts.services) & offered
    plans = {plan.id for plan in practice.insurance.plans}
    modalities = clinician.modalities or practice.availability.modalities
    return (clinician.accepting_new_clients
            and asked <= set(clinician.services)
            and (facts.age is None or clinician.ages is None or clinician.ages[0] <= facts.age <= clinician.ages[1])
            and facts.language in clinician.languages
            and (facts.modality == "unknown" or not modalities or facts.modality in modalities)
            and (facts.insurance not in plans or clinician.plans is None or facts.insurance in clinician.plans))


def matched(classification: Classification, config: Config, earliest: Mapping[str, datetime | None] | None = None) -> list[str]:
    """The ids of the clinicians who fit, best first (``earliest``: each one's first open slot)."""
    clinicians = config.practice.clinicians
    if not clinicians or classification.category not in MATCHED:
        return []
    asked = set(classification.facts.services)
    if asked and not asked & set(config.practice.services.offered):
        return []  # only what the practice does not offer: a referral out, nobody here
    found = [c.id for c in clinicians if fits(c, classification, config)]
    first = earliest or {}
    order = {c.id: index for index, c in enumerate(clinicians)}

    def rank(clinician: str) -> tuple[bool, bool, float, int]:
        slot = first.get(clinician)
        return (clinician != classification.facts.clinician, slot is None, slot.timestamp() if slot is not None else 0.0, order[clinician])

    return sorted(found, key=rank)
