"""Open consultation slots, exactly as the contract's `availability` rule defines them. Pure.

A slot is open when its start lies on the grid of ``step_minutes`` counted from the start of one
of the clinician's consultation-hour windows (the practice's hours when they have none), it ends
inside that window, its day is not closed, it starts no sooner than the moment plus the minimum
notice and before the moment plus the horizon, and [start - buffer, end + buffer) overlaps no busy
interval (half-open: touching is not overlapping). Days and windows are the practice's local
time: a window is placed on each date with its zone (so 09:00 stays 09:00 across a daylight-saving
change), and the grid is counted in real minutes from there. A window starting at a time the
change skips (02:30 on the spring-forward day) starts as late as the change moved the clocks
(03:30), as zoneinfo reads such a time.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .busy import Busy

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Rule:
    """The practice's slot settings (practice.availability.slots, consultation.minutes, closed)."""

    minutes: int
    step_minutes: int
    buffer_minutes: int
    minimum_notice_hours: float
    horizon_days: int
    closed: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware, in the practice's zone
    end: datetime


def open_slots(at: datetime, hours: Mapping[str, str], busy: Sequence[Busy], rule: Rule, zone: ZoneInfo) -> Iterator[Slot]:
    """Every open slot from ``at`` to ``at`` + the horizon, in time order, one at a time (a reply
    needs only each clinician's first few). ``hours``: day -> "HH:MM-HH:MM" (the clinician's
    consultation hours, else the practice's); ``busy``: sorted, merged intervals."""
    earliest = at + timedelta(hours=rule.minimum_notice_hours)
    latest = at + timedelta(days=rule.horizon_days)
    length, step, buffer = timedelta(minutes=rule.minutes), timedelta(minutes=rule.step_minutes), timedelta(minutes=rule.buffer_minutes)
    ends = [end for _, end in busy]
    day = at.astimezone(zone).date() - timedelta(days=1)  # a window may start the local day before
    while _local(day, time(0), zone) < latest:
        span = hours.get(DAYS[day.weekday()])
        if span and day not in rule.closed:
            opens, closes = (_local(day, time.fromisoformat(part), zone) if part != "24:00" else _local(day + timedelta(days=1), time(0), zone)
                             for part in span.split("-"))
            start = opens
            while start + length <= closes and start < latest:
                if start >= earliest and _free(start - buffer, start + length + buffer, busy, ends):
                    yield Slot(start.astimezone(zone), (start + length).astimezone(zone))
                start += step
        day += timedelta(days=1)


def offer(slots: Iterable[Slot], count: int, zone: ZoneInfo) -> list[Slot]:
    """What a first reply offers: the earliest slot, then the earliest on a day not yet offered, and so on."""
    chosen: list[Slot] = []
    days: set[date] = set()
    for slot in slots:
        if len(chosen) == count:
            break
        if slot.start.astimezone(zone).date() not in days:
            chosen.append(slot)
            days.add(slot.start.astimezone(zone).date())
    return chosen


def _free(start: datetime, end: datetime, busy: Sequence[Busy], ends: Sequence[datetime]) -> bool:
    """Whether [start, end) overlaps no busy interval. The intervals are sorted and merged, so
    their ends are in order too: the first one ending after ``start`` is the only one that may
    overlap, and it does when it begins before ``end``."""
    index = bisect_right(ends, start)
    return index == len(busy) or busy[index][0] >= end


def _local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The moment ``clock`` on ``day`` in ``zone``, in UTC."""
    return datetime.combine(day, clock, zone).astimezone(timezone.utc)
