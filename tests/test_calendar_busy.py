"""Busy time read from feeds shaped as real services publish them (responder/calendars/busy.py).

tests/fixtures/calendars/: google.ics (Google's secret address: X-WR-TIMEZONE, TZID series, UTC and
floating single events), outlook.ics (Microsoft 365 published with "availability only": Windows
zone names with their VTIMEZONEs, series with exceptions), floating.ics (a Calendar.app export: no
X-WR-TIMEZONE, a floating weekly series with an RDATE and an EXDATE written in UTC, a series written
in UTC) and broken.ics (the HTML page a revoked address answers with).
Every expected interval is written in UTC with its local time beside it, so it can be checked by
hand. The clocks go forward on Sunday 2027-03-14 in the US: Chicago is UTC-6 before, UTC-5 after;
New York UTC-5, then UTC-4; Denver UTC-7, then UTC-6.
"""

from __future__ import annotations

import random
import re
import time as clock
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from responder.calendars.busy import Busy, CalendarError, busy_times

FEEDS = Path(__file__).parent / "fixtures" / "calendars"
CHICAGO, NEW_YORK, DENVER = ZoneInfo("America/Chicago"), ZoneInfo("America/New_York"), ZoneInfo("America/Denver")


def feed(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def without_vtimezones(ics: bytes) -> bytes:
    """The feed with its VTIMEZONE blocks removed: icalendar must then map the Windows names itself."""
    return re.sub(rb"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", b"", ics, flags=re.DOTALL)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def local(text: str, zone: ZoneInfo = CHICAGO) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def span(start: str, end: str) -> Busy:
    return utc(start), utc(end)


GOOGLE_MARCH = [
    span("2027-03-02 15:00", "2027-03-02 16:30"),  # Tue 09:00-10:00 CST floating intake call (the feed's X-WR-TIMEZONE) and the
                                                   # dentist 15:30Z-16:30Z overlap: one interval, 09:00-10:30 CST
    span("2027-03-02 20:00", "2027-03-02 21:00"),  # weekly session, Tue 14:00-15:00 CST
    span("2027-03-04 17:00", "2027-03-04 19:00"),  # Thu call 17:00Z-18:00Z touches the peer group at 12:00-13:00 CST: joined
    # Fri 5: a TRANSPARENT reminder; Mon 8: a CANCELLED lunch; Tue 9: the session's EXDATE. None blocks.
    span("2027-03-10 16:00", "2027-03-10 17:00"),  # Wed 10:00-11:00 CST, STATUS:TENTATIVE blocks
    span("2027-03-12 06:00", "2027-03-16 05:00"),  # all-day Fri 12 to Mon 15 (DTEND 16): 00:00 CST to 00:00 CDT, 95 hours
    # Tue 16 14:00 CDT: that session moved (RECURRENCE-ID) to ...
    span("2027-03-17 21:00", "2027-03-17 22:00"),  # ... Wed 16:00-17:00 CDT. St. Patrick's Day, all day, is TRANSPARENT.
    span("2027-03-18 14:00", "2027-03-18 15:00"),  # Thu 09:00-10:00 CDT floating intake call
    span("2027-03-18 17:00", "2027-03-18 18:00"),  # peer group, written 18:00Z in January: keeps 12:00 local, now CDT
    # Tue 23: that session cancelled by an override with STATUS:CANCELLED.
    span("2027-03-30 19:00", "2027-03-30 20:00"),  # weekly session, Tue 14:00-15:00 CDT
]

OUTLOOK_MARCH = [
    span("2027-03-03 15:00", "2027-03-03 15:50"),  # Wed 10:00-10:50 "Eastern Standard Time" (EST)
    # Mon 1 10:00: EXDATE
    span("2027-03-08 16:00", "2027-03-08 17:00"),  # Mon 10:00-11:00 "Central Standard Time" (CST)
    span("2027-03-10 15:00", "2027-03-10 15:50"),  # Wed 10:00 EST. Thu 11 12:00-13:00 CST is marked Free (TRANSPARENT).
    span("2027-03-13 06:00", "2027-03-15 05:00"),  # all-day Away Sat 13 and Sun 14: 00:00 CST to 00:00 CDT, 47 hours
    span("2027-03-15 15:00", "2027-03-15 16:00"),  # Mon 10:00-11:00 CDT
    span("2027-03-16 14:00", "2027-03-16 14:30"),  # Tue 09:00-09:30 CDT, busy status TENTATIVE
    span("2027-03-17 14:00", "2027-03-17 14:50"),  # Wed 10:00 EDT
    span("2027-03-23 18:00", "2027-03-23 19:00"),  # Mon 22's 10:00 moved to Tue 23 13:00-14:00 CDT
    # Wed 24 10:00 EDT: cancelled (an override with STATUS:CANCELLED)
    span("2027-03-29 15:00", "2027-03-29 16:00"),  # Mon 10:00 CDT
    span("2027-03-31 14:00", "2027-03-31 14:50"),  # Wed 10:00 EDT
]

TABLE = [
    pytest.param("google.ics", CHICAGO, local("2027-03-01 00:00"), local("2027-04-01 00:00"), GOOGLE_MARCH, id="google-march"),
    pytest.param("google.ics", CHICAGO, utc("2027-03-01 06:00"), utc("2027-04-01 05:00"), GOOGLE_MARCH, id="google-march-window-in-utc"),
    pytest.param("google.ics", CHICAGO, local("2027-03-02 09:30"), local("2027-03-02 14:30"),
                 [span("2027-03-02 15:00", "2027-03-02 16:30"), span("2027-03-02 20:00", "2027-03-02 21:00")],
                 id="google-window-cuts-events-kept-whole"),
    pytest.param("google.ics", CHICAGO, utc("2027-03-02 16:30"), utc("2027-03-02 20:00"), [], id="google-window-touching-is-not-overlapping"),
    pytest.param("google.ics", CHICAGO, local("2027-03-05 00:00"), local("2027-03-10 00:00"), [], id="google-transparent-cancelled-exdate"),
    pytest.param("google.ics", CHICAGO, local("2027-03-16 00:00"), local("2027-03-17 00:00"), [], id="google-moved-from-here"),
    pytest.param("google.ics", CHICAGO, local("2027-03-17 00:00"), local("2027-03-18 00:00"),
                 [span("2027-03-17 21:00", "2027-03-17 22:00")], id="google-moved-to-here"),
    pytest.param("google.ics", CHICAGO, local("2027-03-23 00:00"), local("2027-03-24 00:00"), [], id="google-cancelled-override"),
    pytest.param("google.ics", NEW_YORK, local("2027-03-11 00:00", NEW_YORK), local("2027-03-19 00:00", NEW_YORK), [
        span("2027-03-12 05:00", "2027-03-16 04:00"),  # all-day in the practice's zone: 00:00 EST to 00:00 EDT
        span("2027-03-17 21:00", "2027-03-17 22:00"),  # the moved session, TZID America/Chicago
        span("2027-03-18 14:00", "2027-03-18 15:00"),  # floating 09:00 is in the feed's X-WR-TIMEZONE (Chicago), not New York
        span("2027-03-18 17:00", "2027-03-18 18:00"),
    ], id="google-practice-in-new-york"),
    pytest.param("outlook.ics", CHICAGO, local("2027-03-01 00:00"), local("2027-04-01 00:00"), OUTLOOK_MARCH, id="outlook-march"),
    pytest.param(without_vtimezones(feed("outlook.ics")), CHICAGO, local("2027-03-01 00:00"), local("2027-04-01 00:00"), OUTLOOK_MARCH,
                 id="outlook-windows-names-without-vtimezone"),
    pytest.param("floating.ics", CHICAGO, local("2027-03-08 00:00"), local("2027-03-22 00:00"), [
        span("2027-03-09 16:00", "2027-03-09 17:00"),  # London supervision, a weekly series written in UTC: 10:00 CST
        span("2027-03-10 15:00", "2027-03-10 15:50"),  # Wed 09:00-09:50 CST, a floating weekly series
        span("2027-03-12 15:00", "2027-03-12 15:50"),  # its RDATE, Fri 09:00 CST
        # Thu 11 12:00: DTSTART and no DTEND or DURATION, no time
        span("2027-03-16 16:00", "2027-03-16 17:00"),  # London supervision stays 16:00Z (11:00 CDT): no X-WR-TIMEZONE to move it
        span("2027-03-16 18:00", "2027-03-16 19:30"),  # 13:00 CDT with DURATION:PT1H30M
        span("2027-03-17 14:00", "2027-03-17 14:50"),  # Wed 09:00-09:50 CDT: the floating series keeps its local hour
        span("2027-03-19 05:00", "2027-03-20 05:00"),  # all-day, no DTEND: one day, 00:00 to 24:00 CDT
    ], id="floating-in-chicago"),
    pytest.param("floating.ics", DENVER, local("2027-03-08 00:00", DENVER), local("2027-03-22 00:00", DENVER), [
        span("2027-03-09 16:00", "2027-03-09 17:00"),  # written in UTC: unchanged by the practice's zone
        span("2027-03-10 16:00", "2027-03-10 16:50"),  # 09:00 MST
        span("2027-03-12 16:00", "2027-03-12 16:50"),  # 09:00 MST
        span("2027-03-16 16:00", "2027-03-16 17:00"),
        span("2027-03-16 19:00", "2027-03-16 20:30"),  # 13:00 MDT
        span("2027-03-17 15:00", "2027-03-17 15:50"),  # 09:00 MDT
        span("2027-03-19 06:00", "2027-03-20 06:00"),  # 00:00 to 24:00 MDT
    ], id="floating-in-denver"),
    pytest.param("floating.ics", CHICAGO, local("2027-03-11 00:00"), local("2027-03-12 00:00"), [], id="floating-dtstart-only-blocks-nothing"),
    # The floating series' EXDATE is written in UTC (14:00Z): it removes Wed 24 09:00 CDT, so the
    # floating times are placed in the zone before the series meets its EXDATE.
    pytest.param("floating.ics", CHICAGO, local("2027-03-24 00:00"), local("2027-03-25 00:00"), [], id="floating-series-exdate-in-utc"),
    pytest.param("floating.ics", CHICAGO, local("2027-03-31 00:00"), local("2027-04-01 00:00"),
                 [span("2027-03-31 14:00", "2027-03-31 14:50")], id="floating-series-after-its-exdate"),
]


@pytest.mark.parametrize(("source", "zone", "start", "end", "expected"), TABLE)
def test_busy_intervals_of_each_feed_and_window(source: str | bytes, zone: ZoneInfo, start: datetime, end: datetime, expected: list[Busy]) -> None:
    busy = busy_times(feed(source) if isinstance(source, str) else source, start, end, zone)
    assert busy == expected
    assert all(first.utcoffset() == timedelta(0) for first, _ in busy), "in UTC"


def test_sessions_at_ten_keep_ten_oclock_local_across_the_change() -> None:
    """Outlook's weekly series in Windows-named zones: 10:00 before and after 2027-03-14."""
    busy = busy_times(feed("outlook.ics"), local("2027-03-08 00:00"), local("2027-03-22 00:00"), CHICAGO)
    eastern = [first for first, last in busy if last - first == timedelta(minutes=50)]
    central = [first for first, last in busy if last - first == timedelta(hours=1)]
    assert eastern == [utc("2027-03-10 15:00"), utc("2027-03-17 14:00")]
    assert central == [utc("2027-03-08 16:00"), utc("2027-03-15 15:00")]
    assert {first.astimezone(NEW_YORK).hour for first in eastern} == {first.astimezone(CHICAGO).hour for first in central} == {10}


def test_all_day_events_follow_the_practice_zone_across_the_change() -> None:
    away = busy_times(feed("outlook.ics"), local("2027-03-13 00:00"), local("2027-03-15 00:00"), CHICAGO)
    assert away == [span("2027-03-13 06:00", "2027-03-15 05:00")]
    assert away[0][1] - away[0][0] == timedelta(hours=47), "Sunday the 14th has 23 hours"


def one_event(lines: str, calendar_lines: str = "") -> bytes:
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\n{calendar_lines}BEGIN:VEVENT\nUID:1\nSUMMARY:Session with Priya Shah\n{lines}END:VEVENT\nEND:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


BROKEN = [
    pytest.param(feed("broken.ics"), id="html-sign-in-page"),
    pytest.param(b"", id="empty"),
    pytest.param(b'{"error": "the calendar of Priya Shah is private"}', id="json"),
    pytest.param(feed("google.ics")[:2000], id="cut-short"),
    pytest.param(b"BEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Priya Shah\r\nDTSTART:20270301T100000Z\r\nDTEND:20270301T110000Z\r\nEND:VEVENT\r\n", id="no-vcalendar"),
    pytest.param(one_event("DTSTART:Priya Shah at ten\nDTEND:20270301T110000Z\n"), id="bad-date"),
    pytest.param(one_event("DTEND:20270301T110000Z\n"), id="no-dtstart"),
    pytest.param(one_event("DTSTART:20270301T100000Z\nDTEND:20270301T110000Z\nRRULE:FREQ=PRIYA\n"), id="bad-rrule"),
    pytest.param(one_event("DTSTART:20270301T100000Z\nDTSTART:20270302T100000Z\nDTEND:20270301T110000Z\n"), id="repeated-dtstart"),
    pytest.param(one_event("DTSTART:20270301T100000\nDTEND:20270301T110000\n", "X-WR-TIMEZONE:Priya/Shah\n"), id="unknown-x-wr-timezone"),
    pytest.param(one_event("DTSTART;TZID=America:20270301T100000\nDTEND;TZID=America:20270301T110000\n"), id="tzid-names-a-folder"),
]


@pytest.mark.parametrize("broken", BROKEN)
def test_a_feed_that_cannot_be_read_raises_a_one_line_error_quoting_nothing_of_it(broken: bytes) -> None:
    with pytest.raises(CalendarError) as raised:
        busy_times(broken, local("2027-03-01 00:00"), local("2027-04-01 00:00"), CHICAGO)
    message = str(raised.value)
    assert message and "\n" not in message
    assert not {"Priya", "Shah", "private", "Sign", "7f3a9c2e", "America"} & set(re.findall(r"\w+", message)), message
    unchained = raised.value.__cause__ is None and (raised.value.__context__ is None or raised.value.__suppress_context__)
    assert unchained, "the library's error, whose message quotes the feed, is not attached to ours"


def test_mangled_feeds_either_raise_calendar_error_or_give_sorted_merged_utc_intervals() -> None:
    """Bytes changed, dropped and repeated at random (seeded) in the fixtures: nothing but
    CalendarError escapes, and whatever is read keeps the promised shape."""
    rng, sources = random.Random(13), [feed("google.ics"), feed("outlook.ics"), feed("floating.ics")]
    start, end = local("2027-03-01 00:00"), local("2027-04-01 00:00")
    outcomes = {"read": 0, "refused": 0}
    for _ in range(300):
        mangled = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(mangled))
            choice = rng.random()
            if choice < 0.4:
                mangled[at] = rng.randrange(32, 127)
            elif choice < 0.7:
                del mangled[at:at + rng.randint(1, 12)]
            else:
                copied = rng.randrange(len(mangled))
                mangled[at:at] = mangled[copied:copied + rng.randint(1, 40)]
        try:
            busy = busy_times(bytes(mangled), start, end, CHICAGO)
        except CalendarError:
            outcomes["refused"] += 1
            continue
        outcomes["read"] += 1
        assert all(first < last and first < end and last > start and first.utcoffset() == timedelta(0) for first, last in busy)
        assert all(earlier[1] < later[0] for earlier, later in pairwise(busy)), "sorted, and touching intervals joined"
    assert outcomes["read"] > 50 and outcomes["refused"] > 50, outcomes


def caseload(series: int) -> bytes:
    """A clinician's year: ``series`` weekly sessions of 50 minutes (Mon to Fri from 08:00) in the
    TZID Google's feeds use, each with an EXDATE (week 10) and a moved instance (week 11, a day later)."""
    def stamp(moment: datetime) -> str:
        return "TZID=America/Chicago:" + moment.strftime("%Y%m%dT%H%M%S")

    events = []
    for number in range(series):
        first = datetime(2027, 1, 4 + number % 5, 8 + number // 5)
        moved = first + timedelta(weeks=10)
        events.append(f"BEGIN:VEVENT\nUID:series-{number}\nDTSTART;{stamp(first)}\nDTEND;{stamp(first + timedelta(minutes=50))}\n"
                      f"RRULE:FREQ=WEEKLY;COUNT=52\nEXDATE;{stamp(first + timedelta(weeks=9))}\nSUMMARY:Session\nEND:VEVENT\n"
                      f"BEGIN:VEVENT\nUID:series-{number}\nRECURRENCE-ID;{stamp(moved)}\nDTSTART;{stamp(moved + timedelta(days=1))}\n"
                      f"DTEND;{stamp(moved + timedelta(days=1, minutes=50))}\nSUMMARY:Session\nEND:VEVENT\n")
    text = "BEGIN:VCALENDAR\nVERSION:2.0\nX-WR-TIMEZONE:America/Chicago\n" + "".join(events) + "END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def test_speed_of_a_year_of_weekly_sessions_over_sixty_days(capsys: pytest.CaptureFixture[str]) -> None:
    """Printed, not asserted: feeds are expanded in the background, never while a reply waits."""
    start = local("2027-03-01 00:00")
    end = start + timedelta(days=60)
    # Nine Mondays, Mar 1 to Apr 26, at 08:00 (14:00Z, then 13:00Z), less the EXDATE (Mar 8); Mar 15's moved to Tue 16.
    mondays = busy_times(caseload(1), start, end, CHICAGO)
    assert len(mondays) == 8 and span("2027-03-16 13:00", "2027-03-16 13:50") in mondays
    lines = []
    for series in (1, 25):
        ics = caseload(series)
        timings = []
        for _ in range(5):
            began = clock.perf_counter()
            busy_times(ics, start, end, CHICAGO)
            timings.append(clock.perf_counter() - began)
        lines.append(f"busy_times, {series} weekly series of a year over 60 days: best {min(timings) * 1000:.1f} ms of 5 ({len(ics)} bytes)")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
