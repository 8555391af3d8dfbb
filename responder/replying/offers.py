"""Who a first reply names, and when they are free: the clinicians who fit, each with their next
openings, said in the reply's language in the practice's time. Pure.

A group practice's first reply names up to two clinicians who fit (matching.py), best first, each
with ``slots.offer`` openings on different days and a way to take one: their booking link, or the
practice's, or a reply with the time that suits. When its clinicians are configured and nobody
fits a need the practice serves, the reply says so honestly (``full``) rather than name anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..calendars.slots import Slot
from ..config import Config, PracticeClinician

NAMED = 2  # clinicians a first reply names at most

# Day names by weekday (Monday first), in the reply's language: the one table of them.
EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ES_DAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
_ES_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre")


@dataclass(frozen=True)
class Offer:
    clinician: PracticeClinician
    slots: tuple[Slot, ...]  # the openings offered, on different days


@dataclass(frozen=True)
class Offers:
    """What a first reply says about who can see the person."""

    named: tuple[Offer, ...] = ()
    full: bool = False  # clinicians are configured, the need is served here, and nobody fits now
    asked_for: PracticeClinician | None = None  # the clinician the person named, when they do not fit

    def view(self, config: Config, language: str, theirs: str | None = None) -> dict[str, Any]:
        """What the templates see; ``theirs``: the zone the person writes from, when they named one."""
        zone = ZoneInfo(config.practice.timezone)
        person = ZoneInfo(theirs) if theirs and theirs != config.practice.timezone else None
        booking = config.practice.consultation.booking_url
        asked = self.asked_for
        return {"matches": [{"name": offer.clinician.name, "booking_url": offer.clinician.booking_url or booking,
                             "slots": [when(slot, zone, language, person) for slot in offer.slots]} for offer in self.named],
                "full": self.full,
                # Why the clinician they asked for is not named: not taking anyone new, or not for this need.
                "asked_for": {"name": asked.name, "accepting": asked.accepting_new_clients} if asked else None}


NO_OFFERS = Offers()  # a solo practice's, and every message but a first reply's


def when(slot: Slot, zone: ZoneInfo, language: str, theirs: ZoneInfo | None = None) -> str:
    """A slot's start as a person reads it: "Tuesday, March 2 at 2:00 PM", "martes 2 de marzo a las
    14:00"; with ``theirs`` (the person's zone, another than the practice's), their time beside it:
    "Tuesday, March 2 at 2:00 PM (12:00 PM your time)"."""
    start = slot.start.astimezone(zone)
    if language == "es":
        said = f"{ES_DAYS[start.weekday()]} {start.day} de {_ES_MONTHS[start.month - 1]} a las {start:%H:%M}"
        return said + (f" ({slot.start.astimezone(theirs):%H:%M} en su hora)" if theirs else "")
    said = f"{EN_DAYS[start.weekday()]}, {_EN_MONTHS[start.month - 1]} {start.day} at {_clock(start)}"
    if theirs is None:
        return said
    local = slot.start.astimezone(theirs)
    day = "" if local.date() == start.date() else f"{EN_DAYS[local.weekday()]} "
    return f"{said} ({day}{_clock(local)} your time)"


def _clock(moment: datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment:%M} {'AM' if moment.hour < 12 else 'PM'}"
