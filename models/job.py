"""A background job: a plan solved outside the request that asked for it.

The row is the source of truth for ``GET /jobs/{id}``; executors only move it along
``queued -> running -> succeeded | failed``, claiming it with a conditional UPDATE so two
executors never run the same job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

JOB_STATUSES = ("queued", "running", "succeeded", "failed")


class Job(Base):
    """One unit of background work; ``payload`` is what the worker needs to redo it."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan_id: Mapped[str | None] = mapped_column(
        ForeignKey("plans.id", ondelete="SET NULL"), index=True
    )
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # What a finished job produced beyond one plan (a territory run: plan ids per rep).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A sub-job (one rep's solve of a territory run) points at the job that fanned it out.
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    # Claims: how often a runner took the job, and until when the current claim holds. A
    # running job whose lease ran out (its worker died) may be claimed again.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
