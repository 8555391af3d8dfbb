"""The practice's figures (issue 12): inquiries per week by category and channel, times to the first
automatic and the first clinician's reply (median and 90th percentile, nearest-rank), who waits on
us and since when, conversions by referral source; the same in /metrics, the plain-text report,
its JSON and the dashboard's page, which names no person."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape
from servers.postgres import Postgres
from servers.smtp import SmtpSink
from servers.twilio import TwilioStandIn
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from stores import backend, postgres
from support import inquiry, migrated, write_config
from test_conversations import THREAD_REPLY, delivered, service_for, text

from responder.config import load
from responder.funnel import Funnel, Timing, duration, figures, percentile, week_of
from responder.funnel import text as report
from responder.inbox import Viewer
from responder.model import Category, Channel, ConversationOutcome, ConversationStatus, Kind, ReplyState, Role, Status
from responder.service import Service
from responder.storage import inbox
from responder.storage.schema import conversations, messages, outbox
from responder.storage.store import utcnow
from responder.web.dashboard import dashboard_context

__all__ = ["backend", "postgres"]  # fixtures, used by name

NOW = datetime(2026, 12, 9, 12, 0)  # a Wednesday: the third of three weeks from Monday, November 23
DR_OWEN = "oprideaux@junipeds.example.org"
DR_BELL = "bell@lakeside.example.org"


# -- the pure parts ---------------------------------------------------------------------------

def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert [percentile([7.0], share) for share in (0.01, 0.5, 0.9, 1)] == [7.0] * 4
    four = [1.0, 2.0, 3.0, 4.0]
    assert (percentile(four, 0.5), percentile(four, 0.9), percentile(four, 0.25), percentile(four, 0.26)) == (2.0, 4.0, 1.0, 2.0)
    ten = [float(n) for n in range(1, 11)]
    assert (percentile(ten, 0.5), percentile(ten, 0.9), percentile(ten, 0.91), percentile(ten, 1)) == (5.0, 9.0, 10.0, 10.0)
    for wrong in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="share"):
            percentile(ten, wrong)


def test_times_read_as_people_say_them() -> None:
    cases = {0: "0 s", 40: "40 s", 59.6: "1 min", 240: "4 min", 3569: "59 min", 3570: "1 h", 5400: "1.5 h", 7200: "2 h",
             12 * 3600: "12 h", 86400: "1 day", 129600: "1.5 days", 2 * 86400: "2 days", 35 * 86400: "35 days"}
    assert {seconds: duration(seconds) for seconds in cases} == cases
    assert Timing((30.0, 240.0, 250.0, 7000.0)).words() == "median 4 min, 90% within 1.9 h"
    assert Timing(()).words() == "none yet"


def test_weeks_start_on_monday_and_timings_fall_in_buckets() -> None:
    assert [week_of(date(2026, 12, d)) for d in (6, 7, 9, 13)] == [date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 7), date(2026, 12, 7)]
    # up to 1 min, 5 min, 15 min, 1 h, 4 h, 12 h, 1 day, 3 days, 1 week, and more
    assert Timing((0.0, 60.0, 60.5, 3600.0, 86400.0, 700000.0)).buckets() == [2, 1, 0, 1, 0, 0, 1, 0, 0, 1]


# -- a store with every case at known times ---------------------------------------------------

class Rows:
    """Rows written straight into a store at chosen times, as the pipeline and the inbox write them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.keys = 0

    def conversation(self, created: datetime, **values: Any) -> int:
        return self.conn.execute(insert(conversations).values(status=ConversationStatus.OPEN, waiting_on_us=False, created_at=created,
                                                              last_activity_at=created, **values)).inserted_primary_key[0]

    def message(self, conversation_id: int | None, at: datetime, channel: Channel, category: Category | None) -> int:
        self.keys += 1
        message_id = self.conn.execute(insert(messages).values(
            source="test", key=f"<m{self.keys}@example.org>", channel=channel, sender="someone", subject="", recorded_at=at, raw=b"",
            category=category, status=Status.ANSWERED, reasons=[], facts={}, conversation_id=conversation_id)).inserted_primary_key[0]
        if conversation_id is not None:
            self.conn.execute(update(conversations).where(conversations.c.id == conversation_id, conversations.c.last_activity_at < at)
                              .values(last_activity_at=at))
        return message_id

    def sent(self, message_id: int, kind: Kind, at: datetime, state: ReplyState = ReplyState.SENT) -> None:
        self.keys += 1
        self.conn.execute(insert(outbox).values(
            message_id=message_id, kind=kind, channel=Channel.EMAIL, to_addr="someone@example.org", msgid=f"<o{self.keys}@practice.test>",
            subject="", body="", raw=b"", state=state, attempts=1, next_attempt_at=at, created_at=at,
            sent_at=at if state == ReplyState.SENT else None))

    def clinician_reply(self, conversation_id: int, message_id: int, channel: Channel, at: datetime) -> None:
        self.keys += 1
        inbox.add_reply(self.conn, conversation_id, message_id, "priya", channel, "someone", f"<h{self.keys}@practice.test>", "", "", b"", at)


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second)


def fill(conn: Connection) -> dict[str, int]:
    """Seven conversations, messages of people and machines, replies automatic and by clinicians."""
    rows = Rows(conn)
    email, sms = Channel.EMAIL, Channel.SMS
    # 1: answered automatically in 4 s (an alert that left sooner does not count), by a clinician in an hour; closed.
    one = rows.conversation(at(23, 9))
    first = rows.message(one, at(23, 9), email, Category.NEW_INQUIRY)
    rows.sent(first, Kind.ALERT, at(23, 9, 0, 1))
    rows.sent(first, Kind.REPLY, at(23, 9, 0, 4))
    rows.clinician_reply(one, first, email, at(23, 10))
    rows.clinician_reply(one, first, email, at(24, 10))  # a second reply: the first is what counts
    rows.message(one, at(25, 8), email, None)  # never read: no category, not an inquiry
    # 2: a text answered in 10 s; the person wrote again, a clinician answered by text 36 h after
    # the first message; the person wrote twice more, which waits since the first of those.
    two = rows.conversation(at(30, 8))
    rows.sent(rows.message(two, at(30, 8), sms, Category.NEW_INQUIRY), Kind.REPLY, at(30, 8, 0, 10))
    again = rows.message(two, at(1, 8, month=12), sms, Category.NEW_INQUIRY)
    rows.clinician_reply(two, again, sms, at(1, 20, month=12))
    rows.message(two, at(8, 10, month=12), sms, Category.EXISTING_CLIENT)
    rows.message(two, at(9, 9, month=12), sms, Category.NEW_INQUIRY)
    # 3: a referral whose thank-you failed (no automatic reply sent); became a client.
    three = rows.conversation(at(7, 9, month=12), referral_source=DR_OWEN, outcome=ConversationOutcome.BECAME_CLIENT)
    rows.sent(rows.message(three, at(7, 9, month=12), email, Category.PROFESSIONAL_REFERRAL), Kind.REPLY, at(7, 9, 1, month=12),
              ReplyState.FAILED)
    # 4: a crisis answered in 1 s, waiting on us since, nobody has answered it in person.
    four = rows.conversation(at(8, 12, month=12))
    rows.sent(rows.message(four, at(8, 12, month=12), email, Category.CRISIS), Kind.REPLY, at(8, 12, 0, 1, month=12))
    # 5: the same referrer's second referral, its thank-you still owed; consultation booked.
    five = rows.conversation(at(24, 11), referral_source=DR_OWEN, outcome=ConversationOutcome.CONSULTATION_BOOKED)
    rows.sent(rows.message(five, at(24, 11), email, Category.PROFESSIONAL_REFERRAL), Kind.REPLY, at(24, 11), ReplyState.PENDING)
    # 6: begun before the first week (its first message and its referral are not counted), a
    # message at the very start of the first week (counted), answered by a clinician then.
    six = rows.conversation(at(20, 10), referral_source="old@referrer.example.org", outcome=ConversationOutcome.BECAME_CLIENT)
    rows.message(six, at(20, 10), email, Category.NEW_INQUIRY)
    rows.message(six, at(22, 23, 59, 59) + timedelta(microseconds=999999), email, Category.NEW_INQUIRY)
    late = rows.message(six, at(23, 0), email, Category.NEW_INQUIRY)
    rows.clinician_reply(six, late, email, at(23, 1))
    # 7: another referrer, nothing become of it yet.
    seven = rows.conversation(at(2, 14, month=12), referral_source=DR_BELL)
    rows.message(seven, at(2, 14, month=12), email, Category.PROFESSIONAL_REFERRAL)
    # Machines' mail: no conversation, not inquiries.
    rows.message(None, at(24, 3), email, Category.AUTOMATED)
    rows.message(None, at(1, 3, month=12), email, Category.SOLICITATION)
    conn.execute(update(conversations).where(conversations.c.id.in_((two, four))).values(waiting_on_us=True))
    conn.execute(update(conversations).where(conversations.c.id == one).values(status=ConversationStatus.CLOSED))
    return {"two": two, "four": four}


@pytest.fixture
def filled(tmp_path: Path, backend: str, postgres: Postgres | None) -> Iterator[tuple[Service, dict[str, int]]]:
    url = postgres.new_database() if postgres is not None else "sqlite:///responder.db"
    with Service(migrated(load(write_config(tmp_path, storage={"url": url}), environ={}))) as service:
        with service.store.transaction() as conn:
            ids = fill(conn)
        yield service, ids


def test_each_figure_is_counted_as_defined(filled: tuple[Service, dict[str, int]]) -> None:
    service, ids = filled
    funnel = figures(service.store, NOW, weeks=3)
    assert funnel.since == datetime(2026, 11, 23)
    weekly = [(week.start, {k: n for k, n in week.by_category.items() if n}, {k: n for k, n in week.by_channel.items() if n})
              for week in funnel.weeks]
    assert weekly == [
        (date(2026, 11, 23), {"new_inquiry": 2, "professional_referral": 1}, {"email": 3}),
        (date(2026, 11, 30), {"new_inquiry": 2, "professional_referral": 1}, {"email": 1, "sms": 2}),
        (date(2026, 12, 7), {"new_inquiry": 1, "professional_referral": 1, "existing_client": 1, "crisis": 1}, {"email": 2, "sms": 2}),
    ]
    assert (funnel.automatic.seconds, funnel.automatic.median, funnel.automatic.p90) == ((1.0, 4.0, 10.0), 4.0, 10.0)
    assert (funnel.human.seconds, funnel.human.without) == ((3600.0, 129600.0), 4)
    assert funnel.human.words() == "median 1 h, 90% within 1.5 days"
    assert [(w.conversation_id, w.since, w.seconds) for w in funnel.waiting] == [
        (ids["two"], at(8, 10, month=12), 26 * 3600.0), (ids["four"], at(8, 12, month=12), 24 * 3600.0)]
    assert [(s.address, s.referrals, s.consultation_booked, s.became_client) for s in funnel.sources] == [(DR_OWEN, 2, 1, 1), (DR_BELL, 1, 0, 0)]

    shown = funnel.as_json()
    assert json.loads(json.dumps(shown)) == shown
    assert shown["weeks"][1] == {"week": "2026-11-30", "total": 3, "by_category": {"new_inquiry": 2, "professional_referral": 1,
                                                                                    "existing_client": 0, "crisis": 0},
                                 "by_channel": {"email": 1, "sms": 2}}
    assert {k: v for k, v in shown["first_human_reply"].items() if k != "buckets"} == {
        "conversations": 2, "median_seconds": 3600.0, "p90_seconds": 129600.0, "without": 4}
    assert shown["waiting_on_us"]["longest"][0] == {"id": ids["two"], "since": "2026-12-08T10:00:00Z", "seconds": 93600.0}
    assert shown["referral_sources"][0] == {"source": DR_OWEN, "referrals": 2, "consultation_booked": 1, "became_client": 1}

    written = report(funnel)
    assert "2026-11-30            2                      1                0       0      1      2      3" in written
    assert "First automatic reply: median 4 s, 90% within 10 s (3 conversations)" in written
    assert "First reply from a clinician: median 1 h, 90% within 1.5 days (2 conversations; 4 without one yet)" in written
    assert f"#{ids['two']}  for 1.1 days  since 2026-12-08 10:00" in written and f"{DR_OWEN}" in written


def test_metrics_show_first_clinicians_replies_and_conversations(filled: tuple[Service, dict[str, int]]) -> None:
    service, _ = filled
    shown = service.metrics.render().decode()
    # All time: 1 h and (conversation 6) 2 days 15 h by email; 36 h by text.
    email = dict(zip(("60.0", "300.0", "900.0", "3600.0", "14400.0", "43200.0", "86400.0", "259200.0", "604800.0", "+Inf"),
                     (0, 0, 0, 1, 1, 1, 1, 2, 2, 2), strict=True))
    for le, count in email.items():
        assert f'responder_first_human_response_seconds_bucket{{channel="email",le="{le}"}} {count}.0' in shown
    assert 'responder_first_human_response_seconds_bucket{channel="sms",le="86400.0"} 0.0' in shown
    assert 'responder_first_human_response_seconds_bucket{channel="sms",le="259200.0"} 1.0' in shown
    assert 'responder_first_human_response_seconds_count{channel="email"} 2.0' in shown
    assert 'responder_first_human_response_seconds_sum{channel="email"} 230400.0' in shown
    assert 'responder_first_human_response_seconds_sum{channel="sms"} 129600.0' in shown
    assert 'responder_conversations{status="open"} 6.0' in shown and 'responder_conversations{status="closed"} 1.0' in shown
    assert "responder_conversations_waiting_on_us 2.0" in shown


def test_a_store_without_conversations_shows_both_statuses_and_empty_figures(tmp_path: Path) -> None:
    service = Service(migrated(load(write_config(tmp_path), environ={})))
    shown = service.metrics.render().decode()
    assert 'responder_conversations{status="open"} 0.0' in shown and 'responder_conversations{status="closed"} 0.0' in shown
    assert 'responder_first_human_response_seconds_count{channel="sms"} 0.0' in shown
    funnel = figures(service.store, NOW)
    assert len(funnel.weeks) == 12 and not any(week.total for week in funnel.weeks) and funnel.since == datetime(2026, 9, 21)
    assert (funnel.automatic.count, funnel.human.count, funnel.human.without, funnel.waiting, funnel.sources) == (0, 0, 0, (), ())
    html = dashboard(funnel)
    assert html.count("Nothing to show yet.") == 5 and "Nobody is waiting on us." in html
    with pytest.raises(ValueError, match="weeks"):
        figures(service.store, NOW, weeks=0)


def dashboard(funnel: Funnel) -> str:
    """The page as pages.py renders it: its templates, autoescaped, around the dashboard's context."""
    env = Environment(loader=FileSystemLoader(str(files("responder.web") / "templates")), autoescape=select_autoescape(["html"]))
    return env.get_template("dashboard.html").render(practice="Test practice", user="jordan", csrf="x", **dashboard_context(funnel))


def test_the_dashboard_draws_each_figure_with_its_words(filled: tuple[Service, dict[str, int]]) -> None:
    service, ids = filled
    html = dashboard(figures(service.store, NOW, weeks=3))
    for chart in ("inquiries-category", "inquiries-channel", "first-automatic", "first-human", "waiting", "referrals"):
        assert f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart}"' in html
    assert "grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr))" in html
    assert "median 4 s, 90% within 10 s · 3 conversations" in html
    assert "median 1 h, 90% within 1.5 days · 2 conversations answered, 4 not yet" in html
    assert f'<a href="/conversations/{ids["two"]}">#{ids["two"]}</a>' in html and "#" + str(ids["four"]) in html
    assert "1 of 2 referrals" in html and DR_OWEN in html
    assert "2 conversations wait on us; the longest for 1.1 days" in html


# -- real messages through the pipeline, and a clinician's reply -------------------------------

def test_figures_from_real_messages_match_the_outbox_and_name_nobody(tmp_path: Path, smtp: SmtpSink, twilio_api: TwilioStandIn) -> None:
    smtp.messages.clear()
    service = service_for(tmp_path, smtp, twilio_api)
    number = "+15550134472"
    asked = service.pipeline.ingest_email("test", inquiry())
    texted = service.pipeline.ingest_sms("twilio:test", text(twilio_api, number, "Hi, are you taking new clients? I have Aetna.", 1))
    [first] = delivered(service, smtp, 1)
    away = service.pipeline.ingest_email("test", inquiry(sender="mailer-daemon@example.net", subject="Automatic reply: out of the office",
                                                         body="I am out of the office until Monday.", Auto_Submitted="auto-replied"))
    assert away.category == Category.AUTOMATED
    again = service.pipeline.ingest_email("test", inquiry(subject="Re: " + first.message["Subject"], body=THREAD_REPLY,
                                                          In_Reply_To=first.message["Message-ID"]))
    delivered(service, smtp, 2)  # the notice
    by_text = service.store.message(texted.message_id)["conversation_id"]
    service.inbox.reply(by_text, Viewer("priya", Role.ADMIN), Channel.SMS, "Hi, this is Priya. Does Tuesday work?")
    service.delivery.run()

    funnel = figures(service.store, utcnow(), weeks=1)
    [week] = funnel.weeks
    assert ({k: n for k, n in week.by_category.items() if n}, week.by_channel) == ({"new_inquiry": 3}, {"email": 2, "sms": 1})
    with service.store.engine.connect() as conn:
        created = dict(conn.execute(select(conversations.c.id, conversations.c.created_at)).all())

        def first_of(kind: Kind, column: Any, *where: Any) -> dict[int, datetime]:
            return dict(conn.execute(select(messages.c.conversation_id, func.min(column)).join(outbox, outbox.c.message_id == messages.c.id)
                                     .where(outbox.c.kind == kind, *where).group_by(messages.c.conversation_id)).all())

        automatic = first_of(Kind.REPLY, outbox.c.sent_at, outbox.c.state == ReplyState.SENT)
        human = first_of(Kind.HUMAN_REPLY, outbox.c.created_at)
    # As the brief defines them, from the outbox; SQLite reads times to the millisecond.
    assert len(automatic) == 2 and list(human) == [by_text]
    assert funnel.automatic.seconds == pytest.approx(sorted((automatic[c] - created[c]).total_seconds() for c in automatic), abs=0.001)
    assert funnel.human.seconds == pytest.approx([(human[by_text] - created[by_text]).total_seconds()], abs=0.001)
    assert funnel.human.without == 1
    [waiting] = funnel.waiting  # the thread reply made it wait; no clinician answered it: it waits since its first message
    assert (waiting.conversation_id, waiting.since) == (service.store.message(again.message_id)["conversation_id"],
                                                        service.store.message(asked.message_id)["recorded_at"])

    shown = service.metrics.render().decode()
    assert 'responder_first_human_response_seconds_bucket{channel="sms",le="60.0"} 1.0' in shown
    assert 'responder_first_human_response_seconds_count{channel="email"} 0.0' in shown
    assert 'responder_conversations{status="open"} 2.0' in shown and "responder_conversations_waiting_on_us 1.0" in shown

    html = dashboard(funnel)
    assert f"#{waiting.conversation_id}" in html
    for person in ("jordan.lee", "example.org", number, number[2:], "mailer-daemon", "Aetna", "Tuesday"):
        assert person not in html, f"{person!r} on the dashboard"
