"""Reading a clinician's CalDAV calendar, against a real Radicale on loopback.

What is put on the server is what clinicians' calendar apps write: a weekly series in
America/Chicago with a cancelled session (EXDATE) and moved ones (RECURRENCE-ID overrides, one
moved into the window from a week before it), across the 2027 spring-forward (14 March), a
one-off in a Microsoft-named zone, an all-day event. The document read must give busy.py exactly
the right busy time, and every way a read fails must be one CalendarError line without the password.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
from caldav.lib import vcal
from servers.radicale import Radicale

from responder.calendars.busy import CalendarError, busy_times
from responder.calendars.caldav import caldav_tag, read_caldav

CHICAGO = ZoneInfo("America/Chicago")
START = datetime(2027, 3, 1, tzinfo=CHICAGO)  # the window: four weeks, across spring-forward
END = datetime(2027, 3, 29, tzinfo=CHICAGO)
USER = "marco"

CHICAGO_ZONE = """\
BEGIN:VTIMEZONE
TZID:America/Chicago
BEGIN:DAYLIGHT
TZOFFSETFROM:-0600
TZOFFSETTO:-0500
TZNAME:CDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0500
TZOFFSETTO:-0600
TZNAME:CST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
"""

# A weekly Monday session since January: 8 March cancelled, 22 February moved to Wednesday
# 3 March (into the window), 15 March moved to Tuesday 16 March.
WEEKLY = f"""\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//macOS 14.0//EN
{CHICAGO_ZONE}BEGIN:VEVENT
UID:weekly-1@example.org
DTSTAMP:20270101T000000Z
DTSTART;TZID=America/Chicago:20270104T100000
DTEND;TZID=America/Chicago:20270104T110000
RRULE:FREQ=WEEKLY;BYDAY=MO
EXDATE;TZID=America/Chicago:20270308T100000
SUMMARY:Client session
END:VEVENT
BEGIN:VEVENT
UID:weekly-1@example.org
DTSTAMP:20270101T000000Z
RECURRENCE-ID;TZID=America/Chicago:20270222T100000
DTSTART;TZID=America/Chicago:20270303T090000
DTEND;TZID=America/Chicago:20270303T100000
SUMMARY:Client session
END:VEVENT
BEGIN:VEVENT
UID:weekly-1@example.org
DTSTAMP:20270101T000000Z
RECURRENCE-ID;TZID=America/Chicago:20270315T100000
DTSTART;TZID=America/Chicago:20270316T140000
DTEND;TZID=America/Chicago:20270316T150000
SUMMARY:Client session
END:VEVENT
END:VCALENDAR
"""

# As Microsoft 365 writes it: a Windows zone name, with its VTIMEZONE.
ONE_OFF = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:Microsoft Exchange Server 2010
BEGIN:VTIMEZONE
TZID:Central Standard Time
BEGIN:STANDARD
DTSTART:16010101T020000
TZOFFSETFROM:-0500
TZOFFSETTO:-0600
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:-0600
TZOFFSETTO:-0500
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:one-off-1@example.org
DTSTAMP:20270101T000000Z
DTSTART;TZID=Central Standard Time:20270317T130000
DTEND;TZID=Central Standard Time:20270317T140000
SUMMARY:Supervision
END:VEVENT
END:VCALENDAR
"""

ALL_DAY = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Google Inc//Google Calendar 70.9054//EN
BEGIN:VEVENT
UID:all-day-1@example.org
DTSTAMP:20270101T000000Z
DTSTART;VALUE=DATE:20270324
DTEND;VALUE=DATE:20270325
SUMMARY:Conference
END:VEVENT
END:VCALENDAR
"""

LATER = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:later-1@example.org
DTSTAMP:20270101T000000Z
DTSTART:20270510T150000Z
DTEND:20270510T160000Z
SUMMARY:Far away
END:VEVENT
END:VCALENDAR
"""


def _utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=timezone.utc)


def _crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


@pytest.fixture(scope="module")
def calendar(radicale: Radicale) -> str:
    """Marco's calendar with the events above (and one far outside the window)."""
    url = radicale.make_calendar(USER)
    for ics in (WEEKLY, ONE_OFF, ALL_DAY, LATER):
        radicale.put_event(url, USER, _crlf(ics))
    return url


def _read(radicale: Radicale, url: str, **kwargs: object) -> bytes:
    return read_caldav(url, USER, radicale.users[USER], START, END, **kwargs)  # type: ignore[arg-type]


def test_the_document_gives_exactly_the_busy_time(radicale: Radicale, calendar: str) -> None:
    busy = busy_times(_read(radicale, calendar), START, END, CHICAGO)
    assert busy == [
        (_utc(2027, 3, 1, 16), _utc(2027, 3, 1, 17)),    # Monday 10:00 CST
        (_utc(2027, 3, 3, 15), _utc(2027, 3, 3, 16)),    # 22 Feb moved to Wednesday 09:00 CST
        # 8 March: cancelled (EXDATE)
        (_utc(2027, 3, 16, 19), _utc(2027, 3, 16, 20)),  # 15 March moved to Tuesday 14:00 CDT
        (_utc(2027, 3, 17, 18), _utc(2027, 3, 17, 19)),  # 13:00 "Central Standard Time", i.e. CDT
        (_utc(2027, 3, 22, 15), _utc(2027, 3, 22, 16)),  # Monday 10:00 CDT: spring-forward kept the hour
        (_utc(2027, 3, 24, 5), _utc(2027, 3, 25, 5)),    # all day, Chicago midnight to midnight
    ]


def test_the_document_is_one_calendar_with_masters_overrides_and_zones(radicale: Radicale, calendar: str) -> None:
    document = icalendar.Calendar.from_ical(_read(radicale, calendar))
    events = [(str(event["UID"]), event.get("RECURRENCE-ID") is not None) for event in document.walk("VEVENT")]
    assert sorted(events) == sorted([("weekly-1@example.org", False), ("weekly-1@example.org", True),
                                     ("weekly-1@example.org", True), ("one-off-1@example.org", False),
                                     ("all-day-1@example.org", False)])  # not the May event: server-side time range
    assert sorted(str(zone["TZID"]) for zone in document.walk("VTIMEZONE")) == ["America/Chicago", "Central Standard Time"]


def test_an_empty_calendar_is_an_empty_document(radicale: Radicale) -> None:
    document = icalendar.Calendar.from_ical(_read(radicale, radicale.make_calendar(USER)))
    assert document.walk("VEVENT") == []


def test_a_read_is_one_propfind_and_one_report_after_the_login_challenge(radicale: Radicale, calendar: str) -> None:
    before = len(radicale.answered(calendar))
    _read(radicale, calendar)
    assert radicale.answered(calendar)[before:] == [("PROPFIND", 401), ("PROPFIND", 207), ("REPORT", 207)]


def test_the_tag_is_one_propfind_and_changes_with_any_event(radicale: Radicale) -> None:
    url = radicale.make_calendar(USER)
    password = radicale.users[USER]
    first = caldav_tag(url, USER, password)
    assert first
    before = len(radicale.answered(url))
    assert caldav_tag(url, USER, password) == first
    assert radicale.answered(url)[before:] == [("PROPFIND", 401), ("PROPFIND", 207)]
    event = radicale.put_event(url, USER, _crlf(ONE_OFF))
    added = caldav_tag(url, USER, password)
    assert added != first
    radicale.delete(event, USER)
    assert caldav_tag(url, USER, password) != added  # Radicale's CTag hashes the contents: back to `first`


def test_a_wrong_password_fails_without_the_password(radicale: Radicale, calendar: str) -> None:
    for call in (lambda: read_caldav(calendar, USER, "Wr0ng-s3cret", START, END),
                 lambda: caldav_tag(calendar, USER, "Wr0ng-s3cret")):
        with pytest.raises(CalendarError) as failure:
            call()
        message = str(failure.value)
        assert "401" in message and "Wr0ng-s3cret" not in message and "\n" not in message
        assert failure.value.__cause__ is None and failure.value.__suppress_context__


def test_another_users_calendar_is_refused(radicale: Radicale) -> None:
    theirs = radicale.make_calendar("priya")
    with pytest.raises(CalendarError, match="403"):
        _read(radicale, theirs)


def test_an_unknown_collection_fails(radicale: Radicale) -> None:
    with pytest.raises(CalendarError, match="no calendar at that address .*404"):
        _read(radicale, f"{radicale.url}{USER}/no-such-calendar/")
    with pytest.raises(CalendarError, match="404"):
        caldav_tag(f"{radicale.url}{USER}/no-such-calendar/", USER, radicale.users[USER])


@pytest.mark.parametrize("kind", ["address book", "home collection", "one event"])
def test_an_address_that_is_not_a_calendar_fails(radicale: Radicale, kind: str) -> None:
    """A time-range REPORT on the first two answers "nothing", which would read as weeks of free time."""
    url = {"address book": lambda: radicale.make_addressbook(USER), "home collection": lambda: f"{radicale.url}{USER}/",
           "one event": lambda: radicale.put_event(radicale.make_calendar(USER), USER, _crlf(LATER))}[kind]()
    with pytest.raises(CalendarError, match="is not a calendar"):
        _read(radicale, url)
    with pytest.raises(CalendarError, match="is not a calendar"):
        caldav_tag(url, USER, radicale.users[USER])


def test_a_stopped_server_fails_at_once() -> None:
    server = Radicale()
    try:
        server.start()
        url = server.make_calendar(USER)
        server.stop()
        began = time.monotonic()
        with pytest.raises(CalendarError, match=r"could not be reached \(Connection refused\)"):
            read_caldav(url, USER, server.users[USER], START, END, timeout=5)
        assert time.monotonic() - began < 1
    finally:
        server.close()


def test_a_server_that_never_answers_fails_within_the_timeout() -> None:
    """A listening socket nobody reads: the connection opens, the answer never comes."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/{USER}/calendar/"
        began = time.monotonic()
        with pytest.raises(CalendarError, match="did not answer within 1 s"):
            read_caldav(url, USER, "a-password", START, END, timeout=1)
        assert time.monotonic() - began < 3


def test_a_read_of_many_weeks_asks_the_server_for_the_window_only(radicale: Radicale, calendar: str) -> None:
    """The May event is found by a window that holds it, so the previous test's absence is the time range."""
    document = read_caldav(calendar, USER, radicale.users[USER], datetime(2027, 5, 1, tzinfo=CHICAGO),
                           datetime(2027, 5, 1, tzinfo=CHICAGO) + timedelta(days=30))
    uids = {str(event["UID"]) for event in icalendar.Calendar.from_ical(document).walk("VEVENT")}
    assert uids == {"later-1@example.org", "weekly-1@example.org"}


def test_the_library_logs_no_event(radicale: Radicale, monkeypatch: pytest.MonkeyPatch,
                                   caplog: pytest.LogCaptureFixture) -> None:
    """caldav repairs what it reads (here the trailing blanks iCloud leaves after
    X-APPLE-STRUCTURED-EVENT, which Radicale keeps) and warns with a diff of the event, title included."""
    url = radicale.make_calendar(USER)
    radicale.put_event(url, USER, _crlf(ALL_DAY.replace("Conference", "Session with Jane Roe\nX-APPLE-STRUCTURED-EVENT:x  ")))
    monkeypatch.setattr(vcal, "fixup_error_loggings", 0)  # its warnings are rate-limited: make this one the first
    with caplog.at_level(logging.DEBUG):
        document = _read(radicale, url)
    assert b"Jane Roe" in document
    assert not [record for record in caplog.records if record.name.startswith("caldav") or "Jane Roe" in record.getMessage()]


def test_the_keeper_reads_a_caldav_calendar_again_only_when_its_tag_changed(radicale: Radicale, calendar: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml
    from support import write_config

    from responder.calendars.keeper import Calendars
    from responder.config import load

    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["practice"]["timezone"] = "America/Chicago"
    data["practice"]["clinicians"] = [{"id": "marco", "name": "Marco Ortiz, LMFT",
                                       "calendar": {"caldav": calendar, "username": USER, "password": radicale.users[USER]}}]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    calendars = Calendars(load(path, environ={}))
    now = START + timedelta(days=1)
    before = len(radicale.answered(calendar))
    assert calendars.refresh(now) == {}
    busy = calendars.busy("marco", now)
    assert busy and [m for m, _ in radicale.answered(calendar)[before:]].count("REPORT") == 1
    middle = len(radicale.answered(calendar))
    assert calendars.refresh(now + timedelta(minutes=5)) == {}
    assert [m for m, _ in radicale.answered(calendar)[middle:]].count("REPORT") == 0, "unchanged: the tag alone is asked"
    assert calendars.busy("marco", now + timedelta(minutes=5)) == busy
    added = radicale.put_event(calendar, USER, _crlf(ONE_OFF.replace("UID:", "UID:again-")))
    try:
        last = len(radicale.answered(calendar))
        assert calendars.refresh(now + timedelta(minutes=10)) == {}
        assert [m for m, _ in radicale.answered(calendar)[last:]].count("REPORT") == 1, "changed: read again"
    finally:
        radicale.delete(added, USER)
