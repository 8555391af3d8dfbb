"""How `responder serve` answers Twilio's inbound-text webhook under load.

Twilio gives up on a webhook that has not answered within 15 seconds; a practice
with a busy number (or a campaign that makes many people text at once) must still answer each
POST quickly. The load generator here posts correctly signed inbound-SMS forms, each with its own
MessageSid and sender, to POST /sms/inbound from 50 concurrent clients over loopback keep-alive
connections, and times each response. Replies go to the Twilio stand-in (tests/servers/twilio.py)
from serve's own delivery jobs, on the same pinned core as the webhook, as in production.

Goal: p99 under 100 ms and no response other than 200.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import loadkit
import yaml
from servers.twilio import TwilioStandIn
from twilio.request_validator import RequestValidator

REQUESTS = 2000
CONCURRENCY = 50
WARMUP_REQUESTS = 100  # the first requests pay for lazy imports and cold caches; not counted
# One client alone, after the load: the time a request takes when nothing queues in front of it.
# With CONCURRENCY requests always in flight, each waits for the others (Little's law: mean
# latency = CONCURRENCY / throughput), so the two together tell work from queueing.
SOLO_REQUESTS = 300
WEBHOOK_URL = "https://responder.example.org/sms/inbound"  # what Twilio signs; serve checks against it
GOAL_P99_MS = 100
REPLY_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Result:
    clients: int
    latencies_ms: list[float]
    statuses: Counter[int]
    seconds: float
    cpu_percent: float = 0.0  # serve's CPU time over the wall time of the run

    def percentile(self, p: float) -> float:
        """Nearest rank: the smallest latency at least p% of the requests did not exceed."""
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def figures(self) -> dict[str, float | int]:
        return {"requests": len(self.latencies_ms), "errors": self.errors, "per_second": round(self.per_second, 1),
                **{f"p{p}_ms": round(self.percentile(p), 1) for p in (50, 90, 99)}, "max_ms": round(max(self.latencies_ms), 1),
                "serve_cpu_percent": round(self.cpu_percent)}


def signed_posts(count: int, first: int, token: str) -> list[tuple[dict[str, str], str]]:
    """Inbound-text forms as Twilio posts them, each with its X-Twilio-Signature, computed before
    the run so that signing does not slow the load generator."""
    validator = RequestValidator(token)
    bodies = loadkit.sms_bodies()
    posts = []
    for number in range(first, first + count):
        form = {"MessageSid": f"SM{number:032x}", "AccountSid": "AC" + "1" * 32, "From": f"+1555{2000000 + number:07d}",
                "To": "+15550100000", "Body": bodies[number % len(bodies)], "NumMedia": "0", "NumSegments": "1"}
        posts.append((form, validator.compute_signature(WEBHOOK_URL, form)))
    return posts


async def post_all(url: str, posts: list[tuple[dict[str, str], str]], concurrency: int) -> Result:
    """``concurrency`` clients, each posting the next form as soon as its last one was answered."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = iter(posts)

    async def client(session: aiohttp.ClientSession) -> None:
        for form, signature in queue:
            started = time.perf_counter()
            try:
                async with session.post(url, data=form, headers={"X-Twilio-Signature": signature}) as response:
                    await response.read()
                    statuses[response.status] += 1
            except (aiohttp.ClientError, asyncio.TimeoutError):
                statuses[0] += 1  # no HTTP answer at all
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Result(concurrency, latencies, statuses, seconds)


def sms_config(folder: Path, twilio: TwilioStandIn) -> Path:
    """Texts only: the Twilio stand-in for sending, the webhook for receiving."""
    return loadkit.write_config(folder, sms={
        "twilio": {"account_sid": twilio.account_sid, "auth_token": "${TWILIO_AUTH_TOKEN}",
                   "from_number": twilio.from_number, "api_base_url": twilio.base_url},
        "webhook_url": WEBHOOK_URL})


@dataclass(frozen=True)
class Target:
    """A running serve: where to post, what it signs with, which process, which store."""

    url: str
    token: str
    pid: int
    database: Path


def load(target: Target) -> tuple[Result, float, Result]:
    """Warm up; the load from CONCURRENCY clients; how long the replies it caused took to go out
    after it; then, with nothing left to send, one client alone."""
    warmup, measured, solo = (signed_posts(count, first, target.token) for count, first in
                              ((WARMUP_REQUESTS, 0), (REQUESTS, WARMUP_REQUESTS), (SOLO_REQUESTS, WARMUP_REQUESTS + REQUESTS)))
    asyncio.run(post_all(target.url, warmup, CONCURRENCY))
    loaded = with_cpu(target, measured, CONCURRENCY)
    ended = time.perf_counter()
    loadkit.wait_until_handled(target.database, WARMUP_REQUESTS + REQUESTS, "sms", REPLY_TIMEOUT_SECONDS)
    replies_after = time.perf_counter() - ended
    alone = with_cpu(target, solo, 1)
    loadkit.wait_until_handled(target.database, WARMUP_REQUESTS + REQUESTS + SOLO_REQUESTS, "sms", REPLY_TIMEOUT_SECONDS)
    return loaded, replies_after, alone


def with_cpu(target: Target, posts: list[tuple[dict[str, str], str]], concurrency: int) -> Result:
    """The run, with the share of its core serve used meanwhile (100%: the core is the limit)."""
    before = loadkit.cpu_seconds(target.pid)
    result = asyncio.run(post_all(target.url, posts, concurrency))
    return replace(result, cpu_percent=(loadkit.cpu_seconds(target.pid) - before) / result.seconds * 100)


def main() -> int:
    loadkit.keep_off_responder_cpu()
    total = WARMUP_REQUESTS + REQUESTS + SOLO_REQUESTS
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp, TwilioStandIn() as twilio:
        folder = Path(tmp)
        config = sms_config(folder, twilio)
        url = f"http://127.0.0.1:{yaml.safe_load(config.read_text())['server']['port']}/sms/inbound"
        serve = loadkit.start_serve(config, folder / "serve.log", env={"TWILIO_AUTH_TOKEN": twilio.auth_token})
        try:
            loaded, replies_after, solo = load(Target(url, twilio.auth_token, serve.pid, folder / "responder.db"))
            rss = loadkit.rss_mb(serve.pid)
        finally:
            exit_status = loadkit.stop_serve(serve)
        tally = loadkit.store_tally(folder / "responder.db")
        replies = len(twilio.sent)

    print(f"signed POST /sms/inbound, each a new MessageSid and sender (after {WARMUP_REQUESTS} warm-up requests);"
          f" responder serve pinned to CPU {loadkit.RESPONDER_CPU}, SQLite store\n")
    loadkit.print_table(
        ["clients", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms", "serve CPU %"],
        [[r.clients, len(r.latencies_ms), r.errors, r.per_second, r.percentile(50), r.percentile(90), r.percentile(99),
          max(r.latencies_ms), statistics.fmean(r.latencies_ms), round(r.cpu_percent)] for r in (loaded, solo)])
    print(f"\nstatuses: {dict(loaded.statuses + solo.statuses)}; the store: {tally}")
    print(f"replies accepted by the Twilio stand-in: {replies} of {total} texts; those of the {CONCURRENCY}-client load all sent"
          f" {replies_after:.1f} s after it;"
          f" serve RSS {rss:.0f} MB; serve exited {exit_status}\n")
    p99 = loaded.percentile(99)
    loadkit.print_json(
        "webhook", concurrency=CONCURRENCY, **loaded.figures(), statuses={str(k): v for k, v in loaded.statuses.items()},
        goal_p99_ms=GOAL_P99_MS, goal_met=p99 < GOAL_P99_MS and loaded.errors == 0,
        solo={key: value for key, value in solo.figures().items() if key != "requests"},
        replies_sent=replies, replies_done_after_load_seconds=round(replies_after, 1), rss_mb=round(rss, 1))
    return 0 if loaded.errors == 0 and solo.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
