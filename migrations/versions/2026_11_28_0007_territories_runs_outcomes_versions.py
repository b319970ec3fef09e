"""Territories, reps, customer pools, schedules and runs; visit outcomes; plan versions.

Existing plans become version 1 of their own lineage; existing jobs get zero attempts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 14:07:18+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "territories",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("cadence_days", sa.JSON(), nullable=False),
        sa.Column("webhook_url", sa.String(length=2000), nullable=True),
        sa.Column("webhook_secret", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territories")),
        sa.UniqueConstraint("name", name=op.f("uq_territories_name")),
    )
    op.create_table(
        "territory_customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("territory_id", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("segment", sa.String(length=16), nullable=False),
        sa.Column("need", sa.String(length=16), nullable=True),
        sa.Column("can_pay", sa.Boolean(), nullable=True),
        sa.Column("decision_maker", sa.Boolean(), nullable=True),
        sa.Column("visit_minutes", sa.Float(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("must_visit", sa.Boolean(), nullable=False),
        sa.Column("rep_id", sa.String(length=128), nullable=True),
        sa.Column("opening_hours", sa.JSON(), nullable=True),
        sa.Column("cadence_days", sa.Integer(), nullable=True),
        sa.Column("last_visit", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "segment IN ('prospect', 'maintaining', 'ordered')",
            name=op.f("ck_territory_customers_segment"),
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_territory_customers_territory_id_territories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_customers")),
        sa.UniqueConstraint(
            "territory_id",
            "external_id",
            name=op.f("uq_territory_customers_territory_id_external_id"),
        ),
    )
    with op.batch_alter_table("territory_customers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_territory_customers_territory_id"), ["territory_id"], unique=False
        )
        batch_op.create_index(
            "ix_territory_customers_territory_rep", ["territory_id", "rep_id"], unique=False
        )

    op.create_table(
        "territory_reps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("territory_id", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("start_lat", sa.Float(), nullable=True),
        sa.Column("start_lon", sa.Float(), nullable=True),
        sa.Column("start_address", sa.String(length=500), nullable=True),
        sa.Column("end", sa.JSON(), nullable=True),
        sa.Column("work_start", sa.String(length=5), nullable=False),
        sa.Column("work_end", sa.String(length=5), nullable=False),
        sa.Column("lunch", sa.JSON(), nullable=True),
        sa.Column("max_visits_per_day", sa.Integer(), nullable=True),
        sa.Column("hourly_value", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_territory_reps_territory_id_territories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_reps")),
        sa.UniqueConstraint(
            "territory_id", "external_id", name=op.f("uq_territory_reps_territory_id_external_id")
        ),
    )
    with op.batch_alter_table("territory_reps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_territory_reps_territory_id"), ["territory_id"], unique=False
        )

    op.create_table(
        "territory_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("territory_id", sa.String(length=32), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_fire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_territory_schedules_territory_id_territories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_schedules")),
    )
    with op.batch_alter_table("territory_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_territory_schedules_territory_id"), ["territory_id"], unique=False
        )

    op.create_table(
        "visit_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("actual_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('api', 'share')", name=op.f("ck_visit_outcomes_source")),
        sa.CheckConstraint(
            "status IN ('done', 'no_show', 'cancelled', 'rescheduled', 'skipped')",
            name=op.f("ck_visit_outcomes_status"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_visit_outcomes_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_outcomes")),
        sa.UniqueConstraint(
            "plan_id", "customer_id", name=op.f("uq_visit_outcomes_plan_id_customer_id")
        ),
    )
    with op.batch_alter_table("visit_outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_outcomes_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "territory_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("territory_id", sa.String(length=32), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("schedule_key", sa.String(length=100), nullable=True),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name=op.f("ck_territory_runs_status"),
        ),
        sa.CheckConstraint(
            "trigger IN ('schedule', 'manual')", name=op.f("ck_territory_runs_trigger")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_territory_runs_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["territory_schedules.id"],
            name=op.f("fk_territory_runs_schedule_id_territory_schedules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_territory_runs_territory_id_territories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_runs")),
        sa.UniqueConstraint("schedule_key", name=op.f("uq_territory_runs_schedule_key")),
    )
    with op.batch_alter_table("territory_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_territory_runs_territory_id"), ["territory_id"], unique=False
        )

    op.create_table(
        "territory_run_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("rep_id", sa.String(length=128), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_territory_run_plans_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["territory_runs.id"],
            name=op.f("fk_territory_run_plans_run_id_territory_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_run_plans")),
        sa.UniqueConstraint("run_id", "rep_id", name=op.f("uq_territory_run_plans_run_id_rep_id")),
    )
    with op.batch_alter_table("territory_run_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_territory_run_plans_plan_id"), ["plan_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_territory_run_plans_run_id"), ["run_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("territory_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["territory_runs.id"],
            name=op.f("fk_webhook_deliveries_run_id_territory_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_webhook_deliveries_territory_id_territories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_territory_id"), ["territory_id"], unique=False
        )

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("result", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("parent_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_jobs_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_jobs_parent_id_jobs"), "jobs", ["parent_id"], ["id"], ondelete="CASCADE"
        )

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column("attempts", server_default=None)

    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lineage_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
    op.execute("UPDATE plans SET lineage_id = id")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.alter_column("lineage_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("version", server_default=None)
        batch_op.add_column(sa.Column("diff", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("territory_id", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_plans_lineage_id"), ["lineage_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_plans_territory_id"), ["territory_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_plans_lineage_id_version"), ["lineage_id", "version"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_plans_territory_id_territories"),
            "territories",
            ["territory_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_plans_territory_id_territories"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_plans_lineage_id_version"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_plans_territory_id"))
        batch_op.drop_index(batch_op.f("ix_plans_lineage_id"))
        batch_op.drop_column("territory_id")
        batch_op.drop_column("diff")
        batch_op.drop_column("version")
        batch_op.drop_column("lineage_id")

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_jobs_parent_id_jobs"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_jobs_parent_id"))
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("result")

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_territory_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_run_id"))
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("territory_run_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_territory_run_plans_run_id"))
        batch_op.drop_index(batch_op.f("ix_territory_run_plans_plan_id"))

    op.drop_table("territory_run_plans")
    with op.batch_alter_table("territory_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_territory_runs_territory_id"))

    op.drop_table("territory_runs")
    with op.batch_alter_table("visit_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_outcomes_plan_id"))

    op.drop_table("visit_outcomes")
    with op.batch_alter_table("territory_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_territory_schedules_territory_id"))

    op.drop_table("territory_schedules")
    with op.batch_alter_table("territory_reps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_territory_reps_territory_id"))

    op.drop_table("territory_reps")
    with op.batch_alter_table("territory_customers", schema=None) as batch_op:
        batch_op.drop_index("ix_territory_customers_territory_rep")
        batch_op.drop_index(batch_op.f("ix_territory_customers_territory_id"))

    op.drop_table("territory_customers")
    op.drop_table("territories")
