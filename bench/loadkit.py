"""What the load benchmarks (throughput.py, webhook.py, memory.py) share.

They drive the real command line against the same loopback servers the test suite uses
(tests/servers: Dovecot, the aiosmtpd sink, the Twilio stand-in), with inquiries taken from the
labelled corpus so that the classifier does the work it does on real mail. responder runs pinned
to CPU 0 with taskset; the benchmark itself and the servers it starts keep to the other CPUs, so
the figures are what one core of responder does.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/servers and tests/support, as the test suite imports them

import support  # noqa: E402

from responder.triage.parse import parse_email  # noqa: E402

CORPUS = ROOT / "tests" / "corpus"
RESPONDER_CPU = 0
# The headers each copy of a corpus message gets anew (a field with its folded continuation lines).
HEADERS_REPLACED = re.compile(rb"^(From|Message-ID|Date|Return-Path|Delivered-To):.*(\r?\n[ \t].*)*\r?\n", re.IGNORECASE | re.MULTILINE)


def write_config(folder: Path, **sections: Any) -> Path:
    """The test suite's configuration: the example practice, a SQLite store beside the file, a
    free port for the HTTP server, and the given sections."""
    return support.write_config(folder, **sections)


# -- CPUs and processes ---------------------------------------------------------------------------

def keep_off_responder_cpu() -> None:
    """Move this process (and whatever it starts later: Dovecot, server threads) off CPU 0, so
    responder has that core to itself. On a one-core machine there is nowhere to go."""
    others = os.sched_getaffinity(0) - {RESPONDER_CPU}
    if others:
        os.sched_setaffinity(0, others)


def responder_command(config: Path, *args: str) -> list[str]:
    """The installed command line, as a user runs it, pinned to one core."""
    return ["taskset", "-c", str(RESPONDER_CPU), sys.executable, "-m", "responder", "--config", str(config), *args]


def start_serve(config: Path, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`responder serve`, returned once /healthz answers."""
    with open(log, "wb") as out:
        process = subprocess.Popen(responder_command(config, "serve"), stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    port = yaml.safe_load(config.read_text())["server"]["port"]
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz") or process.poll() is not None, timeout=30, what="/healthz")
    if process.poll() is not None:
        raise RuntimeError(f"responder serve exited {process.returncode}:\n{log.read_text()[-3000:]}")
    return process


def stop_serve(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as a service manager stops it; its exit status."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(interval)


def rss_mb(pid: int) -> float:
    """Resident set size from /proc/PID/status (VmRSS, in kB), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (/proc/PID/stat utime and stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- inquiries ------------------------------------------------------------------------------------

def _labelled(suffix: str) -> Iterable[Path]:
    """Corpus files of one kind (.eml or .sms.json) labelled as new inquiries in the training sets."""
    for labels_file in sorted(CORPUS.glob("training/*/labels.yaml")):
        labels = yaml.safe_load(labels_file.read_text()) or {}
        for name, label in sorted(labels.items()):
            if name.endswith(suffix) and isinstance(label, dict) and label.get("category") == "new_inquiry":
                yield labels_file.parent / name


def inquiry_templates() -> list[bytes]:
    """Written new inquiries whose reply goes to their From address: no Reply-To and no address
    in the text (a copy with a new sender would otherwise be answered at the same address each
    time, and throttled)."""
    templates = []
    for path in _labelled(".eml"):
        raw = path.read_bytes()
        inbound = parse_email(raw)
        if not inbound.reply_to and "@" not in inbound.text:
            templates.append(raw)
    return templates


def inquiries(count: int, templates: Sequence[bytes], start: int = 0) -> list[bytes]:
    """``count`` emails cycling through the templates, each from a person of its own, with its
    own Message-ID, dated now."""
    now = format_datetime(datetime.now(timezone.utc)).encode()
    emails = []
    for number in range(start, start + count):
        template = templates[number % len(templates)]
        head, separator, body = template.partition(b"\r\n\r\n") if b"\r\n\r\n" in template else template.partition(b"\n\n")
        newline = separator[: len(separator) // 2]  # the template's own line ending
        head = HEADERS_REPLACED.sub(b"", head + newline)
        fresh = (f"From: Inquirer {number} <inquirer.{number:06d}@example.net>{newline.decode()}"
                 f"Message-ID: <bench.{number:06d}.{time.time_ns()}@example.net>{newline.decode()}").encode()
        emails.append(fresh + b"Date: " + now + newline + head + newline + body)
    return emails


def sms_bodies() -> list[str]:
    """Texts people sent asking for therapy, from the labelled corpus."""
    return [json.loads(path.read_text())["Body"] for path in _labelled(".sms.json")]


def drop_into_maildir(folder: Path, emails: Sequence[bytes], first: int = 0) -> None:
    """Deliver mail to folder/new as a delivery agent does (written in tmp/, then renamed), dated
    a second ago: the source leaves files younger than 0.2 s, which may still be growing."""
    for sub in ("tmp", "new"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    past = time.time() - 1
    for number, raw in enumerate(emails, start=first):
        name = f"{past:.0f}.bench{number:06d}.localhost"
        (folder / "tmp" / name).write_bytes(raw)
        os.utime(folder / "tmp" / name, (past, past))
        os.rename(folder / "tmp" / name, folder / "new" / name)


# -- the store ------------------------------------------------------------------------------------

def store_tally(database: Path) -> dict[str, int]:
    """Messages by status plus replies by outbox state (reply:sent, ...), read-only."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        tally = dict(conn.execute("SELECT status, count(*) FROM messages GROUP BY status").fetchall())
        tally |= {f"{kind}:{state}": n for kind, state, n in
                  conn.execute("SELECT kind, state, count(*) FROM outbox GROUP BY kind, state").fetchall()}
    return tally


def backlog(database: Path, channel: str) -> tuple[int, int]:
    """Messages recorded so far, and replies or alerts on ``channel`` still waiting to be sent."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        recorded = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        waiting = conn.execute("SELECT count(*) FROM outbox WHERE channel = ? AND state IN ('pending', 'sending')", (channel,)).fetchone()[0]
    return recorded, waiting


def wait_until_handled(database: Path, messages: int, channel: str, timeout: float) -> None:
    """Until the store holds ``messages`` messages and owes nothing more on ``channel`` (the one
    the benchmark sends on: a crisis alert by email waits forever where no email is set up)."""
    wait_until(lambda: database.exists() and backlog(database, channel) == (messages, 0), timeout=timeout,
               what=f"{messages} messages recorded and answered", interval=0.1)


# -- reporting ------------------------------------------------------------------------------------

def machine() -> dict[str, str | int]:
    """Where and on what the figures were taken: the commit of responder measured (with "+dirty"
    when responder/ or templates/ differ from it), the CPUs, the architecture, Python."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain", "responder", "templates") else "")
    return {"commit": commit, "nproc": os.cpu_count() or 0, "machine": platform.machine(), "python": platform.python_version()}


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A plain fixed-width table: readable in a terminal and in a README."""
    cells = [[str(h) for h in headers], *([_cell(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print("  ".join(value.rjust(width) for value, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def _cell(value: object) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def print_json(bench: str, **figures: Any) -> None:
    """The one machine-readable line each benchmark ends with."""
    print(json.dumps({"bench": bench, **figures, **machine()}))
