"""conversations.waitlist_since: a person told the clinicians who fit are full, waiting for a place.

Revision 0006, after 0005. A group practice's first reply says so when nobody who fits has room
(issue 13); the person's conversation is then on the waitlist from that moment, which the page
lists, oldest first, until a clinician takes them off (by recording an outcome, or replying).
The downgrade drops the column.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("conversations", sa.Column("waitlist_since", sa.DateTime))
    op.create_index("ix_conversations_waitlist_since", "conversations", ["waitlist_since"])


def downgrade() -> None:
    op.drop_index("ix_conversations_waitlist_since", "conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("waitlist_since")
