"""The time zone a person writes from (facts/zone.py), and their own time beside each opening."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from responder.calendars.slots import Slot
from responder.replying.offers import when
from responder.triage.facts.zone import zone


@pytest.mark.parametrize(("text", "expected"), [
    ("I'm on Pacific time, so evenings work.", "America/Los_Angeles"),
    ("Anytime after 6 EST works for me.", "America/New_York"),
    ("i'm in mountain time btw", "America/Denver"),
    ("Estoy en la hora del Pacífico.", "America/Los_Angeles"),
    ("My PT said I should talk to someone.", None),  # physical therapy, not Pacific time
    ("I had a CT scan last week.", None),
    ("est-ce que vous parlez français?", None),
    ("Any time works.", None),
])
def test_the_zone_a_person_names(text: str, expected: str | None) -> None:
    assert zone(text) == expected


def test_an_opening_in_the_persons_own_time_beside_the_practices() -> None:
    chicago = ZoneInfo("America/Chicago")
    slot = Slot(datetime(2027, 3, 2, 14, 0, tzinfo=chicago), datetime(2027, 3, 2, 14, 15, tzinfo=chicago))
    assert when(slot, chicago, "en", ZoneInfo("America/Los_Angeles")) == "Tuesday, March 2 at 2:00 PM (12:00 PM your time)"
    assert when(slot, chicago, "es", ZoneInfo("America/New_York")) == "martes 2 de marzo a las 14:00 (15:00 en su hora)"
    late = Slot(datetime(2027, 3, 2, 18, 0, tzinfo=chicago), datetime(2027, 3, 2, 18, 15, tzinfo=chicago))
    assert when(late, chicago, "en", ZoneInfo("Pacific/Honolulu")) == "Tuesday, March 2 at 6:00 PM (2:00 PM your time)"
    assert when(slot, chicago, "en") == "Tuesday, March 2 at 2:00 PM"
