"""messages.evidence: the learned model's reading, apart from the reasons.

Revision 0002, after 0001. The model's reading quotes the words that moved it ("model: reads as
crisis (0.93; "pills", ...)"); it is what people wrote, so retention purges it with the message
(storage.retention_days), and a reason's text must never decide behaviour. Until now it was stored
among ``reasons``, told apart by its "model:" prefix; now it has its own column, as
``Classification.evidence`` in model.py has its own field.

Moving what is stored is the one place allowed to read a reason's text, and it does so once:
every reason that starts with "model:" moves, in order, from ``reasons`` to ``evidence``; the
other reasons stay, in order. Rows are read in batches by id, so a large store is not held in
memory. The downgrade puts the evidence back after the reasons (where the pipeline wrote it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 1000
# evidence is JSON text (schema.py's SealedJSON), sealed once `responder reseal` runs with a key:
# this revision writes it in the clear, as the reasons it comes from were stored.
messages = sa.table("messages", sa.column("id", sa.Integer), sa.column("reasons", sa.JSON), sa.column("evidence", sa.Text))


def upgrade() -> None:
    op.add_column("messages", sa.Column("evidence", sa.Text, nullable=False, server_default="[]"))
    # A cheap pre-filter in SQL (rows whose JSON text holds '"model:'); startswith below decides.
    quoted = sa.cast(messages.c.reasons, sa.Text).like('%"model:%')
    for row in _batches(quoted):
        reasons = list(row.reasons or ())
        evidence = [reason for reason in reasons if _model(reason)]
        if evidence:
            kept = [reason for reason in reasons if not _model(reason)]
            op.get_bind().execute(sa.update(messages).where(messages.c.id == row.id).values(reasons=kept, evidence=json.dumps(evidence, ensure_ascii=False)))


def downgrade() -> None:
    for row in _batches(messages.c.evidence != "[]"):
        if not row.evidence.startswith("["):
            raise RuntimeError("messages.evidence is sealed: a downgrade cannot open it (it needs storage.encryption_key)")
        op.get_bind().execute(sa.update(messages).where(messages.c.id == row.id)
                              .values(reasons=[*(row.reasons or ()), *json.loads(row.evidence)]))
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("evidence")


def _model(reason: object) -> bool:
    return isinstance(reason, str) and reason.startswith("model:")


def _batches(condition: sa.ColumnElement[bool]) -> Iterator[sa.Row[Any]]:
    """Every row meeting ``condition``, read BATCH at a time in order of id."""
    last = 0
    while batch := op.get_bind().execute(sa.select(messages.c.id, messages.c.reasons, messages.c.evidence)
                                         .where(condition, messages.c.id > last).order_by(messages.c.id).limit(BATCH)).all():
        yield from batch
        last = batch[-1].id
