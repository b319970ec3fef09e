"""Geocode cache: provider answers per normalised address, including "not found".

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 11:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "geocode_cache",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("precision", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "precision IS NULL OR precision IN ('rooftop', 'street', 'district', 'city')",
            name=op.f("ck_geocode_cache_precision"),
        ),
        sa.CheckConstraint(
            "(found AND lat IS NOT NULL AND lon IS NOT NULL AND precision IS NOT NULL)"
            " OR (NOT found AND lat IS NULL AND lon IS NULL)",
            name=op.f("ck_geocode_cache_found_has_position"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_geocode_cache")),
        sa.UniqueConstraint("provider", "key", name=op.f("uq_geocode_cache_provider_key")),
    )


def downgrade() -> None:
    op.drop_table("geocode_cache")
