"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 23:52:38.051598
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.String(length=160), nullable=False),
        sa.Column("skill", sa.String(length=64), nullable=False),
        sa.Column("difficulty", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=True),
        sa.Column("stem", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(length=8), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("irt_a", sa.Float(), nullable=True),
        sa.Column("irt_b", sa.Float(), nullable=True),
        sa.Column("irt_c", sa.Float(), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_skill"), ["skill"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "recruiter",
                "candidate",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("job_description", sa.Text(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("max_questions", sa.Integer(), nullable=False),
        sa.Column("min_questions", sa.Integer(), nullable=False),
        sa.Column("se_target", sa.Float(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                "closed",
                name="test_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "generator",
            sa.Enum("bank", "llm", name="generator_kind", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("passing_score", sa.Float(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("duration_minutes >= 1", name=op.f("ck_tests_positive_duration")),
        sa.CheckConstraint("max_attempts >= 1", name=op.f("ck_tests_positive_attempts")),
        sa.CheckConstraint(
            "min_questions >= 1 AND min_questions <= max_questions", name=op.f("ck_tests_question_bounds")
        ),
        sa.CheckConstraint("passing_score >= 0 AND passing_score <= 100", name=op.f("ck_tests_passing_score_percent")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_tests_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tests")),
    )
    op.create_table(
        "candidate_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("test_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("extra_time_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "invited",
                "in_progress",
                "completed",
                "expired",
                name="application_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("extra_time_minutes >= 0", name=op.f("ck_candidate_applications_non_negative_extra_time")),
        sa.ForeignKeyConstraint(
            ["test_id"],
            ["tests.id"],
            name=op.f("fk_candidate_applications_test_id_tests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_candidate_applications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidate_applications")),
        sa.UniqueConstraint("test_id", "user_id", name=op.f("uq_candidate_applications_test_id_user_id")),
    )
    with op.batch_alter_table("candidate_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_candidate_applications_test_id"), ["test_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_candidate_applications_user_id"), ["user_id"], unique=False)

    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("test_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "in_progress",
                "completed",
                "expired",
                "abandoned",
                name="attempt_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "finish_reason",
            sa.Enum(
                "completed",
                "precision_reached",
                "time_expired",
                "abandoned",
                name="finish_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("max_questions", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("max_score", sa.Integer(), nullable=False),
        sa.Column("ability_theta", sa.Float(), nullable=True),
        sa.Column("ability_se", sa.Float(), nullable=True),
        sa.CheckConstraint("number >= 1", name=op.f("ck_attempts_positive_number")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["candidate_applications.id"],
            name=op.f("fk_attempts_application_id_candidate_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["test_id"], ["tests.id"], name=op.f("fk_attempts_test_id_tests"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_attempts_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sa.UniqueConstraint("application_id", "number", name=op.f("uq_attempts_application_id_number")),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempts_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attempts_deadline"), ["deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_attempts_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_attempts_test_id"), ["test_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attempts_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "uq_attempts_one_in_progress",
            ["application_id"],
            unique=True,
            sqlite_where=sa.text("status = 'in_progress'"),
            postgresql_where=sa.text("status = 'in_progress'"),
        )

    op.create_table(
        "responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.String(length=160), nullable=False),
        sa.Column("item_id", sa.String(length=160), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=64), nullable=False),
        sa.Column("item_snapshot", sa.JSON(), nullable=False),
        sa.Column("correct_option", sa.String(length=8), nullable=False),
        sa.Column("selected_option", sa.String(length=8), nullable=False),
        sa.Column("is_correct", sa.Boolean(), nullable=False),
        sa.Column("presented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_taken_s", sa.Float(), nullable=False),
        sa.Column("theta_before", sa.Float(), nullable=True),
        sa.Column("theta_after", sa.Float(), nullable=True),
        sa.Column("se_after", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_responses_attempt_id_attempts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
        sa.UniqueConstraint("attempt_id", "question_id", name=op.f("uq_responses_attempt_id_question_id")),
    )
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_responses_attempt_id"), ["attempt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_responses_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responses_item_id"))
        batch_op.drop_index(batch_op.f("ix_responses_attempt_id"))

    op.drop_table("responses")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_attempts_one_in_progress",
            sqlite_where=sa.text("status = 'in_progress'"),
            postgresql_where=sa.text("status = 'in_progress'"),
        )
        batch_op.drop_index(batch_op.f("ix_attempts_user_id"))
        batch_op.drop_index(batch_op.f("ix_attempts_test_id"))
        batch_op.drop_index(batch_op.f("ix_attempts_status"))
        batch_op.drop_index(batch_op.f("ix_attempts_deadline"))
        batch_op.drop_index(batch_op.f("ix_attempts_application_id"))

    op.drop_table("attempts")
    with op.batch_alter_table("candidate_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidate_applications_user_id"))
        batch_op.drop_index(batch_op.f("ix_candidate_applications_test_id"))

    op.drop_table("candidate_applications")
    op.drop_table("tests")
    op.drop_table("users")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_skill"))

    op.drop_table("items")
