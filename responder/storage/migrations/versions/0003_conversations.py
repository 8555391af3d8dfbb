"""conversations and identities; messages.conversation_id: one person, one conversation (issue 12).

Revision 0003, after 0002. A person is known by every address and number they use; each message
of a person's belongs to their conversation. The upgrade makes the tables and backfills them:
every message already in the store, in the order it was recorded, is joined by the same rules as
a new one (conversations/identify.py for who is who, storage/conversations.py for the joining),
reading the headers and text of the raw message where it is stored in the clear. A raw message
already sealed (``responder reseal``) cannot be opened here, which has no key: it is joined by
its sender and reply address alone. Machines, vendors and messages never read join nothing.
Nothing is owed for history: no conversation waits on us and no notice goes out.

The downgrade drops the column and the tables.
"""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from responder.conversations.identify import message_keys
from responder.model import Category, Channel, Inbound
from responder.storage.conversations import attach, join
from responder.triage.parse import parse_email, parse_sms

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 500
_SEALED = b"gAAAAA"  # a Fernet token: raw sealed by `responder reseal`
messages = sa.table("messages", sa.column("id", sa.Integer), sa.column("channel", sa.String), sa.column("sender", sa.String),
                    sa.column("reply_to", sa.String), sa.column("category", sa.String), sa.column("recorded_at", sa.DateTime),
                    sa.column("raw", sa.LargeBinary))


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("waiting_on_us", sa.Boolean, nullable=False),
        sa.Column("clinician", sa.String(100)),
        sa.Column("outcome", sa.String(30)),
        sa.Column("referral_source", sa.String(320)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_activity_at", sa.DateTime, nullable=False),
        sa.Column("last_notice_at", sa.DateTime),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("value", sa.String(320), nullable=False),
        sa.UniqueConstraint("kind", "value", name="uq_identities_kind_value"),
    )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("conversation_id", sa.Integer))
        batch.create_foreign_key("fk_messages_conversation_id", "conversations", ["conversation_id"], ["id"])
    op.create_index("ix_messages_conversation_id", "messages", ["conversation_id"])
    op.create_index("ix_outbox_msgid", "outbox", ["msgid"])
    _backfill()


def downgrade() -> None:
    op.drop_index("ix_outbox_msgid", "outbox")
    op.drop_index("ix_messages_conversation_id", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("fk_messages_conversation_id", type_="foreignkey")
        batch.drop_column("conversation_id")
    op.drop_table("identities")
    op.drop_table("conversations")


def _backfill() -> None:
    conn = op.get_bind()
    last = 0
    while batch := conn.execute(sa.select(messages).where(messages.c.id > last, messages.c.category.is_not(None))
                                .order_by(messages.c.id).limit(BATCH)).all():
        for row in batch:
            found = message_keys(_read(row), Category(row.category), row.reply_to)
            if found is not None:
                joined = join(conn, found, row.recorded_at, timedelta.max)
                attach(conn, row.id, joined.id, row.recorded_at, waiting_on_us=None)
        last = batch[-1].id


def _read(row: sa.Row) -> Inbound:
    """A stored message as the pipeline read it: parsed from its raw form where it is in the
    clear, else known by its sender alone."""
    raw = bytes(row.raw) if row.raw is not None else b""
    if raw and not raw.startswith(_SEALED):
        try:
            return parse_email(raw) if row.channel == Channel.EMAIL else parse_sms(json.loads(raw))
        except ValueError:
            pass  # it was read when it came (it has a category): the columns still say who sent it
    return Inbound(channel=Channel(row.channel), key="", sender=row.sender)
