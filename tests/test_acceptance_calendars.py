"""The acceptance check of issue 13, from outside: the real `responder` command line (and `serve`)
against calendar feeds served over HTTP on loopback, checked against an oracle written here.

A group practice of four clinicians (Chicago) whose calendars are a Google feed (X-WR-TIMEZONE,
TZID=America/Chicago, a weekly series with an EXDATE and moved instances, a weekly series written
in UTC, an all-day event, TRANSPARENT and CANCELLED events), a Microsoft 365 feed (Windows zone
names with their VTIMEZONE blocks, quoted and not, an EXDATE, moved instances, a Free event, an
all-day Away) and an Apple feed (floating times, RDATE, a TENTATIVE event), plus a practice-wide
closures file. The busy time each feed means is written out by hand below; the slots are worked
out from it by brute force, reading the contract's availability rule literally, over two weeks
across each daylight-saving change of 2027 (March 14 and November 7). Then: who fits a message,
best first; the reply naming her and her first openings; and a feed that fails (HTTP 500 to the
command line, a server that never answers to `serve`) delaying no reply.
"""

from __future__ import annotations

import email
import json
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from support import eventually, inquiry, responder, start_responder, write_config
from test_availability import Feeds

FIXTURES = Path(__file__).parent / "fixtures" / "calendars-acceptance"
CHICAGO = ZoneInfo("America/Chicago")
UTC = timezone.utc

MARCH = "2027-03-08T08:00:00-06:00"  # a Monday (CST); the horizon ends Mon 22 at 09:00 CDT, past March 14
NOVEMBER = "2027-11-01T08:00:00-05:00"  # a Monday (CDT); the horizon ends Mon 15 at 07:00 CST, past November 7

# The practice's rule, as configured below.
MINUTES, STEP, BUFFER, NOTICE_HOURS, HORIZON_DAYS, OFFER = 20, 30, 10, 12, 14, 3
CLOSED = {date(2027, 3, 19), date(2027, 11, 11)}
FEED_TIMEOUT_SECONDS = 10  # how long responder waits for a feed (responder/calendars/feeds.py)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRACTICE_HOURS = {"mon": "09:00-18:00", "tue": "09:00-18:00", "wed": "09:00-18:00", "thu": "12:00-20:00", "fri": "09:00-14:00"}

PRIYA = {"id": "priya", "name": "Priya Raman, LCSW", "plans": ["aetna", "medicare"], "services": ["individual", "teen", "emdr"],
         "ages": [13, 70], "languages": ["en"], "modalities": ["telehealth", "in_person"],
         "consultation_hours": {"tue": "14:00-18:00", "thu": "09:00-12:00"}, "booking_url": "https://harborlight.example.org/book/priya"}
MARCO = {"id": "marco", "name": "Marco Ortiz, LMFT", "plans": ["cigna", "uhc"], "services": ["individual", "couples", "group"],
         "ages": [18, 99], "languages": ["en", "es"], "modalities": ["telehealth"],
         "consultation_hours": {"mon": "09:00-12:00", "wed": "13:15-17:00"}}  # a window that opens off the hour: the grid counts from 13:15
LUCIA = {"id": "lucia", "name": "Lucía Fernández, LPC", "plans": ["aetna"], "services": ["individual", "teen"], "ages": [12, 65],
         "languages": ["en", "es"], "modalities": ["telehealth"]}  # no consultation_hours: the practice's hours
DANA = {"id": "dana", "name": "Dana Whitfield, PhD", "accepting_new_clients": False, "services": ["individual", "couples"]}
CLINICIANS = [PRIYA, MARCO, LUCIA, DANA]
HOURS = {"priya": PRIYA["consultation_hours"], "marco": MARCO["consultation_hours"], "lucia": PRACTICE_HOURS}
NAMES = {"priya": PRIYA["name"], "marco": MARCO["name"], "lucia": LUCIA["name"]}
FEED_FILES = {"priya": "google-priya.ics", "marco": "outlook-marco.ics", "lucia": "apple-lucia.ics"}

Busy = tuple[datetime, datetime]


def z(start: str, end: str) -> Busy:
    """A busy interval written in UTC as "YYYY-MM-DD HH:MM"."""
    return datetime.fromisoformat(start).replace(tzinfo=UTC), datetime.fromisoformat(end).replace(tzinfo=UTC)


# What each feed makes busy around each period, by hand (UTC; CST is UTC-6, CDT UTC-5, EST UTC-5, EDT UTC-4).
BUSY: dict[tuple[str, str], list[Busy]] = {
    ("priya", MARCH): [  # google-priya.ics, X-WR-TIMEZONE America/Chicago
        # Supervision, Tue 15:00-16:00 Chicago weekly: Mar 9 is an EXDATE.
        z("2027-03-09 20:00", "2027-03-09 20:45"),  # a client written in UTC: Tue 14:00-14:45 CST
        z("2027-03-11 06:00", "2027-03-12 06:00"),  # all-day conference Thu 11: 00:00 to 24:00 CST (the huddle inside it)
        # Tue 16: a CANCELLED client 14:00-15:00 CDT blocks nothing; supervision moved (RECURRENCE-ID) from 15:00 to ...
        z("2027-03-16 21:30", "2027-03-16 22:30"),  # ... 16:30-17:30 CDT
        # Thu 18: notes 09:00-12:00 are TRANSPARENT. The huddle, a weekly series written 16:00Z on a January Thursday
        # (10:00 CST), keeps 10:00 in the feed's X-WR-TIMEZONE, as Google means it: 10:00-10:30 CDT.
        z("2027-03-18 15:00", "2027-03-18 15:30"),
        z("2027-03-18 16:15", "2027-03-18 16:45"),  # a client written in UTC: 11:15-11:45 CDT
        z("2027-03-23 20:00", "2027-03-23 21:00"),  # supervision, Tue 23 15:00 CDT (past the horizon)
    ],
    ("priya", NOVEMBER): [
        # Tue Nov 2: supervision EXDATE.
        z("2027-11-02 19:00", "2027-11-02 19:30"),  # a client written in UTC: 14:00-14:30 CDT
        z("2027-11-04 15:00", "2027-11-04 15:30"),  # huddle 10:00 CDT; a CANCELLED workshop 09:00-12:00 blocks nothing
        # Tue Nov 9: admin time 14:00-15:00 is TRANSPARENT; supervision moved from 15:00 to ...
        z("2027-11-09 23:00", "2027-11-10 00:00"),  # ... 17:00-18:00 CST
        z("2027-11-11 16:00", "2027-11-11 16:30"),  # huddle 10:00 CST (a closed day anyway)
        z("2027-11-16 21:00", "2027-11-16 22:00"),  # supervision, Tue 16 15:00 CST (past the horizon)
    ],
    ("marco", MARCH): [  # outlook-marco.ics: "Central Standard Time" and "Eastern Standard Time"
        z("2027-03-08 16:00", "2027-03-08 17:00"),  # Mon 10:00-11:00 Central, weekly
        z("2027-03-10 19:00", "2027-03-10 19:50"),  # Wed 14:00-14:50 Eastern, weekly: 13:00-13:50 CST
        z("2027-03-15 15:00", "2027-03-15 16:00"),  # Mon 10:00 CDT; the Free event 09:00-09:30 blocks nothing
        z("2027-03-17 20:00", "2027-03-17 21:00"),  # Wed 17's 14:00 Eastern moved to 16:00-17:00 EDT: 15:00-16:00 CDT
        z("2027-03-22 15:00", "2027-03-22 16:00"),  # Mon 10:00 CDT
    ],
    ("marco", NOVEMBER): [
        z("2027-11-01 15:00", "2027-11-01 16:00"),  # Mon 10:00 CDT
        z("2027-11-03 21:30", "2027-11-03 22:00"),  # Wed 3's 14:00 Eastern moved to 17:30-18:00 EDT: 16:30-17:00 CDT
        # Mon Nov 8: EXDATE.
        z("2027-11-10 06:00", "2027-11-11 06:00"),  # all-day Away Wed 10, 00:00 to 24:00 CST (the Wed series inside it)
        z("2027-11-15 16:00", "2027-11-15 17:00"),  # Mon 10:00 CST
    ],
    ("lucia", MARCH): [  # apple-lucia.ics: no X-WR-TIMEZONE, so floating times are the practice's
        z("2027-03-08 15:00", "2027-03-08 18:00"),  # sessions Mon and Wed 09:00-12:00 Chicago, weekly
        z("2027-03-09 19:00", "2027-03-09 20:00"),  # a TENTATIVE call 13:00-14:00 CST blocks
        z("2027-03-10 15:00", "2027-03-10 18:00"),
        z("2027-03-11 18:00", "2027-03-11 19:30"),  # floating 12:00-13:30, in CST
        z("2027-03-12 15:00", "2027-03-12 18:00"),  # the sessions' RDATE, Fri 09:00 CST
        z("2027-03-15 14:00", "2027-03-15 17:00"),  # sessions 09:00-12:00 CDT
        z("2027-03-17 14:00", "2027-03-17 17:00"),
        z("2027-03-18 22:00", "2027-03-18 23:00"),  # floating 17:00-18:00, in CDT
        z("2027-03-22 14:00", "2027-03-22 17:00"),
    ],
    ("lucia", NOVEMBER): [
        z("2027-11-01 14:00", "2027-11-01 17:00"),  # sessions 09:00-12:00 CDT
        z("2027-11-03 14:00", "2027-11-03 17:00"),
        z("2027-11-05 14:00", "2027-11-05 17:00"),  # the RDATE, Fri 09:00 CDT
        z("2027-11-08 15:00", "2027-11-08 18:00"),  # sessions 09:00-12:00 CST
        z("2027-11-09 15:00", "2027-11-09 16:00"),  # floating 09:00-10:00, in CST
        z("2027-11-10 15:00", "2027-11-10 18:00"),
        z("2027-11-15 15:00", "2027-11-15 18:00"),
    ],
}
PRACTICE_BUSY = {  # practice-closures.ics, the practice-wide calendar_ics: everyone's busy time
    MARCH: [z("2027-03-16 17:00", "2027-03-16 18:00")],  # all-staff lunch, Tue 12:00-13:00 CDT
    NOVEMBER: [z("2027-11-09 22:00", "2027-11-09 23:00")],  # all-staff meeting, Tue 16:00-17:00 CST
}


# -- the oracle ----------------------------------------------------------------------------------

def oracle(at: datetime, hours: dict[str, str], busy: list[Busy]) -> list[tuple[datetime, datetime]]:
    """The contract's availability rule read literally, by brute force: every minute from a day
    before ``at`` to a day past the horizon is a candidate start. Windows, grid and "ends inside
    the window" in wall-clock time of the practice's zone; notice, horizon and busy time in
    absolute time."""
    found = []
    first = at.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    for minute in range((HORIZON_DAYS + 2) * 24 * 60):
        start = first + timedelta(minutes=minute)
        end = start + timedelta(minutes=MINUTES)
        wall, wall_end = start.astimezone(CHICAGO), end.astimezone(CHICAGO)
        span = hours.get(DAYS[wall.weekday()])
        if span is None or wall.date() in CLOSED:
            continue
        opens, closes = (int(text[:2]) * 60 + int(text[3:]) for text in span.split("-"))
        since_open = wall.hour * 60 + wall.minute - opens
        ends = (wall_end.date() - wall.date()).days * 24 * 60 + wall_end.hour * 60 + wall_end.minute
        if since_open < 0 or since_open % STEP or ends > closes:
            continue
        if not at + timedelta(hours=NOTICE_HOURS) <= start < at + timedelta(days=HORIZON_DAYS):
            continue
        pad = timedelta(minutes=BUFFER)
        if any(start - pad < busy_end and busy_start < end + pad for busy_start, busy_end in busy):
            continue
        found.append((wall, wall_end))
    return found


def expected_slots(clinician: str, at: str) -> list[tuple[datetime, datetime]]:
    return oracle(datetime.fromisoformat(at), HOURS[clinician], BUSY[clinician, at] + PRACTICE_BUSY[at])


def offered(slots: list[tuple[datetime, datetime]]) -> list[datetime]:
    """The contract's offer: the earliest slot, then the earliest on a day not yet offered."""
    days: list[date] = []
    starts = []
    for start, _ in slots:
        if start.date() not in days and len(starts) < OFFER:
            days.append(start.date())
            starts.append(start)
    return starts


EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
             "December")
ES_DAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
ES_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre",
             "diciembre")


def said(start: datetime, language: str) -> str:
    """A slot as the reply says it (replying/offers.py): "Tuesday, March 9 at 3:00 PM", "martes 9 de marzo a las 15:00"."""
    if language == "es":
        return f"{ES_DAYS[start.weekday()]} {start.day} de {ES_MONTHS[start.month - 1]} a las {start:%H:%M}"
    noon = "AM" if start.hour < 12 else "PM"
    return f"{EN_DAYS[start.weekday()]}, {EN_MONTHS[start.month - 1]} {start.day} at {start.hour % 12 or 12}:{start:%M} {noon}"


def sentence(clinician: str, starts: list[datetime], language: str) -> str:
    """The reply's line naming a clinician and her openings (templates/en.yaml, es.yaml)."""
    times = [said(start, language) for start in starts]
    if language == "es":
        listed = ", el ".join(times[:-1]) + " o el " + times[-1] if len(times) > 1 else times[0]  # "el" before each day
        return f"{NAMES[clinician]} puede atender lo que usted describe y tiene tiempo para una primera conversación el {listed}."
    listed = ", ".join(times[:-1]) + " or " + times[-1] if len(times) > 1 else times[0]
    return f"{NAMES[clinician]} fits what you describe and is free for a first conversation on {listed}."


# -- the practice ----------------------------------------------------------------------------------

def feed(name: str) -> bytes:
    """A fixture feed as its server sends it, with CRLF line ends."""
    return (FIXTURES / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture(scope="module")
def served() -> Iterator[Feeds]:
    feeds = Feeds()
    for clinician, name in FEED_FILES.items():
        feeds.documents[f"/{clinician}.ics"] = feed(name)
    yield feeds
    feeds.server.shutdown()


def group(folder: Path, calendars: dict[str, str], **sections: Any) -> Path:
    """The practice's configuration, each clinician's calendar at the address given."""
    path = write_config(folder, **sections)
    data = yaml.safe_load(path.read_text())
    practice = data["practice"]
    practice["timezone"] = "America/Chicago"
    practice["consultation"] = {"offered": True, "minutes": MINUTES, "format": "phone or video",
                                "booking_url": "https://harborlight.example.org/book"}
    practice["availability"] = {
        "accepting_new_clients": True, "hours": PRACTICE_HOURS, "modalities": ["telehealth", "in_person"],
        "typical_wait": "within two weeks", "calendar_ics": str(FIXTURES / "practice-closures.ics"),
        "closed": [day.isoformat() for day in sorted(CLOSED)],
        "slots": {"step_minutes": STEP, "buffer_minutes": BUFFER, "minimum_notice_hours": NOTICE_HOURS,
                  "horizon_days": HORIZON_DAYS, "offer": OFFER}}
    practice["services"]["offered"] = ["individual", "couples", "teen", "group", "emdr"]
    practice["clinicians"] = [c | ({"calendar": calendars[c["id"]]} if c["id"] in calendars else {}) for c in CLINICIANS]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


@pytest.fixture(scope="module")
def practice(tmp_path_factory: pytest.TempPathFactory, served: Feeds) -> Path:
    return group(tmp_path_factory.mktemp("practice"), {c: f"{served.url}/{c}.ics" for c in FEED_FILES})


def openings(found: dict[str, Any], clinician: str) -> list[tuple[str, str]]:
    [listed] = [c for c in found["clinicians"] if c["id"] == clinician]
    return [(slot["start"], slot["end"]) for slot in listed["slots"]]


def iso(slots: list[tuple[datetime, datetime]]) -> list[tuple[str, str]]:
    return [(start.isoformat(), end.isoformat()) for start, end in slots]


# -- 1. every clinician's slots, exactly the rule, across both changes -----------------------------

@pytest.mark.parametrize("at", [MARCH, NOVEMBER], ids=["march-change", "november-change"])
def test_every_clinicians_slots_are_exactly_the_rule_across_the_change(practice: Path, at: str) -> None:
    result = responder(practice, "availability", "--json", "--at", at)
    assert result.returncode == 0, result.stdout + result.stderr
    found = json.loads(result.stdout)
    assert [c["id"] for c in found["clinicians"]] == ["priya", "marco", "lucia", "dana"]
    assert all(c["calendar"] == "ok" for c in found["clinicians"][:3]), found
    for clinician in ("priya", "marco", "lucia"):
        expected = expected_slots(clinician, at)
        offsets = {start.utcoffset() for start, _ in expected}
        assert offsets == {timedelta(hours=-6), timedelta(hours=-5)}, f"{clinician}'s slots fall on both sides of the change"
        got = openings(found, clinician)
        assert got == iso(expected), (f"{clinician} at {at}: responder has {sorted(set(got) - set(iso(expected)))} that the rule "
                                      f"does not, and lacks {sorted(set(iso(expected)) - set(got))}")
        print(f"{clinician} at {at}: {len(got)} slots, as the rule says")
    assert next(c for c in found["clinicians"] if c["id"] == "dana") == {"id": "dana", "calendar": "none", "slots": []}


# -- 2. who fits, best first ---------------------------------------------------------------------

MESSAGES: dict[str, tuple[str, str, str]] = {  # name: (from, subject, body)
    "spanish-teen": ("Gabriela Ruiz <gabriela.ruiz@example.org>", "Terapia para mi hijo",
                     "Hola, buenas tardes. Busco terapia para mi hijo de 15 años, que está muy ansioso desde que cambió de "
                     "escuela. Tenemos seguro Aetna. ¿Ofrecen sesiones por videollamada? Vivimos lejos de la oficina.\n\nGracias,\nGabriela"),
    "couple-cigna": ("Renee Park <renee.park@example.org>", "Couples counseling",
                     "Hi, my husband and I have been arguing a lot and we would like to start couples counseling. We both have "
                     "Cigna through my work.\n\nThanks,\nRenee"),
    "bcbs": ("Sam Whitaker <sam.w@example.org>", "New client",
             "Hello, I'm 29 and looking for individual therapy for depression. I have Blue Cross Blue Shield.\n\nThank you,\nSam"),
    "in-person": ("Jordan Lee <jordan.lee@example.org>", "Therapy for anxiety",
                  "Hi, I'm 34 and I'd like to see someone for anxiety. I have Aetna. I'd prefer to meet in person at your office "
                  "rather than by video.\n\nJordan"),
    "telehealth": ("Chris Moreno <chris.moreno@example.org>", "Looking for a therapist",
                   "Hello, I'm 41 and looking for a therapist for burnout and stress. Telehealth would be best for me. "
                   "I'll pay out of pocket.\n\nChris"),
    "teen": ("Alex Kim <alex.kim@example.org>", "For my daughter",
             "Hi, my daughter is 16 and has been struggling with anxiety and panic attacks. We have Aetna. Could she see someone?\n\nAlex"),
    "emdr": ("Pat Quinn <pat.quinn@example.org>", "EMDR",
             "Hello, my doctor suggested EMDR for trauma. I'm 66 and on Medicare. Do you have anyone?\n\nPat"),
    "senior": ("Walter Gray <walter.gray@example.org>", "Grief counseling",
               "I'm 75 and recently lost my wife. I'd like grief counseling by video. I have UnitedHealthcare.\n\nWalter"),
    "medication": ("Robin Fox <robin.fox@example.org>", "ADHD medication",
                   "Hi, I'm looking for a psychiatrist for ADHD medication management. I have Aetna.\n\nRobin"),
}

# What each message says (insurance, services, age, language, modality) and who fits by the contract's rule:
# accepting new clients, every asked service the practice offers, the age, the language, the modality
# asked for, the plan on the panel when it is in network; best first by the earliest open slot (MARCH:
# lucia Tue 9 09:00, priya Tue 9 15:00, marco Wed 10 14:15). Dana takes nobody new.
FITS = {
    "spanish-teen": (("aetna", ["teen"], 15, "es", "telehealth"), ["lucia"]),  # priya speaks no Spanish; marco: adults, no Aetna
    "couple-cigna": (("cigna", ["couples"], None, "en", "unknown"), ["marco"]),  # only marco and dana see couples
    "bcbs": (("bcbs", ["individual"], 29, "en", "unknown"), []),  # in network, yet on no panel of anyone taking clients
    "in-person": (("aetna", ["individual"], 34, "en", "in_person"), ["priya"]),  # lucia: telehealth only
    "telehealth": (("self_pay", ["individual"], 41, "en", "telehealth"), ["lucia", "priya", "marco"]),
    "teen": (("aetna", ["teen"], 16, "en", "unknown"), ["lucia", "priya"]),
    "emdr": (("medicare", ["individual", "emdr"], 66, "en", "unknown"), ["priya"]),
    "senior": (("uhc", ["individual"], 75, "en", "telehealth"), ["marco"]),  # priya sees people up to 70
    "medication": (("aetna", ["medication"], None, "en", "unknown"), []),  # nothing offered here: referred out, nobody named
}


def message(folder: Path, name: str) -> Path:
    sender, subject, body = MESSAGES[name]
    path = folder / f"{name}.eml"
    path.write_bytes(inquiry(sender=sender, subject=subject, body=body))
    return path


def test_classify_names_exactly_who_fits_best_first(practice: Path, tmp_path: Path) -> None:
    files = [message(tmp_path, name) for name in FITS]
    result = responder(practice, "classify", "--json", "--at", MARCH, *map(str, files))
    assert result.returncode == 0, result.stderr
    read = {Path(line["file"]).stem: line for line in map(json.loads, result.stdout.splitlines())}
    for name, (facts, clinicians) in FITS.items():
        line = read[name]
        assert line["category"] == "new_inquiry", (name, line)
        assert (line["insurance"], line["services"], line["age"], line["language"], line["modality"]) == facts, (name, line)
        assert line["clinicians"] == clinicians, (name, line)
    # "Best first" is the oracle's earliest slot, not the configuration's order (priya, marco, lucia).
    first = {c: expected_slots(c, MARCH)[0][0] for c in ("priya", "marco", "lucia")}
    assert sorted(first, key=first.__getitem__) == ["lucia", "priya", "marco"] == FITS["telehealth"][1]


# -- 3. the reply names who fits and her first openings --------------------------------------------

@pytest.mark.parametrize(("name", "at", "named", "language"), [
    ("spanish-teen", MARCH, ["lucia"], "es"),  # in Spanish, slots in Spanish
    ("in-person", NOVEMBER, ["priya"], "en"),  # Nov 2 and 4 in CDT, Nov 9 in CST
    ("telehealth", MARCH, ["lucia", "priya"], "en"),  # three fit: the reply names the first two
])
def test_the_reply_names_who_fits_and_her_first_openings(practice: Path, tmp_path: Path, name: str, at: str, named: list[str],
                                                         language: str) -> None:
    result = responder(practice, "preview", "--at", at, str(message(tmp_path, name)))
    assert result.returncode == 0, result.stderr
    lines = [sentence(clinician, offered(expected_slots(clinician, at)), language) for clinician in named]
    for line in lines:
        assert line in result.stdout, f"expected the line\n  {line}\nin the reply:\n{result.stdout}"
    places = [result.stdout.index(line) for line in lines]
    assert places == sorted(places), "best first"
    others = set(NAMES) - set(named)
    assert not [NAMES[c] for c in others if NAMES[c] in result.stdout], "nobody else is named"


def test_a_plan_nobody_takes_names_nobody(practice: Path, tmp_path: Path) -> None:
    result = responder(practice, "preview", "--at", MARCH, str(message(tmp_path, "bcbs")))
    assert result.returncode == 0, result.stderr
    assert "waitlist" in result.stdout
    assert not [name for name in NAMES.values() if name.split()[0] in result.stdout], "never a wrong name"


# -- 4. a failing feed delays no reply ---------------------------------------------------------------

def test_a_feed_answering_500_delays_no_reply_and_the_others_keep_their_openings(tmp_path: Path) -> None:
    feeds = Feeds()
    try:
        feeds.documents.update({f"/{c}.ics": feed(name) for c, name in FEED_FILES.items()})
        feeds.failing.add("/priya.ics")
        config = group(tmp_path, {c: f"{feeds.url}/{c}.ics" for c in FEED_FILES})
        started = time.monotonic()
        result = responder(config, "preview", "--at", MARCH, str(message(tmp_path, "teen")))
        took = time.monotonic() - started
        print(f"preview with priya's feed answering HTTP 500: {took:.2f} s (the feed timeout is {FEED_TIMEOUT_SECONDS} s)")
        assert result.returncode == 0, result.stderr
        assert took < FEED_TIMEOUT_SECONDS / 2
        assert sentence("lucia", offered(expected_slots("lucia", MARCH)), "en") in result.stdout, result.stdout
        assert f"{NAMES['priya']} fits what you describe and is free" not in result.stdout, "no opening a failed calendar cannot vouch for"

        found = responder(config, "availability", "--json", "--at", MARCH)
        assert found.returncode == 1
        listed = json.loads(found.stdout)
        priya = next(c for c in listed["clinicians"] if c["id"] == "priya")
        assert (priya["calendar"], priya["slots"]) == ("failed", []) and "HTTP 500" in priya["error"]
        for clinician in ("marco", "lucia"):
            assert openings(listed, clinician) == iso(expected_slots(clinician, MARCH))
    finally:
        feeds.server.shutdown()


EMPTY_FEED = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
              b"X-WR-TIMEZONE:America/Chicago\r\nBEGIN:VEVENT\r\nUID:long-ago@google.com\r\nDTSTART:20200106T150000Z\r\n"
              b"DTEND:20200106T160000Z\r\nSUMMARY:Client\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")  # nothing busy from now on


@pytest.fixture
def silent() -> Iterator[socket.socket]:
    """A calendar server that takes the connection and never answers (closing it resets the connection)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener
    listener.close()


def test_a_feed_that_never_answers_delays_no_reply_under_serve(tmp_path: Path, silent: socket.socket) -> None:
    """The reply path of `serve` looks only at what is kept: while priya's calendar server holds
    the connection open, a message is answered at once, and marco and lucia have their openings."""
    feeds = Feeds()
    feeds.documents.update({"/marco.ics": EMPTY_FEED, "/lucia.ics": EMPTY_FEED})
    hanging = f"http://127.0.0.1:{silent.getsockname()[1]}/priya.ics"
    config = group(tmp_path, {"priya": hanging, "marco": f"{feeds.url}/marco.ics", "lucia": f"{feeds.url}/lucia.ics"},
                   email={"maildir": {"inbox": "mail/inbox", "outbox": "mail/outbox", "poll_seconds": 0.2}})
    data = yaml.safe_load(config.read_text())
    data["practice"]["availability"].pop("calendar_ics")
    config.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    port = data["server"]["port"]
    process = start_responder(config, "serve", log=tmp_path / "serve.log")
    inbox, outbox = tmp_path / "mail" / "inbox", tmp_path / "mail" / "outbox" / "new"

    def answered(name: str, sender: str) -> tuple[float, str]:
        before = set(outbox.glob("*")) if outbox.exists() else set()
        (inbox / f"{name}.eml").write_bytes(inquiry(sender=sender, subject="Looking for a therapist", body=MESSAGES["telehealth"][2]))
        dropped = time.monotonic()
        [reply] = eventually(lambda: list(set(outbox.glob("*")) - before) if outbox.exists() else [], timeout=FEED_TIMEOUT_SECONDS,
                             message=f"a reply to {name}")
        took = time.monotonic() - dropped
        parsed = email.message_from_bytes(reply.read_bytes(), policy=default_policy)
        return took, parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    try:
        eventually(lambda: _healthy(port), timeout=15, message="/healthz answering")
        took, _ = answered("first", "first.person@example.org")
        print(f"serve: a reply {took:.2f} s after the message, while priya's calendar server never answers")
        assert took < FEED_TIMEOUT_SECONDS / 2

        eventually(lambda: {"/marco.ics", "/lucia.ics"} <= {path for path, _ in feeds.requests}, timeout=FEED_TIMEOUT_SECONDS / 2,
                   message="marco's and lucia's feeds read while priya's hangs")
        time.sleep(0.5)  # their busy time worked out and kept
        arrived = datetime.now(UTC)
        took, body = answered("second", "second.person@example.org")
        assert took < FEED_TIMEOUT_SECONDS / 2
        for clinician in ("lucia", "marco"):
            firsts = {said(oracle(moment, HOURS[clinician], [])[0][0], "en") for moment in (arrived, datetime.now(UTC))}
            assert any(f"{NAMES[clinician]} fits what you describe and is free for a first conversation on {first}" in body
                       for first in firsts), f"{clinician}'s first opening, one of {firsts}, in:\n{body}"
        assert NAMES["priya"] not in body, "two are named, those whose openings are known first"
    finally:
        silent.close()  # lets serve's calendar job end, so that serve stops at once
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        feeds.server.shutdown()


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
