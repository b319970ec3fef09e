"""The geocode cache: one row per (provider, normalised address), found or not.

Providers are slow, rate-limited and sometimes paid, so an address a provider has answered
once is never sent to it again; "not found" is an answer too and is cached as such
(``found`` false, no coordinates). Provider failures (timeouts, 5xx, quota) are not
answers and are never stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

GEOCODE_PRECISIONS = ("rooftop", "street", "district", "city")


class GeocodeCacheEntry(Base):
    """A provider's answer for one normalised address; ``key`` is its SHA-256 (hex)."""

    __tablename__ = "geocode_cache"
    __table_args__ = (
        UniqueConstraint("provider", "key"),
        CheckConstraint(
            "precision IS NULL OR precision IN ('rooftop', 'street', 'district', 'city')",
            name="precision",
        ),
        CheckConstraint(
            "(found AND lat IS NOT NULL AND lon IS NOT NULL AND precision IS NOT NULL)"
            " OR (NOT found AND lat IS NULL AND lon IS NULL)",
            name="found_has_position",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Text)
    found: Mapped[bool] = mapped_column(Boolean)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
