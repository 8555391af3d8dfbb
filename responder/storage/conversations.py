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

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..conversations.identify import Keys
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
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(identity))))
    found = _by_thread(conn, keys) or _by_identity(conn, keys)
    if found is None:
        found = conn.execute(sa.insert(conversations).values(
            status=ConversationStatus.OPEN, waiting_on_us=False, referral_source=keys.referrer, created_at=at, last_activity_at=at,
        ).returning(conversations.c.id)).scalar_one()
        before = None
    else:
        before = conn.execute(sa.select(conversations).where(conversations.c.id == found)).one()
    source = None if before is None else before.referral_source
    for identity in keys.identities:
        if identity.value == source:
            continue  # the referrer writing in the client's conversation is not the client
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(identities).values(conversation_id=found, kind=identity.kind, value=identity.value))
        except IntegrityError:
            pass  # known already, here or in another conversation: it stays where it is
    if before is None:
        return Joined(found, new=True, going_on=False, answered=False, last_notice_at=None)
    going_on = before.status == ConversationStatus.OPEN and before.last_activity_at >= at - close_after
    answered = conn.execute(sa.select(outbox.c.message_id).join(messages, messages.c.id == outbox.c.message_id)
                            .where(messages.c.conversation_id == found, outbox.c.kind.in_((Kind.REPLY, Kind.HUMAN_REPLY)),
                                   # a referral's reply is the referrer's thank-you, not a reply to the client
                                   messages.c.category != Category.PROFESSIONAL_REFERRAL,
                                   outbox.c.state.not_in((ReplyState.FAILED, ReplyState.REJECTED))).limit(1)).first() is not None
    return Joined(found, new=False, going_on=going_on, answered=answered, last_notice_at=before.last_notice_at,
                  clinician=before.clinician, referral_source=before.referral_source)


def attach(conn: Connection, message_id: int, conversation_id: int, at: datetime, waiting_on_us: bool | None,
           noticed_at: datetime | None = None, clinician: str | None = None, waitlisted: bool = False) -> None:
    """The message is in the conversation: its activity moves on, it is open again, and whether
    it waits on us changes when ``waiting_on_us`` says so; ``noticed_at``: when practice.notify
    was told of it (after it was recorded, so that the next notice lists only what came later);
    ``clinician``: the one it is now assigned to (a new person's best fit); ``waitlisted``: told
    the clinicians who fit are full, so on the waitlist from now."""
    conn.execute(sa.update(messages).where(messages.c.id == message_id).values(conversation_id=conversation_id))
    values: dict[str, object] = {"last_activity_at": at, "status": ConversationStatus.OPEN}
    if waiting_on_us is not None:
        values["waiting_on_us"] = waiting_on_us
    if noticed_at is not None:
        values["last_notice_at"] = noticed_at
    if clinician is not None:
        values["clinician"] = clinician
    if waitlisted:
        values["waitlist_since"] = sa.func.coalesce(conversations.c.waitlist_since, at)
    conn.execute(sa.update(conversations).where(conversations.c.id == conversation_id).values(**values))


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
    return conn.execute(sa.select(messages.c.conversation_id).join(outbox, outbox.c.message_id == messages.c.id)
                        .where(outbox.c.msgid.in_(keys.threads), outbox.c.kind.in_(_TO_THE_PERSON), messages.c.conversation_id.is_not(None))
                        .order_by(messages.c.id.desc()).limit(1)).scalar()


def _by_identity(conn: Connection, keys: Keys) -> int | None:
    for identity in keys.identities:
        found = conn.execute(sa.select(identities.c.conversation_id)
                             .where(identities.c.kind == identity.kind, identities.c.value == identity.value)).scalar()
        if found is not None:
            return found
    return None
