"""The only place that knows SQL: messages seen, replies owed, mailbox cursors.

Exactly once rests on four rules kept here:
- a message is recorded under a unique (source, key); a second sight is a no-op;
- recording a message and creating its replies is one transaction, so a kill between the two
  cannot lose a reply;
- a reply row is claimed by a conditional UPDATE before it is sent, so two workers (threads or
  processes sharing PostgreSQL) never send the same row at once;
- a text recorded as received (the webhook's first step) is settled by a conditional UPDATE in
  the transaction that creates its replies, so only one worker's reading of it counts.

A crash after the transport accepted a reply but before it was marked sent leaves its claim behind;
the next run on the same machine takes it over at once (the claiming process is gone), a worker
elsewhere once the lease runs out. The reply is then sent again, byte for byte the same and with
the same Message-ID, so the person's mail program shows it once. Losing a reply is worse than that.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Column, Table, bindparam, create_engine, event, func, insert, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..model import Channel, ConversationOutcome, DraftEvent, DraftState, Kind, MailCopy, ReplyState, Status
from . import seal
from .fairlock import FairLock
from .schema import conversations, cursors, draft_events, drafts, messages, metadata, notices_sent, oauth_tokens, optouts, outbox, referrals

# The statements run for every message, built once: building one, with its values, cost more
# than running it.
# A message already recorded (the same source and key) is not inserted again, and no row comes back.
_INSERT_MESSAGE = {"sqlite": sqlite_insert(messages).on_conflict_do_nothing().returning(messages.c.id),
                   "postgresql": postgresql_insert(messages).on_conflict_do_nothing().returning(messages.c.id)}
_INSERT_OUTGOING = insert(outbox)
_SEEN = select(messages.c.id).where(messages.c.source == bindparam("source"), messages.c.key == bindparam("key"))
# A reply that never left (refused by the server, rejected, withdrawn) is no reason not to answer.
_NOT_SENT = (ReplyState.FAILED, ReplyState.REJECTED, ReplyState.WITHDRAWN)
# A reply that is done: its text may be purged.
_DONE = (ReplyState.SENT, *_NOT_SENT)
_REPLIED_SINCE = select(outbox.c.id).where(
    outbox.c.kind == Kind.REPLY, func.lower(outbox.c.to_addr) == bindparam("to_addr"), outbox.c.created_at >= bindparam("since"),
    outbox.c.state.not_in(_NOT_SENT),
).limit(1)
_OPTED_OUT = select(optouts.c.number).where(optouts.c.number == bindparam("number"))
# The columns a settled text is given come from the parameters.
_SETTLE = update(messages).where(messages.c.id == bindparam("row"), messages.c.status == Status.RECEIVED)
_MARK_SENT = (update(outbox).where(outbox.c.id == bindparam("row"), outbox.c.state == ReplyState.SENDING)
              .values(state=ReplyState.SENT, sent_at=bindparam("at"), claimed_until=None, last_error=None))
_APPROVED_DRAFT = select(drafts.c.id).where(drafts.c.outbox_id == bindparam("row"), drafts.c.state == DraftState.APPROVED)
_TEXTED = (select(outbox.c.id).where(outbox.c.channel == Channel.SMS, outbox.c.to_addr == bindparam("number"), outbox.c.state != ReplyState.FAILED)
           .limit(1))


def utcnow() -> datetime:
    """Naive UTC: what every DateTime column holds, on SQLite and PostgreSQL alike."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


class StoreError(Exception):
    """The store cannot be used as it is (missing, behind, or migrated by a newer release); the
    message says what to do."""


@dataclass(frozen=True)
class Recorded:
    """The row a message was recorded under, and whether it had been recorded before."""

    id: int
    duplicate: bool


@dataclass(frozen=True)
class Received:
    """A text recorded as received, waiting to be settled."""

    id: int
    source: str
    key: str
    raw: bytes
    received_at: datetime | None


@dataclass(frozen=True)
class Due:
    id: int
    kind: str
    channel: str
    to_addr: str
    msgid: str
    raw: bytes
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Tallies:
    received: list[tuple[str, str, int]]  # channel, category, count
    outcomes: list[tuple[str, str, str, int]]  # channel, category, replied/drafted/skipped/failed, count
    outbox_depth: dict[str, int]  # held, pending, sending


@dataclass(frozen=True)
class StoredToken:
    """An account's refresh token, and the configured one it started from, if any."""

    refresh_token: str
    seeded_from: str | None  # sha256 of the configuration's refresh_token it came from


@dataclass(frozen=True)
class Cursor:
    uidvalidity: int | None
    position: int
    first_run_at: datetime


class Store:
    """The store at ``url``, as its schema is: opening it never changes the schema (migrate.py does)."""

    def __init__(self, url: str, lock_timeout: float = 30, encryption_keys: str | None = None) -> None:
        self.engine = make_engine(url, lock_timeout)
        self._writer: AbstractContextManager[None] = FairLock() if self.engine.dialect.name == "sqlite" else nullcontext()
        self._insert_message = _INSERT_MESSAGE["sqlite" if self.engine.dialect.name == "sqlite" else "postgresql"]
        seal.attach(self.engine, encryption_keys)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction. On SQLite the writers of this process first queue on a fair
        lock (see fairlock.py); writers in other processes still meet SQLite's own busy wait."""
        with self._writer, writing(self.engine) as conn:
            yield conn

    # -- messages -------------------------------------------------------------------------------

    def seen(self, source: str, key: str) -> bool:
        return self._exists(_SEEN, {"source": source, "key": key}, None)

    def record(self, conn: Connection, values: dict[str, Any]) -> Recorded:
        """Insert one message inside the caller's transaction; a second sight is reported, not
        inserted (ON CONFLICT DO NOTHING leaves the caller's transaction usable, as a savepoint would)."""
        new_id = conn.execute(self._insert_message, {**values, "recorded_at": utcnow()}).scalar()
        if new_id is None:
            found = conn.execute(_SEEN, {"source": values["source"], "key": values["key"]}).scalar_one()
            return Recorded(found, duplicate=True)
        return Recorded(new_id, duplicate=False)

    def received(self, limit: int = 50) -> list[Received]:
        """Texts recorded as received and not yet settled, oldest first."""
        query = (select(messages.c.id, messages.c.source, messages.c.key, messages.c.raw, messages.c.received_at)
                 .where(messages.c.status == Status.RECEIVED).order_by(messages.c.id).limit(limit))
        with self.engine.connect() as conn:
            return [Received(*row) for row in conn.execute(query)]

    def settle(self, conn: Connection, message_id: int, values: dict[str, Any]) -> Recorded:
        """Fill in a received message inside the caller's transaction. Only the first worker to
        settle it writes; a later one is told it was a duplicate, before it has written anything."""
        settled = {name: value for name, value in values.items() if name not in ("source", "key", "raw", "received_at")}
        won = conn.execute(_SETTLE, {**settled, "row": message_id}).rowcount
        return Recorded(message_id, duplicate=not won)

    def replied_recently(self, conn: Connection, to_addr: str, since: datetime) -> bool:
        """Whether a reply to this address was made (and not refused by the server) since then.
        On PostgreSQL the address is locked for the rest of the caller's transaction, so two
        workers reading two messages from one person cannot both find no reply and both answer
        (SQLite needs no lock: BEGIN IMMEDIATE already lets one writer in at a time)."""
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(to_addr.lower()))))
        return self._exists(_REPLIED_SINCE, {"to_addr": to_addr.lower(), "since": since}, conn)

    def add_outgoing(self, conn: Connection, message_id: int, kind: Kind, channel: Channel, to_addr: str,
                     msgid: str, subject: str, body: str, raw: bytes, held: bool = False) -> int:
        now = utcnow()
        return conn.execute(_INSERT_OUTGOING, {
            "message_id": message_id, "kind": kind, "channel": channel, "to_addr": to_addr, "msgid": msgid, "subject": subject,
            "body": body, "raw": raw, "state": ReplyState.HELD if held else ReplyState.PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now,
        }).inserted_primary_key[0]

    def message(self, message_id: int, conn: Connection | None = None) -> dict[str, Any] | None:
        if conn is None:
            with self.engine.connect() as own:
                return self.message(message_id, own)
        row = conn.execute(select(messages).where(messages.c.id == message_id)).mappings().first()
        return dict(row) if row else None

    def outgoing(self) -> list[dict[str, Any]]:
        query = select(outbox).order_by(outbox.c.id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def purge_before(self, cutoff: datetime) -> int:
        """Remove the words of messages recorded before ``cutoff``: the message as received, its
        subject and the model's evidence (which quotes them), and the text of replies that are
        done (sent, failed, rejected, withdrawn). What remains is the audit: who wrote when, by
        which route, how it was read and why, what was done. A text not yet settled, a reply still
        owed or a draft still waiting is kept whole until it is done. Returns how many messages
        were purged."""
        with self.transaction() as conn:
            open_rows = select(outbox.c.message_id).where(outbox.c.state.not_in(_DONE))
            purged = conn.execute(select(messages.c.id).where(
                messages.c.recorded_at < cutoff, messages.c.raw.is_not(None), messages.c.status != Status.RECEIVED,
                messages.c.id.not_in(open_rows))).scalars().all()
            for message_id in purged:
                conn.execute(update(messages).where(messages.c.id == message_id).values(raw=None, text=None, subject="", evidence=[]))
                conn.execute(update(outbox).where(outbox.c.message_id == message_id).values(subject="", body="", raw=b""))
        return len(purged)

    def tallies(self) -> Tallies:
        """Counts for /metrics, read from the rows themselves so that they agree across restarts
        and across workers sharing one database; from indexes that hold every column counted
        (migration 0008), not from the rows past their sealed bodies. A message not yet
        classified (a text being settled) counts as category "none"."""
        channel, category = messages.c.channel, func.coalesce(messages.c.category, "none")
        with self.engine.connect() as conn:
            received = conn.execute(select(channel, category, func.count()).group_by(channel, category)).all()
            replies = (select(channel, category, outbox.c.state, func.count())
                       .join(outbox, outbox.c.message_id == messages.c.id)
                       .where(outbox.c.kind == Kind.REPLY, outbox.c.state.in_((ReplyState.SENT, ReplyState.FAILED)))
                       .group_by(channel, category, outbox.c.state))
            drafted = select(channel, category, func.count()).join(drafts, drafts.c.message_id == messages.c.id).group_by(channel, category)
            skipped = (select(channel, category, func.count())
                       .where(messages.c.status.in_((Status.SKIPPED, Status.UNREADABLE, Status.TOO_LARGE)))
                       .group_by(channel, category))
            depth = conn.execute(select(outbox.c.state, func.count())
                                 .where(outbox.c.state.in_((ReplyState.HELD, ReplyState.PENDING, ReplyState.SENDING)))
                                 .group_by(outbox.c.state)).all()
            outcomes = [(by, cat, "replied" if state == ReplyState.SENT else "failed", n) for by, cat, state, n in conn.execute(replies).all()]
            outcomes += [(by, cat, "drafted", n) for by, cat, n in conn.execute(drafted).all()]
            outcomes += [(by, cat, "skipped", n) for by, cat, n in conn.execute(skipped).all()]
        return Tallies(received=[tuple(row) for row in received], outcomes=outcomes, outbox_depth=dict(depth))  # type: ignore[arg-type]

    def reseal(self, batch: int = 200) -> int:
        """Seal what is stored in the clear under the newest key, and seal again under it what an
        older key sealed (rotation), in every sealed column (schema.py's SealedText and
        SealedBytes). Batch by batch, each one transaction with its rows locked, so it may run
        beside serve, be stopped, and run again: a value under the newest key is left as it is.
        Returns how many rows it changed."""
        changed = 0
        for table, columns in _sealed_columns():
            last = 0
            while rows := self._reseal_batch(table, columns, last, batch):
                changed += sum(rows.values())
                last = max(rows)
        return changed

    def _reseal_batch(self, table: Table, columns: list[Column[Any]], after: int, limit: int) -> dict[int, bool]:
        """The next rows of ``table`` after id ``after``, each resealed where it needs it: id -> changed."""
        # Read and written as the database holds them, past the sealing types.
        stored = [type_coerce(column, column.type.impl_instance).label(column.name) for column in columns]  # type: ignore[attr-defined]
        done: dict[int, bool] = {}
        with self.transaction() as conn:
            for row in conn.execute(select(table.c.id, *stored).where(table.c.id > after).order_by(table.c.id)
                                    .limit(limit).with_for_update()).mappings():
                values = {}
                for column in columns:
                    value = row[column.name]
                    new = None if value is None else seal.reseal(self.engine.dialect, value.encode() if isinstance(value, str) else bytes(value))
                    if new is not None:
                        values[column.name] = type_coerce(new.decode("ascii") if isinstance(value, str) else new,
                                                          column.type.impl_instance)  # type: ignore[attr-defined]
                if values:
                    conn.execute(update(table).where(table.c.id == row["id"]).values(values))
                done[row["id"]] = bool(values)
        return done

    # -- delivery ------------------------------------------------------------------------------

    def claim_due(self, channels: Sequence[str], limit: int = 20, lease: timedelta = timedelta(minutes=2)) -> list[Due]:
        """Rows due for sending, each claimed by a conditional UPDATE that only one worker wins.
        A claim whose worker died mid-send is due again: at once when that worker ran on this
        machine (its process is gone), else once its lease has run out."""
        now = utcnow()
        claimed: list[Due] = []
        with self.transaction() as conn:
            due = (outbox.c.state == ReplyState.PENDING) & (outbox.c.next_attempt_at <= now)
            abandoned = (outbox.c.state == ReplyState.SENDING) & ((outbox.c.claimed_until < now) | outbox.c.claimed_by.in_(_dead_claimers(conn)))
            rows = conn.execute(
                select(outbox.c.id, outbox.c.kind, outbox.c.channel, outbox.c.to_addr, outbox.c.msgid, outbox.c.raw,
                       outbox.c.attempts, outbox.c.created_at)
                .where(due | abandoned, outbox.c.channel.in_(channels))
                .order_by(outbox.c.kind == Kind.REPLY, outbox.c.id)  # alerts first
                .limit(limit)
            ).all()
            claim = (update(outbox).where(outbox.c.id == bindparam("row"), due | abandoned)
                     .values(state=ReplyState.SENDING, claimed_until=now + lease, claimed_by=WORKER, attempts=outbox.c.attempts + 1))
            for row in rows:
                won = conn.execute(claim, {"row": row.id}).rowcount
                if won:
                    claimed.append(Due(row.id, row.kind, row.channel, row.to_addr, row.msgid, row.raw, row.attempts + 1, row.created_at))
        return claimed

    def mark_sent(self, outbox_id: int) -> None:
        with self.transaction() as conn:
            done = conn.execute(_MARK_SENT, {"row": outbox_id, "at": utcnow()}).rowcount
            draft = conn.execute(_APPROVED_DRAFT, {"row": outbox_id}).scalar()
            if done and draft is not None:
                self._draft_state(conn, draft, DraftState.APPROVED, DraftState.SENT, "responder", DraftEvent.SENT, "")

    def mark_failed(self, outbox_id: int, error: str) -> None:
        self._finish(outbox_id, state=ReplyState.FAILED, claimed_until=None, last_error=error[:1000])

    def retry_later(self, outbox_id: int, error: str, at: datetime) -> None:
        self._finish(outbox_id, state=ReplyState.PENDING, next_attempt_at=at, claimed_until=None, last_error=error[:1000])

    def retry_now(self, channel: Channel) -> int:
        """Make what waits for its next retry on ``channel`` due at once (the route works again);
        returns how many."""
        now = utcnow()
        with self.transaction() as conn:
            return conn.execute(update(outbox).where(outbox.c.channel == channel, outbox.c.state == ReplyState.PENDING,
                                                     outbox.c.attempts > 0, outbox.c.next_attempt_at > now)
                                .values(next_attempt_at=now)).rowcount

    def _finish(self, outbox_id: int, **values: Any) -> None:
        with self.transaction() as conn:
            conn.execute(update(outbox).where(outbox.c.id == outbox_id, outbox.c.state == ReplyState.SENDING).values(**values))

    # -- referral sources ------------------------------------------------------------------------

    def add_referral(self, conn: Connection, message_id: int, address: str, name: str, organization: str) -> None:
        conn.execute(insert(referrals).values(message_id=message_id, address=address[:320], name=name[:200],
                                              organization=organization[:200], at=utcnow()))

    def referral_sources(self, since: datetime | None, until: datetime | None) -> list[dict[str, Any]]:
        """Each referring address with its latest name and organisation, how many referral
        messages it sent in the period (``count``, as it always was), how many people they
        referred (``referrals``: a second message about the same person, in their conversation,
        is one referral), how many of those became clients (``became_clients``: their conversation
        marked so), and when the first and last came; most referrals first."""
        query = (select(referrals, conversations.c.id.label("conversation"), conversations.c.outcome).join(
            messages, messages.c.id == referrals.c.message_id)
                 .outerjoin(conversations, conversations.c.id == messages.c.conversation_id).order_by(referrals.c.at))
        if since is not None:
            query = query.where(referrals.c.at >= since)
        if until is not None:
            query = query.where(referrals.c.at < until)
        sources: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():
                source = sources.setdefault(row["address"].lower(), {"address": row["address"], "count": 0, "people": set(),
                                                                     "clients": set(), "first": row["at"]})
                source |= {"name": row["name"], "organization": row["organization"], "last": row["at"]}
                source["count"] += 1
                person = row["conversation"] or f"message {row['message_id']}"  # one recorded before conversations: on its own
                source["people"].add(person)
                if row["outcome"] == ConversationOutcome.BECAME_CLIENT:
                    source["clients"].add(person)
        found = [{k: v for k, v in s.items() if k not in ("people", "clients")} | {"referrals": len(s["people"]),
                                                                                    "became_clients": len(s["clients"])}
                 for s in sources.values()]
        return sorted(found, key=lambda s: (-s["referrals"], -s["count"], s["name"].lower()))

    # -- drafts --------------------------------------------------------------------------------

    def add_draft(self, conn: Connection, message_id: int, outbox_id: int, mail_copy: bool) -> int:
        now = utcnow()
        draft_id = conn.execute(insert(drafts).values(
            message_id=message_id, outbox_id=outbox_id, state=DraftState.WAITING, created_at=now, updated_at=now,
            mail_copy=MailCopy.WANTED if mail_copy else None,
        )).inserted_primary_key[0]
        conn.execute(insert(draft_events).values(draft_id=draft_id, at=now, actor="responder", action=DraftEvent.CREATED, detail=""))
        return draft_id

    def drafts(self, states: Sequence[DraftState] = (DraftState.WAITING,), limit: int = 200) -> list[dict[str, Any]]:
        """Drafts with their message and reply, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(self._draft_query().where(drafts.c.state.in_(states)).order_by(drafts.c.id.desc()).limit(limit))
            return [dict(row) for row in rows.mappings()]

    def draft(self, draft_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(self._draft_query().where(drafts.c.id == draft_id)).mappings().first()
            return dict(row) if row else None

    def approve_draft(self, draft_id: int, actor: str, body: str | None = None, raw: bytes | None = None) -> bool:
        """Release a waiting draft to the outbox, edited if a new body (and its raw form) is given.
        False when it is not waiting (already decided, or taken over from a mail program)."""
        with self.transaction() as conn:
            event = DraftEvent.EDITED if body is not None else DraftEvent.APPROVED
            if not self._draft_state(conn, draft_id, DraftState.WAITING, DraftState.APPROVED, actor, event, ""):
                return False
            outbox_id = conn.execute(select(drafts.c.outbox_id).where(drafts.c.id == draft_id)).scalar_one()
            values: dict[str, Any] = {"state": ReplyState.PENDING, "next_attempt_at": utcnow()}
            if body is not None and raw is not None:
                values |= {"body": body, "raw": raw}
            conn.execute(update(outbox).where(outbox.c.id == outbox_id, outbox.c.state == ReplyState.HELD).values(**values))
            return True

    def reject_draft(self, draft_id: int, actor: str) -> bool:
        return self._close_draft(draft_id, DraftState.REJECTED, actor, DraftEvent.REJECTED, ReplyState.REJECTED, "")

    def take_over_draft(self, draft_id: int, detail: str) -> bool:
        """The clinician sent or discarded the draft in their own mail program: never send it here."""
        return self._close_draft(draft_id, DraftState.TAKEN_OVER, "mail program", DraftEvent.TAKEN_OVER, ReplyState.WITHDRAWN, detail)

    def draft_events(self, limit: int = 200, clinician: str | None = None) -> list[dict[str, Any]]:
        """The drafts' history, newest first; ``clinician``: only of conversations assigned to them."""
        query = (select(draft_events, messages.c.category, messages.c.channel, outbox.c.to_addr)
                 .join(drafts, drafts.c.id == draft_events.c.draft_id).join(messages, messages.c.id == drafts.c.message_id)
                 .join(outbox, outbox.c.id == drafts.c.outbox_id).order_by(draft_events.c.id.desc()).limit(limit))
        if clinician is not None:
            query = query.join(conversations, conversations.c.id == messages.c.conversation_id).where(conversations.c.clinician == clinician)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def drafts_waiting_since(self, before: datetime, column: str) -> list[dict[str, Any]]:
        """Waiting drafts created before ``before`` whose ``column`` (reminded_at, fallback_at) is unset."""
        query = self._draft_query().where(drafts.c.state == DraftState.WAITING, drafts.c.created_at < before, drafts.c[column].is_(None))
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def mark_draft(self, conn: Connection, draft_id: int, column: str, action: DraftEvent) -> bool:
        """Set ``column`` once (reminded_at, fallback_at); False if another worker did it first."""
        now = utcnow()
        done = conn.execute(update(drafts).where(drafts.c.id == draft_id, drafts.c[column].is_(None)).values({column: now})).rowcount
        if done:
            conn.execute(insert(draft_events).values(draft_id=draft_id, at=now, actor="responder", action=action, detail=""))
        return bool(done)

    def set_mail_copy(self, draft_id: int, value: MailCopy) -> None:
        with self.transaction() as conn:
            conn.execute(update(drafts).where(drafts.c.id == draft_id).values(mail_copy=value))

    def drafts_with_mail_copy(self, values: Sequence[MailCopy]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(self._draft_query().where(drafts.c.mail_copy.in_(values))).mappings()]

    def _close_draft(self, draft_id: int, state: DraftState, actor: str, action: DraftEvent, outbox_state: ReplyState, detail: str) -> bool:
        with self.transaction() as conn:
            if not self._draft_state(conn, draft_id, DraftState.WAITING, state, actor, action, detail):
                return False
            outbox_id = conn.execute(select(drafts.c.outbox_id).where(drafts.c.id == draft_id)).scalar_one()
            conn.execute(update(outbox).where(outbox.c.id == outbox_id, outbox.c.state == ReplyState.HELD).values(state=outbox_state))
            return True

    def _draft_state(self, conn: Connection, draft_id: int, old: DraftState, new: DraftState, actor: str, action: DraftEvent, detail: str) -> bool:
        now = utcnow()
        done = conn.execute(update(drafts).where(drafts.c.id == draft_id, drafts.c.state == old).values(state=new, updated_at=now)).rowcount
        if done:
            conn.execute(insert(draft_events).values(draft_id=draft_id, at=now, actor=actor[:100], action=action, detail=detail[:1000]))
        return bool(done)

    @staticmethod
    def _draft_query() -> Any:
        return (select(drafts, messages.c.category, messages.c.channel, messages.c.sender, messages.c.subject.label("message_subject"),
                       messages.c.raw.label("message_raw"), messages.c.reasons, messages.c.evidence, messages.c.facts, messages.c.received_at,
                       outbox.c.to_addr, outbox.c.subject, outbox.c.body, outbox.c.raw, outbox.c.msgid, outbox.c.state.label("outbox_state"),
                       conversations.c.clinician)
                .join(messages, messages.c.id == drafts.c.message_id).join(outbox, outbox.c.id == drafts.c.outbox_id)
                .outerjoin(conversations, conversations.c.id == messages.c.conversation_id))

    # -- cursors -------------------------------------------------------------------------------

    def cursor(self, source: str) -> Cursor:
        """The mailbox position; the first call for a source starts it, remembering when."""
        with self.transaction() as conn:
            row = conn.execute(select(cursors).where(cursors.c.source == source)).first()
            if row is None:
                now = utcnow()
                try:
                    with conn.begin_nested():
                        conn.execute(insert(cursors).values(source=source, uidvalidity=None, position=0, first_run_at=now))
                except IntegrityError:
                    row = conn.execute(select(cursors).where(cursors.c.source == source)).one()
                    return Cursor(row.uidvalidity, row.position, row.first_run_at)
                return Cursor(None, 0, now)
            return Cursor(row.uidvalidity, row.position, row.first_run_at)

    def advance(self, source: str, position: int, uidvalidity: int | None = None) -> None:
        with self.transaction() as conn:
            conn.execute(update(cursors).where(cursors.c.source == source).values(uidvalidity=uidvalidity, position=position))

    # -- OAuth2 refresh tokens -----------------------------------------------------------------

    def refresh_token(self, account: str) -> StoredToken | None:
        with self.transaction() as conn:
            row = conn.execute(select(oauth_tokens.c.refresh_token, oauth_tokens.c.seeded_from)
                               .where(oauth_tokens.c.account == account)).first()
        return None if row is None else StoredToken(row.refresh_token, row.seeded_from)

    def keep_refresh_token(self, account: str, token: str, seeded_from: str | None) -> None:
        """Store ``token`` as the account's, replacing any before it (a sign-in, a rotation)."""
        values = {"refresh_token": token, "seeded_from": seeded_from, "updated_at": utcnow()}
        with self.transaction() as conn:
            if not conn.execute(update(oauth_tokens).where(oauth_tokens.c.account == account).values(values)).rowcount:
                conn.execute(insert(oauth_tokens).values(account=account, **values))

    def claim_notice(self, name: str) -> bool:
        """True for the one caller that is to send the notice ``name``, until it is cleared."""
        try:
            with self.transaction() as conn:
                conn.execute(insert(notices_sent).values(name=name, sent_at=utcnow()))
        except IntegrityError:
            return False
        return True

    def clear_notice(self, name: str) -> None:
        with self.transaction() as conn:
            conn.execute(notices_sent.delete().where(notices_sent.c.name == name))

    # -- SMS opt-outs --------------------------------------------------------------------------

    def set_opted_out(self, number: str, opted_out: bool, conn: Connection | None = None) -> None:
        if conn is None:
            with self.transaction() as own:
                self.set_opted_out(number, opted_out, own)
            return
        conn.execute(optouts.delete().where(optouts.c.number == number))
        if opted_out:
            conn.execute(insert(optouts).values(number=number, since=utcnow()))

    def opted_out(self, number: str, conn: Connection | None = None) -> bool:
        return self._exists(_OPTED_OUT, {"number": number}, conn)

    def texted_before(self, number: str) -> bool:
        """Whether responder has already sent (or is sending) a text to this number."""
        return self._exists(_TEXTED, {"number": number}, None)

    def _exists(self, query: Any, values: dict[str, Any], conn: Connection | None) -> bool:
        if conn is not None:
            return conn.execute(query, values).first() is not None
        with self.engine.connect() as own:
            return own.execute(query, values).first() is not None


WORKER = f"{socket.gethostname()}:{os.getpid()}"


def _sealed_columns() -> list[tuple[Table, list[Column[Any]]]]:
    """Each table with sealed columns, and those columns (the types in schema.py say which)."""
    found = [(table, [column for column in table.columns if isinstance(column.type, (seal.SealedText, seal.SealedBytes))])
             for table in metadata.sorted_tables]
    return [(table, columns) for table, columns in found if columns]


def _dead_claimers(conn: Connection) -> list[str]:
    """Workers on this machine that hold claims but whose process is gone (killed mid-send)."""
    host = socket.gethostname()
    dead = []
    for claimer in conn.execute(select(outbox.c.claimed_by).where(outbox.c.state == ReplyState.SENDING).distinct()).scalars():
        name, _, pid = (claimer or "").rpartition(":")
        if name == host and pid.isdigit() and not _alive(int(pid)):
            dead.append(claimer)
    return dead


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_WRITE = "responder_write"  # the execution option that marks a write transaction


def make_engine(url: str, lock_timeout: float) -> Engine:
    """An engine for the store at ``url``: the store's own, and the one migrate.py upgrades with."""
    # hide_parameters: an error's text must never carry a message body into a log.
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    engine = create_engine(url, connect_args={"timeout": lock_timeout, "check_same_thread": False}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets the web app read while the scheduler writes; a killed process loses nothing
        # committed. The driver's own transaction handling is replaced by SQLAlchemy's BEGIN so
        # that a transaction really starts where the code says it does.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # A writer takes the write lock at once, so that two never deadlock upgrading a read;
        # a reader does not, so that a page being read never holds the pipeline's writes back.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction on ``engine``: on SQLite it begins IMMEDIATE (make_engine)."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn
