"""Territories: the customer pool, reps and schedules sales ops keep, and the runs made from them.

A territory is the unit a weekly run plans: every active rep gets a plan for the week from the
customers that are due. Exactly-once runs rest on the database, not on memory: a scheduled run's
``schedule_key`` (territory + week) is unique, so a second scheduler (or a restarted one)
inserting the same run fails on the constraint instead of planning the week twice. Each rep's
result is unique per run for the same reason when a worker is killed and its job retried.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

RUN_STATUSES = ("queued", "running", "succeeded", "failed")
RUN_TRIGGERS = ("schedule", "manual")
WEBHOOK_STATUSES = ("pending", "delivered", "failed")


def _empty_dict() -> dict[str, Any]:
    return {}


def _default_weekdays() -> list[str]:
    return ["mon", "tue", "wed", "thu", "fri"]


class Territory(Base):
    """A sales area with its own time zone, working week and planning options."""

    __tablename__ = "territories"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    weekdays: Mapped[list[str]] = mapped_column(JSON, default=_default_weekdays)
    horizon_days: Mapped[int] = mapped_column(Integer, default=5)
    currency: Mapped[str | None] = mapped_column(String(8))
    # ``PlanRequest.options`` fields applied to every run (travel, time limit, ...).
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=_empty_dict)
    # Per-segment visit intervals in days overriding the server's cadence settings.
    cadence_days: Mapped[dict[str, Any]] = mapped_column(JSON, default=_empty_dict)
    # Where run results are POSTed, signed with HMAC-SHA256 of ``webhook_secret``.
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    reps: Mapped[list[TerritoryRep]] = relationship(
        back_populates="territory",
        order_by="TerritoryRep.external_id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    schedules: Mapped[list[Schedule]] = relationship(
        back_populates="territory",
        order_by="Schedule.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class TerritoryRep(Base):
    """A rep of a territory; ``external_id`` is the CRM's id and the plan's ``rep_id``."""

    __tablename__ = "territory_reps"
    __table_args__ = (UniqueConstraint("territory_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[str] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(200))
    # Home (the day's start): coordinates, or an address geocoded when a run plans.
    start_lat: Mapped[float | None] = mapped_column(Float)
    start_lon: Mapped[float | None] = mapped_column(Float)
    start_address: Mapped[str | None] = mapped_column(String(500))
    # The day's end as a request location ({"lat","lon"} or {"address"}); None: back home.
    end: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    work_start: Mapped[str] = mapped_column(String(5), default="09:00")
    work_end: Mapped[str] = mapped_column(String(5), default="18:00")
    lunch: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    max_visits_per_day: Mapped[int | None] = mapped_column(Integer)
    hourly_value: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    territory: Mapped[Territory] = relationship(back_populates="reps")


class TerritoryCustomer(Base):
    """A customer in a territory's pool: the request's customer fields plus visit cadence."""

    __tablename__ = "territory_customers"
    __table_args__ = (
        UniqueConstraint("territory_id", "external_id"),
        CheckConstraint("segment IN ('prospect', 'maintaining', 'ordered')", name="segment"),
        Index("ix_territory_customers_territory_rep", "territory_id", "rep_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[str] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    segment: Mapped[str] = mapped_column(String(16))
    need: Mapped[str | None] = mapped_column(String(16))
    can_pay: Mapped[bool | None] = mapped_column(Boolean)
    decision_maker: Mapped[bool | None] = mapped_column(Boolean)
    visit_minutes: Mapped[float | None] = mapped_column(Float)
    priority: Mapped[int | None] = mapped_column(Integer)
    must_visit: Mapped[bool] = mapped_column(Boolean, default=False)
    # The rep (external id) who owns this customer; None: the run assigns the nearest rep.
    rep_id: Mapped[str | None] = mapped_column(String(128))
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Days between visits; None: the segment's interval (territory, then server settings).
    cadence_days: Mapped[int | None] = mapped_column(Integer)
    last_visit: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whatever else the CRM row carried, kept for integrators; never read by the planner.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=_empty_dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Schedule(Base):
    """When a territory's weekly run fires: a cron expression read in its own time zone."""

    __tablename__ = "territory_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[str] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), index=True
    )
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The latest fire time already handled: the catch-up cursor after downtime.
    last_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    territory: Mapped[Territory] = relationship(back_populates="schedules")


class TerritoryRun(Base):
    """One planning of one territory's week; its job fans out one solve per rep."""

    __tablename__ = "territory_runs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
        CheckConstraint("trigger IN ('schedule', 'manual')", name="trigger"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    territory_id: Mapped[str] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), index=True
    )
    week_start: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(16))
    # "<territory_id>:<week_start>" for scheduled runs (unique: one per week, whoever
    # enqueues it); NULL for manual runs, which may repeat.
    schedule_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("territory_schedules.id", ondelete="SET NULL")
    )
    fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plans: Mapped[list[TerritoryRunPlan]] = relationship(
        back_populates="run",
        order_by="TerritoryRunPlan.rep_id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class TerritoryRunPlan(Base):
    """A rep's plan from a run; unique per (run, rep) so a retried solve never adds a second."""

    __tablename__ = "territory_run_plans"
    __table_args__ = (UniqueConstraint("run_id", "rep_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(
        ForeignKey("territory_runs.id", ondelete="CASCADE"), index=True
    )
    rep_id: Mapped[str] = mapped_column(String(128))
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    run: Mapped[TerritoryRun] = relationship(back_populates="plans")


class WebhookDelivery(Base):
    """A signed POST owed to a territory's webhook URL, retried with backoff until delivered."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[str] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("territory_runs.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
