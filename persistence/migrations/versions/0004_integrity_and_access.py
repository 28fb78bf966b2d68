"""integrity and access: a test's feedback policy; revocable tokens

A test says what its candidates learn of each answer (`full`, `correctness` or `none`); tests that existed
before keep `full`, what every candidate was shown until then. A user's `token_generation` is written into
every token issued to them; raising it (a password change, a disable, a logout) revokes them all.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FEEDBACK_POLICIES = ("full", "correctness", "none")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite takes a CHECK constraint only inline, in the column's definition (Alembic skips it there).
        allowed = ", ".join(f"'{policy}'" for policy in FEEDBACK_POLICIES)
        op.execute(
            "ALTER TABLE tests ADD COLUMN feedback VARCHAR(32) DEFAULT 'full' NOT NULL"
            f" CONSTRAINT ck_tests_feedback_policy CHECK (feedback IN ({allowed}))"
        )
    else:
        policy = sa.Enum(
            *FEEDBACK_POLICIES, name="feedback_policy", native_enum=False, create_constraint=True, length=32
        )
        op.add_column("tests", sa.Column("feedback", policy, server_default="full", nullable=False))
    op.add_column("users", sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("users", "token_generation")
    op.drop_column("tests", "feedback")  # its CHECK constraint goes with it
