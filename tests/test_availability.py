"""`responder availability` and the calendars kept for replies (issue 13): feeds served over
HTTP by a real server on loopback (conditional requests counted), files, a failing feed that
keeps its last good copy for a while, and the contract's JSON."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import responder, write_config

from responder.calendars.keeper import STALE_AFTER, Calendars
from responder.config import load

AT = "2027-03-01T09:00:00-06:00"  # a Monday; the horizon crosses the change of 2027-03-14

PRIYA_FEED = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Google Inc//Google Calendar 70.9054//EN\r
X-WR-TIMEZONE:America/Chicago\r
BEGIN:VEVENT\r
UID:weekly-supervision@example.org\r
DTSTART;TZID=America/Chicago:20270202T140000\r
DTEND;TZID=America/Chicago:20270202T150000\r
RRULE:FREQ=WEEKLY;BYDAY=TU\r
EXDATE;TZID=America/Chicago:20270309T140000\r
SUMMARY:Supervision\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:one-client@example.org\r
DTSTART:20270304T150000Z\r
DTEND:20270304T160000Z\r
SUMMARY:Client\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:lunch@example.org\r
DTSTART;TZID=America/Chicago:20270304T110000\r
DTEND;TZID=America/Chicago:20270304T113000\r
TRANSP:TRANSPARENT\r
SUMMARY:Maybe lunch\r
END:VEVENT\r
END:VCALENDAR\r
"""


class Feeds:
    """Calendar feeds over HTTP with ETags, as Google and Microsoft serve them; counts requests."""

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.failing: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []  # path, If-None-Match
        self.not_modified = 0
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                feeds.requests.append((self.path, self.headers.get("If-None-Match")))
                if self.path in feeds.failing or self.path not in feeds.documents:
                    self.send_error(500 if self.path in feeds.failing else 404)
                    return
                body = feeds.documents[self.path]
                etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
                if self.headers.get("If-None-Match") == etag:
                    feeds.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def feeds() -> Iterator[Feeds]:
    served = Feeds()
    yield served
    served.server.shutdown()


def group(tmp_path: Path, feeds: Feeds, **practice: Any) -> Path:
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["practice"]["timezone"] = "America/Chicago"
    data["practice"]["consultation"] = {"offered": True, "minutes": 15}
    data["practice"]["availability"] = {"hours": {"mon": "09:00-17:00"}, "slots": {
        "step_minutes": 30, "buffer_minutes": 10, "minimum_notice_hours": 12, "horizon_days": 14, "offer": 3}}
    data["practice"]["clinicians"] = [
        {"id": "priya", "name": "Priya Raman, LCSW", "consultation_hours": {"tue": "14:00-15:00", "thu": "09:00-10:00"},
         "calendar": f"{feeds.url}/priya.ics"},
        {"id": "dana", "name": "Dana Whitfield, PhD", "accepting_new_clients": False},
    ]
    data["practice"].update(practice)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def starts(found: dict[str, Any], clinician: str) -> list[str]:
    return [slot["start"] for c in found["clinicians"] if c["id"] == clinician for slot in c["slots"]]


def test_availability_prints_each_clinicians_open_slots_from_her_feed(tmp_path: Path, feeds: Feeds) -> None:
    feeds.documents["/priya.ics"] = PRIYA_FEED
    config = group(tmp_path, feeds)
    result = responder(config, "availability", "--json", "--at", AT)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["at"] == AT
    assert [c["id"] for c in found["clinicians"]] == ["priya", "dana"]
    priya = next(c for c in found["clinicians"] if c["id"] == "priya")
    assert priya["calendar"] == "ok"
    # Tuesdays 14:00-15:00 are supervision (blocked with their buffer), but for the EXDATE on the
    # 9th; Thursday the 4th is a client at 09:00-10:00 local (15:00Z); the transparent lunch
    # blocks nothing. After the change of the 14th, the offsets move to -05:00.
    assert starts(found, "priya") == [
        "2027-03-09T14:00:00-06:00", "2027-03-09T14:30:00-06:00",
        "2027-03-11T09:00:00-06:00", "2027-03-11T09:30:00-06:00",
    ]
    assert next(c for c in found["clinicians"] if c["id"] == "dana") == {"id": "dana", "calendar": "none", "slots": []}
    only = json.loads(responder(config, "availability", "--json", "--at", AT, "--clinician", "priya").stdout)
    assert [c["id"] for c in only["clinicians"]] == ["priya"]
    assert responder(config, "availability", "--clinician", "nobody").returncode == 2


def test_a_feed_that_fails_makes_the_command_fail_and_still_prints_the_others(tmp_path: Path, feeds: Feeds) -> None:
    feeds.failing.add("/priya.ics")
    config = group(tmp_path, feeds)
    result = responder(config, "availability", "--json", "--at", AT)
    assert result.returncode == 1
    found = json.loads(result.stdout)
    priya = next(c for c in found["clinicians"] if c["id"] == "priya")
    assert priya["calendar"] == "failed" and priya["slots"] == [] and "HTTP 500" in priya["error"]
    assert "priya.ics" not in priya["error"] and "127.0.0.1" in priya["error"], "the host, never the secret address"
    assert [c["id"] for c in found["clinicians"]] == ["priya", "dana"]


def test_refreshes_ask_with_the_etag_and_a_failing_feed_keeps_its_copy_for_a_while(tmp_path: Path, feeds: Feeds) -> None:
    feeds.documents["/priya.ics"] = PRIYA_FEED
    calendars = Calendars(load(group(tmp_path, feeds), environ={}))
    now = datetime(2027, 3, 1, 15, 0, tzinfo=timezone.utc)
    assert calendars.refresh(now) == {} and feeds.requests[-1][1] is None
    first = calendars.busy("priya", now)
    assert first and calendars.refresh(now + timedelta(minutes=5)) == {}
    assert feeds.not_modified == 1 and feeds.requests[-1][1] is not None, "the second read is conditional, and answered 304"
    assert calendars.busy("priya", now + timedelta(minutes=5)) == first

    feeds.failing.add("/priya.ics")
    later = now + timedelta(minutes=10)
    assert "priya" in calendars.refresh(later)
    assert calendars.busy("priya", later) == first, "the last good copy, for a while"
    assert calendars.failing() == {"priya": "the feed at 127.0.0.1 answered HTTP 500"}
    assert calendars.busy("priya", later + STALE_AFTER + timedelta(minutes=1)) is None, "then nothing is believed"

    feeds.failing.clear()
    assert calendars.refresh(later + STALE_AFTER) == {} and calendars.failing() == {}
    assert calendars.busy("priya", later + STALE_AFTER) is not None


def test_a_file_feed_and_a_solo_practice(tmp_path: Path, feeds: Feeds) -> None:
    (tmp_path / "closures.ics").write_bytes(PRIYA_FEED.replace(b"BYDAY=TU", b"BYDAY=MO").replace(b"20270202", b"20270201")
                                            .replace(b"EXDATE;TZID=America/Chicago:20270309T140000\r\n", b""))
    config = group(tmp_path, feeds, clinicians=[])
    data = yaml.safe_load(config.read_text())
    data["practice"]["availability"]["calendar_ics"] = str(tmp_path / "closures.ics")
    data["practice"]["availability"]["hours"] = {"mon": "13:30-15:30"}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    found = json.loads(responder(config, "availability", "--json", "--at", AT).stdout)
    # Mondays 14:00-15:00 are busy: 13:30 (with its buffer 13:20-13:55) is open; 14:00 and 14:30 are
    # not; 15:00's buffer begins at 14:50, inside the busy hour. The 1st is inside the notice, the
    # 15th's afternoon past the horizon (which ends at 10:00 that morning).
    assert [c["id"] for c in found["clinicians"]] == ["practice"]
    assert starts(found, "practice") == ["2027-03-08T13:30:00-06:00"]
