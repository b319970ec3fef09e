"""API keys for write endpoints: only a lookup prefix and a hash are ever stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


def _default_scopes() -> list[str]:
    return ["plan"]


class ApiKey(Base):
    """One integrator's key.

    ``key_hash`` is plain SHA-256: keys are 256-bit random, so a slow password hash would buy
    nothing but latency on every request.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=_default_scopes)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
