"""Conversations in the store: the SQL that joins a message to its person's conversation.

The rules of who is who are conversations/identify.py's; this finds the conversation the keys
name (a thread first, then any identity), makes one when none does, and adds the identities it
did not know yet. It runs inside the caller's transaction: the pipeline's, which records the
message, and migration 0003's backfill, which is why it names its columns with lightweight
tables rather than schema.py's (a later schema must not change what 0003 did).

An identity already known to another conversation stays there: two conversations the same
person started apart are not merged here (a clinician's merge comes with the page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ..conversations.identify import Identity, Keys
from ..model import Category, ConversationStatus, Kind, ReplyState, Status

conversations = sa.table(
    "conversations", sa.column("id", sa.Integer), sa.column("status", sa.String), sa.column("waiting_on_us", sa.Boolean),
    sa.column("referral_source", sa.String), sa.column("created_at", sa.DateTime), sa.column("last_activity_at", sa.DateTime),
    sa.column("last_notice_at", sa.DateTime), sa.column("clinician", sa.String), sa.column("waitlist_since", sa.DateTime),
)
identities = sa.table("identities", sa.column("conversation_id", sa.Integer), sa.column("kind", sa.String), sa.column("value", sa.String))
messages = sa.table("messages", sa.column("id", sa.Integer), sa.column("conversation_id", sa.Integer), sa.column("recorded_at", sa.DateTime),
                    sa.column("channel", sa.String), sa.column("category", sa.String), sa.column("status", sa.String))
outbox = sa.table("outbox", sa.column("message_id", sa.Integer), sa.column("msgid", sa.String), sa.column("kind", sa.String),
                  sa.column("state", sa.String))

# What we sent the person: a reply naming one of these is in their conversation.
_TO_THE_PERSON = (Kind.REPLY, Kind.FALLBACK, Kind.HELP, Kind.HUMAN_REPLY)

# The statements run for every message, built once (as the store's are): building one, with its
# values, cost more than running it.
_LOCK = sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(sa.bindparam("identity", type_=sa.String))))
_BY_THREAD = (sa.select(messages.c.conversation_id).join(outbox, outbox.c.message_id == messages.c.id)
              .where(outbox.c.msgid.in_(sa.bindparam("threads", expanding=True)), outbox.c.kind.in_(_TO_THE_PERSON),
                     messages.c.conversation_id.is_not(None))
              .order_by(messages.c.id.desc()).limit(1))
# Every identity of the keys that some conversation already has, in one lookup (the unique index
# on kind and value answers both lists); the pairs that are not the keys' are passed over.
_KNOWN = sa.select(identities.c.kind, identities.c.value, identities.c.conversation_id).where(
    identities.c.kind.in_(sa.bindparam("kinds", expanding=True)), identities.c.value.in_(sa.bindparam("values", expanding=True)))
_NEW = sa.insert(conversations).returning(conversations.c.id)
# The columns joining reads, each there since migration 0003 (whose backfill joins with this code).
_CONVERSATION = (sa.select(conversations.c.status, conversations.c.last_activity_at, conversations.c.last_notice_at,
                           conversations.c.clinician, conversations.c.referral_source)
                 .where(conversations.c.id == sa.bindparam("conversation")))
_ANSWERED = (sa.select(outbox.c.message_id).join(messages, messages.c.id == outbox.c.message_id)
             .where(messages.c.conversation_id == sa.bindparam("conversation"), outbox.c.kind.in_((Kind.REPLY, Kind.HUMAN_REPLY)),
                    # a referral's reply is the referrer's thank-you, not a reply to the client
                    messages.c.category != Category.PROFESSIONAL_REFERRAL,
                    outbox.c.state.not_in((ReplyState.FAILED, ReplyState.REJECTED))).limit(1))
# An identity another worker added meanwhile stays where it is: inserting it again does nothing.
_ADD_IDENTITIES = {"sqlite": sqlite_insert(identities).on_conflict_do_nothing(),
                   "postgresql": postgresql_insert(identities).on_conflict_do_nothing()}
_IN_CONVERSATION = (sa.update(messages).where(messages.c.id == sa.bindparam("message"))
                    .values(conversation_id=sa.bindparam("conversation_id_")))


@dataclass(frozen=True)
class Joined:
    """The conversation a message joined, as it was before this message."""

    id: int
    new: bool  # made for this message
    going_on: bool  # open, with something in it within conversations.close_after_days
    answered: bool  # we already replied to the person in it (sent, owed, or held as a draft; not refused or rejected;
    #                 a referral's thank-you went to the referrer, not to them)
    last_notice_at: datetime | None
    clinician: str | None = None  # the clinician it is assigned to: told as well as practice.notify
    referral_source: str | None = None  # the referrer's address, for a referred person's conversation


def join(conn: Connection, keys: Keys, at: datetime, close_after: timedelta) -> Joined:
    """The conversation of a message with these keys, made if none has them; its identities added."""
    if conn.dialect.name == "postgresql":
        # Two workers reading two messages from one person must not make two conversations.
        for identity in sorted({f"{i.kind}:{i.value}" for i in keys.identities}):
            conn.execute(_LOCK, {"identity": identity})
    known = _known(conn, keys)
    found = _by_thread(conn, keys) or next((known[key] for key in map(_pair, keys.identities) if key in known), None)
    if found is None:
        found = conn.execute(_NEW, {"status": ConversationStatus.OPEN, "waiting_on_us": False, "referral_source": keys.referrer,
                                    "created_at": at, "last_activity_at": at}).scalar_one()
        before = None
    else:
        before = conn.execute(_CONVERSATION, {"conversation": found}).one()
    source = None if before is None else before.referral_source
    # The referrer writing in the client's conversation is not the client; an identity known
    # already, here or in another conversation, stays where it is.
    new = [{"conversation_id": found, "kind": i.kind, "value": i.value} for i in keys.identities
           if i.value != source and _pair(i) not in known]
    if new:
        conn.execute(_ADD_IDENTITIES["sqlite" if conn.dialect.name == "sqlite" else "postgresql"], new)
    if before is None:
        return Joined(found, new=True, going_on=False, answered=False, last_notice_at=None)
    going_on = before.status == ConversationStatus.OPEN and at - before.last_activity_at <= close_after  # timedelta.max: never closed
    answered = conn.execute(_ANSWERED, {"conversation": found}).first() is not None
    return Joined(found, new=False, going_on=going_on, answered=answered, last_notice_at=before.last_notice_at,
                  clinician=before.clinician, referral_source=before.referral_source)


def attach(conn: Connection, message_id: int, conversation_id: int, at: datetime, waiting_on_us: bool | None,
           noticed_at: datetime | None = None, clinician: str | None = None, waitlisted: bool = False) -> None:
    """The message is in the conversation (see ``moved_on`` for the rest): for a message recorded
    before it was joined, as migration 0003's backfill joins them."""
    conn.execute(_IN_CONVERSATION, {"message": message_id, "conversation_id_": conversation_id})
    moved_on(conn, conversation_id, at, waiting_on_us, noticed_at, clinician, waitlisted)


def moved_on(conn: Connection, conversation_id: int, at: datetime, waiting_on_us: bool | None,
             noticed_at: datetime | None = None, clinician: str | None = None, waitlisted: bool = False) -> None:
    """A message is in the conversation: its activity moves on, it is open again, and whether
    it waits on us changes when ``waiting_on_us`` says so; ``noticed_at``: when practice.notify
    was told of it (after it was recorded, so that the next notice lists only what came later);
    ``clinician``: the one it is now assigned to (a new person's best fit); ``waitlisted``: told
    the clinicians who fit are full, so on the waitlist from now."""
    values: dict[str, object] = {"conversation": conversation_id, "at": at}
    if waiting_on_us is not None:
        values["waiting_on_us_"] = waiting_on_us
    if noticed_at is not None:
        values["noticed_at"] = noticed_at
    if clinician is not None:
        values["clinician_"] = clinician
    conn.execute(_moved_on(frozenset(values), waitlisted), values)


@cache
def _moved_on(given: frozenset[str], waitlisted: bool) -> sa.Update:
    """The UPDATE of ``moved_on`` for the values given, built once for each combination."""
    values: dict[str, object] = {"last_activity_at": sa.bindparam("at", type_=sa.DateTime), "status": ConversationStatus.OPEN}
    if "waiting_on_us_" in given:
        values["waiting_on_us"] = sa.bindparam("waiting_on_us_", type_=sa.Boolean)
    if "noticed_at" in given:
        values["last_notice_at"] = sa.bindparam("noticed_at", type_=sa.DateTime)
    if "clinician_" in given:
        values["clinician"] = sa.bindparam("clinician_", type_=sa.String)
    if waitlisted:
        values["waitlist_since"] = sa.func.coalesce(conversations.c.waitlist_since, sa.bindparam("at", type_=sa.DateTime))
    return sa.update(conversations).where(conversations.c.id == sa.bindparam("conversation")).values(**values)


def notices_owed(conn: Connection, told_before: datetime) -> list[sa.Row[tuple[int, int, datetime, str | None]]]:
    """Conversations waiting on us whose last notice was before ``told_before`` and that hold a
    message since then which no automatic reply answered (one held back by the notice interval):
    (conversation id, the newest such message, the last notice, the assigned clinician)."""
    return list(conn.execute(
        sa.select(conversations.c.id, sa.func.max(messages.c.id), conversations.c.last_notice_at, conversations.c.clinician)
        .join(messages, messages.c.conversation_id == conversations.c.id)
        .where(conversations.c.waiting_on_us.is_(True), conversations.c.last_notice_at < told_before,
               messages.c.recorded_at > conversations.c.last_notice_at, messages.c.status.not_in((Status.ANSWERED, Status.HELD)))
        .group_by(conversations.c.id, conversations.c.last_notice_at, conversations.c.clinician).order_by(conversations.c.id)))


def claim_notice(conn: Connection, conversation_id: int, last_notice_at: datetime, at: datetime) -> bool:
    """Record that practice.notify is told now, if nobody did since ``last_notice_at``: of two
    workers owing the same notice, one wins (a conditional UPDATE)."""
    claimed = conn.execute(sa.update(conversations).where(conversations.c.id == conversation_id,
                                                          conversations.c.last_notice_at == last_notice_at).values(last_notice_at=at))
    return claimed.rowcount == 1


def news(conn: Connection, conversation_id: int, since: datetime | None) -> list[sa.Row[tuple[str, str | None]]]:
    """The channel and category of each message in the conversation since the last notice (ever,
    if none) that no automatic reply answered: what waits on a person."""
    query = sa.select(messages.c.channel, messages.c.category).where(messages.c.conversation_id == conversation_id,
                                                                      messages.c.status.not_in((Status.ANSWERED, Status.HELD)))
    if since is not None:
        query = query.where(messages.c.recorded_at > since)
    return list(conn.execute(query.order_by(messages.c.id)))


def _by_thread(conn: Connection, keys: Keys) -> int | None:
    if not keys.threads:
        return None
    return conn.execute(_BY_THREAD, {"threads": list(keys.threads)}).scalar()


def _known(conn: Connection, keys: Keys) -> dict[tuple[str, str], int]:
    """The conversation of each of the keys' identities that one has."""
    if not keys.identities:
        return {}
    rows = conn.execute(_KNOWN, {"kinds": sorted({str(i.kind) for i in keys.identities}), "values": [i.value for i in keys.identities]})
    wanted = set(map(_pair, keys.identities))
    return {(kind, value): conversation for kind, value, conversation in rows if (kind, value) in wanted}


def _pair(identity: Identity) -> tuple[str, str]:
    """An identity as the store holds it: plain strings, so that rows and keys compare."""
    return str(identity.kind), identity.value
