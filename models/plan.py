"""A stored plan: what ``POST /plan`` answered, kept so pages and the API render the same thing.

Plans are written once and read many times; rows mirror the response shape (days -> stops,
unassigned) so rendering needs no solver and no re-computation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

PLAN_STATUSES = ("complete", "partial")


def _own_id(context: Any) -> str:
    """A first version is its own lineage."""
    return str(context.get_current_parameters()["id"])


class Plan(Base):
    """One solved request; ``id`` is ``secrets.token_hex(16)``, chosen by the caller."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("status IN ('complete', 'partial')", name="status"),
        UniqueConstraint("lineage_id", "version"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Versions: a replan stores a new row with the first version's id as ``lineage_id`` and
    # the next ``version``; the API's plan_id is the lineage id and shows the newest version.
    lineage_id: Mapped[str] = mapped_column(String(32), index=True, default=_own_id)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # What changed against the previous version (added, removed, moved, with reasons).
    diff: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set when a territory run made the plan: outcomes then update the pool's last_visit.
    territory_id: Mapped[str | None] = mapped_column(
        ForeignKey("territories.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(8))
    # The request body as sent, so a plan can be explained or re-run later.
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)

    days: Mapped[list[PlanDay]] = relationship(
        back_populates="plan",
        order_by="PlanDay.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    unassigned: Mapped[list[PlanUnassigned]] = relationship(
        back_populates="plan",
        order_by="PlanUnassigned.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    share_links: Mapped[list[ShareLink]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", passive_deletes=True
    )


class PlanDay(Base):
    """One rep's working day inside a plan."""

    __tablename__ = "plan_days"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    rep_id: Mapped[str] = mapped_column(String(128))
    rep_name: Mapped[str | None] = mapped_column(String(200))
    date: Mapped[date] = mapped_column(Date)
    area: Mapped[str] = mapped_column(String(200))
    depart: Mapped[datetime] = mapped_column(UTCDateTime)
    # ``return`` is a keyword; the API field is still called ``return``.
    return_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lunch_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lunch_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    drive_minutes: Mapped[float]
    drive_km: Mapped[float]
    visit_minutes: Mapped[float]
    visits: Mapped[int]
    # The day's road path (encoded polyline, precision 5) when a road router timed the plan.
    geometry: Mapped[str | None] = mapped_column(Text)

    plan: Mapped[Plan] = relationship(back_populates="days")
    stops: Mapped[list[PlanStop]] = relationship(
        back_populates="day",
        order_by="PlanStop.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class PlanStop(Base):
    """One visit; ``travel_*`` is the leg from the previous stop or the day's start."""

    __tablename__ = "plan_stops"
    __table_args__ = (UniqueConstraint("day_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("plan_days.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    customer_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float]
    lon: Mapped[float]
    arrival: Mapped[datetime] = mapped_column(UTCDateTime)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    travel_minutes: Mapped[float]
    travel_km: Mapped[float]
    wait_minutes: Mapped[float]
    segment: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(500))
    priority: Mapped[int]

    day: Mapped[PlanDay] = relationship(back_populates="stops")


class PlanUnassigned(Base):
    """A customer the plan could not place, with the machine code and the binding reason."""

    __tablename__ = "plan_unassigned"
    __table_args__ = (UniqueConstraint("plan_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    customer_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(1000))

    plan: Mapped[Plan] = relationship(back_populates="unassigned")


class ShareLink(Base):
    """A bearer token for the rep's read-only itinerary page; revocable, optionally expiring.

    Only ``sha256(token)`` is stored, so a leaked database (backup, read-only injection) does
    not hand out working links. ``nonce`` lets the server re-derive the token with its secret
    (``token = HMAC(secret, nonce)``) to show ``share_url`` again; links migrated from the
    raw-token schema have none and keep working without being shown again.
    """

    __tablename__ = "share_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str | None] = mapped_column(String(32))
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[Plan] = relationship(back_populates="share_links")

    def is_active(self, now: datetime) -> bool:
        """Whether the page may be shown at ``now`` (a revoked or expired link answers 410)."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at
