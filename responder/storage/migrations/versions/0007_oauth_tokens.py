"""oauth_tokens: a mail account's OAuth2 refresh token, sealed.

Revision 0007, after 0006. Microsoft 365 and Google Workspace take no password from IMAP or SMTP
(issue 14): responder signs in with an access token, which it gets from a refresh token kept
here, sealed like the messages. The downgrade drops the table.
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


def downgrade() -> None:
    op.drop_table("oauth_tokens")
