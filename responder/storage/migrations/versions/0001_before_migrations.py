"""The schema of release ae602ba, the last made without migrations; and the way up to it from any
store an earlier release made.

Revision 0001, the first. Until ae602ba every start ran ``metadata.create_all``: a missing *table*
was created in that release's shape and, from a635241 on, a missing index too; a table that
existed was never changed. So a store made before migrations (it has no alembic_version table)
holds each table in the shape of the release that first created it, whichever release ran last.
Each difference is recognised by inspecting the store, never by guessing the release:

    what changed (commit)                        recognised by                   brought up by
    optouts (45a7dad); drafts, draft_events      the table is missing            creating it
      (7be5810); referrals (94540ff)
    cursors.last_uid became position (45a7dad)  a column last_uid               renaming it
    the outbox's unique (message_id, kind)      a constraint                    replacing it
      became (message_id, kind, channel)          uq_outbox_message_kind
      (45a7dad)
    outbox.claimed_by (f9f645b)                  the column is missing           adding it
    ix_outbox_to_lower, ix_outbox_to (a635241),  the index is missing            creating it
      ix_messages_status (611cadc)
    a reply held for approval before drafts      a held reply with no draft      a waiting draft for it,
      existed (4a3e759 to 7be5810)                                                 so a clinician sees it

On SQLite, renaming a column and replacing a constraint rebuild the table (alembic's batch mode:
copy into a new table, drop the old, rename), with foreign keys off meanwhile (storage/migrate.py).
SQLite's reflection cannot see an expression index (ix_outbox_to_lower), so a rebuild loses it:
indexes are created last, each only if it is not there. An empty database gets every table.

The shapes and state names below are written out, not imported: this revision must keep meaning
ae602ba's schema whatever schema.py and model.py become.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import CreateIndex

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ae602ba = sa.MetaData()

sa.Table(
    "messages", ae602ba,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(300), nullable=False),
    sa.Column("key", sa.String(500), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("reply_to", sa.String(320)),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime),
    sa.Column("recorded_at", sa.DateTime, nullable=False),
    sa.Column("raw", sa.LargeBinary),
    sa.Column("category", sa.String(40)),
    sa.Column("action", sa.String(20)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("facts", sa.JSON, nullable=False),
    sa.UniqueConstraint("source", "key", name="uq_messages_source_key"),
    sa.Index("ix_messages_status", "status"),
)

outbox = sa.Table(
    "outbox", ae602ba,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("to_addr", sa.String(320), nullable=False),
    sa.Column("msgid", sa.String(300), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("claimed_until", sa.DateTime),
    sa.Column("claimed_by", sa.String(100)),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
    sa.UniqueConstraint("message_id", "kind", "channel", name="uq_outbox_message_kind_channel"),
)
sa.Index("ix_outbox_to_lower", sa.func.lower(outbox.c.to_addr), outbox.c.created_at)
sa.Index("ix_outbox_to", outbox.c.to_addr)

drafts = sa.Table(
    "drafts", ae602ba,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id"), nullable=False),
    sa.Column("outbox_id", sa.Integer, sa.ForeignKey("outbox.id"), nullable=False, unique=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("reminded_at", sa.DateTime),
    sa.Column("fallback_at", sa.DateTime),
    sa.Column("mail_copy", sa.String(20)),
)

draft_events = sa.Table(
    "draft_events", ae602ba,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("draft_id", sa.Integer, sa.ForeignKey("drafts.id"), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(30), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)

sa.Table(
    "referrals", ae602ba,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id"), nullable=False, unique=True),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("organization", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
)

sa.Table(
    "cursors", ae602ba,
    sa.Column("source", sa.String(300), primary_key=True),
    sa.Column("uidvalidity", sa.BigInteger),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("first_run_at", sa.DateTime, nullable=False),
)

sa.Table(
    "optouts", ae602ba,
    sa.Column("number", sa.String(32), primary_key=True),
    sa.Column("since", sa.DateTime, nullable=False),
)


def upgrade() -> None:
    conn = op.get_bind()
    present = set(sa.inspect(conn).get_table_names())
    ae602ba.create_all(conn, tables=[table for table in ae602ba.sorted_tables if table.name not in present])
    with _reflecting():
        _rename_cursor_position(conn)
        _bring_outbox_up(conn)
    for table in ae602ba.sorted_tables:
        for index in table.indexes:
            conn.execute(CreateIndex(index, if_not_exists=True))
    _give_held_replies_drafts(conn)


def downgrade() -> None:
    raise NotImplementedError("0001 is the first revision: there is no schema before it to go back to")


def _columns(conn: sa.Connection, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(conn).get_columns(table)}


def _rename_cursor_position(conn: sa.Connection) -> None:
    if "last_uid" in _columns(conn, "cursors"):
        with op.batch_alter_table("cursors") as batch:
            batch.alter_column("last_uid", new_column_name="position", existing_type=sa.BigInteger, existing_nullable=False)


def _bring_outbox_up(conn: sa.Connection) -> None:
    missing_claimed_by = "claimed_by" not in _columns(conn, "outbox")
    old_unique = "uq_outbox_message_kind" in {unique["name"] for unique in sa.inspect(conn).get_unique_constraints("outbox")}
    if not (missing_claimed_by or old_unique):
        return
    with op.batch_alter_table("outbox") as batch:
        if missing_claimed_by:
            batch.add_column(sa.Column("claimed_by", sa.String(100)))
        if old_unique:
            batch.drop_constraint("uq_outbox_message_kind", type_="unique")
            batch.create_unique_constraint("uq_outbox_message_kind_channel", ["message_id", "kind", "channel"])


def _give_held_replies_drafts(conn: sa.Connection) -> None:
    """Before 7be5810 a reply for approval was only held in the outbox, where no page showed it.
    Such a draft counts as reminded and fallen back already: a neutral acknowledgement sent now,
    to someone who wrote back then, would be no kindness, and a burst of reminders no help."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    held = conn.execute(sa.select(outbox.c.id, outbox.c.message_id, outbox.c.created_at).where(
        outbox.c.state == "held", outbox.c.kind == "reply", outbox.c.id.not_in(sa.select(drafts.c.outbox_id)),
    ).order_by(outbox.c.id)).all()
    for row in held:
        draft_id = conn.execute(sa.insert(drafts).values(
            message_id=row.message_id, outbox_id=row.id, state="waiting", created_at=row.created_at, updated_at=row.created_at,
            reminded_at=now, fallback_at=now,
        )).inserted_primary_key[0]
        conn.execute(sa.insert(draft_events).values(draft_id=draft_id, at=row.created_at, actor="responder", action="created",
                                                    detail="held before drafts existed; made a draft by migration 0001"))


@contextmanager
def _reflecting() -> Iterator[None]:
    """Inspecting the outbox, and batch mode's copy of it, reflect it; SQLite's reflection warns
    that it skips ix_outbox_to_lower, which upgrade() creates again afterwards if it is gone."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        yield
