"""The SQL behind the practice's figures (responder/funnel.py): inquiries per day, times to the
first automatic and the first clinician's reply, who waits on us, conversions by referral source.

Each query must stay cheap on a store of 100,000 messages and 20,000 conversations, as the
dashboard answers while a person waits. Two facts of the schema shape them:

- A message's row holds the message as received before its category and conversation, so
  reading those reads the whole message: a scan of ``messages`` costs more than the page may.
  The window's messages are reached through the conversations active in it
  (ix_conversations_activity), then their messages (ix_messages_conversation_id). Only people's
  messages have a conversation, which is every inquiry: a machine's or a vendor's has none.
- A clinician's reply is an outbox row hung on a message; the first of each conversation is
  found only by reading every clinician's reply (no index holds the outbox by kind), which cost
  60-120 ms on such a store. Each one is also
  an access-log entry (``replied``, written in the same transaction by storage/inbox.add_reply,
  at the same instant as the row's created_at, with its channel as detail) of a few dozen bytes,
  reached by time through ix_access_log_at: the figures read that.

Every function runs in the caller's connection; times are naive UTC, as every column holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, case, cast, extract, func, literal_column, or_, select
from sqlalchemy.engine import Connection

from ..conversations.identify import NOBODYS
from ..model import Access, Category, ConversationOutcome, Kind, ReplyState
from .schema import access_log, conversations, messages, outbox

# What the person wrote to ask for something: automated mail and solicitations are not inquiries
# (nor is a message never read, whose category is NULL).
INQUIRIES = tuple(category for category in Category if category not in NOBODYS)

# The pipeline stamps a conversation's last activity a moment before it records the message
# (and a text is recorded by the webhook before it is read), so a message recorded at t belongs to
# a conversation active since t less at most this: an hour is far more than that moment.
_STAMPED = timedelta(hours=1)

# Written as a literal, as the index's own condition is: SQLite then sees that the partial index
# uq_outbox_automatic (message_id, kind, ...) holds the rows asked for; a bound value would hide it.
_AUTOMATIC = outbox.c.kind != literal_column(f"'{Kind.HUMAN_REPLY}'")

_REPLIED = access_log.c.action == Access.REPLIED


def seconds_between(conn: Connection, start: Any, end: Any) -> ColumnElement[float]:
    """``end - start`` in seconds, as the database computes it; NULL when either is. SQLite reads
    times to the millisecond, and its arithmetic on days carries noise below that: rounded to it."""
    if conn.dialect.name == "sqlite":
        return cast(func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3), Float)
    return cast(extract("epoch", end - start), Float)


def inquiries(conn: Connection, since: datetime, until: datetime) -> list[tuple[date, str, str, int]]:
    """How many inquiries were recorded in [since, until], by day, category and channel."""
    day = func.date(messages.c.recorded_at)
    # Asked as "in the active conversations" rather than as a join: SQLite, which keeps no
    # statistics here, then starts from the conversations (a join had it read every message).
    active = select(conversations.c.id).where(conversations.c.last_activity_at >= since - _STAMPED)
    query = (select(day, messages.c.category, messages.c.channel, func.count())
             .where(messages.c.conversation_id.in_(active), messages.c.recorded_at >= since, messages.c.recorded_at <= until,
                    messages.c.category.in_(INQUIRIES))
             .group_by(day, messages.c.category, messages.c.channel))
    # SQLite's date() is text, PostgreSQL's a date.
    return [(value if isinstance(value, date) else date.fromisoformat(value), category, channel, count)
            for value, category, channel, count in conn.execute(query)]


def _created_within(since: datetime, until: datetime) -> Sequence[ColumnElement[bool]]:
    """The conversations created in [since, until]; a conversation's activity is never before its
    creation, so the index on activity finds them."""
    return (conversations.c.last_activity_at >= since, conversations.c.created_at >= since, conversations.c.created_at <= until)


def created(conn: Connection, since: datetime, until: datetime) -> int:
    """How many conversations were created in [since, until]."""
    return conn.execute(select(func.count()).select_from(conversations).where(*_created_within(since, until))).scalar_one()


def first_automatic(conn: Connection, since: datetime, until: datetime) -> list[float]:
    """For each conversation created in [since, until] that got an automatic reply: the seconds
    from its creation to the first one sent."""
    first = (select(func.min(outbox.c.sent_at)).select_from(messages.join(outbox, outbox.c.message_id == messages.c.id))
             .where(messages.c.conversation_id == conversations.c.id, outbox.c.kind == Kind.REPLY, _AUTOMATIC,
                    outbox.c.state == ReplyState.SENT)
             .scalar_subquery())
    # Each conversation's first reply is looked for once: filtering out those with none in SQL
    # had SQLite look twice.
    rows = select(conversations.c.created_at, first.label("first")).where(*_created_within(since, until)).subquery()
    seconds = conn.execute(select(seconds_between(conn, rows.c.created_at, rows.c.first))).scalars()
    return [_seconds(value) for value in seconds if value is not None]


def _first_replies(since: datetime | None, until: datetime | None) -> Any:
    """Each conversation's first clinician's reply made in [since, until] (either end open):
    conversation_id, at, channel."""
    ranked = select(access_log.c.conversation_id, access_log.c.at, access_log.c.detail.label("channel"),
                    func.row_number().over(partition_by=access_log.c.conversation_id, order_by=(access_log.c.at, access_log.c.id))
                    .label("n")).where(_REPLIED)
    if since is not None:
        ranked = ranked.where(access_log.c.at >= since)
    if until is not None:
        ranked = ranked.where(access_log.c.at <= until)
    return ranked.subquery()


def first_human(conn: Connection, since: datetime, until: datetime) -> list[float]:
    """For each conversation created in [since, until] that a clinician answered by then: the
    seconds from its creation to their first reply (when they pressed send).
    Its replies were all made after it was created, so only the log since ``since`` is read."""
    first = _first_replies(since, until)
    query = (select(seconds_between(conn, conversations.c.created_at, first.c.at))
             .select_from(first.join(conversations, conversations.c.id == first.c.conversation_id))
             .where(first.c.n == 1, *_created_within(since, until)))
    return [_seconds(seconds) for seconds in conn.execute(query).scalars()]


def first_human_histogram(conn: Connection, bounds: Sequence[float]) -> dict[str, tuple[list[int], int, float]]:
    """Every conversation a clinician answered, by the channel of their first reply: how many were
    answered within each of ``bounds`` seconds of the conversation's creation (cumulative), how
    many in all, and the sum of those seconds; counted in the database, for /metrics."""
    first = _first_replies(None, None)
    timed = (select(first.c.channel, seconds_between(conn, conversations.c.created_at, first.c.at).label("seconds"))
             .select_from(first.join(conversations, conversations.c.id == first.c.conversation_id))
             .where(first.c.n == 1).subquery())
    within = [func.sum(case((timed.c.seconds <= bound, 1), else_=0)) for bound in bounds]
    total = func.coalesce(func.sum(case((timed.c.seconds > 0, timed.c.seconds), else_=0.0)), 0.0)  # a moment's clock skew counts as 0
    query = select(timed.c.channel, func.count(), total, *within).group_by(timed.c.channel)
    return {row[0]: ([int(n) for n in row[3:]], row[1], float(row[2])) for row in conn.execute(query)}


def waiting(conn: Connection) -> list[tuple[int, datetime]]:
    """Every conversation waiting on us, with the moment it has waited since: its earliest message
    after the latest clinician's reply in it, or its first message when none answered yet."""
    waits = select(conversations.c.id, conversations.c.created_at).where(conversations.c.waiting_on_us.is_(True)).cte("waits")
    # A conversation's replies came after it was created: the log since the oldest one's creation holds them all.
    latest = (select(access_log.c.conversation_id, func.max(access_log.c.at).label("at"))
              .join(waits, waits.c.id == access_log.c.conversation_id)
              .where(_REPLIED, access_log.c.at >= select(func.min(waits.c.created_at)).scalar_subquery())
              .group_by(access_log.c.conversation_id).cte("latest"))
    after = case((or_(latest.c.at.is_(None), messages.c.recorded_at > latest.c.at), messages.c.recorded_at))
    # When no message came after the latest reply (a reply and a message racing), the latest message waits.
    since = func.coalesce(func.min(after), func.max(messages.c.recorded_at), waits.c.created_at)
    query = (select(waits.c.id, since.label("since"))
             .select_from(waits.outerjoin(messages, messages.c.conversation_id == waits.c.id)
                          .outerjoin(latest, latest.c.conversation_id == waits.c.id))
             .group_by(waits.c.id, waits.c.created_at))
    return [(conversation_id, moment) for conversation_id, moment in conn.execute(query)]


def referral_sources(conn: Connection, since: datetime, until: datetime) -> list[tuple[str, int, int, int]]:
    """Per referring professional, of the conversations about people they referred created in
    [since, until]: how many, how many are marked consultation booked, and became client
    (the outcome is the latest one recorded)."""
    source = conversations.c.referral_source
    outcome = conversations.c.outcome
    query = (select(source, func.count(),
                    func.sum(case((outcome == ConversationOutcome.CONSULTATION_BOOKED, 1), else_=0)),
                    func.sum(case((outcome == ConversationOutcome.BECAME_CLIENT, 1), else_=0)))
             .where(*_created_within(since, until), source.is_not(None)).group_by(source))
    return [(address, count, int(booked), int(clients)) for address, count, booked, clients in conn.execute(query)]


def _seconds(value: float) -> float:
    """Never below 0: the clocks of two hosts sharing PostgreSQL may disagree by a moment."""
    return max(0.0, float(value))
