"""The clinicians' conversations with a large store: how long the list and one conversation take
when the store holds a year of a busy practice (issue 12: 100,000 messages in 20,000
conversations; p95 under 100 ms for each).

The store is built fast but as the app writes it: a fresh store migrated to this release, then
rows inserted in batches through schema.py's tables on the Service's own engine, so sealed
columns are sealed as the pipeline seals them (storage.encryption_key set, unless --plain). The
mail is realistic: corpus inquiries wrapped as a mail program sends them (2-4 kB: Received,
DKIM, text and HTML parts), thread replies quoting our first reply, texts as Twilio posts them.

Then, in one shuffled run so that every figure meets the same machine:
  list        GET /conversations, 50 a page, waiting on us first (page 1, any page, ?status=)
  clinician   the same for a clinician, who sees only the conversations assigned to them
  show        GET /conversations/{id} of a random conversation (2-8 messages, most of them)
  show long   the same for the few with 100 messages or more
  floors      GET /healthz through the same client, and SELECT 1 on the store's engine
each at two levels: through the HTTP app (uvicorn in a thread of this process, signed in with a
session cookie, kept-alive connection), and one level down, Inbox.list and Inbox.show, what
the pages call.

Run from the repository root:
    .venv/bin/python bench/conversations.py                        # 100,000 / 20,000 on SQLite, ~2-3 minutes
    .venv/bin/python bench/conversations.py --messages 5000 --conversations 1000   # a quick look
    .venv/bin/python bench/conversations.py --postgres             # on a throwaway PostgreSQL (tests/servers)
    .venv/bin/python bench/conversations.py --postgres postgresql+psycopg://...   # an empty database of yours
    .venv/bin/python bench/conversations.py --explain              # and each statement's time and plan
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import html
import http.client
import json
import math
import os
import random
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import loadkit  # bench/: the corpus inquiries and the reporting the load benchmarks share
import uvicorn
from argon2 import PasswordHasher
from sqlalchemy import event, insert, text

from responder.config import load
from responder.inbox import Viewer
from responder.model import Category, Channel, Classification, ConversationOutcome, ConversationStatus, Facts, IdentityKind, Kind, ReplyState, Role, Status
from responder.service import Service
from responder.storage import migrate, seal
from responder.storage.schema import conversations, identities, messages, outbox
from responder.storage.store import utcnow
from responder.triage.parse import parse_email, parse_sms
from responder.web.app import create_app

GOAL_P95_MS = 100
PAGE = 50
LONG_EVERY = 4  # a long conversation is shown once for every four requests of the other kinds
BATCH = 500  # conversations per transaction while building
CLOSE_AFTER = timedelta(days=30)  # conversations.close_after_days' default: older ones are closed
CLINICIANS = [{"id": f"clinician{n}", "name": f"Clinician {n}, LCSW", "email": f"clinician{n}@practice.test"} for n in range(1, 7)]
ADMIN_USER, CLINICIAN_USER, PASSWORD = "bench", "bench-clinician", "correct horse battery staple"
SESSION_COOKIE = "responder_session"
NOTIFY = "intake@practice.test"
# What a person's first message is: mostly inquiries (machines and vendors start no conversation).
FIRST_CATEGORIES = (Category.NEW_INQUIRY, Category.PROFESSIONAL_REFERRAL, Category.EXISTING_CLIENT, Category.CRISIS)

FOLLOW_UPS = [
    "Tuesday afternoons work best, could someone call me at 555-013-2231?",
    "Thank you for getting back to me so quickly. Is the first consultation really free?",
    "I checked with my insurance and they said you are in network. What would the copay be?",
    "Could we do the first session by video? I travel a lot for work.",
    "Sorry for the slow reply, it has been a hard week. I would still like to set something up.",
    "My partner would like to join for the first session, is that all right?",
    "Thursday at 5 works for me. Do I need to fill out anything before then?",
    "I have a sliding scale question: I lost my job last month and money is tight right now.",
    "Just confirming the time for tomorrow. Should I use the same link as before?",
    "Thanks. I read the intake forms and have a question about the cancellation policy.",
]
TEXT_FOLLOW_UPS = ["Tuesday afternoon works", "yes that time is fine thank you", "Can someone call me back today?",
                   "Is there anything open next week?", "ok thanks, see you then", "running 5 min late sorry"]
CLINICIAN_REPLIES = ["Hi, this is Priya from the practice. Tuesday at 3 works; I will call you then. Take care until then.",
                     "Thank you for letting us know. Yes, the consultation is free, and by video if you prefer."]


# -- what the store holds ---------------------------------------------------------------------------

@dataclass
class Texts:
    """The words and bytes the rows are made of, read or rendered once."""

    inquiries: list[tuple[str, str]]  # (subject, text) of corpus inquiries
    texts: list[str]  # corpus inquiries by SMS
    reply_email: tuple[str, str, bytes]  # our first reply by email: subject, body, raw (as the composer renders it)
    reply_text: str  # our first reply by text
    human_email: bytes  # a clinician's reply by email, as the composer renders it


@dataclass
class Built:
    """What went into the store, for choosing what to ask for."""

    conversations: int = 0
    messages: int = 0
    outbox: int = 0
    identities: int = 0
    long: list[int] = field(default_factory=list)  # conversations with 100 messages or more
    pages: dict[str, int] = field(default_factory=dict)  # list filter -> pages


def message_sizes(rng: random.Random, messages: int, count: int) -> list[int]:
    """How many messages each conversation holds: most 2-8 (a few just one), and one in a thousand
    (at least two) with 100-300, adding up to ``messages`` exactly."""
    long = max(2, count // 1000)
    sizes = [rng.randint(100, 300) for _ in range(long)]
    sizes += rng.choices(range(1, 9), weights=[6, 14, 16, 16, 14, 12, 11, 11], k=count - long)
    if not count <= messages - sum(sizes[:long]) + long <= 8 * count:
        raise SystemExit(f"--messages {messages} cannot fill --conversations {count} (1 to 8 each, plus {long} long ones)")
    while (excess := sum(sizes) - messages) != 0:
        index = rng.randrange(long, count)
        step = 1 if excess < 0 else -1
        if 1 <= sizes[index] + step <= 8:
            sizes[index] += step
    rng.shuffle(sizes)
    return sizes


def email_bytes(n: int, name: str, address: str, subject: str, body: str, at: datetime, key: str, thread: str | None) -> bytes:
    """A person's email as their mail program sends it and the mailbox delivers it: about 3 kB."""
    date = at.strftime("%a, %d %b %Y %H:%M:%S +0000")
    paragraphs = "".join(f"<div>{html.escape(line) or '<br>'}</div>" for line in body.splitlines())
    threading_headers = f"In-Reply-To: {thread}\r\nReferences: {thread}\r\n" if thread else ""
    signature = "".join(f"\r\n\t{chunk}" for chunk in re.findall(".{1,72}", (f"{n:08x}" * 43)[:344]))
    return (
        f"Return-Path: <{address}>\r\nDelivered-To: {NOTIFY}\r\n"
        f"Received: from mail-sor-f{n % 97}.example.net (mail-sor-f{n % 97}.example.net [203.0.113.{n % 250}])\r\n"
        f"\tby mx1.practice.test (Postfix) with ESMTPS id {n:011X}\r\n\tfor <{NOTIFY}>; {date}\r\n"
        f"Received: by mail-sor-f{n % 97}.example.net with SMTP id {n:016x}; {date}\r\n"
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=20230601; t={int(at.timestamp())};\r\n"
        f"\th=to:subject:message-id:date:from:mime-version:from:to:cc:subject:date:message-id:reply-to;\r\n"
        f"\tbh={n:044x};\r\n\tb={signature}\r\n"
        f"Authentication-Results: mx1.practice.test; dkim=pass header.d=example.net; spf=pass smtp.mailfrom={address}; dmarc=pass\r\n"
        f"MIME-Version: 1.0\r\nFrom: {name} <{address}>\r\nDate: {date}\r\nMessage-ID: {key}\r\n{threading_headers}"
        f"Subject: {subject}\r\nTo: {NOTIFY}\r\n"
        f"Content-Type: multipart/alternative; boundary=\"0000{n:012x}\"\r\n\r\n"
        f"--0000{n:012x}\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n{body}\r\n\r\n"
        f"--0000{n:012x}\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n\r\n<div dir=\"ltr\">{paragraphs}</div>\r\n\r\n"
        f"--0000{n:012x}--\r\n"
    ).encode("utf-8")


def thread_reply_text(words: str, ours: str, at: datetime) -> str:
    """A person's answer above the first lines of our reply, quoted as mail programs quote."""
    quoted = "\n".join("> " + line for line in ours.splitlines()[:14])
    return f"{words}\n\nThanks,\n\nOn {at:%a, %b %d, %Y at %H:%M}, Practice <{NOTIFY}> wrote:\n{quoted}\n"


def sms_bytes(number: str, body: str, key: str) -> bytes:
    """A text as the webhook records it: Twilio's form, as JSON."""
    form = {"AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01", "Body": body, "From": number, "FromCity": "SPRINGFIELD",
            "FromCountry": "US", "FromState": "IL", "FromZip": "62701", "MessageSid": key, "NumMedia": "0", "NumSegments": "1",
            "SmsMessageSid": key, "SmsSid": key, "SmsStatus": "received", "To": "+15550100000", "ToCity": "", "ToCountry": "US"}
    return json.dumps(form, sort_keys=True).encode("utf-8")


class Plan:
    """Rows for one conversation at a time, with ids given here (so outbox rows can name their
    messages without a round trip), seeded so that two runs build the same store."""

    def __init__(self, texts: Texts, rng: random.Random, now: datetime, waiting_share: float) -> None:
        self.texts, self.rng, self.now, self.waiting_share = texts, rng, now, waiting_share
        self.message_id = self.outbox_id = 0

    def conversation(self, cid: int, size: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        route = rng.choices(("email", "sms", "both"), weights=(65, 20, 15))[0]
        address, number = f"person.{cid:06d}@example.net", f"+1555{cid:07d}"
        name = f"Person {cid}"
        known = [(IdentityKind.EMAIL, address)] if route != "sms" else []
        if route != "email" or rng.random() < 0.2:  # texts from it, or a number given in an email
            known.append((IdentityKind.PHONE, number))
        first = rng.choices(FIRST_CATEGORIES, weights=(87, 5, 7, 1))[0]
        referrer = f"dr.{cid % 400:03d}@clinic.example.org" if first == Category.PROFESSIONAL_REFERRAL else None
        waiting = size >= 2 and rng.random() < self.waiting_share
        # A year of activity; one waiting on us wrote lately (an older one was closed, and no longer waits).
        gaps = [timedelta(hours=rng.expovariate(1 / 30)) for _ in range(size - 1)]
        span = sum(gaps, timedelta())
        end = self.now - (timedelta(days=rng.uniform(0, 20)) if waiting else timedelta(days=rng.uniform(0, 365)))
        at = max(end - span, self.now - timedelta(days=730))
        created = at
        subject, inquiry_text = rng.choice(self.texts.inquiries)
        reply_subject, reply_body, reply_raw = self.texts.reply_email
        humans = rng.random() < 0.4
        rows_m: list[dict[str, Any]] = []
        rows_o: list[dict[str, Any]] = []
        for index in range(size):
            if index:
                at += gaps[index - 1]
            self.message_id += 1
            mid = self.message_id
            channel = Channel.SMS if route == "sms" or route == "both" and rng.random() < 0.5 else Channel.EMAIL
            if channel == Channel.SMS:
                key = f"SM{mid:032x}"
                words = rng.choice(self.texts.texts) if index == 0 else rng.choice(TEXT_FOLLOW_UPS)
                raw, sender, source, subject_now = sms_bytes(number, words, key), number, "twilio:+15550100000", ""
                fresh = words
            else:
                key = f"<bench.{mid:07d}.{cid}@mail.example.net>"
                sender = referrer if index == 0 and referrer else address
                if index == 0:
                    words, subject_now, thread = inquiry_text, subject, None
                    fresh = words
                else:
                    fresh = rng.choice(FOLLOW_UPS)
                    words, subject_now = thread_reply_text(fresh, reply_body, at), "Re: " + reply_subject
                    thread = f"<reply.{cid}@practice.test>"
                raw = email_bytes(mid, name, sender, subject_now, words, at, key, thread)
                source = f"imap:{NOTIFY}@mail.practice.test:993/INBOX"
            category = first if index == 0 else rng.choices((Category.NEW_INQUIRY, Category.EXISTING_CLIENT), weights=(8, 2))[0]
            status = (Status.ALERTED if category == Category.CRISIS else Status.ANSWERED) if index == 0 else Status.NOTIFIED
            rows_m.append({
                "id": mid, "source": source, "key": key, "channel": channel, "sender": sender,
                "reply_to": address if channel == Channel.EMAIL else None, "subject": subject_now, "received_at": at, "recorded_at": at,
                "raw": raw, "text": fresh, "category": category, "action": "auto", "status": status,  # text: what the pipeline keeps
                "reasons": ["rules: asks about starting therapy"] if index == 0 else ["writes again in a conversation already answered"],
                "evidence": ["looking for a therapist"] if index == 0 else [],
                "facts": {"insurance": "unknown", "services": [], "modality": "unknown", "language": "en"}, "conversation_id": cid,
            })
            to_person = address if channel == Channel.EMAIL else number
            if index == 0 and rng.random() < 0.92:
                body, out_raw = (reply_body, reply_raw) if channel == Channel.EMAIL else (self.texts.reply_text, self.texts.reply_text.encode())
                rows_o.append(self._out(mid, Kind.REPLY, channel, to_person, f"<reply.{cid}@practice.test>",
                                        reply_subject if channel == Channel.EMAIL else "", body, out_raw, at + timedelta(seconds=1)))
            if category == Category.CRISIS:
                rows_o.append(self._out(mid, Kind.ALERT, Channel.EMAIL, NOTIFY, f"<alert.{mid}@practice.test>", "Crisis: read now",
                                        "A message shows risk. Read it now.", b"alert", at + timedelta(seconds=1)))
            if index and rng.random() < 0.6:
                rows_o.append(self._out(mid, Kind.CONVERSATION_NOTICE, Channel.EMAIL, NOTIFY, f"<notice.{mid}@practice.test>",
                                        "A conversation is waiting on you", "A person wrote again: email, new_inquiry.", b"notice",
                                        at + timedelta(seconds=1)))
            last_inbound = index == size - 1
            if index and humans and not (waiting and last_inbound) and rng.random() < 0.7:
                words = rng.choice(CLINICIAN_REPLIES)
                out_raw = self.texts.human_email if channel == Channel.EMAIL else words.encode()
                rows_o.append(self._out(mid, Kind.HUMAN_REPLY, channel, to_person, f"<human.{mid}@practice.test>",
                                        "Message from the practice" if channel == Channel.EMAIL else "", words, out_raw,
                                        at + timedelta(hours=rng.uniform(0.2, 6)), author=rng.choice(CLINICIANS)["id"]))
        last = max([at, *(row["created_at"] for row in rows_o)])
        outcome = rng.choice(list(ConversationOutcome)) if not waiting and rng.random() < 0.15 else None
        status = ConversationStatus.OPEN if waiting or (outcome is None and last >= self.now - CLOSE_AFTER) else ConversationStatus.CLOSED
        row_c = {"id": cid, "status": status, "waiting_on_us": waiting, "clinician": rng.choice(CLINICIANS)["id"] if rng.random() < 0.3 else None,
                 "outcome": outcome, "referral_source": referrer, "created_at": created, "last_activity_at": last,
                 "last_notice_at": at if waiting else None}
        rows_i = [{"conversation_id": cid, "kind": kind, "value": value} for kind, value in known]
        return row_c, rows_i, rows_m, rows_o

    def _out(self, message_id: int, kind: Kind, channel: Channel, to: str, msgid: str, subject: str, body: str, raw: bytes,
             at: datetime, author: str | None = None) -> dict[str, Any]:
        self.outbox_id += 1
        sent = min(at, self.now)
        return {"id": self.outbox_id, "message_id": message_id, "kind": kind, "channel": channel, "to_addr": to, "msgid": msgid,
                "subject": subject, "body": body, "raw": raw, "state": ReplyState.SENT, "attempts": 1, "next_attempt_at": sent,
                "claimed_until": None, "claimed_by": None, "last_error": None, "created_at": sent, "sent_at": sent, "author": author}


def read_texts(service: Service) -> Texts:
    """Corpus inquiries, and our replies rendered once by the real composer."""
    inquiries = [(parsed.subject or "Looking for a therapist", parsed.text) for parsed in map(parse_email, loadkit.inquiry_templates())]
    texts = loadkit.sms_bodies()
    person = parse_email(email_bytes(1, "Person", "person@example.net", inquiries[0][0], inquiries[0][1], utcnow(), "<one@example.net>", None))
    reading = Classification(Category.NEW_INQUIRY, Facts(reply_to="person@example.net"), ())
    email = service.composer.reply(person, reading)
    sms = service.composer.reply(parse_sms({"MessageSid": "SM1", "From": "+15550000001", "Body": texts[0]}), reading)
    human = service.composer.human_reply(Channel.EMAIL, "person@example.net", CLINICIAN_REPLIES[0], "0" * 32, person)
    return Texts(inquiries, texts, (email.subject, email.body, email.raw), sms.body, human.raw)


def build(service: Service, messages_total: int, conversations_total: int, seed: int) -> Built:
    """Insert the plan in batches of BATCH conversations, one transaction each, executemany."""
    rng = random.Random(seed)
    sizes = message_sizes(rng, messages_total, conversations_total)
    waiting_share = 0.05 * conversations_total / max(1, sum(size >= 2 for size in sizes))
    plan = Plan(read_texts(service), rng, utcnow(), waiting_share)
    built = Built(long=[cid for cid, size in enumerate(sizes, start=1) if size >= 100])
    for start in range(0, conversations_total, BATCH):
        rows: tuple[list[dict[str, Any]], ...] = ([], [], [], [])
        for cid in range(start + 1, min(start + BATCH, conversations_total) + 1):
            row_c, rows_i, rows_m, rows_o = plan.conversation(cid, sizes[cid - 1])
            rows[0].append(row_c)
            rows[1].extend(rows_i)
            rows[2].extend(rows_m)
            rows[3].extend(rows_o)
        with service.store.transaction() as conn:
            for table, batch in zip((conversations, identities, messages, outbox), rows, strict=True):
                if batch:
                    conn.execute(insert(table), batch)
        built.conversations += len(rows[0])
        built.identities += len(rows[1])
        built.messages += len(rows[2])
        built.outbox += len(rows[3])
    with service.store.transaction() as conn:
        if conn.dialect.name == "postgresql":
            # Ids were given here: the sequences must go on after them. autovacuum would analyze a
            # table this freshly loaded within a minute; done now, so the planner knows it.
            for table in ("conversations", "messages", "outbox"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    if service.store.engine.dialect.name == "postgresql":
        with service.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return built


def count_pages(service: Service, built: Built) -> None:
    """How many pages of 50 each list has: the pages asked for are drawn from these."""
    with service.store.engine.connect() as conn:
        def pages(where: str) -> int:
            return max(1, math.ceil(conn.execute(text(f"SELECT count(*) FROM conversations {where}")).scalar_one() / PAGE))

        built.pages = {"all": pages(""), "open": pages("WHERE status = 'open'"), "closed": pages("WHERE status = 'closed'"),
                       "clinician": pages(f"WHERE clinician = '{CLINICIANS[0]['id']}'")}


def store_size(service: Service, sqlite_file: Path | None) -> int:
    """Bytes on disk: SQLite's file with its WAL, or PostgreSQL's database."""
    if sqlite_file is not None:
        return sum(path.stat().st_size for path in sqlite_file.parent.glob(sqlite_file.name + "*"))
    with service.store.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


# -- asking ---------------------------------------------------------------------------------------

class Browser:
    """One clinician's browser: a kept-alive connection to the page, and its session cookie."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie: str | None = None

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or ():
            if value.startswith(SESSION_COOKIE + "="):
                self.cookie = value.split(";", 1)[0]
        return response.status, data

    def sign_in(self, username: str) -> None:
        status, page = self.request("GET", "/login")
        token = re.search(rb'name="csrf" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise RuntimeError(f"GET /login: {status}, no CSRF token in the form")
        status, _ = self.request("POST", "/login", {"username": username, "password": PASSWORD, "csrf": token.group(1).decode(), "next": "/"})
        if status != 303:
            raise RuntimeError(f"signing in as {username}: {status}, not 303")


@contextmanager
def serving(service: Service) -> Iterator[int]:
    """The app as serve runs it (uvicorn, same options), in a thread of this process; its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                           lifespan="off", log_config=None))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    loadkit.wait_until(lambda: server.started or not thread.is_alive(), timeout=30, what="uvicorn")
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def ok(status: int, what: str) -> None:
    if status != 200:
        raise RuntimeError(f"{what}: HTTP {status}")


def requests(service: Service, built: Built, admin_web: Browser, clinician_web: Browser, count: int,
             rng: random.Random) -> list[tuple[str, Callable[[], object]]]:
    """Every request of the run, labelled, shuffled: each a closure that raises unless it worked."""
    inbox = service.inbox
    admin, clinician = Viewer(ADMIN_USER, Role.ADMIN), Viewer(CLINICIAN_USER, Role.CLINICIAN, CLINICIANS[0]["id"])
    statuses = {"all": None, "open": ConversationStatus.OPEN, "closed": ConversationStatus.CLOSED}

    def get(browser: Browser, path: str) -> Callable[[], object]:
        return lambda: ok(browser.request("GET", path)[0], path)

    plan: list[tuple[str, Callable[[], object]]] = []
    for number in range(count):
        # Page 1 a quarter of the time (where a clinician starts); else any page of any filter.
        which = rng.choice(list(statuses))
        page = 1 if rng.random() < 0.25 else rng.randint(1, built.pages[which])
        query = urlencode({"page": page} | ({"status": which} if which != "all" else {}))
        mine = rng.randint(1, built.pages["clinician"])
        random_id, long_id = rng.randint(1, built.conversations), rng.choice(built.long)
        plan += [
            ("store: SELECT 1", lambda: _select_one(service)),
            ("store: list", lambda which=which, page=page: inbox.list(admin, statuses[which], True, PAGE, (page - 1) * PAGE)),
            ("store: list, clinician", lambda page=mine: inbox.list(clinician, None, True, PAGE, (page - 1) * PAGE)),
            ("store: show", lambda cid=random_id: inbox.show(cid, admin)),
            ("http: GET /healthz", get(admin_web, "/healthz")),
            ("http: list", get(admin_web, f"/conversations?{query}")),
            ("http: list, clinician", get(clinician_web, f"/conversations?page={mine}")),
            ("http: show", get(admin_web, f"/conversations/{random_id}")),
        ]
        if number % LONG_EVERY == 0:  # the few long ones: fewer samples, each costs the most
            plan += [("store: show, long", lambda cid=long_id: inbox.show(cid, admin)),
                     ("http: show, long", get(admin_web, f"/conversations/{long_id}"))]
    rng.shuffle(plan)
    return plan


def _select_one(service: Service) -> None:
    with service.store.engine.connect() as conn:
        conn.execute(text("SELECT 1")).scalar_one()


def measure(plan: list[tuple[str, Callable[[], object]]]) -> dict[str, list[float]]:
    """Run each request once, in the plan's order; seconds per label."""
    timings: dict[str, list[float]] = {}
    for label, request in plan:
        started = time.perf_counter()
        request()
        timings.setdefault(label, []).append(time.perf_counter() - started)
    return timings


def summarize(seconds: list[float]) -> dict[str, float]:
    """n, p50, p95 and max in milliseconds; nearest rank, so each is a real sample."""
    ordered = sorted(seconds)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)] * 1000, 2)

    return {"n": len(ordered), "p50_ms": rank(0.50), "p95_ms": rank(0.95), "max_ms": rank(1.0)}


# -- where the time goes ----------------------------------------------------------------------------

@contextmanager
def statements(service: Service) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine runs meanwhile, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    engine = service.store.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def explain(service: Service, built: Built) -> None:
    """Each statement of a list (a middle page), the clinician's list and a long show: how long
    it takes run again on its own (all rows fetched, nothing opened or decoded), and the
    database's plan for it."""
    admin, clinician = Viewer(ADMIN_USER, Role.ADMIN), Viewer(CLINICIAN_USER, Role.CLINICIAN, CLINICIANS[0]["id"])
    asks = {"list, a middle page": lambda: service.inbox.list(admin, None, True, PAGE, built.pages["all"] // 2 * PAGE),
            "list, clinician": lambda: service.inbox.list(clinician, None, True, PAGE, 0),
            "show, long": lambda: service.inbox.show(built.long[0], admin)}
    postgres = service.store.engine.dialect.name == "postgresql"
    for what, ask in asks.items():
        with statements(service) as seen:
            started = time.perf_counter()
            ask()
            whole = time.perf_counter() - started
        print(f"\n{what}: {whole * 1000:.1f} ms in all")
        for sql, parameters in seen:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with service.store.engine.connect() as conn:
                started = time.perf_counter()
                conn.exec_driver_sql(sql, parameters).all()
                alone = time.perf_counter() - started
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
                rows = conn.exec_driver_sql(prefix + sql, parameters).all()
            print(f"  {alone * 1000:7.2f} ms  {' '.join(sql.split())[:160]}")
            for row in rows:
                print("             " + (row[0] if postgres else f"{'  ' * (row[1] > 0)}{row[3]}"))


# -- the run ----------------------------------------------------------------------------------------

def configure(folder: Path, url: str, plain: bool) -> Any:
    """The example practice with six clinicians, two users (an admin and one clinician), the store at ``url``."""
    hashed = PasswordHasher().hash(PASSWORD)
    practice = {**loadkit.support.PRACTICE, "clinicians": CLINICIANS}
    storage = {"url": url} | ({} if plain else {"encryption_key": seal.new_key()})
    web = {"secret_key": "bench-" + "0" * 26, "clinicians": [
        {"username": ADMIN_USER, "password_hash": hashed, "role": Role.ADMIN.value},
        {"username": CLINICIAN_USER, "password_hash": hashed, "role": Role.CLINICIAN.value, "clinician": CLINICIANS[0]["id"]}]}
    return load(loadkit.write_config(folder, practice=practice, storage=storage, web=web))


@contextmanager
def store_url(folder: Path, postgres: str | None) -> Iterator[tuple[str, Path | None]]:
    """Where the store goes: a SQLite file, a throwaway PostgreSQL, or the empty database given."""
    if postgres is None:
        yield f"sqlite:///{folder / 'responder.db'}", folder / "responder.db"
        return
    if postgres != "start":
        yield postgres, None
        return
    sys.path.insert(0, str(loadkit.ROOT / "tests"))
    from servers.postgres import Postgres

    server = Postgres()
    server.start()
    try:
        yield server.new_database(), None
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind (default 200)")
    parser.add_argument("--postgres", nargs="?", const="start", metavar="URL",
                        help="a PostgreSQL store: an empty database at URL, or without URL one started here (tests/servers)")
    parser.add_argument("--plain", action="store_true", help="no storage.encryption_key: nothing sealed")
    parser.add_argument("--explain", action="store_true", help="also print each statement's time and the database's plan for it")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-conversations-"))
    try:
        with store_url(folder, args.postgres) as (url, sqlite_file):
            return run(args, folder, url, sqlite_file)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# What a benchmark does with the fresh store: args, the service, the store's URL and SQLite file,
# when the build began (before the migration) and the load average then; returns the exit code.
Measure = Callable[[argparse.Namespace, Service, str, Path | None, float, float], int]


def run(args: argparse.Namespace, folder: Path, url: str, sqlite_file: Path | None, measure: Measure | None = None) -> int:
    """Migrate the store at ``url``, refuse one that holds conversations already, then build and
    ``measure`` it (this script's measure_store unless another benchmark gives its own)."""
    config = configure(folder, url, args.plain)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    migrate.upgrade(url)
    service = Service(config)
    try:
        with service.store.engine.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM conversations")).scalar_one():
                raise SystemExit(f"{url}: not an empty store; give a fresh database")
        return (measure or measure_store)(args, service, url, sqlite_file, started, load_before)
    finally:
        service.store.engine.dispose()  # PostgreSQL stops only once its clients are gone


def measure_store(args: argparse.Namespace, service: Service, url: str, sqlite_file: Path | None, started: float,
                  load_before: float) -> int:
    """Build the store (timed from ``started``, its migration included), then measure and report."""
    built = build(service, args.messages, args.conversations, args.seed)
    build_seconds = time.perf_counter() - started
    count_pages(service, built)
    size = store_size(service, sqlite_file)
    database = service.store.engine.dialect.name
    print(f"built a {database} store in {build_seconds:.1f} s: {built.conversations:,} conversations, {built.messages:,} messages, "
          f"{built.identities:,} identities, {built.outbox:,} outbox rows, {len(built.long)} conversations of 100+ messages; "
          f"{size / 1e6:.0f} MB on disk, {'plain' if args.plain else 'sealed'}")

    gc.collect()
    gc.freeze()  # as serve does once started (bench/README-load.md): what was built is not walked again
    with serving(service) as port:
        admin_web, clinician_web = Browser(port), Browser(port)
        admin_web.sign_in(ADMIN_USER)
        clinician_web.sign_in(CLINICIAN_USER)
        rng = random.Random(args.seed)
        measure(requests(service, built, admin_web, clinician_web, 5, rng))  # warm up: imports, templates, connections
        measured = time.perf_counter()
        timings = measure(requests(service, built, admin_web, clinician_web, args.requests, rng))
        measure_seconds = time.perf_counter() - measured
    rows = {label: summarize(samples) for label, samples in sorted(timings.items())}
    load_after = os.getloadavg()[0]

    loadkit.print_table(("request", "n", "p50 ms", "p95 ms", "max ms", "goal"),
                        [(label, row["n"], row["p50_ms"], row["p95_ms"], row["max_ms"],
                          "" if "healthz" in label or "SELECT" in label else ("met" if row["p95_ms"] < GOAL_P95_MS else "MISSED"))
                         for label, row in rows.items()])
    print(f"measured in {measure_seconds:.1f} s; load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
    if args.explain:
        explain(service, built)
    loadkit.print_json("conversations", database=database, sealed=not args.plain, build_seconds=round(build_seconds, 1),
                       store_bytes=size, built={"conversations": built.conversations, "messages": built.messages,
                                                "identities": built.identities, "outbox": built.outbox, "long": len(built.long)},
                       pages=built.pages, requests=rows, goal_p95_ms=GOAL_P95_MS,
                       load_1m={"before": round(load_before, 2), "after": round(load_after, 2)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
