"""The clinicians' side of conversations in the store: the list, one timeline, what they record.

The pipeline's side (joining a message to its person, notices owed) is conversations.py's, which
migration 0003 also runs; this module is read and written only by the running release, so it
uses schema.py's tables. Every function runs in the caller's connection or transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, insert, select, type_coerce, update
from sqlalchemy.engine import Connection

from ..model import Access, ConversationOutcome, ConversationStatus, Kind, ReplyState
from .schema import access_log, conversations, identities, messages, outbox

# What the person was sent, in their conversation: the rest of the outbox tells the practice.
TO_THE_PERSON = (Kind.REPLY, Kind.FALLBACK, Kind.HELP, Kind.HUMAN_REPLY)
_NOT_SENT = (ReplyState.FAILED, ReplyState.REJECTED, ReplyState.WITHDRAWN)


@dataclass(frozen=True)
class Listed:
    """One conversation as the list shows it."""

    id: int
    status: ConversationStatus
    waiting_on_us: bool
    clinician: str | None
    outcome: ConversationOutcome | None
    referral_source: str | None
    created_at: datetime
    last_activity_at: datetime
    known_as: tuple[str, ...]  # the person's addresses and numbers, first known first
    messages: int
    waitlist_since: datetime | None = None  # on the waitlist since, if on it


def listed(conn: Connection, status: ConversationStatus | None, clinician: str | None, waiting_first: bool,
           limit: int, offset: int = 0) -> list[Listed]:
    """A page of conversations: newest activity first, or those waiting on us first. ``clinician``
    keeps those assigned to that clinician only (None: everyone's)."""
    query = select(conversations).where(*_filters(status, clinician))
    order = (conversations.c.waiting_on_us.desc(),) if waiting_first else ()
    return _with_people(conn, conn.execute(query.order_by(*order, conversations.c.last_activity_at.desc(), conversations.c.id.desc())
                                           .limit(limit).offset(offset)).mappings().all())


def waitlist(conn: Connection, clinician: str | None) -> list[Listed]:
    """The conversations on the waitlist, longest waiting first (``clinician``: theirs only)."""
    query = select(conversations).where(conversations.c.waitlist_since.is_not(None), *_filters(None, clinician))
    return _with_people(conn, conn.execute(query.order_by(conversations.c.waitlist_since, conversations.c.id)).mappings().all())


def counted(conn: Connection, status: ConversationStatus | None, clinician: str | None) -> int:
    return conn.execute(select(func.count()).select_from(conversations).where(*_filters(status, clinician))).scalar_one()


def one(conn: Connection, conversation_id: int) -> Listed | None:
    row = conn.execute(select(conversations).where(conversations.c.id == conversation_id)).mappings().first()
    if row is None:
        return None
    known = tuple(conn.execute(select(identities.c.value).where(identities.c.conversation_id == conversation_id)
                               .order_by(identities.c.id)).scalars())
    count = conn.execute(select(func.count()).where(messages.c.conversation_id == conversation_id)).scalar_one()
    return _listed(row, known, count)


def inbound(conn: Connection, conversation_id: int) -> list[dict[str, Any]]:
    """Every message the person (or their referrer) sent in the conversation, oldest first: its
    text as read when it came, or its raw form for a row recorded before the text was kept."""
    return [dict(row) for row in conn.execute(
        select(messages.c.id, messages.c.key, messages.c.channel, messages.c.sender, messages.c.reply_to, messages.c.subject,
               messages.c.recorded_at, messages.c.category, messages.c.status, messages.c.text,
               # the raw form only where no text was kept (rows from before migration 0005)
               type_coerce(case((messages.c.text.is_(None), messages.c.raw), else_=None), messages.c.raw.type).label("raw"))
        .where(messages.c.conversation_id == conversation_id).order_by(messages.c.id)).mappings()]


def outbound(conn: Connection, conversation_id: int) -> list[dict[str, Any]]:
    """Everything sent, or owed, about the conversation's messages, oldest first."""
    return [dict(row) for row in conn.execute(
        select(outbox.c.id, outbox.c.message_id, outbox.c.kind, outbox.c.channel, outbox.c.to_addr, outbox.c.subject, outbox.c.body,
               outbox.c.state, outbox.c.created_at, outbox.c.sent_at, outbox.c.author, outbox.c.last_error)
        .join(messages, messages.c.id == outbox.c.message_id)
        .where(messages.c.conversation_id == conversation_id).order_by(outbox.c.id)).mappings()]


def add_reply(conn: Connection, conversation_id: int, message_id: int, author: str, channel: str, to_addr: str, msgid: str,
              subject: str, body: str, raw: bytes, at: datetime) -> int:
    """A clinician's reply, owed from now on like any other; the conversation no longer waits on us."""
    outbox_id = conn.execute(insert(outbox).values(
        message_id=message_id, kind=Kind.HUMAN_REPLY, channel=channel, to_addr=to_addr, msgid=msgid, subject=subject, body=body,
        raw=raw, state=ReplyState.PENDING, attempts=0, next_attempt_at=at, created_at=at, author=author,
    )).inserted_primary_key[0]
    conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                 .values(waiting_on_us=False, last_activity_at=at, status=ConversationStatus.OPEN))
    log_access(conn, author, conversation_id, Access.REPLIED, channel, at)
    return outbox_id


def raw(conn: Connection, message_id: int) -> bytes | None:
    """One message's raw form: the email a clinician's reply threads under."""
    return conn.execute(select(messages.c.raw).where(messages.c.id == message_id)).scalar()


def owed_by_msgid(conn: Connection, msgid: str) -> int | None:
    """The clinician's reply already owed under this Message-ID (its form was sent twice)."""
    return conn.execute(select(outbox.c.id).where(outbox.c.kind == Kind.HUMAN_REPLY, outbox.c.msgid == msgid)).scalar()


def mark(conn: Connection, conversation_id: int, outcome: ConversationOutcome, actor: str, at: datetime) -> None:
    """Record the outcome: someone dealt with the conversation, so it no longer waits on us, nor
    on the waitlist; a conversation marked closed is closed (a new message opens it again)."""
    values: dict[str, Any] = {"outcome": outcome, "waiting_on_us": False, "waitlist_since": None}
    if outcome == ConversationOutcome.CLOSED:
        values["status"] = ConversationStatus.CLOSED
    conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))
    log_access(conn, actor, conversation_id, Access.MARKED, outcome, at)


def assign(conn: Connection, conversation_id: int, clinician: str | None, actor: str, at: datetime) -> None:
    conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(clinician=clinician))
    log_access(conn, actor, conversation_id, Access.ASSIGNED, clinician or "nobody", at)


def close_quiet(conn: Connection, before: datetime) -> int:
    """Close the open conversations with nothing new since ``before`` (conversations.close_after_days)."""
    return conn.execute(update(conversations).where(conversations.c.status == ConversationStatus.OPEN,
                                                    conversations.c.last_activity_at < before)
                        .values(status=ConversationStatus.CLOSED, waiting_on_us=False)).rowcount


def thanks_owed(conn: Connection, conversation_id: int, referrer: str) -> int | None:
    """The referrer's latest referral message in the conversation, when no thank-you to them was
    sent, is owed or waits as a draft: the message a thank-you is drafted for; else None."""
    referral = and_(messages.c.conversation_id == conversation_id, func.lower(messages.c.sender) == referrer.lower())
    thanked = conn.execute(select(outbox.c.id).join(messages, messages.c.id == outbox.c.message_id)
                           .where(referral, outbox.c.kind.in_((Kind.REPLY, Kind.THANKS)), outbox.c.state.not_in(_NOT_SENT))
                           .limit(1)).first()
    if thanked is not None:
        return None
    return conn.execute(select(func.max(messages.c.id)).where(referral)).scalar()


def log_access(conn: Connection, actor: str, conversation_id: int, action: Access, detail: str, at: datetime) -> None:
    conn.execute(insert(access_log).values(at=at, actor=actor[:100], conversation_id=conversation_id, action=action, detail=detail[:200]))


def access(conn: Connection, limit: int | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
    """The access log, newest first."""
    query = select(access_log).order_by(access_log.c.id.desc())
    if since is not None:
        query = query.where(access_log.c.at >= since)
    if limit is not None:
        query = query.limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def status_counts(conn: Connection) -> dict[str, int]:
    """How many conversations are open and closed, and how many of them wait on us."""
    row = conn.execute(select(
        func.count().filter(conversations.c.status == ConversationStatus.OPEN),
        func.count().filter(conversations.c.status == ConversationStatus.CLOSED),
        func.coalesce(func.sum(case((conversations.c.waiting_on_us.is_(True), 1), else_=0)), 0),
    )).one()
    return {ConversationStatus.OPEN: row[0], ConversationStatus.CLOSED: row[1], "waiting_on_us": row[2]}


def _filters(status: ConversationStatus | None, clinician: str | None) -> Sequence[Any]:
    found = []
    if status is not None:
        found.append(conversations.c.status == status)
    if clinician is not None:
        found.append(conversations.c.clinician == clinician)
    return found


def _with_people(conn: Connection, rows: Sequence[Any]) -> list[Listed]:
    """Conversation rows as the list shows them: with who each person is known as, and how many messages."""
    ids = [row["id"] for row in rows]
    known: dict[int, list[str]] = {}
    for conversation_id, value in conn.execute(select(identities.c.conversation_id, identities.c.value)
                                               .where(identities.c.conversation_id.in_(ids)).order_by(identities.c.id)):
        known.setdefault(conversation_id, []).append(value)
    counts = dict(conn.execute(select(messages.c.conversation_id, func.count()).where(messages.c.conversation_id.in_(ids))
                               .group_by(messages.c.conversation_id)).all())
    return [_listed(row, tuple(known.get(row["id"], ())), counts.get(row["id"], 0)) for row in rows]


def _listed(row: Any, known: tuple[str, ...], count: int) -> Listed:
    return Listed(row["id"], ConversationStatus(row["status"]), bool(row["waiting_on_us"]), row["clinician"],
                  ConversationOutcome(row["outcome"]) if row["outcome"] else None, row["referral_source"], row["created_at"],
                  row["last_activity_at"], known, count, row["waitlist_since"])
