"""The practice's figures over the last weeks, as issue 12 asks: how many people write, how fast
they are answered (by responder, then by a clinician), who waits on us and for how long, and
which referral sources bring clients. One reading of the store, shown three ways: the dashboard
(web/dashboard.py), ``responder report funnel`` (``text``) and its ``--json`` (``Funnel.as_json``).
/metrics shows the first clinician's reply as a histogram over the same ``BUCKETS``.

Weeks start on Monday at 00:00 UTC; the last one is the week of ``now``, still going. Inquiries
are the messages of every category but automated mail and solicitations (and messages never
read), counted by when they were recorded. Times to a first reply are counted over the
conversations created in those weeks, from the conversation's creation (its first message) to the
first automatic reply sent, or to the first clinician's reply (when they pressed send).

Medians and 90th percentiles are nearest-rank: the value at or below which at least that share
of the conversations lie. So "90% within 2 h" is true of the conversations counted as written,
and every figure is a time some conversation really took (none is interpolated between two).
The SQL is storage/funnel.py's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from .model import Channel
from .storage import funnel as sql
from .storage.store import Store, naive_utc

# Seconds: 1 min, 5 min, 15 min, 1 h, 4 h, 12 h, 1 day, 3 days, 1 week (and more).
BUCKETS = (60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)
CATEGORIES = sql.INQUIRIES
CHANNELS = tuple(Channel)
LONGEST = 10  # how many of the conversations waiting longest are named


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted ``values``: the smallest value with at least ``share``
    (0 < share <= 1) of them at or below it; None for no values."""
    if not 0 < share <= 1:
        raise ValueError(f"percentile: share must be above 0 and at most 1, got {share!r}")
    if not values:
        return None
    return values[math.ceil(share * len(values) - 1e-9) - 1]  # the epsilon: 0.9 * 10 is 9.000000000000002


def duration(seconds: float) -> str:
    """A time as people say it: 40 s, 4 min, 1.5 h, 2 days."""
    if seconds < 59.5:
        return f"{round(seconds)} s"
    if seconds < 59.5 * 60:
        return f"{_figure(seconds / 60)} min"
    if seconds < 23.5 * 3600:
        return f"{_figure(seconds / 3600)} h"
    days = _figure(seconds / 86400)
    return f"{days} day" if days == "1" else f"{days} days"


def _figure(value: float) -> str:
    """One decimal under 10 (dropped when it is 0), whole above."""
    return f"{value:.1f}".removesuffix(".0") if value < 9.95 else str(round(value))


def week_of(day: date) -> date:
    """The Monday that starts the week of ``day``."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Week:
    """Inquiries recorded in one week, by category and by channel (every one named, 0 or more)."""

    start: date  # its Monday
    by_category: dict[str, int]
    by_channel: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_category.values())

    def as_json(self) -> dict[str, Any]:
        return {"week": self.start.isoformat(), "total": self.total, "by_category": self.by_category, "by_channel": self.by_channel}


@dataclass(frozen=True)
class Timing:
    """How long the conversations took to get a reply, in seconds, shortest first; ``without``:
    how many got none yet (counted for a clinician's reply only)."""

    seconds: tuple[float, ...]
    without: int | None = None

    @property
    def count(self) -> int:
        return len(self.seconds)

    @property
    def median(self) -> float | None:
        return percentile(self.seconds, 0.5)

    @property
    def p90(self) -> float | None:
        return percentile(self.seconds, 0.9)

    def buckets(self) -> list[int]:
        """How many took up to each of BUCKETS (above the one before), and the last: more."""
        counts = [0] * (len(BUCKETS) + 1)
        for value in self.seconds:
            counts[next((i for i, bound in enumerate(BUCKETS) if value <= bound), len(BUCKETS))] += 1
        return counts

    def words(self) -> str:
        """"median 4 min, 90% within 2 h" (or that there is nothing to say yet)."""
        if self.median is None or self.p90 is None:
            return "none yet"
        return f"median {duration(self.median)}, 90% within {duration(self.p90)}"

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"conversations": self.count, "median_seconds": self.median, "p90_seconds": self.p90}
        if self.without is not None:
            found["without"] = self.without
        return found | {"buckets": [{"up_to_seconds": bound, "conversations": n}
                                    for bound, n in zip((*BUCKETS, None), self.buckets(), strict=True)]}


@dataclass(frozen=True)
class Waiting:
    """A conversation waiting on us, and since when (its first message no clinician answered)."""

    conversation_id: int
    since: datetime
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {"id": self.conversation_id, "since": self.since.isoformat() + "Z", "seconds": self.seconds}


@dataclass(frozen=True)
class Source:
    """A referring professional's address, and what became of the people they referred."""

    address: str
    referrals: int
    consultation_booked: int
    became_client: int

    def as_json(self) -> dict[str, Any]:
        return {"source": self.address, "referrals": self.referrals, "consultation_booked": self.consultation_booked,
                "became_client": self.became_client}


@dataclass(frozen=True)
class Funnel:
    now: datetime  # naive UTC, as the store's times
    since: datetime  # the first week's Monday, 00:00 UTC
    weeks: tuple[Week, ...]
    automatic: Timing  # to the first automatic reply sent
    human: Timing  # to the first clinician's reply
    waiting: tuple[Waiting, ...]  # longest first
    sources: tuple[Source, ...]  # most clients first

    @property
    def longest(self) -> tuple[Waiting, ...]:
        return self.waiting[:LONGEST]

    def as_json(self) -> dict[str, Any]:
        waits = [w.seconds for w in reversed(self.waiting)]
        return {
            "generated_at": self.now.isoformat() + "Z", "since": self.since.isoformat() + "Z", "week_starts": "Monday 00:00 UTC",
            "weeks": [week.as_json() for week in self.weeks],
            "first_automatic_reply": self.automatic.as_json(),
            "first_human_reply": self.human.as_json(),
            "waiting_on_us": {"conversations": len(self.waiting), "median_seconds": percentile(waits, 0.5),
                              "longest": [w.as_json() for w in self.longest]},
            "referral_sources": [source.as_json() for source in self.sources],
        }


def figures(store: Store, now: datetime, weeks: int = 12) -> Funnel:
    """The figures for the ``weeks`` weeks up to ``now`` (this week included), read from the store."""
    if weeks < 1:
        raise ValueError(f"figures: weeks must be 1 or more, got {weeks!r}")
    now = naive_utc(now) or now  # (never None: now is given)
    since = datetime.combine(week_of(now.date()) - timedelta(weeks=weeks - 1), time())
    with store.engine.connect() as conn:
        days = sql.inquiries(conn, since, now)
        created = sql.created(conn, since, now)
        automatic = sql.first_automatic(conn, since, now)
        human = sql.first_human(conn, since, now)
        waiting = sql.waiting(conn)
        sources = sql.referral_sources(conn, since, now)
    return Funnel(
        now, since, _weeks(since.date(), weeks, days), Timing(tuple(sorted(automatic))),
        Timing(tuple(sorted(human)), without=created - len(human)),
        tuple(sorted((Waiting(id_, at, max(0.0, (now - at).total_seconds())) for id_, at in waiting), key=lambda w: (-w.seconds, w.conversation_id))),
        tuple(sorted((Source(*row) for row in sources), key=lambda s: (-s.became_client, -s.referrals, s.address))),
    )


def _weeks(first: date, count: int, days: list[tuple[date, str, str, int]]) -> tuple[Week, ...]:
    weeks = [Week(first + timedelta(weeks=i), dict.fromkeys(CATEGORIES, 0), dict.fromkeys(CHANNELS, 0)) for i in range(count)]
    for day, category, channel, n in days:
        week = weeks[(day - first).days // 7]
        week.by_category[category] += n
        week.by_channel[channel] += n
    return tuple(weeks)


def text(funnel: Funnel) -> str:
    """The plain-text report (``responder report funnel``)."""
    lines = [f"The {len(funnel.weeks)} weeks from Monday {funnel.since:%Y-%m-%d} to {funnel.now:%Y-%m-%d %H:%M} UTC "
             "(weeks start on Monday, UTC)", "", "Inquiries per week (automated mail and solicitations are not counted):"]
    columns = [*CATEGORIES, *CHANNELS]
    widths = [max(len(str(name)), 5) for name in columns]
    lines.append("  week of     " + "  ".join(f"{name:>{w}}" for name, w in zip(columns, widths, strict=True)) + "  total")
    for week in funnel.weeks:
        counts = [*week.by_category.values(), *week.by_channel.values()]
        lines.append(f"  {week.start}  " + "  ".join(f"{n:>{w}}" for n, w in zip(counts, widths, strict=True)) + f"  {week.total:>5}")
    automatic, human = funnel.automatic, funnel.human
    lines += ["", f"First automatic reply: {automatic.words()} ({automatic.count} conversations)",
              f"First reply from a clinician: {human.words()} ({human.count} conversations; {human.without} without one yet)", ""]
    lines.append(f"Waiting on us: {len(funnel.waiting)} conversations" + (", the longest:" if funnel.waiting else ""))
    lines += [f"  {'#' + str(w.conversation_id):>8}  for {duration(w.seconds):<9} since {w.since:%Y-%m-%d %H:%M}" for w in funnel.longest]
    lines += ["", "Referral sources, over the conversations created in these weeks:"]
    if funnel.sources:
        lines.append("  referrals  consultation booked  became client  source")
        lines += [f"  {s.referrals:>9}  {s.consultation_booked:>19}  {s.became_client:>13}  {s.address}" for s in funnel.sources]
    else:
        lines.append("  none")
    return "\n".join(lines)
