"""Open consultation slots (responder/calendars/slots.py) as the contract's availability rule
defines them: worked examples across a daylight-saving change, and properties over generated
calendars that no slot overlaps busy time or leaves its window, and that none is missed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from responder.calendars.slots import DAYS, Rule, Slot, offer, open_slots

CHICAGO = ZoneInfo("America/Chicago")
RULE = Rule(minutes=15, step_minutes=30, buffer_minutes=10, minimum_notice_hours=12, horizon_days=14)


def list_slots(*args: object) -> list[Slot]:
    return list(open_slots(*args))  # type: ignore[arg-type]


def local(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), CHICAGO)


def starts(slots: list[Slot]) -> list[str]:
    return [slot.start.strftime("%Y-%m-%d %H:%M %z") for slot in slots]


def test_a_window_is_cut_into_the_grid_and_each_slot_ends_inside_it() -> None:
    slots = list_slots(local("2027-03-01", "00:00"), {"tue": "14:00-15:00"}, [], RULE, CHICAGO)
    assert starts(slots) == ["2027-03-02 14:00 -0600", "2027-03-02 14:30 -0600", "2027-03-09 14:00 -0600", "2027-03-09 14:30 -0600"]
    assert all(slot.end - slot.start == timedelta(minutes=15) for slot in slots)
    tight = list_slots(local("2027-03-01", "00:00"), {"tue": "14:00-14:40"}, [], RULE, CHICAGO)
    assert starts(tight)[:1] == ["2027-03-02 14:00 -0600"] and len(tight) == 2, "14:30 would end at 14:45, past 14:40"


def test_windows_keep_their_local_time_across_the_daylight_saving_change() -> None:
    slots = list_slots(local("2027-03-10", "08:00"), {"mon": "09:00-09:30", "fri": "09:00-09:30"},
                       [], Rule(15, 30, 0, 0, 7), CHICAGO)
    assert starts(slots) == ["2027-03-12 09:00 -0600", "2027-03-15 09:00 -0500"]
    assert [slot.start.astimezone(timezone.utc).hour for slot in slots] == [15, 14]


def test_busy_time_blocks_with_its_buffer_and_touching_is_not_overlapping() -> None:
    busy = [(local("2027-03-02", "14:40").astimezone(timezone.utc), local("2027-03-02", "15:00").astimezone(timezone.utc))]
    slots = list_slots(local("2027-03-01", "00:00"), {"tue": "14:00-16:00"}, busy, Rule(15, 15, 10, 0, 2), CHICAGO)
    # 14:15-14:30 + 10 min buffer reaches 14:40: touching, still open. 14:30 would overlap. 15:00's
    # buffer starts at 14:50: overlaps. 15:15's starts at 15:05: open.
    assert starts(slots) == ["2027-03-02 14:00 -0600", "2027-03-02 14:15 -0600", "2027-03-02 15:15 -0600",
                             "2027-03-02 15:30 -0600", "2027-03-02 15:45 -0600"]


def test_notice_horizon_and_closed_days() -> None:
    at = local("2027-03-01", "09:00")  # a Monday
    rule = Rule(15, 60, 0, 26, 3, frozenset({date(2027, 3, 3)}))
    slots = list_slots(at, {day: "09:00-12:00" for day in DAYS}, [], rule, CHICAGO)
    # Notice: from Tue 11:00. Closed: Wed. Horizon: before Thu 09:00.
    assert starts(slots) == ["2027-03-02 11:00 -0600"]


def test_an_offer_is_the_earliest_then_the_earliest_of_each_new_day() -> None:
    slots = list_slots(local("2027-03-01", "00:00"), {"tue": "14:00-16:00", "thu": "09:00-10:00"}, [], RULE, CHICAGO)
    assert starts(offer(slots, 3, CHICAGO)) == ["2027-03-02 14:00 -0600", "2027-03-04 09:00 -0600", "2027-03-09 14:00 -0600"]
    assert offer(slots, 0, CHICAGO) == []


# -- properties -----------------------------------------------------------------------------------

ZONES = st.sampled_from([ZoneInfo("America/Chicago"), ZoneInfo("America/New_York"), ZoneInfo("Europe/London"), ZoneInfo("UTC"),
                         ZoneInfo("Australia/Lord_Howe")])  # Lord Howe: a half-hour daylight-saving change


@st.composite
def windows(draw: st.DrawFn) -> dict[str, str]:
    found = {}
    for day in draw(st.sets(st.sampled_from(DAYS), min_size=1)):
        opens = draw(st.integers(0, 22 * 4)) * 15
        closes = draw(st.integers(opens // 15 + 1, 24 * 4)) * 15
        found[day] = f"{opens // 60:02d}:{opens % 60:02d}-{closes // 60:02d}:{closes % 60:02d}"
    return found


@st.composite
def calendars(draw: st.DrawFn, at: datetime) -> list[tuple[datetime, datetime]]:
    # On five-minute marks, as slots and windows are: a busy interval often just touches a slot's buffer.
    raw = sorted((at + timedelta(minutes=5 * draw(st.integers(-120, 16 * 24 * 12))), timedelta(minutes=5 * draw(st.integers(1, 120))))
                 for _ in range(draw(st.integers(0, 30))))
    merged: list[tuple[datetime, datetime]] = []
    for start, length in raw:
        end = start + length
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def oracle(at: datetime, hours: dict[str, str], busy: list[tuple[datetime, datetime]], rule: Rule, zone: ZoneInfo) -> list[datetime]:
    """The rule read literally, by brute force: every minute of every window considered."""
    found = []
    first = at.astimezone(zone).date() - timedelta(days=1)
    for offset in range(rule.horizon_days + 2):
        day = first + timedelta(days=offset)
        span = hours.get(DAYS[day.weekday()])
        if not span or day in rule.closed:
            continue
        opens_at, closes_at = span.split("-")
        opens = datetime.combine(day, time.fromisoformat(opens_at), zone).astimezone(timezone.utc)
        closes = (datetime.combine(day + timedelta(days=1), time(0), zone) if closes_at == "24:00"
                  else datetime.combine(day, time.fromisoformat(closes_at), zone)).astimezone(timezone.utc)
        minute = opens
        while minute < closes:
            on_grid = (minute - opens) % timedelta(minutes=rule.step_minutes) == timedelta(0)
            end = minute + timedelta(minutes=rule.minutes)
            pad = timedelta(minutes=rule.buffer_minutes)
            if (on_grid and end <= closes and at + timedelta(hours=rule.minimum_notice_hours) <= minute < at + timedelta(days=rule.horizon_days)
                    and not any(minute - pad < b_end and b_start < end + pad for b_start, b_end in busy)):
                found.append(minute)
            minute += timedelta(minutes=5)
    return sorted(found)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), zone=ZONES, when=st.datetimes(datetime(2026, 1, 1), datetime(2028, 12, 31)),
       minutes=st.sampled_from([15, 20, 30, 50]), step=st.sampled_from([5, 15, 30, 60]), buffer=st.sampled_from([0, 5, 10, 15]),
       notice=st.sampled_from([0, 1, 12, 36]), horizon=st.integers(1, 14))
def test_slots_are_exactly_the_rule(data: st.DataObject, zone: ZoneInfo, when: datetime, minutes: int, step: int, buffer: int,
                                    notice: int, horizon: int) -> None:
    at = when.replace(minute=when.minute // 5 * 5, second=0, microsecond=0, tzinfo=timezone.utc)
    hours = data.draw(windows())
    busy = data.draw(calendars(at))
    closed = frozenset(data.draw(st.sets(st.dates(at.date(), at.date() + timedelta(days=horizon)), max_size=3)))
    rule = Rule(minutes, step, buffer, notice, horizon, closed)
    slots = list_slots(at, hours, busy, rule, zone)
    for slot in slots:  # no slot overlaps busy time (with its buffer) or leaves its window
        assert not any(slot.start - timedelta(minutes=buffer) < end and start < slot.end + timedelta(minutes=buffer) for start, end in busy)
        assert slot.start.tzinfo is zone and slot.end - slot.start == timedelta(minutes=minutes)
    assert [slot.start.astimezone(timezone.utc) for slot in slots] == oracle(at, hours, busy, rule, zone)
