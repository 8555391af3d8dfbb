"""What templates/dashboard.html shows: the practice's figures (funnel.py) as charts (charts.py),
each with the same figures under it in words or a small table, for those who would rather read
them (or cannot see the chart).

No chart names a person: a conversation waiting on us is "#123". Referral sources are the one
exception: they are professionals' addresses, which the practice thanks by name anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup

from ..funnel import BUCKETS, CATEGORIES, Funnel, Timing, duration
from ..model import Channel
from . import charts

CATEGORY_WORDS = {category: category.replace("_", " ") for category in CATEGORIES}  # "new inquiry"
CHANNEL_WORDS = {Channel.EMAIL: "email", Channel.SMS: "text message"}
# The unit a waiting time is drawn in, by the longest one: (at least this many seconds, unit, seconds in one).
_UNITS = ((2 * 86400, "days", 86400), (2 * 3600, "h", 3600), (0, "min", 60))
SHOWN = 10  # referral sources drawn; the table under the chart lists every one


@dataclass(frozen=True)
class Card:
    """One chart and its figures in words (``summary``) and, if any, a table under it."""

    id: str
    title: str
    chart: Markup
    summary: str
    head: tuple[str, ...] = ()
    rows: Sequence[tuple[Any, ...]] = ()  # each cell text (escaped by the template) or Markup


def dashboard_context(funnel: Funnel) -> dict[str, Any]:
    """The template's context: ``cards`` in the order shown, and the period they cover."""
    return {"cards": [*_inquiries(funnel), *_timings(funnel), _waiting(funnel), _sources(funnel)],
            "weeks": len(funnel.weeks), "since": funnel.since, "now": funnel.now}


def _week(start: date) -> str:
    return f"{start:%b} {start.day}"


def _inquiries(funnel: Funnel) -> list[Card]:
    labels = [_week(week.start) for week in funnel.weeks]
    total = sum(week.total for week in funnel.weeks)
    said = f"{total:,} inquir{'y' if total == 1 else 'ies'} in {len(funnel.weeks)} weeks (automated mail and solicitations left out)"
    cards = []
    for key, title, words, of in (("category", "Inquiries per week, by category", CATEGORY_WORDS, lambda week: week.by_category),
                                  ("channel", "Inquiries per week, by channel", CHANNEL_WORDS, lambda week: week.by_channel)):
        counts = {name: [of(week)[name] for week in funnel.weeks] for name in words}
        series = [charts.Series(words[name], values) for name, values in counts.items() if any(values)]
        cards.append(Card(f"inquiries-{key}", title, charts.stacked_bars(f"inquiries-{key}", title, labels, series, unit="inquiries"), said,
                          (key, "inquiries"), [(words[name], sum(values)) for name, values in counts.items()]))
    return cards


def _bucket_labels() -> list[str]:
    bounds = [duration(bound) for bound in BUCKETS]
    return [f"within {bounds[0]}", *(f"{low} to {high}" for low, high in zip(bounds, bounds[1:], strict=False)), f"over {bounds[-1]}"]


def _timings(funnel: Funnel) -> list[Card]:
    cards = []
    for key, title, timing in (("first-automatic", "Time to the first automatic reply", funnel.automatic),
                               ("first-human", "Time to the first reply from a clinician", funnel.human)):
        summary = f"{timing.words()} · {timing.count:,} conversation{'' if timing.count == 1 else 's'}"
        if timing.without is not None:
            summary += f" answered, {timing.without:,} not yet"
        cards.append(Card(key, title, _distribution(key, title, timing), summary))
    return cards


def _distribution(chart_id: str, title: str, timing: Timing) -> Markup:
    """How many conversations were answered within each bucket of time, from the first bucket
    holding any to the last: the shape of the wait, which a median and a 90th percentile only sketch."""
    counts = timing.buckets()
    held = [i for i, n in enumerate(counts) if n]
    if not held:
        return charts.empty(chart_id, title, charts.NOTHING_YET)
    shown = range(held[0], held[-1] + 1)
    labels = _bucket_labels()
    return charts.horizontal_bars(chart_id, title, [(labels[i], counts[i]) for i in shown],
                                  note=[_share(counts[i], timing.count) for i in shown])


def _share(part: int, whole: int) -> str:
    """A percentage; one that rounds to 0 but is not nothing is "<1%"."""
    share = round(100 * part / whole)
    return "<1%" if part and not share else f"{share}%"


def _waiting(funnel: Funnel) -> Card:
    title = "Waiting on us the longest"
    longest = funnel.longest
    if not longest:
        return Card("waiting", title, charts.empty("waiting", title, "Nobody is waiting on us."), "Nobody is waiting on us.")
    unit, size = next((unit, size) for least, unit, size in _UNITS if longest[0].seconds >= least)
    chart = charts.horizontal_bars("waiting", title, [(f"#{w.conversation_id}", w.seconds / size) for w in longest], unit=unit)
    count = len(funnel.waiting)
    summary = f"{count} conversation{' waits' if count == 1 else 's wait'} on us; the longest for {duration(longest[0].seconds)}"
    rows = [(Markup('<a href="/conversations/{0}">#{0}</a>').format(w.conversation_id), duration(w.seconds), f"{w.since:%b} {w.since.day} {w.since:%H:%M}")
            for w in longest]
    return Card("waiting", title, chart, summary, ("conversation", "for", "since (UTC)"), rows)


def _sources(funnel: Funnel) -> Card:
    title = "Clients by referral source"
    sources = funnel.sources
    chart = charts.horizontal_bars("referrals", title, [(s.address, s.became_client) for s in sources[:SHOWN]],
                                   note=[f"{s.became_client} of {s.referrals} referrals" for s in sources[:SHOWN]])
    referred, clients = sum(s.referrals for s in sources), sum(s.became_client for s in sources)
    summary = (f"{clients} of {referred} people referred in these weeks became clients, from {len(sources)} "
               f"source{'' if len(sources) == 1 else 's'}") if sources else "No referrals in these weeks."
    rows = [(s.address, s.referrals, s.consultation_booked, s.became_client) for s in sources]
    return Card("referrals", title, chart, summary, ("source", "referred", "booked", "clients"), rows)
