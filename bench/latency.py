"""Reply latency: how long a person waits between their email landing in the practice mailbox and
responder's reply being accepted by the outgoing SMTP server.

Everything runs on loopback, started by this script with the test suite's own servers (a real
Dovecot and an aiosmtpd sink, from tests/servers/), so the figures include real IMAP, TLS and SMTP:

  floor    a bare imapclient IDLE loop: delivery until Dovecot announces EXISTS. Dovecot holds IDLE
           notices back about 0.5 s, so no IMAP client can answer sooner than this.
  idle     `responder serve` with IMAP IDLE: delivery until the reply reaches the SMTP sink.
  polling  the same with IDLE off and a 5-second poll, arriving at random moments of the cycle.
  sieve    Dovecot's own Sieve vacation, which answers inside dovecot-lda at delivery.

Goal: responder's p50 within 0.1 s of the floor and its max within 1 s of it.

Run from the repository root: .venv/bin/python bench/latency.py
Prints a table, then one JSON line with every figure. Needs root (Dovecot runs as root, as in
scripts/test) and installs dovecot-sieve with apt-get if it is missing.
"""

from __future__ import annotations

import json
import math
import os
import platform
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers.dovecot import Dovecot  # noqa: E402 - tests/ must be on sys.path first
from servers.smtp import ReceivedMessage, SmtpSink  # noqa: E402
from servers.tls import TlsFiles, make_tls_files  # noqa: E402
from support import inquiry, write_config  # noqa: E402

IDLE_MESSAGES = 50
FLOOR_MESSAGES = 50
POLLING_MESSAGES = 20
SIEVE_MESSAGES = 50
POLL_SECONDS = 5
# A pause after each answer, so every message meets a quiet system, as a lone inquiry does (and
# responder's bell is back in IDLE before the next one lands).
SETTLE_SECONDS = 0.3
REPLY_TIMEOUT = 20.0
GOAL_P50_OVER_FLOOR_MS = 100
GOAL_MAX_OVER_FLOOR_MS = 1000

LDA = Path("/usr/lib/dovecot/dovecot-lda")
SIEVE_PLUGIN = Path("/usr/lib/dovecot/modules/lib90_sieve_plugin.so")
MAIL_UID = 65534  # the mail user tests/servers/dovecot.py runs the mailbox as
VACATION_SCRIPT = """\
require ["vacation"];
vacation :days 1 :subject "Thank you for writing" "We have your message and will answer within a day.";
"""
# Appended to the instance's configuration: Sieve for dovecot-lda only, replies submitted over SMTP.
SIEVE_CONFIG = """
postmaster_address = postmaster@practice.test
submission_host = 127.0.0.1:{port}
protocol lda {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
"""


class TimedSink(SmtpSink):
    """The test suite's SMTP sink, also noting when each recipient's message was accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: dict[str, float] = {}
        self._arrived = threading.Condition()

    def _record(self, message: ReceivedMessage) -> None:
        """Called in aiosmtpd's handler just before it answers 250: the moment of acceptance."""
        now = time.monotonic()
        with self._arrived:
            for recipient in message.rcpt_tos:
                self.accepted.setdefault(recipient, now)
            self._arrived.notify_all()
        super()._record(message)

    def accepted_at(self, recipient: str, timeout: float) -> float:
        """Wait for a message to `recipient`; the monotonic time the sink accepted it."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: recipient in self.accepted, timeout):
                raise TimeoutError(f"no reply to {recipient} within {timeout} s")
            return self.accepted[recipient]


class IdleWatcher:
    """The floor: a bare imapclient IDLE loop in a thread, noting when each EXISTS arrives."""

    def __init__(self, dovecot: Dovecot) -> None:
        self.client = dovecot.ssl_client()  # implicit TLS, as responder connects
        self.client.select_folder("INBOX", readonly=True)
        self.client.idle()
        self.announced: queue.Queue[float] = queue.Queue()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="floor-idle", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.stopping.is_set():
            responses = self.client.idle_check(timeout=0.2)
            if any(len(r) > 1 and r[1] == b"EXISTS" for r in responses):
                self.announced.put(time.monotonic())

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.client.idle_done()
        self.client.logout()


def summarize(seconds: list[float]) -> dict[str, float]:
    """n, p50, p95 and max in milliseconds; percentiles by nearest rank, so each is a real sample."""
    ordered = sorted(seconds)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)] * 1000, 1)

    return {"n": len(ordered), "p50_ms": rank(0.50), "p95_ms": rank(0.95), "max_ms": rank(1.0)}


def measure_floor(dovecot: Dovecot, count: int) -> list[float]:
    """Delivery until the IDLE notice, for `count` messages sent one at a time."""
    watcher = IdleWatcher(dovecot)
    try:
        samples = []
        for n in range(count):
            delivered = time.monotonic()
            dovecot.deliver(inquiry(sender=f"floor{n}@example.org"))
            samples.append(watcher.announced.get(timeout=REPLY_TIMEOUT) - delivered)
            time.sleep(SETTLE_SECONDS)
        return samples
    finally:
        watcher.close()


def start_serve(folder: Path, dovecot: Dovecot, sink: SmtpSink, tls: TlsFiles, *, idle: bool,
                poll_seconds: float) -> subprocess.Popen[bytes]:
    """`responder serve` watching the Dovecot INBOX over implicit TLS and sending to the sink, the
    way tests/test_serve.py's serve_mail runs it; returns once /healthz answers."""
    imap = {"host": dovecot.host, "port": dovecot.ssl_port, "ssl": True, "username": dovecot.user,
            "password": "${IMAP_PASSWORD}", "idle": idle, "poll_seconds": poll_seconds}
    config = write_config(folder, email={"imap": imap, "smtp": {"host": sink.host, "port": sink.port, "security": "none"}})
    port = yaml.safe_load(config.read_text())["server"]["port"]
    env = {**os.environ, "SSL_CERT_FILE": str(tls.ca_file), "IMAP_PASSWORD": dovecot.password}
    with open(folder / "serve.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "responder", "--config", str(config), "serve"],
                                   stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder)
    deadline = time.monotonic() + 30
    while not healthy(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"responder serve did not start:\n{(folder / 'serve.log').read_text()[-3000:]}")
        time.sleep(0.1)
    return process


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def stop_serve(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as a practice's service manager would; SIGKILL only if it hangs."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure_replies(dovecot: Dovecot, sink: TimedSink, prefix: str, count: int, timeout: float,
                    pause: Callable[[], float] = lambda: SETTLE_SECONDS) -> list[float]:
    """Delivery until the reply is accepted, for `count` messages from distinct senders (so the
    throttle skips none), each sent after `pause()` seconds once the previous one was answered.
    A first, unmeasured message warms responder up (imports, model, connections)."""
    dovecot.deliver(inquiry(sender=f"{prefix}-warmup@example.org"))
    sink.accepted_at(f"{prefix}-warmup@example.org", timeout)
    samples = []
    for n in range(count):
        time.sleep(pause())
        sender = f"{prefix}{n}@example.org"
        delivered = time.monotonic()
        dovecot.deliver(inquiry(sender=sender))
        samples.append(sink.accepted_at(sender, timeout) - delivered)
    return samples


def measure_serve(dovecot: Dovecot, sink: TimedSink, tls: TlsFiles, work: Path, *, idle: bool) -> list[float]:
    """One `responder serve` run, with IDLE (60-second safety poll) or polling every POLL_SECONDS."""
    folder = work / ("idle" if idle else "polling")
    folder.mkdir()
    process = start_serve(folder, dovecot, sink, tls, idle=idle, poll_seconds=60 if idle else POLL_SECONDS)
    try:
        time.sleep(1.0)  # the first poll and the IDLE bell settle before anything arrives
        if idle:
            return measure_replies(dovecot, sink, "idle", IDLE_MESSAGES, REPLY_TIMEOUT)
        # Mail arrives at any moment of the poll cycle, not just after a poll: wait a random part
        # of the cycle after each answer (seeded, so runs are comparable).
        chance = random.Random(5)
        return measure_replies(dovecot, sink, "poll", POLLING_MESSAGES, POLL_SECONDS + REPLY_TIMEOUT,
                               pause=lambda: chance.uniform(0, POLL_SECONDS))
    finally:
        stop_serve(process)


def sieve_missing() -> str | None:
    """Why Sieve cannot run here, after trying to install it with apt-get; None when it can."""
    if LDA.exists() and SIEVE_PLUGIN.exists():
        return None
    # Debian 12 ships dovecot-lda inside dovecot-core; later releases split it out.
    packages = ["dovecot-sieve"] + ([] if LDA.exists() else ["dovecot-lda"])
    command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]
    if os.geteuid() != 0:
        command.insert(0, "sudo")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    missing = [str(path) for path in (LDA, SIEVE_PLUGIN) if not path.exists()]
    if not missing:
        return None
    why = result.stderr.strip()[-300:] or f"it exited {result.returncode}"
    return f"{', '.join(missing)} still missing after `{' '.join(command)}`: {why}"


def enable_sieve(dovecot: Dovecot, sink: SmtpSink) -> None:
    """Before Dovecot starts: a vacation script in the user's home, Sieve in dovecot-lda, and its
    replies submitted to the sink. IMAP (what responder and the floor use) is unchanged."""
    home = dovecot.maildir.parent
    home.mkdir(parents=True, exist_ok=True)
    (home / ".dovecot.sieve").write_text(VACATION_SCRIPT)
    for path in (home, home / ".dovecot.sieve"):
        os.chown(path, MAIL_UID, MAIL_UID)
    with dovecot.config_file.open("a") as config:
        config.write(SIEVE_CONFIG.format(port=sink.port))


def measure_sieve(dovecot: Dovecot, sink: TimedSink, count: int) -> list[float]:
    """dovecot-lda delivery (process start included) until the vacation reply is accepted."""
    samples = []
    for n in range(count):
        sender = f"sieve{n}@example.org"
        delivered = time.monotonic()
        subprocess.run([str(LDA), "-c", str(dovecot.config_file), "-d", dovecot.user, "-f", sender],
                       input=inquiry(sender=sender), check=True, capture_output=True)
        samples.append(sink.accepted_at(sender, REPLY_TIMEOUT) - delivered)
        time.sleep(SETTLE_SECONDS)
    return samples


def machine() -> str:
    """What the figures depend on: cores this process may use (as nproc counts), CPU, versions."""
    dovecot = subprocess.run([shutil.which("dovecot") or "/usr/sbin/dovecot", "--version"],
                             capture_output=True, text=True).stdout.split()[0]
    return (f"{len(os.sched_getaffinity(0))} cores (nproc), {platform.machine()}, Linux {platform.release()}, "
            f"Python {platform.python_version()}, Dovecot {dovecot}")


def print_table(rows: dict[str, dict[str, float]]) -> None:
    print(f"{'route':<9} {'n':>3} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for route, row in rows.items():
        print(f"{route:<9} {row['n']:>3} {row['p50_ms']:>9.1f} {row['p95_ms']:>9.1f} {row['max_ms']:>9.1f}")


def goal(idle: dict[str, float], floor: dict[str, float]) -> dict[str, float | bool]:
    """responder's margin over what any IDLE client could do: p50 against p50, max against max."""
    p50 = round(idle["p50_ms"] - floor["p50_ms"], 1)
    worst = round(idle["max_ms"] - floor["max_ms"], 1)
    return {"p50_over_floor_ms": p50, "max_over_floor_ms": worst,
            "met": p50 <= GOAL_P50_OVER_FLOOR_MS and worst <= GOAL_MAX_OVER_FLOOR_MS}


def measure_all(work: Path, sieve_problem: str | None) -> dict[str, dict[str, float]]:
    """Every route against one Dovecot and one sink; Sieve last, once responder has stopped."""
    tls = make_tls_files(work / "tls")
    with TimedSink() as sink:
        dovecot = Dovecot(tls)
        if sieve_problem is None:
            enable_sieve(dovecot, sink)
        dovecot.start()
        try:
            rows = {"floor": summarize(measure_floor(dovecot, FLOOR_MESSAGES)),
                    "idle": summarize(measure_serve(dovecot, sink, tls, work, idle=True)),
                    "polling": summarize(measure_serve(dovecot, sink, tls, work, idle=False))}
            if sieve_problem is None:
                rows["sieve"] = summarize(measure_sieve(dovecot, sink, SIEVE_MESSAGES))
            return rows
        finally:
            dovecot.close()


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    sieve_problem = sieve_missing()
    # Other work on the machine shows in every figure: the load average says how much there was.
    load_before = os.getloadavg()[0]
    try:
        rows = measure_all(work, sieve_problem)
    except BaseException:
        print(f"latency: failed; responder's logs are kept in {work}", file=sys.stderr)
        raise
    load_after = os.getloadavg()[0]
    shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    versus = goal(rows["idle"], rows["floor"])
    print(f"idle over the floor: p50 {versus['p50_over_floor_ms']:+.1f} ms (goal <= {GOAL_P50_OVER_FLOOR_MS}), "
          f"max {versus['max_over_floor_ms']:+.1f} ms (goal <= {GOAL_MAX_OVER_FLOOR_MS}): "
          f"{'met' if versus['met'] else 'NOT met'}")
    if sieve_problem is not None:
        print(f"sieve: not measured: {sieve_problem}")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
    figures = {"bench": "latency", **rows, "idle_vs_floor": versus, "polling_seconds": POLL_SECONDS,
               "load_1m": {"before": round(load_before, 2), "after": round(load_after, 2)}, "machine": machine()}
    if sieve_problem is not None:
        figures["sieve"] = {"error": sieve_problem}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
