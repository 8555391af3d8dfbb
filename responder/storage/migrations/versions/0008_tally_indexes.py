"""Indexes that let /metrics count from the index alone, not the rows.

Revision 0008, after 0007. Every scrape counts the messages by status, channel and category and
the outbox by state and kind. Read from the tables, that walked every row past its sealed body
(0.55 s a scrape at 100,000 messages on SQLite, bench/metrics.py); these indexes hold just what
is counted. The first takes the place of the index on status alone, which it serves as well.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_status_channel_category", "messages", ["status", "channel", "category"])
    op.drop_index("ix_messages_status", table_name="messages")
    op.create_index("ix_outbox_state_kind_message", "outbox", ["state", "kind", "message_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_state_kind_message", table_name="outbox")
    op.create_index("ix_messages_status", "messages", ["status"])
    op.drop_index("ix_messages_status_channel_category", table_name="messages")
