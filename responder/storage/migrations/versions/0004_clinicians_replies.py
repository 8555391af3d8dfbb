"""Clinicians answer conversations: their replies in the outbox, and the access log.

Revision 0004, after 0003. A clinician's reply from the page or the CLI goes out through the
outbox like every other message, under the same claims and retries, so it is sent once. It hangs
on the person's latest message (``message_id``: what it answers, and the thread it joins), and a
clinician may answer one message more than once: the one-row-per-(message, kind, channel) rule
that keeps the pipeline from owing a message twice now holds for every kind but ``human_reply``,
and per recipient, since a notice goes to the assigned clinician as well as to practice.notify.
A clinician's reply is one per Message-ID instead, which its form chooses, so a form sent twice
is one reply. ``author`` records who sent it. The conversations are indexed as the page lists them, and ``access_log`` records who saw or changed which conversation,
and when: what a practice holding health information must be able to show.

On SQLite, dropping the constraint rebuilds the outbox (alembic's batch mode), and SQLite's
reflection cannot see the expression index ix_outbox_to_lower, so the rebuild would lose it: it
is dropped first and made again after, on every database alike.

The downgrade drops the log and the column and brings the rule back whole, which a store holding
two clinicians' replies to one message cannot take: it is refused by the database then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Written as the value, not model.Kind: a migration says what it did, whatever the enum later says.
_AUTOMATIC = sa.text("kind != 'human_reply'")
_HUMAN = sa.text("kind = 'human_reply'")


def upgrade() -> None:
    with _rebuilding_outbox() as batch:
        batch.add_column(sa.Column("author", sa.String(100)))
        batch.drop_constraint("uq_outbox_message_kind_channel", type_="unique")
    op.create_index("uq_outbox_automatic", "outbox", ["message_id", "kind", "channel", "to_addr"], unique=True,
                    sqlite_where=_AUTOMATIC, postgresql_where=_AUTOMATIC)
    op.create_index("uq_outbox_human", "outbox", ["msgid"], unique=True, sqlite_where=_HUMAN, postgresql_where=_HUMAN)
    # The page lists those waiting on us first, then by last activity; the CLI by last activity.
    op.create_index("ix_conversations_waiting", "conversations", ["waiting_on_us", "last_activity_at"])
    op.create_index("ix_conversations_activity", "conversations", ["last_activity_at"])
    op.create_index("ix_conversations_clinician", "conversations", ["clinician"])
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("ix_access_log_at", "access_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_access_log_at", "access_log")
    op.drop_table("access_log")
    for name in ("ix_conversations_clinician", "ix_conversations_activity", "ix_conversations_waiting"):
        op.drop_index(name, "conversations")
    op.drop_index("uq_outbox_human", "outbox")
    op.drop_index("uq_outbox_automatic", "outbox")
    with _rebuilding_outbox() as batch:
        batch.drop_column("author")
        batch.create_unique_constraint("uq_outbox_message_kind_channel", ["message_id", "kind", "channel"])


@contextmanager
def _rebuilding_outbox() -> Iterator[BatchOperations]:
    op.drop_index("ix_outbox_to_lower", "outbox")
    with op.batch_alter_table("outbox") as batch:
        yield batch
    op.create_index("ix_outbox_to_lower", "outbox", [sa.text("lower(to_addr)"), "created_at"])
