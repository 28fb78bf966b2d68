"""organizations: every user, test and parameter set belongs to one; staff see only their own

A default organization (id 1) holds everything that existed before, and everything of a deployment that
never creates another. Each organization has its own active parameter set. The bootstrapped admin is
marked the operator (`users.is_operator`, set at start-up), who alone creates organizations.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ORGANIZATION_ID = 1
OWNED = ("users", "tests", "parameter_sets")


def one_active_parameter_set_per(column: str) -> None:
    op.drop_index("uq_parameter_sets_one_active", table_name="parameter_sets")
    op.create_index(
        "uq_parameter_sets_one_active",
        "parameter_sets",
        [column],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("name", name=op.f("uq_organizations_name")),
    )
    op.execute(
        "INSERT INTO organizations (id, name, created_at)"
        f" VALUES ({DEFAULT_ORGANIZATION_ID}, 'Default organization', CURRENT_TIMESTAMP)"
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:  # the id was written, not drawn: the next organization draws the next one
        op.execute("SELECT setval(pg_get_serial_sequence('organizations', 'id'), (SELECT max(id) FROM organizations))")
    default = str(DEFAULT_ORGANIZATION_ID)
    for table in OWNED:
        # Existing rows join the default organization through the column's default (DDL: no row is updated).
        op.add_column(table, sa.Column("organization_id", sa.Integer(), server_default=default, nullable=False))
        if postgresql:
            # SQLite adds a column with a REFERENCES clause only with a NULL default (when foreign keys are
            # on); there the application always writes the organization.
            op.create_foreign_key(
                op.f(f"fk_{table}_organization_id_organizations"),
                table,
                "organizations",
                ["organization_id"],
                ["id"],
                ondelete="RESTRICT",
            )
            op.alter_column(table, "organization_id", server_default=None)
        op.create_index(op.f(f"ix_{table}_organization_id"), table, ["organization_id"])
    # The audit log refuses UPDATE: its existing rows take the default organization from the column default.
    op.add_column("audit_events", sa.Column("organization_id", sa.Integer(), server_default=default, nullable=True))
    if postgresql:
        op.alter_column("audit_events", "organization_id", server_default=None)
    op.create_index(op.f("ix_audit_events_organization_id"), "audit_events", ["organization_id"])
    op.add_column("users", sa.Column("is_operator", sa.Boolean(), server_default=sa.false(), nullable=False))
    # One active parameter set per organization, where there was one for the deployment.
    one_active_parameter_set_per("organization_id")


def downgrade() -> None:
    one_active_parameter_set_per("status")  # that is, one for the deployment
    op.drop_column("users", "is_operator")
    op.drop_index(op.f("ix_audit_events_organization_id"), table_name="audit_events")
    op.drop_column("audit_events", "organization_id")
    for table in OWNED:
        op.drop_index(op.f(f"ix_{table}_organization_id"), table_name=table)
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(op.f(f"fk_{table}_organization_id_organizations"), table, type_="foreignkey")
        op.drop_column(table, "organization_id")
    op.drop_table("organizations")
