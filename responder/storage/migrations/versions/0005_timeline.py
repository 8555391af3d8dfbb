"""What makes one conversation quick to show: messages.text and two indexes.

Revision 0005, after 0004. Showing a conversation read every message again from its raw form,
which for a long conversation of HTML mail took hundreds of milliseconds (bench/conversations.py);
``messages.text`` keeps what the person wrote this time, as the pipeline read it, sealed like the
raw message and purged with it (storage.retention_days). Rows recorded before it have none: the
timeline reads their raw form, as before (this revision has no key to seal what it would write).
Showing a conversation also looked up its replies by ``outbox.message_id`` and its identities by
``identities.conversation_id``, neither of which had an index to itself: every view read both
tables whole.

The downgrade drops the column and the indexes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("text", sa.Text))
    op.create_index("ix_outbox_message_id", "outbox", ["message_id"])
    op.create_index("ix_identities_conversation_id", "identities", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_identities_conversation_id", "identities")
    op.drop_index("ix_outbox_message_id", "outbox")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("text")
