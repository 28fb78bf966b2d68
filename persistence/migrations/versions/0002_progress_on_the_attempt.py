"""progress on the attempt: one durable write per answer

An attempt in progress now carries its own progress (the question waiting for an answer, the answers
counted, the score and the ability estimate so far), written in the same transaction as each response row,
and each response its pool entry. A live session is rebuilt from these rows alone, so the LangGraph
checkpoint tables that held a second copy of the same state are dropped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the LangGraph checkpointers created beside our tables (the names differ by backend).
CHECKPOINT_TABLES = ("checkpoints", "writes", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations")


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN: a batch copy of `attempts` on SQLite would cascade-delete responses.
    op.add_column("attempts", sa.Column("answered", sa.Integer(), server_default="0", nullable=False))
    op.add_column("attempts", sa.Column("pending_question", sa.JSON(), nullable=True))
    op.add_column("responses", sa.Column("pool_entry", sa.Integer(), nullable=True))
    # Attempts begun before this revision: their counters from their rows (their pending question, which
    # lived in the checkpoint, is chosen again, deterministically, when the session is rebuilt).
    op.execute(
        "UPDATE attempts SET"
        " answered = (SELECT count(*) FROM responses WHERE responses.attempt_id = attempts.id),"
        " score = (SELECT count(*) FROM responses WHERE responses.attempt_id = attempts.id AND responses.is_correct)"
        " WHERE status = 'in_progress'"
    )
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for table in CHECKPOINT_TABLES:
        if table in existing:
            op.drop_table(table)


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy: re-creating `attempts` on SQLite
    # would cascade-delete every response row through the foreign key.
    op.drop_column("responses", "pool_entry")
    op.drop_column("attempts", "pending_question")
    op.drop_column("attempts", "answered")
