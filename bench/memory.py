"""How much memory `responder serve` holds, idle and after 10,000 messages, and whether it grows.

serve runs for months on a small machine (often beside other things); memory that grows with
every message ends in the OOM killer at night. The embedded-default route (Maildir in, Maildir
out, SQLite) is fed 10,000 distinct inquiries in batches of 500, each batch left in mail/inbox
and waited for until every message is recorded and its reply written. Resident set size (VmRSS)
is sampled twice a second throughout; the table shows it idle after start, at the end of each
batch (with the batch's peak), and after a rest. The time each batch took shows as well whether
the work per message stays the same as the store fills.

Goal: under 150 MB throughout, and no growth over the second 5,000 messages.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import loadkit

MESSAGES = 10_000
BATCH = 500
SETTLE_SECONDS = 5  # after start and after the last batch, before the idle samples
SAMPLE_SECONDS = 0.5
BATCH_TIMEOUT_SECONDS = 600
GOAL_MB = 150
GROWTH_TOLERANCE_MB = 5  # allocator noise; more than this over the second half is growth


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


def feed(folder: Path, pid: int, sampler: Sampler) -> list[Batch]:
    """Every batch into the inbox, each waited for until recorded and answered."""
    templates = loadkit.inquiry_templates()
    database = folder / "responder.db"
    batches = []
    for first in range(0, MESSAGES, BATCH):
        emails = loadkit.inquiries(BATCH, templates, start=first)
        started = time.monotonic()
        loadkit.drop_into_maildir(folder / "mail" / "inbox", emails, first)
        loadkit.wait_until_handled(database, first + BATCH, "email", BATCH_TIMEOUT_SECONDS)
        batches.append(Batch(first + BATCH, time.monotonic() - started, loadkit.rss_mb(pid), sampler.peak_since(started)))
        print(f"  {first + BATCH:>6} handled  {batches[-1].seconds:6.1f} s  {batches[-1].rss_mb:6.1f} MB", flush=True)
    return batches


def main() -> int:
    loadkit.keep_off_responder_cpu()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        folder = Path(tmp)
        config = loadkit.write_config(folder, email={"maildir": {"inbox": "mail/inbox", "outbox": "mail/outbox"}})
        serve = loadkit.start_serve(config, folder / "serve.log")
        try:
            time.sleep(SETTLE_SECONDS)
            idle = loadkit.rss_mb(serve.pid)
            sampler = Sampler(serve.pid)
            print(f"feeding {MESSAGES} inquiries in batches of {BATCH} (idle after start: {idle:.1f} MB)")
            batches = feed(folder, serve.pid, sampler)
            time.sleep(SETTLE_SECONDS)
            after = loadkit.rss_mb(serve.pid)
            sampler.stop()
        finally:
            exit_status = loadkit.stop_serve(serve)
        tally = loadkit.store_tally(folder / "responder.db")

    half = batches[len(batches) // 2 - 1]
    growth = batches[-1].rss_mb - half.rss_mb
    peak = max(mb for _, mb in sampler.samples)
    print(f"\nresponder serve pinned to CPU {loadkit.RESPONDER_CPU}, Maildir in and out, SQLite store; {len(sampler.samples)} samples\n")
    loadkit.print_table(["point", "handled", "batch s", "msg/s", "RSS MB", "peak MB"],
                        [["idle after start", 0, "", "", idle, ""],
                         *([f"batch {i}", b.handled, b.seconds, BATCH / b.seconds, b.rss_mb, b.peak_mb] for i, b in enumerate(batches, 1)),
                         [f"idle {SETTLE_SECONDS} s after", MESSAGES, "", "", after, ""]])
    print(f"\nstore: {tally}; serve exited {exit_status}")
    print(f"growth over the second {MESSAGES - half.handled} messages: {growth:+.1f} MB; peak {peak:.1f} MB\n")
    loadkit.print_json(
        "memory", messages=MESSAGES, batch=BATCH, idle_mb=round(idle, 1), after_mb=round(after, 1), peak_mb=round(peak, 1),
        second_half_growth_mb=round(growth, 1), rss_mb_per_batch=[round(b.rss_mb, 1) for b in batches],
        seconds_per_batch=[round(b.seconds, 1) for b in batches], goal_mb=GOAL_MB,
        goal_met=peak < GOAL_MB and growth <= GROWTH_TOLERANCE_MB)
    return 0 if tally.get("answered", 0) == MESSAGES else 1


if __name__ == "__main__":
    sys.exit(main())
