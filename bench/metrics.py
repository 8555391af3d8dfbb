"""The Prometheus scrape on a large store: how long GET /metrics takes when the store holds a year
of a busy practice (100,000 messages), and how much of it is Store.tallies(), so that an index
for it can be judged by what it saves.

Every scrape counts the store anew (responder/metrics.py): Store.tallies() groups the whole
``messages`` table by channel and category, joined to ``outbox`` (replies sent or failed) and to
``drafts``, and counts skipped messages and what the outbox still owes; then the first clinician's
reply per conversation (funnel.first_human_histogram) and the conversations by status. Read
from the tables, tallies() took 482-538 ms a scrape at 100,000 messages on SQLite (p50, two runs);
from migration 0008's indexes, which hold every column it counts, 142-185 ms (three runs; README, Speed).

The store is bench/conversations.py's (its builder, configuration and store URL, reused), then
dressed as a year of the pipeline leaves it, so that each of tallies' statements has rows to
find: mail from machines and vendors (skipped, no conversation) and a few unreadable or too large;
replies that failed; the last months in approve mode, each reply a draft (sent, rejected, taken
over, the newest still held) with its draft notice and events; a few outbox rows still owed; an
access-log entry for each clinician's reply (what the first-reply histogram reads).

Then, in one shuffled run, each --repeat times after one unmeasured warm-up:
  store: tallies()                      Store.tallies(), what /metrics calls first
  store: render()                       Metrics.render(): every collector, as /metrics runs it
  http: GET /metrics                    through the app (uvicorn in a thread, as conversations.py serves it)
and the floors beside them, measured in the same run (the machines here differ by 2x):
  store: SELECT 1                       a round trip to the store's engine
  store: SELECT count(*) FROM messages  every message counted, from the smallest index
  store: SELECT count(category) ...     every message's category: each row read before 0008, the index since
  http: GET /healthz                    the same client and app, no store

Run from the repository root:
    .venv/bin/python bench/metrics.py                       # 100,000 messages on SQLite
    .venv/bin/python bench/metrics.py --messages 20000      # a quick look
    .venv/bin/python bench/metrics.py --explain             # and each statement of a scrape: its time alone, its plan
    .venv/bin/python bench/metrics.py --postgres            # on a throwaway PostgreSQL (tests/servers)
    .venv/bin/python bench/metrics.py --keep /tmp/store     # leave the store (and its config.yaml) there, to try indexes by hand
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import conversations  # bench/: the large store's builder, the app in a thread, the statements a call runs
import loadkit  # bench/: the reporting the benchmarks share
from sqlalchemy import bindparam, insert, literal, select, text, update

from responder.model import Access, Category, Channel, DraftEvent, DraftState, Kind, ReplyState, Status
from responder.service import Service
from responder.storage import schema
from responder.storage.store import utcnow

MACHINE_SHARE = 0.12  # of all messages: newsletters, notifications, vendors; no conversation
UNREADABLE_SHARE, TOO_LARGE_SHARE = 0.003, 0.002  # of all messages, among the machine share's
SOLICITATION_SHARE = 0.2  # of the machine mail read: vendors; the rest automated
FAILED_SHARE = 0.015  # replies the route refused for good
APPROVE_DAYS = 120  # approve mode for the last months: every reply since then was a draft
WAITING_DAYS = 2  # drafts of the last days still wait for a clinician
DRAFT_ENDS = ((DraftState.SENT, 88), (DraftState.REJECTED, 6), (DraftState.TAKEN_OVER, 6))
DRAFT_REPLY_STATE = {DraftState.SENT: ReplyState.SENT, DraftState.REJECTED: ReplyState.REJECTED,
                     DraftState.TAKEN_OVER: ReplyState.WITHDRAWN, DraftState.WAITING: ReplyState.HELD}
OWED = ((ReplyState.PENDING, 3), (ReplyState.SENDING, 1))  # the newest notices, still on their way out
BATCH = 2000  # rows per executemany while dressing
NEWSLETTER = ("This month at Springfield Wellness Supply: new arrivals, seasonal offers and the events calendar.\n\n"
              "You are receiving this email because you subscribed at our website. To stop receiving these emails, "
              "update your preferences or unsubscribe at any time.\n\n")
PITCH = ("Hi there, I came across your practice and wanted to reach out. We help therapy practices like yours fill "
         "their calendars with our patient acquisition program. Do you have 15 minutes this week for a quick call?\n\n")


@dataclass
class Dressed:
    """What was added to conversations.py's store, or changed in it."""

    machine: int = 0  # messages from machines and vendors, skipped
    unreadable: int = 0
    too_large: int = 0
    failed: int = 0  # replies failed
    drafts: int = 0
    waiting: int = 0  # drafts still held
    owed: int = 0  # outbox rows pending or sending
    access_log: int = 0


# -- the store ------------------------------------------------------------------------------------

def machine_row(rng: random.Random, n: int, now: datetime) -> dict[str, Any]:
    """One message no person wrote, as the pipeline records it: a newsletter or notification
    (automated), a vendor's pitch (solicitation), or one it could not read or would not."""
    at = now - timedelta(days=rng.uniform(0, 365))
    key = f"<machine.{n:07d}@sender.example.com>"
    source = f"imap:{conversations.NOTIFY}@mail.practice.test:993/INBOX"
    draw = rng.random() * MACHINE_SHARE
    if draw < UNREADABLE_SHARE + TOO_LARGE_SHARE:
        unreadable = draw < UNREADABLE_SHARE
        raw = b"\x00\xff broken MIME" * 40 if unreadable else conversations.email_bytes(n, "Scans", "scanner@example.com", "Scan", "", at, key, None)
        return {"source": source, "key": "sha256:" + f"{n:064x}" if unreadable else key, "channel": Channel.EMAIL, "sender": "",
                "reply_to": None, "subject": "", "received_at": at, "recorded_at": at, "raw": raw, "text": None, "category": None,
                "action": None, "status": Status.UNREADABLE if unreadable else Status.TOO_LARGE,
                "reasons": ["unreadable: no usable part"] if unreadable else ["too large to read: recorded, not answered"],
                "evidence": [], "facts": {}, "conversation_id": None}
    vendor = rng.random() < SOLICITATION_SHARE
    category = Category.SOLICITATION if vendor else Category.AUTOMATED
    sender = f"{'sales' if vendor else 'news'}@sender{n % 300}.example.com"
    body = PITCH if vendor else NEWSLETTER * rng.randint(2, 12)
    subject = "Grow your practice" if vendor else "Your monthly update"
    raw = conversations.email_bytes(n, "Sender", sender, subject, body, at, key, None)
    return {"source": source, "key": key, "channel": Channel.EMAIL, "sender": sender, "reply_to": sender, "subject": subject,
            "received_at": at, "recorded_at": at, "raw": raw, "text": body, "category": category, "action": "off", "status": Status.SKIPPED,
            "reasons": [f"{category}: never answered"], "evidence": [], "facts": {}, "conversation_id": None}


def add_machine_mail(service: Service, rng: random.Random, count: int, dressed: Dressed) -> None:
    """``count`` messages from machines and vendors, spread over the year, in batches."""
    now = utcnow()
    for start in range(0, count, BATCH):
        rows = [machine_row(rng, n, now) for n in range(start, min(start + BATCH, count))]
        with service.store.transaction() as conn:
            conn.execute(insert(schema.messages), rows)
        dressed.machine += len(rows)
        dressed.unreadable += sum(row["status"] == Status.UNREADABLE for row in rows)
        dressed.too_large += sum(row["status"] == Status.TOO_LARGE for row in rows)


def draft_state(rng: random.Random, created: datetime, now: datetime) -> DraftState:
    if created >= now - timedelta(days=WAITING_DAYS):
        return DraftState.WAITING
    states, weights = zip(*DRAFT_ENDS, strict=True)
    return rng.choices(states, weights)[0]


def settle_replies(service: Service, rng: random.Random, dressed: Dressed) -> None:
    """The replies' fates: a few failed; since APPROVE_DAYS ago each one a draft (its message held,
    its draft notice sent to practice.notify, its events), the newest still waiting."""
    now = utcnow()
    with service.store.engine.connect() as conn:
        replies = conn.execute(select(schema.outbox.c.id, schema.outbox.c.message_id, schema.outbox.c.created_at)
                               .where(schema.outbox.c.kind == Kind.REPLY).order_by(schema.outbox.c.id)).all()
    states: list[dict[str, Any]] = []
    drafts: list[dict[str, Any]] = []
    for outbox_id, message_id, created in replies:
        drafted = created >= now - timedelta(days=APPROVE_DAYS)
        draft = draft_state(rng, created, now) if drafted else None
        state = DRAFT_REPLY_STATE[draft] if draft else ReplyState.SENT
        if state == ReplyState.SENT and rng.random() < FAILED_SHARE:
            state, draft = ReplyState.FAILED, (DraftState.APPROVED if draft else None)
        if state != ReplyState.SENT:
            failed = state == ReplyState.FAILED
            states.append({"row": outbox_id, "new_state": state, "new_attempts": 5 if failed else int(state != ReplyState.HELD),
                           "new_error": "550 5.1.1 mailbox unavailable" if failed else None})
        if draft is not None:
            decided = created + timedelta(hours=rng.uniform(0.1, 20)) if draft != DraftState.WAITING else created
            drafts.append({"message_id": message_id, "outbox_id": outbox_id, "state": draft, "created_at": created,
                           "updated_at": min(decided, now), "mail_copy": None})
    set_state = (update(schema.outbox).where(schema.outbox.c.id == bindparam("row"))
                 .values(state=bindparam("new_state"), sent_at=None, attempts=bindparam("new_attempts"), last_error=bindparam("new_error")))
    held = update(schema.messages).where(schema.messages.c.id == bindparam("mid")).values(action="approve", status=Status.HELD)
    with service.store.transaction() as conn:
        for start in range(0, len(states), BATCH):
            conn.execute(set_state, states[start:start + BATCH])
        for start in range(0, len(drafts), BATCH):
            batch = drafts[start:start + BATCH]
            conn.execute(insert(schema.drafts), batch)
            conn.execute(held, [{"mid": row["message_id"]} for row in batch])
            conn.execute(insert(schema.outbox), [draft_notice(row) for row in batch])
        add_draft_events(conn)
    dressed.failed = sum(row["new_state"] == ReplyState.FAILED for row in states)
    dressed.drafts, dressed.waiting = len(drafts), sum(row["state"] == DraftState.WAITING for row in drafts)


def draft_notice(draft: dict[str, Any]) -> dict[str, Any]:
    """The notice to practice.notify that a draft waits (Kind.NOTICE), sent when it was made."""
    at = draft["created_at"]
    return {"message_id": draft["message_id"], "kind": Kind.NOTICE, "channel": Channel.EMAIL, "to_addr": conversations.NOTIFY,
            "msgid": f"<draft.{draft['outbox_id']}@practice.test>", "subject": "A reply waits for your approval",
            "body": "A draft reply waits for you on the page.", "raw": b"notice", "state": ReplyState.SENT, "attempts": 1,
            "next_attempt_at": at, "created_at": at, "sent_at": at}


def add_draft_events(conn: Any) -> None:
    """Each draft's history: created, and how it ended (approved then sent, rejected, taken over)."""
    columns = ["draft_id", "at", "actor", "action", "detail"]
    d = schema.drafts.c
    steps = [(None, "responder", DraftEvent.CREATED, d.created_at),
             ((DraftState.SENT, DraftState.APPROVED), "bench-clinician", DraftEvent.APPROVED, d.updated_at),
             ((DraftState.SENT,), "responder", DraftEvent.SENT, d.updated_at),
             ((DraftState.REJECTED,), "bench-clinician", DraftEvent.REJECTED, d.updated_at),
             ((DraftState.TAKEN_OVER,), "responder", DraftEvent.TAKEN_OVER, d.updated_at)]
    for states, actor, action, at in steps:
        rows = select(d.id, at, literal(actor), literal(str(action)), literal(""))
        if states is not None:
            rows = rows.where(d.state.in_([str(state) for state in states]))
        conn.execute(insert(schema.draft_events).from_select(columns, rows))


def owe_newest(service: Service, dressed: Dressed) -> None:
    """The newest conversation notices still on their way out: what the outbox depth shows."""
    with service.store.transaction() as conn:
        newest = conn.execute(select(schema.outbox.c.id).where(schema.outbox.c.kind == Kind.CONVERSATION_NOTICE)
                              .order_by(schema.outbox.c.created_at.desc()).limit(sum(n for _, n in OWED))).scalars().all()
        states = [state for state, n in OWED for _ in range(n)]
        for outbox_id, state in zip(newest, states, strict=False):
            claimed = {"claimed_until": utcnow() + timedelta(minutes=2), "claimed_by": "bench:1"} if state == ReplyState.SENDING else {}
            conn.execute(update(schema.outbox).where(schema.outbox.c.id == outbox_id)
                         .values(state=state, sent_at=None, attempts=int(state == ReplyState.SENDING), **claimed))
            dressed.owed += 1


def log_human_replies(service: Service, dressed: Dressed) -> None:
    """The access-log entries each clinician's reply leaves (storage/inbox.add_reply): the
    conversation viewed a few minutes before, then replied, with the reply's channel."""
    o, m = schema.outbox.c, schema.messages.c
    with service.store.engine.connect() as conn:
        replies = conn.execute(select(o.created_at, o.author, o.channel, m.conversation_id)
                               .join_from(schema.outbox, schema.messages, m.id == o.message_id)
                               .where(o.kind == Kind.HUMAN_REPLY)).all()
    rows = []
    for at, author, channel, conversation_id in replies:
        rows.append({"at": at - timedelta(minutes=4), "actor": author, "conversation_id": conversation_id, "action": Access.VIEWED, "detail": ""})
        rows.append({"at": at, "actor": author, "conversation_id": conversation_id, "action": Access.REPLIED, "detail": channel})
    rows.sort(key=lambda row: row["at"])
    with service.store.transaction() as conn:
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(schema.access_log), rows[start:start + BATCH])
    dressed.access_log = len(rows)


def dress(service: Service, machine: int, seed: int) -> Dressed:
    """conversations.py's store as a year of the pipeline leaves it (see the docstring)."""
    rng = random.Random(seed + 1)
    dressed = Dressed()
    add_machine_mail(service, rng, machine, dressed)
    settle_replies(service, rng, dressed)
    owe_newest(service, dressed)
    log_human_replies(service, dressed)
    if service.store.engine.dialect.name == "postgresql":
        with service.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return dressed


def tally_rows(service: Service) -> dict[str, Any]:
    """What a scrape counts, in short: how many series each figure has and the sums, to show the joins found rows."""
    tallies = service.store.tallies()
    outcomes: dict[str, int] = {}
    for _, _, outcome, n in tallies.outcomes:
        outcomes[outcome] = outcomes.get(outcome, 0) + n
    return {"received": sum(n for *_, n in tallies.received), "received_series": len(tallies.received), "outcomes": outcomes,
            "outbox_depth": {str(state): n for state, n in tallies.outbox_depth.items()}}


# -- asking ---------------------------------------------------------------------------------------

def scalar(service: Service, sql: str) -> Callable[[], object]:
    def ask() -> object:
        with service.store.engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    return ask


def http_get(browser: conversations.Browser, path: str) -> Callable[[], object]:
    return lambda: conversations.ok(browser.request("GET", path)[0], path)


FLOORS = {"store: tallies()": "store: SELECT count(*) FROM messages", "store: render()": "store: SELECT count(*) FROM messages",
          "http: GET /metrics": "http: GET /healthz", "store: SELECT count(*) FROM messages": "store: SELECT 1",
          "store: SELECT count(category) FROM messages": "store: SELECT 1", "http: GET /healthz": "store: SELECT 1"}


def asks(service: Service, browser: conversations.Browser) -> dict[str, Callable[[], object]]:
    """Every figure and floor, labelled."""
    return {"store: tallies()": service.store.tallies, "store: render()": service.metrics.render,
            "http: GET /metrics": http_get(browser, "/metrics"), "http: GET /healthz": http_get(browser, "/healthz"),
            "store: SELECT 1": scalar(service, "SELECT 1"),
            "store: SELECT count(*) FROM messages": scalar(service, "SELECT count(*) FROM messages"),
            "store: SELECT count(category) FROM messages": scalar(service, "SELECT count(category) FROM messages")}


def plan(labelled: dict[str, Callable[[], object]], repeat: int, rng: random.Random) -> list[tuple[str, Callable[[], object]]]:
    """Each ask ``repeat`` times, shuffled, so that every figure meets the same machine."""
    every = [(label, ask) for label, ask in labelled.items() for _ in range(repeat)]
    rng.shuffle(every)
    return every


def report(timings: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """The table, each figure beside its floor; the summaries, by label."""
    rows = {label: conversations.summarize(samples) for label, samples in timings.items()}
    lines = []
    for label in FLOORS:
        row, floor = rows[label], rows[FLOORS[label]]
        lines.append((label, row["n"], row["p50_ms"], row["p95_ms"], row["max_ms"], FLOORS[label], floor["p50_ms"],
                      f"{row['p50_ms'] / max(floor['p50_ms'], 0.001):.0f}x"))
    loadkit.print_table(("figure", "n", "p50 ms", "p95 ms", "max ms", "floor", "floor p50 ms", "p50 / floor"), lines)
    return rows


# -- where the time goes ----------------------------------------------------------------------------

def explain(service: Service, runs: int = 3) -> list[dict[str, Any]]:
    """Each statement one scrape runs (Metrics.render: tallies() first): its median time run again
    on its own over ``runs`` runs (all rows fetched), and the database's plan for it."""
    postgres = service.store.engine.dialect.name == "postgresql"
    with conversations.statements(service) as seen:
        started = time.perf_counter()
        service.metrics.render()
        whole = time.perf_counter() - started
    queries = [(sql, parameters) for sql, parameters in seen if sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    print(f"\none scrape (Metrics.render): {whole * 1000:.1f} ms, {len(queries)} queries")
    found = []
    for sql, parameters in queries:
        with service.store.engine.connect() as conn:
            alone = []
            for _ in range(runs):
                started = time.perf_counter()
                conn.exec_driver_sql(sql, parameters).all()
                alone.append(time.perf_counter() - started)
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + sql, parameters).all()
        lines = [row[0] if postgres else f"{'  ' * (row[1] > 0)}{row[3]}" for row in rows]
        found.append({"sql": " ".join(sql.split()), "ms": round(statistics.median(alone) * 1000, 2), "plan": lines})
        print(f"\n  {found[-1]['ms']:8.2f} ms  {found[-1]['sql']}")
        for line in lines:
            print("               " + line)
    return found


# -- the run ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000, help="messages in all (default 100,000), machine mail included")
    parser.add_argument("--conversations", type=int, help="people's conversations (default a fifth of --messages)")
    parser.add_argument("--repeat", type=int, default=7, help="measurements of each figure (default 7)")
    parser.add_argument("--postgres", nargs="?", const="start", metavar="URL",
                        help="a PostgreSQL store: an empty database at URL, or without URL one started here (tests/servers)")
    parser.add_argument("--plain", action="store_true", help="no storage.encryption_key: nothing sealed")
    parser.add_argument("--explain", action="store_true", help="also print each statement of a scrape: its time alone and its plan")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build the store (and its config.yaml) in DIR, a new folder, and leave it there")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-metrics-"))
    try:
        with conversations.store_url(folder, args.postgres) as (url, sqlite_file):
            return conversations.run(args, folder, url, sqlite_file, measure_store)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def measure_store(args: argparse.Namespace, service: Service, url: str, sqlite_file: Path | None, started: float,
                  load_before: float) -> int:
    """Build and dress the store (timed from ``started``, its migration included), then measure and report."""
    machine = round(args.messages * MACHINE_SHARE)
    built = conversations.build(service, args.messages - machine, args.conversations or args.messages // 5, args.seed)
    dressed = dress(service, machine, args.seed)
    build_seconds = time.perf_counter() - started
    size = conversations.store_size(service, sqlite_file)
    database = service.store.engine.dialect.name
    counted = tally_rows(service)
    print(f"built a {database} store in {build_seconds:.1f} s: {built.messages + dressed.machine:,} messages "
          f"({dressed.machine:,} from machines and vendors) in {built.conversations:,} conversations; {asdict(dressed)}; "
          f"{size / 1e6:.0f} MB on disk, {'plain' if args.plain else 'sealed'}"
          + (f"; kept in {sqlite_file or url}" if args.keep else ""))
    print(f"a scrape counts: {counted}")

    gc.collect()
    gc.freeze()  # as serve does once started (bench/README-load.md): what was built is not walked again
    with conversations.serving(service) as port:
        labelled = asks(service, conversations.Browser(port))
        rng = random.Random(args.seed)
        conversations.measure(plan(labelled, 1, rng))  # warm up: imports, connections, the page cache
        measured = time.perf_counter()
        timings = conversations.measure(plan(labelled, args.repeat, rng))
        measure_seconds = time.perf_counter() - measured
    load_after = os.getloadavg()[0]
    rows = report(timings)
    print(f"measured in {measure_seconds:.1f} s; load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
    statements = explain(service) if args.explain else None
    loadkit.print_json("metrics", database=database, sealed=not args.plain, build_seconds=round(build_seconds, 1), store_bytes=size,
                       built={"messages": built.messages + dressed.machine, "conversations": built.conversations,
                              "outbox": built.outbox, **asdict(dressed)},
                       counted=counted, figures=rows, floors=FLOORS, statements=statements,
                       load_1m={"before": round(load_before, 2), "after": round(load_after, 2)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
