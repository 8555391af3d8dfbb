"""How fast one `responder poll --once` answers a backlog: 1,000 new inquiries waiting.

A practice that runs responder from cron, or one coming back from an outage, meets exactly this:
many people waiting at once. Two routes, each on a fresh SQLite store, responder pinned to one core:

- maildir: the embedded default (mail/inbox in, mail/outbox out), no servers at all;
- imap+smtp: a real Dovecot over implicit TLS in (the 1,000 APPENDed before the run), replies sent
  to the aiosmtpd sink, as a practice with a mail provider runs it.

Each route first runs `poll --once` on the empty mailbox: that is the cost of starting the command
(imports, templates, connections), and it starts the mailbox cursor as a first run would. Then the
backlog is delivered and the measured run answers it. A cProfile of the same work done in process
(Service.run_once on the maildir route) shows where the time goes.

Goal: at least 100 messages a second.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import loadkit
from servers.dovecot import Dovecot
from servers.smtp import SmtpSink
from servers.tls import make_tls_files

from responder.config import load
from responder.service import Service
from responder.storage import migrate

MESSAGES = 1000
GOAL_PER_SECOND = 100
# This VM's speed wanders by 10-20% from one minute to the next: each route runs three times,
# on a fresh store each time, and its median is what meets the goal or not.
ROUNDS = 3
PROFILE_LINES = 15


@dataclass(frozen=True)
class Run:
    route: str
    startup_seconds: float  # poll --once with nothing waiting
    wall_seconds: float  # poll --once with the backlog
    new_messages: int
    sent: int
    answered: int  # messages whose reply was owed and sent
    delivered: int  # what reached the outbox folder or the SMTP sink (replies and alerts)

    @property
    def per_second(self) -> float:
        return self.new_messages / self.wall_seconds

    @property
    def per_second_after_startup(self) -> float:
        return self.new_messages / (self.wall_seconds - self.startup_seconds)


def poll_once(config: Path, env: dict[str, str]) -> tuple[float, int, int]:
    """Wall time of one pinned `poll --once`, and its count of new messages and sends."""
    started = time.perf_counter()
    result = subprocess.run(loadkit.responder_command(config, "poll", "--once"), capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=600)
    took = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"poll --once exited {result.returncode}:\n{result.stdout}\n{result.stderr[-3000:]}")
    found = re.search(r"(\d+) new message\(s\); (\d+) sent", result.stdout)
    if found is None:
        raise RuntimeError(f"unexpected poll output: {result.stdout!r}")
    return took, int(found.group(1)), int(found.group(2))


def maildir_run(folder: Path, emails: Sequence[bytes]) -> Run:
    """The embedded default: Maildir in, Maildir out."""
    config = loadkit.write_config(folder, email={"maildir": {"inbox": "mail/inbox", "outbox": "mail/outbox"}})
    startup, _, _ = poll_once(config, {})
    loadkit.drop_into_maildir(folder / "mail" / "inbox", emails)
    wall, new, sent = poll_once(config, {})
    delivered = len(list((folder / "mail" / "outbox" / "new").iterdir()))
    answered = loadkit.store_tally(folder / "responder.db").get("reply:sent", 0)
    return Run("maildir", startup, wall, new, sent, answered, delivered)


def imap_smtp_run(folder: Path, emails: Sequence[bytes]) -> Run:
    """A real mailbox: Dovecot over implicit TLS in, SMTP out to a recording sink."""
    tls = make_tls_files(folder / "tls")
    dovecot = Dovecot(tls)
    dovecot.start()
    try:
        with SmtpSink() as smtp:
            imap = {"host": "127.0.0.1", "port": dovecot.ssl_port, "ssl": True, "username": dovecot.user,
                    "password": "${IMAP_PASSWORD}", "idle": False}
            config = loadkit.write_config(folder, email={"imap": imap, "smtp": {"host": smtp.host, "port": smtp.port, "security": "none"}})
            env = {"SSL_CERT_FILE": str(tls.ca_file), "IMAP_PASSWORD": dovecot.password}
            startup, _, _ = poll_once(config, env)
            deliver_to_dovecot(dovecot, emails)
            wall, new, sent = poll_once(config, env)
            delivered = len(smtp.messages)
    finally:
        dovecot.close()
    answered = loadkit.store_tally(folder / "responder.db").get("reply:sent", 0)
    return Run("imap+smtp", startup, wall, new, sent, answered, delivered)


def deliver_to_dovecot(dovecot: Dovecot, emails: Sequence[bytes]) -> None:
    """APPEND every message on one connection, as the mail server's delivery agent would."""
    now = datetime.now(timezone.utc)
    with dovecot.client() as client:
        for raw in emails:
            client.append("INBOX", raw, msg_time=now)


def profile_in_process(folder: Path, emails: Sequence[bytes]) -> tuple[float, pstats.Stats]:
    """The maildir route's measured run again, inside this process under cProfile."""
    config = loadkit.write_config(folder, email={"maildir": {"inbox": "mail/inbox", "outbox": "mail/outbox"}})
    migrate.upgrade(load(config).storage.url)  # as poll does at start
    with Service(load(config)) as service:
        service.run_once()  # the empty first run, as above
        loadkit.drop_into_maildir(folder / "mail" / "inbox", emails)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.runcall(service.run_once)
        took = time.perf_counter() - started
    return took, pstats.Stats(profiler)


def main() -> int:
    loadkit.keep_off_responder_cpu()
    emails = loadkit.inquiries(MESSAGES, loadkit.inquiry_templates())
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        base = Path(tmp)
        runs = []
        for round_ in range(ROUNDS):
            for route, run in (("maildir", maildir_run), ("imap", imap_smtp_run)):
                (base / f"{route}{round_}").mkdir()
                runs.append(run(base / f"{route}{round_}", emails))
        (base / "profile").mkdir()
        profiled_seconds, stats = profile_in_process(base / "profile", emails)

    print(f"{MESSAGES} waiting inquiries, one `responder poll --once` pinned to CPU {loadkit.RESPONDER_CPU}, SQLite store;"
          f" {ROUNDS} rounds of each route\n")
    loadkit.print_table(
        ["route", "new", "answered", "delivered", "startup s", "poll s", "msg/s", "msg/s after startup"],
        [[r.route, r.new_messages, r.answered, r.delivered, r.startup_seconds, r.wall_seconds, r.per_second, r.per_second_after_startup]
         for r in runs])
    routes = {r.route: [m for m in runs if m.route == r.route] for r in runs}
    medians = {route: statistics.median(r.per_second for r in rounds) for route, rounds in routes.items()}
    print("\nmedian msg/s: " + ", ".join(f"{route} {value:.1f}" for route, value in medians.items()))
    print(f"\ncProfile of Service.run_once on the maildir route, in process ({profiled_seconds:.2f} s under the profiler), top {PROFILE_LINES} by cumulative time:")
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    sys.stdout.flush()

    loadkit.print_json(
        "throughput", messages=MESSAGES, rounds=ROUNDS, goal_per_second=GOAL_PER_SECOND,
        goal_met=min(medians.values()) >= GOAL_PER_SECOND,
        **{f"{route}_median_per_second": round(value, 1) for route, value in medians.items()},
        **{f"{route}_{key}": [round(value(r), 3) for r in rounds] for route, rounds in routes.items() for key, value in
           (("poll_seconds", lambda r: r.wall_seconds), ("startup_seconds", lambda r: r.startup_seconds),
            ("per_second", lambda r: r.per_second), ("answered", lambda r: r.answered))},
        profiled_seconds=round(profiled_seconds, 3))
    return 0 if all(r.new_messages == MESSAGES for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
