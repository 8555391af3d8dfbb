"""Each clinician's open consultation slots, from the calendars kept: what `responder
availability` prints and a first reply offers.

A solo practice (no ``practice.clinicians``) is one clinician named ``practice``, with the
practice's hours and its calendar_ics. A clinician who accepts no new clients is listed with no
slots. One whose busy time is not known (their calendar, or the practice-wide one, failed longer
than the keeper believes an old copy, or was never read) is listed as failed with no slots: an
offered time must never be one they are busy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import Config
from ..matching import MATCHED, fits, matched
from ..model import CalendarState, Classification
from ..replying.offers import NAMED, Offer, Offers
from .keeper import PRACTICE, Calendars
from .slots import Rule, Slot, offer, open_slots


@dataclass(frozen=True)
class Openings:
    clinician: str
    calendar: CalendarState
    slots: tuple[Slot, ...]
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"id": self.clinician, "calendar": self.calendar}
        if self.error:
            found["error"] = self.error
        return found | {"slots": [{"start": s.start.isoformat(), "end": s.end.isoformat()} for s in self.slots]}


def rule(config: Config) -> Rule:
    availability = config.practice.availability
    slots = availability.slots
    return Rule(config.practice.consultation.minutes, slots.step_minutes, slots.buffer_minutes, slots.minimum_notice_hours,
                slots.horizon_days, frozenset(availability.closed))


def openings(config: Config, calendars: Calendars, at: datetime, only: str | None = None) -> list[Openings]:
    """Every clinician's openings from ``at`` (``only``: that clinician's), in the configuration's order."""
    found = []
    for clinician, _, _ in _people(config):
        if only is not None and clinician != only:
            continue
        own = calendars.status(clinician)
        shared = calendars.status(PRACTICE) if clinician != PRACTICE else own
        state, error = own.state, own.error
        if shared.state == CalendarState.FAILED and state != CalendarState.FAILED:
            state, error = CalendarState.FAILED, f"the practice calendar (availability.calendar_ics): {shared.error}"
        slots = _slots(config, calendars, clinician, at)
        if slots is None and state != CalendarState.FAILED:
            state, error = CalendarState.FAILED, "not read yet"
        found.append(Openings(clinician, state, tuple(slots or ()), error))
    return found


def offers_for(config: Config, calendars: Calendars, classification: Classification, at: datetime) -> Offers:
    """Who a first reply names (matching.py's order) and their openings from ``at``; or, when
    clinicians are configured and nobody fits a need served here, that they are full. Only the
    first slots of those who fit are worked out: a reply is on the clock."""
    if not config.practice.clinicians or classification.category not in MATCHED:
        return Offers()
    fitting = [c.id for c in config.practice.clinicians if fits(c, classification, config)]
    earliest = {name: next(iter(_slots(config, calendars, name, at) or ()), None) for name in fitting}
    ordered = matched(classification, config, {name: slot.start if slot else None for name, slot in earliest.items()})
    named = classification.facts.clinician
    asked_for = config.practice.clinician(named) if named is not None and named not in ordered else None
    if not ordered:
        asked = set(classification.facts.services)
        return Offers(full=not asked or bool(asked & set(config.practice.services.offered)), asked_for=asked_for)
    count = config.practice.availability.slots.offer
    return Offers(tuple(Offer(clinician, tuple(offer(_slots(config, calendars, clinician.id, at) or (), count, calendars.zone)))
                        for clinician in (config.practice.clinician(name) for name in ordered[:NAMED]) if clinician is not None),
                  asked_for=asked_for)


def _people(config: Config) -> list[tuple[str, dict[str, str], bool]]:
    """Each clinician's id, consultation hours and whether they take new clients; a solo practice is one."""
    practice = config.practice
    people = [(c.id, c.consultation_hours or practice.availability.hours, c.accepting_new_clients) for c in practice.clinicians]
    return people or [(PRACTICE, practice.availability.hours, practice.availability.accepting_new_clients)]


def _slots(config: Config, calendars: Calendars, clinician: str, at: datetime) -> Iterator[Slot] | None:
    """A clinician's open slots from ``at``, lazily; None when their busy time is not known (no
    offered time may be one they are busy), and none when they take no new clients."""
    person = next((p for p in _people(config) if p[0] == clinician), None)
    busy = calendars.busy(clinician if clinician != PRACTICE else None, at)
    if person is None or busy is None:
        return None
    _, hours, accepting = person
    return open_slots(at, hours, busy, rule(config), calendars.zone) if accepting else iter(())
