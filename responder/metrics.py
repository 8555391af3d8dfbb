"""What ``GET /metrics`` shows, in Prometheus' text format.

Counts of messages and their outcomes come from the store at each scrape, so they survive
restarts and agree across workers; a restart never makes a counter go backwards. What only this
process sees (how long replies took to leave, which sources failed) is counted here as it happens.
Labels carry channels, categories and source names, never an address or a word of a message.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from .calendars.keeper import Calendars
from .funnel import BUCKETS
from .model import Channel, ConversationStatus, ReplyState
from .storage import funnel, inbox
from .storage.store import Due, Store, utcnow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self, store: Store, calendars: Calendars) -> None:
        self.registry = CollectorRegistry()
        self.reply_latency = Histogram(
            "responder_reply_latency_seconds", "From a message being recorded to its reply or alert being accepted for delivery.",
            ["channel", "kind"], registry=self.registry,
            buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600))
        self.source_errors = Counter("responder_source_errors", "Failed fetches, by source.", ["source"], registry=self.registry)
        self.registry.register(_StoreCollector(store))
        self.registry.register(_CalendarCollector(calendars))

    def sent(self, row: Due) -> None:
        """A reply or alert was accepted for delivery: how long it waited since it was owed."""
        self.reply_latency.labels(row.channel, row.kind).observe(max(0.0, (utcnow() - row.created_at).total_seconds()))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _CalendarCollector(Collector):
    """Which calendars are read well: 1, or 0 while one fails (its kept copy serving meanwhile)."""

    def __init__(self, calendars: Calendars) -> None:
        self.calendars = calendars

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("responder_calendar_up", "Whether a calendar's last read worked, by calendar (a clinician's id, or practice).",
                               labels=["calendar"])
        failing = self.calendars.failing()
        for name in self.calendars.sources:
            up.add_metric([name], 0 if name in failing else 1)
        yield up


class _StoreCollector(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        tallies = self.store.tallies()
        received = CounterMetricFamily("responder_messages_received", "Messages recorded, by channel and category.",
                                       labels=["channel", "category"])
        for channel, category, count in tallies.received:
            received.add_metric([channel, category], count)
        yield received
        outcomes = CounterMetricFamily("responder_messages", "What became of messages: replied, drafted, skipped or failed.",
                                       labels=["channel", "category", "outcome"])
        for channel, category, outcome, count in tallies.outcomes:
            outcomes.add_metric([channel, category, outcome], count)
        yield outcomes
        depth = GaugeMetricFamily("responder_outbox_depth", "Replies and alerts not yet sent, by state.", labels=["state"])
        for state in (ReplyState.HELD, ReplyState.PENDING, ReplyState.SENDING):
            depth.add_metric([state], tallies.outbox_depth.get(state, 0))
        yield depth
        yield from self._conversations()

    def _conversations(self) -> Iterator[Metric]:
        """How fast a clinician first answered each conversation (labelled by the channel of that
        reply, every channel present), and how many conversations are open, closed, waiting on us."""
        with self.store.engine.connect() as conn:
            answered = funnel.first_human_histogram(conn, BUCKETS)
            counts = inbox.status_counts(conn)
        first = HistogramMetricFamily(
            "responder_first_human_response_seconds",
            "From a conversation's first message to the first reply a clinician sent in it (from the page or the CLI), by its channel.",
            labels=["channel"])
        for channel in Channel:
            within, count, total = answered.get(channel, ([0] * len(BUCKETS), 0, 0.0))
            first.add_metric([channel], [*((floatToGoString(bound), n) for bound, n in zip(BUCKETS, within, strict=True)), ("+Inf", count)],
                             sum_value=total)
        yield first
        conversations = GaugeMetricFamily("responder_conversations", "Conversations, by status.", labels=["status"])
        for status in ConversationStatus:
            conversations.add_metric([status], counts[status])
        yield conversations
        yield GaugeMetricFamily("responder_conversations_waiting_on_us", "Conversations in which the person wrote and no one here has answered yet.",
                                value=counts["waiting_on_us"])
