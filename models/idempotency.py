"""Idempotency records: a creating request's key, its body hash and the answer it got.

A retried ``POST`` with the same ``Idempotency-Key`` gets the stored answer instead of
creating a second plan; the unique constraint makes concurrent retries race safely.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class IdempotencyRecord(Base):
    """One (caller, key) pair; ``response_*`` are filled once the first request finished."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("owner", "key"),
        CheckConstraint("state IN ('running', 'done')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="running")
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
