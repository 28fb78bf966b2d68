"""parameter sets: calibrated item parameters as reviewed versions; decisions on ability; pretest items;
exposure control

Calibrations are stored as versioned parameter sets (`parameter_sets`, one row per set, and
`item_parameters`, one per item or family), at most one active. Each attempt and each response names the set
it was scored with. A test gains its pass mark on the ability scale, a classification stop, a number of
unscored pretest items and the exposure control computed for it by simulation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parameter_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=8), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "retired",
                name="parameter_set_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("fit", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_by_id", sa.Integer(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_parameter_sets_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["activated_by_id"],
            ["users.id"],
            name=op.f("fk_parameter_sets_activated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parameter_sets")),
    )
    op.create_index(
        "uq_parameter_sets_one_active",
        "parameter_sets",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "item_parameters",
        sa.Column("parameter_set_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=160), nullable=False),
        sa.Column("a", sa.Float(), nullable=False),
        sa.Column("b", sa.Float(), nullable=False),
        sa.Column("c", sa.Float(), nullable=False),
        sa.Column("se_a", sa.Float(), nullable=True),
        sa.Column("se_b", sa.Float(), nullable=True),
        sa.Column("se_c", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("rmsd", sa.Float(), nullable=True),
        sa.Column("anchored", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parameter_set_id"],
            ["parameter_sets.id"],
            name=op.f("fk_item_parameters_parameter_set_id_parameter_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("parameter_set_id", "item_id", name=op.f("pk_item_parameters")),
    )
    # Plain ALTER TABLE ... ADD COLUMN (no batch copy: re-creating `attempts` on SQLite would cascade-delete
    # the responses); SQLite takes the foreign key only inline, in the column's definition.
    for table in ("attempts", "responses"):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN parameter_set_id INTEGER"
                " REFERENCES parameter_sets (id) ON DELETE RESTRICT"
            )
        else:
            op.add_column(table, sa.Column("parameter_set_id", sa.Integer(), nullable=True))
            op.create_foreign_key(
                f"fk_{table}_parameter_set_id_parameter_sets",
                table,
                "parameter_sets",
                ["parameter_set_id"],
                ["id"],
                ondelete="RESTRICT",
            )
    op.add_column("responses", sa.Column("pretest", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("tests", sa.Column("theta_cut", sa.Float(), nullable=True))
    op.add_column(
        "tests", sa.Column("classification_stop", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column("tests", sa.Column("pretest_items", sa.Integer(), server_default="0", nullable=False))
    op.add_column("tests", sa.Column("exposure", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table, column in (
        ("tests", "exposure"),
        ("tests", "pretest_items"),
        ("tests", "classification_stop"),
        ("tests", "theta_cut"),
        ("responses", "pretest"),
    ):
        op.drop_column(table, column)
    for table in ("responses", "attempts"):
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(f"fk_{table}_parameter_set_id_parameter_sets", table, type_="foreignkey")
        op.drop_column(table, "parameter_set_id")
    op.drop_table("item_parameters")
    op.drop_index("uq_parameter_sets_one_active", table_name="parameter_sets")
    op.drop_table("parameter_sets")
