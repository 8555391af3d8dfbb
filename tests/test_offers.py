"""A group practice's first reply names who fits and when they are free (issue 13): the clinician
who fits, her first openings on different days from her feed, a way to take one; Spanish for a
Spanish message; an honest "full" when nobody fits; and a feed that fails delays no reply."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from servers.smtp import SmtpSink
from support import inquiry, migrated, write_config
from test_availability import Feeds, feeds  # noqa: F401 - the fixture, by name

from responder.calendars.openings import openings
from responder.calendars.slots import Slot
from responder.config import load
from responder.inbox import Viewer
from responder.model import ConversationOutcome, Role
from responder.replying.offers import when
from responder.service import Service

CHICAGO = ZoneInfo("America/Chicago")


def weekly_busy(day: date) -> bytes:
    """A feed with one busy hour, 09:00-10:00 local on ``day`` (so that day's first slots go)."""
    start = datetime.combine(day, datetime.min.time().replace(hour=9), CHICAGO).astimezone(timezone.utc)
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:busy@example.org\r\n"
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}\r\n"
            f"SUMMARY:Client\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()


def service(tmp_path: Path, smtp: SmtpSink, feeds: Feeds, clinicians: list[dict[str, object]]) -> Service:  # noqa: F811
    path = write_config(tmp_path, email={"smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}})
    data = yaml.safe_load(path.read_text())
    practice = data["practice"]
    practice["timezone"] = "America/Chicago"
    practice["consultation"] = {"offered": True, "minutes": 15, "booking_url": "https://harborlight.example.org/book"}
    practice["availability"] = {"hours": {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}, "typical_wait": "within two weeks"}
    practice["services"] = {"offered": ["individual", "couples", "teen", "group", "emdr"]}
    practice["clinicians"] = clinicians
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return Service(migrated(load(path, environ={})))


PRIYA = {"id": "priya", "name": "Priya Raman, LCSW", "plans": ["aetna"], "services": ["individual", "teen"], "ages": [13, 70],
         "languages": ["en"], "consultation_hours": {day: "09:00-12:00" for day in ("mon", "tue", "wed", "thu", "fri")},
         "booking_url": "https://harborlight.example.org/book/priya"}
MARCO = {"id": "marco", "name": "Marco Ortiz, LMFT", "plans": ["cigna"], "services": ["individual", "couples"], "ages": [18, 99],
         "languages": ["en", "es"], "consultation_hours": {day: "13:00-17:00" for day in ("mon", "wed")}}


@pytest.fixture
def sink(smtp: SmtpSink) -> SmtpSink:
    smtp.messages.clear()
    return smtp


def test_the_reply_names_the_clinician_who_fits_and_her_first_openings(tmp_path: Path, sink: SmtpSink, feeds: Feeds) -> None:  # noqa: F811
    tomorrow = (datetime.now(CHICAGO) + timedelta(days=1)).date()
    feeds.documents["/priya.ics"] = weekly_busy(tomorrow)
    running = service(tmp_path, sink, feeds, [PRIYA | {"calendar": f"{feeds.url}/priya.ics"}, MARCO])
    now = datetime.now(timezone.utc)
    assert running.calendars.refresh(now) == {}
    expected = next(o for o in openings(running.config, running.calendars, now) if o.clinician == "priya").slots
    outcome = running.pipeline.ingest_email("test", inquiry(body="Hi, my son, 16, is struggling at school. We have Aetna. Can he be seen?"))
    assert outcome.status == "answered"
    [reply] = [row for row in running.store.outgoing() if row["kind"] == "reply"]
    body = reply["body"]
    assert "Priya Raman, LCSW fits what you describe" in body and "Marco" not in body, "marco sees adults, with other plans"
    offered = [when(slot, CHICAGO, "en") for slot in _first_of_each_day(expected)[:3]]
    assert f"is free for a first conversation on {offered[0]}, {offered[1]} or {offered[2]}." in body
    assert "https://harborlight.example.org/book/priya" in body and "most people start" not in body
    assert not any(slot.start.astimezone(CHICAGO).date() == tomorrow and slot.start.astimezone(CHICAGO).hour < 10 for slot in expected)


def test_a_spanish_message_gets_a_spanish_speaking_clinician_in_spanish(tmp_path: Path, sink: SmtpSink, feeds: Feeds) -> None:  # noqa: F811
    running = service(tmp_path, sink, feeds, [PRIYA, MARCO])
    running.calendars.refresh(datetime.now(timezone.utc))
    running.pipeline.ingest_email("test", inquiry(subject="Terapia de pareja", body="Hola, buscamos terapia de pareja. Tenemos Cigna. "
                                                                                 "¿Tienen disponibilidad?"))
    [reply] = [row for row in running.store.outgoing() if row["kind"] == "reply"]
    assert "Marco Ortiz, LMFT puede atender lo que usted describe y tiene tiempo para una primera conversación el " in reply["body"]
    assert any(f" de {month} a las " in reply["body"] for month in ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
                                                                     "agosto", "septiembre", "octubre", "noviembre", "diciembre"))
    assert "Priya" not in reply["body"]


def test_nobody_fits_says_so_and_offers_the_waitlist(tmp_path: Path, sink: SmtpSink, feeds: Feeds) -> None:  # noqa: F811
    running = service(tmp_path, sink, feeds, [PRIYA | {"accepting_new_clients": False}, MARCO])
    running.pipeline.ingest_email("test", inquiry(body="Hello, I'm looking for therapy for my daughter, she's 15. We have Aetna."))
    [reply] = [row for row in running.store.outgoing() if row["kind"] == "reply"]
    assert "are full right now" in reply["body"] and "waitlist" in reply["body"]
    assert "Priya" not in reply["body"] and "Marco" not in reply["body"], "never a wrong name"


def test_a_feed_that_fails_delays_no_reply(tmp_path: Path, sink: SmtpSink, feeds: Feeds) -> None:  # noqa: F811
    feeds.failing.add("/priya.ics")
    running = service(tmp_path, sink, feeds, [PRIYA | {"calendar": f"{feeds.url}/priya.ics"}])
    assert "priya" in running.calendars.refresh(datetime.now(timezone.utc))
    started = datetime.now(timezone.utc)
    running.pipeline.ingest_email("test", inquiry(body="Hi, I'm 34 and looking for therapy for anxiety. I have Aetna."))
    assert datetime.now(timezone.utc) - started < timedelta(seconds=2)
    [reply] = [row for row in running.store.outgoing() if row["kind"] == "reply"]
    assert "Priya Raman, LCSW fits what you describe." in reply["body"], "named, with no opening a failed calendar cannot vouch for"
    assert "book here: https://harborlight.example.org/book/priya" in reply["body"]
    assert "Most people start within two weeks." in reply["body"], "the static availability text instead"


def _first_of_each_day(slots: tuple[Slot, ...]) -> list[Slot]:
    seen: set[date] = set()
    found = []
    for slot in slots:
        day = slot.start.astimezone(CHICAGO).date()
        if day not in seen:
            seen.add(day)
            found.append(slot)
    return found


def test_a_new_persons_conversation_is_the_best_fits_and_her_notices_follow(tmp_path: Path, sink: SmtpSink, feeds: Feeds) -> None:  # noqa: F811
    running = service(tmp_path, sink, feeds, [PRIYA | {"email": "priya@practice.test"}, MARCO])
    path = Path(running.config.base_dir) / "config.yaml"
    data = yaml.safe_load(path.read_text())
    data["replies"] = {"new_inquiry": {"mode": "approve"}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    running = Service(load(path, environ={}))
    held = running.pipeline.ingest_email("test", inquiry(body="Hi, my son, 16, is struggling at school. We have Aetna."))
    assert held.status == "held"
    notices = sorted(row["to_addr"] for row in running.store.outgoing() if row["kind"] == "notice")
    assert notices == ["clinician@practice.test", "priya@practice.test"], "practice.notify, and the clinician who fits"
    conversation = running.store.message(held.message_id)["conversation_id"]
    [mine], _ = running.inbox.list(Viewer("priya", Role.CLINICIAN, "priya"))
    assert mine.id == conversation and mine.clinician == "priya", "assigned to her: she sees it, and later notices reach her"


def test_a_clinician_asked_for_who_does_not_fit_is_told_kindly_with_who_does(tmp_path: Path, sink: SmtpSink, feeds: Feeds) -> None:  # noqa: F811
    running = service(tmp_path, sink, feeds, [PRIYA | {"accepting_new_clients": False}, MARCO])
    running.pipeline.ingest_email("test", inquiry(body="Hello, is Priya taking new clients? I'm 40 and looking for individual therapy. "
                                                      "I have Cigna."))
    [reply] = [row for row in running.store.outgoing() if row["kind"] == "reply"]
    body = " ".join(reply["body"].split())
    assert "You asked about Priya Raman, LCSW, who is not taking new clients right now, so here is who can help." in body
    assert "Marco Ortiz, LMFT fits what you describe" in body


def test_a_person_told_the_clinicians_are_full_is_on_the_waitlist_until_an_outcome(tmp_path: Path, sink: SmtpSink, feeds: Feeds) -> None:  # noqa: F811
    running = service(tmp_path, sink, feeds, [PRIYA | {"accepting_new_clients": False}, MARCO])
    full = running.pipeline.ingest_email("test", inquiry(sender="dana.k@example.org", body="Hello, my daughter is 15 and anxious. We have Aetna."))
    running.pipeline.ingest_email("test", inquiry(sender="lee.c@example.org", body="Hi, my partner and I want couples therapy. Cigna."))
    admin = Viewer("owner", Role.ADMIN)
    [waiting] = running.inbox.waitlist(admin)
    assert waiting.id == running.store.message(full.message_id)["conversation_id"] and waiting.waitlist_since is not None
    running.inbox.mark(waiting.id, admin, ConversationOutcome.CONSULTATION_BOOKED)
    assert running.inbox.waitlist(admin) == []


def test_a_crisis_in_an_assigned_conversation_alerts_her_too(tmp_path: Path, sink: SmtpSink, feeds: Feeds) -> None:  # noqa: F811
    running = service(tmp_path, sink, feeds, [PRIYA | {"email": "priya@practice.test", "phone": "+15550100091"}, MARCO])
    first = running.pipeline.ingest_email("test", inquiry(body="Hi, I'm 34 and looking for therapy for anxiety. I have Aetna."))
    assert running.store.message(first.message_id)["conversation_id"] is not None
    crisis = running.pipeline.ingest_email("test", inquiry(subject="Re: hello", body="I can't do this anymore. I want to kill myself tonight."))
    assert crisis.category == "crisis"
    alerted = sorted(row["to_addr"] for row in running.store.outgoing() if row["kind"] == "alert")
    assert alerted == ["clinician@practice.test", "priya@practice.test"], "practice.notify, and the clinician it is assigned to"


def test_a_person_who_names_their_time_zone_gets_each_opening_in_their_time_too(tmp_path: Path, sink: SmtpSink, feeds: Feeds) -> None:  # noqa: F811
    running = service(tmp_path, sink, feeds, [PRIYA, MARCO])
    running.calendars.refresh(datetime.now(timezone.utc))
    running.pipeline.ingest_email("test", inquiry(body="Hi, I'm 40 and looking for therapy for anxiety. I have Aetna. "
                                                      "I'm on Pacific time, so mornings are hard."))
    [reply] = [row for row in running.store.outgoing() if row["kind"] == "reply"]
    body = " ".join(reply["body"].split())
    assert "Priya Raman, LCSW fits what you describe and is free for a first conversation on " in body
    assert body.count(" your time)") == 3, "each of the three openings, in Pacific time too"
