"""Plan days: the road geometry of the day (encoded polyline) when OSRM timed the plan.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 11:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan_days") as batch:
        batch.add_column(sa.Column("geometry", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_days") as batch:
        batch.drop_column("geometry")
