"""Busy time from one iCalendar feed, as the contract's availability rule reads it. Pure.

Busy time is every VEVENT, recurring instances included (RRULE, RDATE, EXDATE, moved instances
via RECURRENCE-ID), whatever its STATUS, except those marked TRANSP:TRANSPARENT or
STATUS:CANCELLED. recurring-ical-events expands the series but keeps every instance, so the two
marks are read on each expanded instance: an override that cancels one session of a weekly series
carries them, and only that session is dropped.

Times are read as the feeds mean them:
- an all-day event (DTSTART;VALUE=DATE) makes its whole days busy from midnight to midnight in
  the practice's zone (DTEND exclusive; without one, a single day), so a day off is a day off
  wherever the calendar was written, and a day on which the clocks change is 23 or 25 hours long;
- a time without a zone (floating) is in the feed's X-WR-TIMEZONE when it has one, else in the
  practice's zone, placed there before the series is expanded so that a floating weekly session
  keeps its local hour across a daylight-saving change. recurring_ical_events.of() applies
  x_wr_timezone.to_standard() itself, which also moves the feed's UTC times into the X-WR-TIMEZONE:
  a weekly series Google wrote in UTC keeps its local hour too, as Google shows it. Without
  X-WR-TIMEZONE a series written in UTC stays in UTC, as RFC 5545 reads it;
- TZIDs with Windows names ("Central Standard Time", as Microsoft 365 publishes) work: icalendar
  builds them from the feed's VTIMEZONE, or maps the name to its IANA zone when there is none.
  An unknown TZID with no VTIMEZONE reaches us as a floating time and is read as one.
An event with a DTSTART date-time and neither DTEND nor DURATION lasts no time (RFC 5545) and
blocks nothing; one with DTEND before DTSTART is taken as the span between them (the library
swaps them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone

Busy = tuple[datetime, datetime]

# The library compares all-day instances with the wall clock of the query's zone; a day either
# side of the window makes its answer a superset whatever the zones, and the exact test is ours.
_MARGIN = timedelta(days=1)

# What the libraries raise for a malformed event or zone, found by mangling the test feeds:
# ValueError (most), KeyError (no DTSTART, an unknown X-WR-TIMEZONE), TypeError, AttributeError (a
# repeated DTSTART) and OSError (a TZID or X-WR-TIMEZONE naming a tzdata folder, such as "America").
_MALFORMED = (ValueError, LookupError, TypeError, AttributeError, OSError)


class CalendarError(ValueError):
    """A calendar that cannot be read. The message is one line and quotes nothing of the feed:
    event titles and descriptions may name clients, and the message reaches logs and /healthz."""


def busy_times(feed: bytes, start: datetime, end: datetime, zone: ZoneInfo) -> list[Busy]:
    """The busy intervals of ``feed`` that overlap [start, end) (both aware), in UTC, sorted, and
    merged where they overlap or touch, so the slot rule reads each gap once. An interval is kept
    whole, not clipped to the window: a session that began before ``start`` still ends when it
    ends. ``zone`` is the practice's time zone. Raises CalendarError when the feed cannot be read."""
    calendar = _calendar(feed)
    try:
        if x_wr_timezone.X_WR_TIMEZONE not in calendar:
            calendar = _Floating(zone).walk(calendar)
        instances = recurring_ical_events.of(calendar).between(start.astimezone(zone) - _MARGIN, end.astimezone(zone) + _MARGIN)
        spans = [(instance.start, instance.end) for instance in instances if _blocks(instance)]
    except _MALFORMED as error:  # `from None`: the original message quotes the feed's text
        raise CalendarError(f"an event in the calendar cannot be read ({type(error).__name__})") from None
    intervals = sorted((_utc(first, zone), _utc(last, zone)) for first, last in spans)
    return merge([(first, last) for first, last in intervals if first < last and first < end and last > start])


def _calendar(feed: bytes) -> icalendar.Calendar:
    """The parsed VCALENDAR. A server that answers a revoked or mistyped address with an HTML page
    or an error in JSON gives us that instead of a calendar: it must fail, not read as free time."""
    try:
        calendar = icalendar.Calendar.from_ical(feed)
    except _MALFORMED:
        raise CalendarError("not an iCalendar feed: it does not parse") from None
    if not isinstance(calendar, icalendar.Calendar):
        raise CalendarError("not an iCalendar feed: it holds no VCALENDAR")
    return calendar


class _Floating(x_wr_timezone.CalendarWalker):
    """Places a feed's floating times in the practice's zone and leaves UTC and TZID times alone
    (x_wr_timezone.to_standard would move UTC times too, and so the hour of a series written in UTC).
    Done before expanding, so that a series, its EXDATEs and its overrides are all in one zone."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def walk_value_datetime(self, dt: datetime) -> datetime:
        return dt.replace(tzinfo=self.zone) if dt.tzinfo is None else dt


def _blocks(instance: icalendar.Event) -> bool:
    """Whether an expanded instance takes time: not marked free (TRANSPARENT) nor CANCELLED."""
    return str(instance.get("TRANSP", "")).upper() != "TRANSPARENT" and str(instance.get("STATUS", "")).upper() != "CANCELLED"


def _utc(moment: date | datetime, zone: ZoneInfo) -> datetime:
    """An instance's start or end in UTC: a date is midnight in the practice's zone (all-day
    events). A time still floating here is one the library made: a date given a length in hours
    (DTSTART;VALUE=DATE with DURATION:PT1H30M) becomes that date's wall-clock time, in the practice's zone."""
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(), zone)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc)


def merge(intervals: Sequence[Busy]) -> list[Busy]:
    """The intervals sorted, those that overlap or touch joined into one: what the slot rule reads
    (one feed's, or a clinician's with the practice-wide feed's)."""
    merged: list[Busy] = []
    for first, last in sorted(intervals):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged
