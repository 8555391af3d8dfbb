"""oauth_tokens: a mail account's OAuth2 refresh token, sealed; notices_sent: notices sent once.

Revision 0007, after 0006. Microsoft 365 and Google Workspace take no password from IMAP or SMTP
(issue 14): responder signs in with an access token, which it gets from a refresh token kept
here, sealed like the messages. When the provider refuses that token, practice.notify is told
once, and notices_sent remembers it until a token is had again. The downgrade drops both tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account", sa.String(320), nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=False),  # sealed (schema.py's SealedText) when a key is set
        sa.Column("seeded_from", sa.String(64)),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("account", name="uq_oauth_tokens_account"),
    )
    op.create_table(
        "notices_sent",
        sa.Column("name", sa.String(400), primary_key=True),
        sa.Column("sent_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notices_sent")
    op.drop_table("oauth_tokens")
