"""How long a first reply spends on who fits and when they are free (issue 13).

Ten clinicians, each with a calendar feed holding a year of weekly client sessions (a full
caseload of 25 weekly series, with exceptions), consultation hours on every weekday, a horizon of
30 days. The feeds are files read once, as serve's background job reads them; what is timed is
what a reply does with the kept copies: the first openings of every clinician who fits, matching, the offer
(calendars/openings.offers_for). The goal: under 10 ms at the 95th percentile. Beside it, a floor
measured in the same run: the same for one clinician with an empty calendar.

    .venv/bin/python bench/slots.py [--clinicians 10] [--series 25] [--days 30] [--replies 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from responder.calendars.keeper import Calendars
from responder.calendars.openings import offers_for
from responder.config import load
from responder.model import Category, Classification, Facts

ROOT = Path(__file__).resolve().parent.parent
DAYS = ("MO", "TU", "WE", "TH", "FR")


def feed(series: int, start: datetime) -> str:
    """A year of weekly sessions: ``series`` clients, each an hour a week, some weeks skipped."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN", "X-WR-TIMEZONE:America/Chicago"]
    for n in range(series):
        first = start + timedelta(days=n % 5, hours=9 + (n // 5) % 8)
        skipped = first + timedelta(weeks=3 + n % 5)
        lines += ["BEGIN:VEVENT", f"UID:client-{n}@bench", f"DTSTART;TZID=America/Chicago:{first:%Y%m%dT%H%M%S}",
                  f"DTEND;TZID=America/Chicago:{first + timedelta(minutes=50):%Y%m%dT%H%M%S}",
                  f"RRULE:FREQ=WEEKLY;BYDAY={DAYS[n % 5]};COUNT=52", f"EXDATE;TZID=America/Chicago:{skipped:%Y%m%dT%H%M%S}",
                  "SUMMARY:Client session", "END:VEVENT"]
    return "\r\n".join([*lines, "END:VCALENDAR", ""])


def configuration(folder: Path, clinicians: int, series: int, days: int, now: datetime) -> Path:
    base = yaml.safe_load((ROOT / "config.example.yaml").read_text())
    monday = (now - timedelta(days=now.weekday() + 180)).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    people = []
    for n in range(clinicians):
        path = folder / f"clinician{n}.ics"
        path.write_text(feed(series, monday))
        people.append({"id": f"c{n}", "name": f"Clinician {n}", "services": ["individual", "couples", "teen"], "languages": ["en", "es"],
                       "consultation_hours": {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}, "calendar": str(path)})
    practice = base["practice"]
    practice["timezone"] = "America/Chicago"
    practice["clinicians"] = people
    practice.setdefault("availability", {})["slots"] = {"step_minutes": 30, "buffer_minutes": 10, "minimum_notice_hours": 12,
                                                       "horizon_days": days, "offer": 3}
    practice["services"] = {"offered": ["individual", "couples", "teen", "group", "emdr"]}
    base["storage"] = {"url": f"sqlite:///{folder / 'unused.db'}"}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False))
    return path


def timed(config_path: Path, replies: int, now: datetime) -> tuple[list[float], float, int]:
    config = load(config_path, environ={"IMAP_PASSWORD": "x", "SMTP_PASSWORD": "x"})
    calendars = Calendars(config)
    started = time.perf_counter()
    calendars.refresh(now)
    refresh = time.perf_counter() - started
    asking = Classification(Category.NEW_INQUIRY, Facts(services=("individual",)), ())
    took = []
    for n in range(replies):
        at = now + timedelta(minutes=7 * n)  # a different moment each reply, as messages come
        started = time.perf_counter()
        offers = offers_for(config, calendars, asking, at)
        took.append((time.perf_counter() - started) * 1000)
    return took, refresh, sum(len(o.slots) for o in offers.named)


def figures(took: list[float]) -> dict[str, float]:
    ordered = sorted(took)
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "max_ms": round(ordered[-1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clinicians", type=int, default=10)
    parser.add_argument("--series", type=int, default=25, help="weekly client series per calendar")
    parser.add_argument("--days", type=int, default=30, help="the horizon")
    parser.add_argument("--replies", type=int, default=300)
    args = parser.parse_args()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "full").mkdir()
        (Path(folder) / "floor").mkdir()
        full = configuration(Path(folder) / "full", args.clinicians, args.series, args.days, now)
        floor = configuration(Path(folder) / "floor", 1, 0, args.days, now)
        floor_took, _, _ = timed(floor, args.replies, now)
        took, refresh, offered = timed(full, args.replies, now)
    result: dict[str, Any] = {"bench": "slots", "clinicians": args.clinicians, "series": args.series, "horizon_days": args.days,
                              "replies": args.replies, "reply": figures(took), "floor": figures(floor_took),
                              "background_refresh_s": round(refresh, 2), "slots_offered_last": offered, "goal_p95_ms": 10}
    print(f"{args.clinicians} clinicians x {args.series} weekly series, {args.days}-day horizon, {args.replies} replies")
    print(f"  per reply (the first openings of every clinician who fits, matching, the offer): p50 {result['reply']['p50_ms']} ms, "
          f"p95 {result['reply']['p95_ms']} ms, max {result['reply']['max_ms']} ms  (goal p95 < 10 ms)")
    print(f"  floor (one clinician, empty calendar): p50 {result['floor']['p50_ms']} ms, p95 {result['floor']['p95_ms']} ms")
    print(f"  background: reading and expanding every feed once took {result['background_refresh_s']} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
