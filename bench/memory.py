"""How much memory `responder serve` holds, idle and after 10,000 messages, and whether it grows.

serve runs for months on a small machine (often beside other things); memory that grows with
every message ends in the OOM killer at night. Two routes, each a fresh serve on a fresh SQLite
store, each fed 10,000 distinct messages in batches of 500, every batch waited for until each
message is recorded and its reply sent:

- maildir: inquiries left in mail/inbox (the embedded default), replies written to mail/outbox;
- webhook: signed inbound texts posted by 50 concurrent clients (as bench/webhook.py does),
  replies sent to the Twilio stand-in; here the web server's worker threads are busy too.

Resident set size (VmRSS) is sampled twice a second throughout; the tables show it idle after
start, at the end of each batch (with the batch's peak), and after a rest. The time each batch
took shows whether the work per message stays the same as the store fills.

Goal: under 150 MB throughout, and no growth over the second 5,000 messages.
Run one route alone with `bench/memory.py maildir` or `bench/memory.py webhook`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import loadkit
import webhook
import yaml
from servers.twilio import TwilioStandIn

MESSAGES = 10_000
BATCH = 500
SETTLE_SECONDS = 5  # after start and after the last batch, before the idle samples
SAMPLE_SECONDS = 0.5
BATCH_TIMEOUT_SECONDS = 600
GOAL_MB = 150
GROWTH_TOLERANCE_MB = 5  # allocator noise; more than this over the second half is growth


@dataclass(frozen=True)
class Route:
    """A configured serve and how to hand it a batch of messages."""

    channel: str  # where its replies go: what to wait for
    config: Path
    env: dict[str, str]
    feed: Callable[[int, int], None]  # (first message number, count)


@contextmanager
def maildir_route(folder: Path) -> Iterator[Route]:
    templates = loadkit.inquiry_templates()
    inbox = folder / "mail" / "inbox"

    def feed(first: int, count: int) -> None:
        loadkit.drop_into_maildir(inbox, loadkit.inquiries(count, templates, start=first), first)

    yield Route("email", loadkit.write_config(folder, email={"maildir": {"inbox": "mail/inbox", "outbox": "mail/outbox"}}), {}, feed)


@contextmanager
def webhook_route(folder: Path) -> Iterator[Route]:
    with TwilioStandIn() as twilio:
        config = webhook.sms_config(folder, twilio)
        url = f"http://127.0.0.1:{yaml.safe_load(config.read_text())['server']['port']}/sms/inbound"

        def feed(first: int, count: int) -> None:
            result = asyncio.run(webhook.post_all(url, webhook.signed_posts(count, first, twilio.auth_token), webhook.CONCURRENCY))
            if result.errors:
                raise RuntimeError(f"the webhook answered {dict(result.statuses)}")

        yield Route("sms", config, {"TWILIO_AUTH_TOKEN": twilio.auth_token}, feed)


ROUTES = {"maildir": maildir_route, "webhook": webhook_route}


@dataclass
class Sampler:
    """VmRSS of one process every SAMPLE_SECONDS, on a thread of its own."""

    pid: int
    samples: list[tuple[float, float]] = field(default_factory=list)  # (monotonic time, MB)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), loadkit.rss_mb(self.pid)))
            self._stop.wait(SAMPLE_SECONDS)

    def peak_since(self, moment: float) -> float:
        return max((mb for at, mb in self.samples if at >= moment), default=0.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Batch:
    handled: int  # messages handled so far
    seconds: float
    rss_mb: float
    peak_mb: float


@dataclass(frozen=True)
class Measured:
    name: str
    idle_mb: float
    batches: list[Batch]
    after_mb: float
    peak_mb: float
    samples: int

    @property
    def second_half_growth_mb(self) -> float:
        return self.batches[-1].rss_mb - self.batches[len(self.batches) // 2 - 1].rss_mb

    @property
    def goal_met(self) -> bool:
        return self.peak_mb < GOAL_MB and self.second_half_growth_mb <= GROWTH_TOLERANCE_MB


def measure(name: str, folder: Path) -> Measured:
    """One route: start serve, sample it idle, feed every batch, sample it idle again."""
    with ROUTES[name](folder) as route:
        serve = loadkit.start_serve(route.config, folder / "serve.log", env=route.env)
        try:
            time.sleep(SETTLE_SECONDS)
            idle = loadkit.rss_mb(serve.pid)
            sampler = Sampler(serve.pid)
            print(f"{name}: feeding {MESSAGES} messages in batches of {BATCH} (idle after start: {idle:.1f} MB)", flush=True)
            batches = [run_batch(route, folder / "responder.db", first, serve.pid, sampler) for first in range(0, MESSAGES, BATCH)]
            time.sleep(SETTLE_SECONDS)
            after = loadkit.rss_mb(serve.pid)
            sampler.stop()
        finally:
            loadkit.stop_serve(serve)
    return Measured(name, idle, batches, after, max(mb for _, mb in sampler.samples), len(sampler.samples))


def run_batch(route: Route, database: Path, first: int, pid: int, sampler: Sampler) -> Batch:
    started = time.monotonic()
    route.feed(first, BATCH)
    loadkit.wait_until_handled(database, first + BATCH, route.channel, BATCH_TIMEOUT_SECONDS)
    batch = Batch(first + BATCH, time.monotonic() - started, loadkit.rss_mb(pid), sampler.peak_since(started))
    print(f"  {batch.handled:>6} handled  {batch.seconds:6.1f} s  {batch.rss_mb:6.1f} MB", flush=True)
    return batch


def report(result: Measured) -> None:
    print(f"\n{result.name}: responder serve pinned to CPU {loadkit.RESPONDER_CPU}, SQLite store, {result.samples} samples\n")
    loadkit.print_table(["point", "handled", "batch s", "msg/s", "RSS MB", "peak MB"],
                        [["idle after start", 0, "", "", result.idle_mb, ""],
                         *([f"batch {i}", b.handled, b.seconds, BATCH / b.seconds, b.rss_mb, b.peak_mb] for i, b in enumerate(result.batches, 1)),
                         [f"idle {SETTLE_SECONDS} s after", MESSAGES, "", "", result.after_mb, ""]])
    print(f"growth over the second {MESSAGES // 2} messages: {result.second_half_growth_mb:+.1f} MB; peak {result.peak_mb:.1f} MB\n")


def main(names: list[str]) -> int:
    loadkit.keep_off_responder_cpu()
    results = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"bench-memory-{name}-") as tmp:
            results.append(measure(name, Path(tmp)))
    for result in results:
        report(result)
    loadkit.print_json(
        "memory", messages=MESSAGES, batch=BATCH, goal_mb=GOAL_MB, goal_met=all(r.goal_met for r in results),
        **{r.name: {"idle_mb": round(r.idle_mb, 1), "after_mb": round(r.after_mb, 1), "peak_mb": round(r.peak_mb, 1),
                    "second_half_growth_mb": round(r.second_half_growth_mb, 1), "rss_mb_per_batch": [round(b.rss_mb, 1) for b in r.batches],
                    "seconds_per_batch": [round(b.seconds, 1) for b in r.batches]} for r in results})
    return 0


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(ROUTES)
    if any(name not in ROUTES for name in chosen):
        sys.exit(f"usage: memory.py [{' | '.join(ROUTES)}]...")
    sys.exit(main(chosen))
