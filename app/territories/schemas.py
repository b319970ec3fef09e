"""Wire shapes of ``/territories``: territories, their reps and their customer pool.

A pool customer or rep is validated with the same field types and cross-field checks as the
``POST /plan`` request (``app.plans.schemas``), so anything the pool accepts a run can plan.
Inputs are validated as whole records: an upsert or PATCH merges the given fields into the
stored record first, so checks across fields (lat with lon, work_end after work_start) see
the result, not the fragment.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.config import Segment
from app.plans.schemas import (
    WEEKDAYS,
    Currency,
    CustomerFields,
    Identifier,
    LocalTime,
    Location,
    Lunch,
    Options,
    RequestModel,
    Weekday,
    WeekdayName,
    _fail,
)


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise PydanticCustomError(
            "unknown_timezone", "Unknown time zone; use an IANA name such as Asia/Shanghai"
        ) from None
    return value


TimeZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_known_zone)]
CadenceDays = Annotated[int, Field(ge=1, le=365)]


class TerritoryIn(RequestModel):
    """A territory as created, or as a PATCH leaves it (the stored record merged with the patch)."""

    name: str = Field(min_length=1, max_length=200)
    timezone: TimeZoneName
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    horizon_days: int = Field(default=5, ge=1, le=366)
    currency: Currency | None = None
    # Options applied to every run of the territory; ``async`` is ignored (runs are jobs).
    options: Options = Field(default_factory=Options)
    cadence_days: dict[Segment, CadenceDays] = Field(default_factory=dict)
    webhook_url: HttpUrl | None = Field(default=None, max_length=2000)
    # Write-only: answers only say whether one is set (``webhook_secret_set``).
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=128)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", "name must not be blank")
        return value.strip()

    @field_validator("weekdays")
    @classmethod
    def _week_order(cls, value: list[WeekdayName]) -> list[WeekdayName]:
        return [day for day in WEEKDAYS if day in value]


class RepIn(RequestModel):
    """A territory rep: the request's ``Rep`` fields, with currency and value left to defaults."""

    id: Identifier
    name: str | None = Field(default=None, max_length=200)
    start: Location
    end: Location | None = None
    work_start: LocalTime = "09:00"
    work_end: LocalTime = "18:00"
    lunch: Lunch | None = None
    max_visits_per_day: int | None = Field(default=None, ge=1, le=50)
    hourly_value: float | None = Field(default=None, ge=0)
    # None: the territory's currency.
    currency: Currency | None = None
    active: bool = True

    @model_validator(mode="after")
    def _hours(self) -> Self:
        if self.work_end <= self.work_start:
            _fail(("work_end",), "work_hours_order", "work_end must be after work_start", None)
        return self


class CustomerIn(CustomerFields):
    """A pool customer: the request's customer fields plus visit cadence and CRM extras.

    No ``date`` or ``time_windows``: those pin one week's plan, not a standing pool record.
    """

    rep_id: Identifier | None = None
    # None: the segment's interval (territory, then server settings).
    cadence_days: CadenceDays | None = None
    last_visit: dt.date | None = None
    active: bool = True
    attributes: dict[str, Any] = Field(default_factory=dict)


class OutModel(BaseModel):
    """Base of answers."""

    model_config = ConfigDict(extra="forbid")


class TerritoryOut(OutModel):
    """A territory as stored; the webhook secret is never shown, only whether it is set."""

    id: str
    name: str
    timezone: str
    weekdays: list[str]
    horizon_days: int
    currency: str | None
    options: dict[str, Any]
    cadence_days: dict[str, int]
    webhook_url: str | None
    webhook_secret_set: bool
    rep_count: int
    customer_count: int
    created_at: AwareDatetime
    updated_at: AwareDatetime


class TerritoryList(OutModel):
    items: list[TerritoryOut]


class RepOut(OutModel):
    """A territory rep, in the request's rep shape (``id`` is the CRM's id)."""

    id: str
    name: str | None
    start: dict[str, Any]
    end: dict[str, Any] | None
    work_start: str
    work_end: str
    lunch: dict[str, Any] | None
    max_visits_per_day: int | None
    hourly_value: float | None
    currency: str | None
    active: bool
    created_at: AwareDatetime
    updated_at: AwareDatetime


class RepList(OutModel):
    items: list[RepOut]


class CustomerOut(OutModel):
    """A pool customer, in the request's customer shape plus cadence (``id``: the CRM's id)."""

    id: str
    name: str
    address: str | None
    lat: float | None
    lon: float | None
    segment: str
    need: str | None
    can_pay: bool | None
    decision_maker: bool | None
    visit_minutes: float | None
    priority: int | None
    must_visit: bool
    rep_id: str | None
    area: str | None
    opening_hours: dict[str, Any] | None
    cadence_days: int | None
    last_visit: dt.date | None
    active: bool
    attributes: dict[str, Any]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class CustomerPage(OutModel):
    """One page of a pool, ordered by ``id``; ``total`` counts every match of the filters."""

    items: list[CustomerOut]
    total: int
    limit: int
    offset: int


class RowError(OutModel):
    """One problem of one imported row; ``row`` is the spreadsheet's row number (header: 1)."""

    row: int
    path: str
    message: str


class UpsertReport(OutModel):
    """What an upsert or import did; rows with ``errors`` were skipped, every other row saved."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = Field(default_factory=list)
