"""What happened at a planned visit, recorded by the rep (share page) or a tool (API).

Outcomes belong to a plan's lineage (the first version's id), not to one version's stop rows,
so they survive re-planning; a territory plan's ``done`` also moves the pool customer's
``last_visit``, which is what the next weekly run's cadence reads.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

OUTCOME_STATUSES = ("done", "no_show", "cancelled", "rescheduled", "skipped")
OUTCOME_SOURCES = ("api", "share")


class VisitOutcome(Base):
    """One customer's outcome in one plan; recording again replaces it (a correction)."""

    __tablename__ = "visit_outcomes"
    __table_args__ = (
        UniqueConstraint("plan_id", "customer_id"),
        CheckConstraint(
            "status IN ('done', 'no_show', 'cancelled', 'rescheduled', 'skipped')", name="status"
        ),
        CheckConstraint("source IN ('api', 'share')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The lineage id (the plan_id integrators and share links know).
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    # The planned day of the visit (local date), for reports and last_visit.
    date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    actual_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actual_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(16), default="api")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
