"""Initial schema: plans with days, stops and unassigned customers; share links; API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 10:16:43+00:00

Instants are ``DateTime(timezone=True)`` here, not ``models.UTCDateTime``: a migration is a
frozen snapshot and must not change when the models do.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def instant() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("revoked_at", instant(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_prefix"), "api_keys", ["prefix"])

    op.create_table(
        "plans",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.CheckConstraint("status IN ('complete', 'partial')", name=op.f("ck_plans_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )

    op.create_table(
        "plan_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.String(length=128), nullable=False),
        sa.Column("rep_name", sa.String(length=200), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.Column("depart", instant(), nullable=False),
        sa.Column("return_at", instant(), nullable=False),
        sa.Column("lunch_start", instant(), nullable=True),
        sa.Column("lunch_end", instant(), nullable=True),
        sa.Column("drive_minutes", sa.Double(), nullable=False),
        sa.Column("drive_km", sa.Double(), nullable=False),
        sa.Column("visit_minutes", sa.Double(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_days_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_days")),
        sa.UniqueConstraint("plan_id", "position", name=op.f("uq_plan_days_plan_id_position")),
    )
    op.create_index(op.f("ix_plan_days_plan_id"), "plan_days", ["plan_id"])

    op.create_table(
        "plan_unassigned",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_unassigned_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_unassigned")),
        sa.UniqueConstraint(
            "plan_id", "position", name=op.f("uq_plan_unassigned_plan_id_position")
        ),
    )
    op.create_index(op.f("ix_plan_unassigned_plan_id"), "plan_unassigned", ["plan_id"])

    op.create_table(
        "share_links",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", instant(), nullable=False),
        sa.Column("expires_at", instant(), nullable=True),
        sa.Column("revoked_at", instant(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_share_links_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_share_links")),
    )
    op.create_index(op.f("ix_share_links_plan_id"), "share_links", ["plan_id"])

    op.create_table(
        "plan_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("arrival", instant(), nullable=False),
        sa.Column("start", instant(), nullable=False),
        sa.Column("end", instant(), nullable=False),
        sa.Column("travel_minutes", sa.Double(), nullable=False),
        sa.Column("travel_km", sa.Double(), nullable=False),
        sa.Column("wait_minutes", sa.Double(), nullable=False),
        sa.Column("segment", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["day_id"],
            ["plan_days.id"],
            name=op.f("fk_plan_stops_day_id_plan_days"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_stops")),
        sa.UniqueConstraint("day_id", "position", name=op.f("uq_plan_stops_day_id_position")),
    )
    op.create_index(op.f("ix_plan_stops_day_id"), "plan_stops", ["day_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_stops_day_id"), table_name="plan_stops")
    op.drop_table("plan_stops")
    op.drop_index(op.f("ix_share_links_plan_id"), table_name="share_links")
    op.drop_table("share_links")
    op.drop_index(op.f("ix_plan_unassigned_plan_id"), table_name="plan_unassigned")
    op.drop_table("plan_unassigned")
    op.drop_index(op.f("ix_plan_days_plan_id"), table_name="plan_days")
    op.drop_table("plan_days")
    op.drop_table("plans")
    op.drop_index(op.f("ix_api_keys_prefix"), table_name="api_keys")
    op.drop_table("api_keys")
