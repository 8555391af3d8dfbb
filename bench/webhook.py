"""How `responder serve` answers Twilio's inbound-text webhook under load.

Twilio waits at most 15 seconds for the webhook and retries or drops what is slow; a practice
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
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import yaml
from twilio.request_validator import RequestValidator

import loadkit
from servers.twilio import TwilioStandIn

REQUESTS = 2000
WARMUP_REQUESTS = 100  # the first requests pay for lazy imports and cold caches; not counted
CONCURRENCY = 50
WEBHOOK_URL = "https://responder.example.org/sms/inbound"  # what Twilio signs; serve checks against it
GOAL_P99_MS = 100
REPLY_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Result:
    latencies_ms: list[float]
    statuses: Counter[int]
    seconds: float

    def percentile(self, p: float) -> float:
        """Nearest rank: the smallest latency at least p% of the requests did not exceed."""
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


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
            except aiohttp.ClientError:
                statuses[0] += 1  # no HTTP answer at all
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Result(latencies, statuses, seconds)


def sms_config(folder: Path, twilio: TwilioStandIn) -> Path:
    """Texts only: the Twilio stand-in for sending, the webhook for receiving."""
    return loadkit.write_config(folder, sms={
        "twilio": {"account_sid": twilio.account_sid, "auth_token": "${TWILIO_AUTH_TOKEN}",
                   "from_number": twilio.from_number, "api_base_url": twilio.base_url},
        "webhook_url": WEBHOOK_URL})


def main() -> int:
    loadkit.keep_off_responder_cpu()
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp, TwilioStandIn() as twilio:
        folder = Path(tmp)
        config = sms_config(folder, twilio)
        url = f"http://127.0.0.1:{yaml.safe_load(config.read_text())['server']['port']}/sms/inbound"
        warmup = signed_posts(WARMUP_REQUESTS, 0, twilio.auth_token)
        measured = signed_posts(REQUESTS, WARMUP_REQUESTS, twilio.auth_token)
        serve = loadkit.start_serve(config, folder / "serve.log", env={"TWILIO_AUTH_TOKEN": twilio.auth_token})
        try:
            asyncio.run(post_all(url, warmup, CONCURRENCY))
            result = asyncio.run(post_all(url, measured, CONCURRENCY))
            load_ended = time.perf_counter()
            loadkit.wait_until_handled(folder / "responder.db", WARMUP_REQUESTS + REQUESTS, "sms", REPLY_TIMEOUT_SECONDS)
            replies = len(twilio.sent)
            replies_done_after = time.perf_counter() - load_ended
            rss = loadkit.rss_mb(serve.pid)
        finally:
            exit_status = loadkit.stop_serve(serve)
        tally = loadkit.store_tally(folder / "responder.db")

    p50, p90, p99 = (result.percentile(p) for p in (50, 90, 99))
    print(f"{REQUESTS} signed POST /sms/inbound from {CONCURRENCY} concurrent clients (after {WARMUP_REQUESTS} warm-up);"
          f" responder serve pinned to CPU {loadkit.RESPONDER_CPU}, SQLite store\n")
    loadkit.print_table(
        ["requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms"],
        [[REQUESTS, result.errors, REQUESTS / result.seconds, p50, p90, p99, max(result.latencies_ms), statistics.fmean(result.latencies_ms)]])
    print(f"\nstatuses: {dict(result.statuses)}; messages by status in the store: {tally}")
    print(f"replies accepted by the Twilio stand-in: {replies}, the last {replies_done_after:.1f} s after the load ended;"
          f" serve RSS {rss:.0f} MB; serve exited {exit_status}\n")
    loadkit.print_json(
        "webhook", requests=REQUESTS, concurrency=CONCURRENCY, errors=result.errors, statuses={str(k): v for k, v in result.statuses.items()},
        per_second=round(REQUESTS / result.seconds, 1), p50_ms=round(p50, 1), p90_ms=round(p90, 1), p99_ms=round(p99, 1),
        max_ms=round(max(result.latencies_ms), 1), goal_p99_ms=GOAL_P99_MS, goal_met=p99 < GOAL_P99_MS and result.errors == 0,
        replies_sent=replies, replies_done_after_load_seconds=round(replies_done_after, 1), rss_mb=round(rss, 1))
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
