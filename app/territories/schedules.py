"""Schedules of a territory: wire shapes and the service behind ``/territories/{id}/schedules``.

A schedule's answer shows its next fires and the week each one plans, so sales ops can check
"every Sunday 20:00 Asia/Shanghai" means what they think before the first Sunday comes.
Changing the cron line or time zone, or enabling a schedule again, restarts its cursor at the
change: the new rule applies from then on and no fire from before it is caught up.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.plans.schemas import RequestModel
from app.territories import scheduler
from app.territories.schemas import TimeZoneName
from models import Schedule, Territory

SHOWN_FIRES = 3


def _valid_cron(value: str) -> str:
    try:
        return scheduler.check_cron(value)
    except scheduler.InvalidCron as error:
        raise PydanticCustomError("invalid_cron", str(error)) from None


CronExpression = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_valid_cron)]


class ScheduleIn(RequestModel):
    """A new schedule; without ``timezone`` the territory's own is used."""

    cron: CronExpression = Field(examples=["0 20 * * sun"])
    timezone: TimeZoneName | None = Field(default=None, examples=["Asia/Shanghai"])
    enabled: bool = True


class SchedulePatch(RequestModel):
    """Fields to change; absent ones stay as they are (``null`` is refused)."""

    cron: CronExpression | None = None
    timezone: TimeZoneName | None = None
    enabled: bool | None = None

    @field_validator("cron", "timezone", "enabled", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("not_null", "May not be null; leave the field out instead")
        return value


class FireOut(BaseModel):
    """A coming fire, local to the schedule's zone, and the Monday of the week it plans."""

    fire_at: datetime
    week_start: date


class ScheduleOut(BaseModel):
    id: int
    territory_id: str
    cron: str
    timezone: str
    enabled: bool
    last_fire_at: datetime | None
    created_at: datetime
    # Empty while the schedule is disabled.
    next_fires: list[FireOut]


class ScheduleList(BaseModel):
    items: list[ScheduleOut]


def create_schedule(
    session: Session, territory: Territory, body: ScheduleIn, now: datetime
) -> Schedule:
    """Store a schedule (flushed); its first fire is the first one after ``now``."""
    schedule = Schedule(
        territory_id=territory.id,
        cron=body.cron,
        timezone=body.timezone or territory.timezone,
        enabled=body.enabled,
        last_fire_at=None,
        created_at=now,
    )
    session.add(schedule)
    session.flush()
    return schedule


def list_schedules(session: Session, territory: Territory) -> list[Schedule]:
    return list(
        session.scalars(
            select(Schedule).where(Schedule.territory_id == territory.id).order_by(Schedule.id)
        )
    )


def get_schedule(session: Session, territory: Territory, schedule_id: int) -> Schedule:
    """The territory's schedule, or the contract's 404 (also for another territory's)."""
    schedule = session.get(Schedule, schedule_id)
    if schedule is None or schedule.territory_id != territory.id:
        raise NotFound(f"No schedule {schedule_id} in territory {territory.id!r}")
    return schedule


def update_schedule(
    session: Session, schedule: Schedule, patch: SchedulePatch, now: datetime
) -> Schedule:
    """Apply the patch (flushed); a new rule or a re-enabled schedule fires only from ``now``."""
    restarts = (
        (patch.cron is not None and patch.cron != schedule.cron)
        or (patch.timezone is not None and patch.timezone != schedule.timezone)
        or (patch.enabled is True and not schedule.enabled)
    )
    if patch.cron is not None:
        schedule.cron = patch.cron
    if patch.timezone is not None:
        schedule.timezone = patch.timezone
    if patch.enabled is not None:
        schedule.enabled = patch.enabled
    if restarts:
        cursor = schedule.last_fire_at or schedule.created_at
        schedule.last_fire_at = max(cursor, now)
    session.flush()
    return schedule


def delete_schedule(session: Session, schedule: Schedule) -> None:
    """Delete it; its runs stay (their ``schedule_id`` becomes null)."""
    session.delete(schedule)
    session.flush()


def render_schedule(schedule: Schedule, now: datetime) -> dict[str, Any]:
    """The answer's shape, with the next fires computed for ``now``."""
    fires = (
        scheduler.next_fire_times(schedule.cron, schedule.timezone, now, SHOWN_FIRES)
        if schedule.enabled
        else []
    )
    return {
        "id": schedule.id,
        "territory_id": schedule.territory_id,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "enabled": schedule.enabled,
        "last_fire_at": schedule.last_fire_at,
        "created_at": schedule.created_at,
        "next_fires": [
            {"fire_at": at, "week_start": scheduler.planned_week(at, schedule.timezone)}
            for at in fires
        ],
    }
