"""${message}

Revision ${up_revision}, after ${down_revision | comma,n}. Write the table shapes and state names
this revision needs into it as literals: a migration must mean tomorrow what it means today,
whatever schema.py and model.py become.
"""

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
