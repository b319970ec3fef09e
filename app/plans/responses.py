"""Wire shapes of what the plan endpoints answer: plans, jobs and errors.

Fields beyond the contract (``rep_name``, ``return_travel_*``, ``solve_seconds``...) are
additive and declared here so the OpenAPI document shows them.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.config import Segment
from app.plans.schemas import UnassignedCode


class ResponseModel(BaseModel):
    """Base of response shapes: no NaN, aliases on the wire, additive extras passed through."""

    model_config = ConfigDict(
        extra="allow",
        allow_inf_nan=False,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class StopOut(ResponseModel):
    """One visit; ``travel_*`` is the leg from the previous stop or the day's start."""

    customer_id: str
    name: str
    lat: float
    lon: float
    arrival: AwareDatetime
    start: AwareDatetime
    end: AwareDatetime
    travel_minutes: float
    travel_km: float
    wait_minutes: float
    segment: Segment
    purpose: str
    priority: int | None = None


class LunchOut(ResponseModel):
    """The lunch break taken that day."""

    start: AwareDatetime
    end: AwareDatetime


class DayOut(ResponseModel):
    """One rep's day; ``return`` is the arrival at the day's end location."""

    rep_id: str
    rep_name: str | None = None
    date: dt.date
    area: str | None = None
    depart: AwareDatetime
    return_: AwareDatetime = Field(alias="return")
    stops: list[StopOut]
    lunch: LunchOut | None = None
    drive_minutes: float
    drive_km: float
    return_travel_minutes: float | None = Field(
        default=None, description="The last leg, from the last stop to the day's end."
    )
    return_travel_km: float | None = None
    visit_minutes: float
    visits: int
    geometry: str | None = Field(
        default=None,
        description="The day's road path (start, stops, end) as an encoded polyline"
        " (precision 5) when a road router (options.travel = osrm) timed the plan; null otherwise.",
    )


class UnassignedOut(ResponseModel):
    """A customer left out of the plan, with a stable code and a reason for people."""

    customer_id: str
    code: UnassignedCode
    reason: str
    name: str | None = None


class SummaryOut(ResponseModel):
    """Plan totals, and what optimisation saved against the unoptimised baseline."""

    visits: int
    unassigned: int
    drive_minutes: float
    drive_km: float
    visit_minutes: float
    drive_cost: float
    currency: str
    baseline_drive_minutes: float
    saved_minutes: float
    saved_value: float
    baseline_drive_km: float | None = None
    solve_seconds: float | None = Field(default=None, description="Wall time of the search.")
    solver_status: str | None = None


class PlanOut(ResponseModel):
    """The plan: the 201 body of ``POST /plan`` and of ``GET /plans/{plan_id}``."""

    plan_id: str
    status: Literal["complete", "partial"]
    share_url: str | None
    days: list[DayOut]
    unassigned: list[UnassignedOut]
    summary: SummaryOut
    warnings: list[str] = Field(default_factory=list)
    created_at: AwareDatetime | None = None
    timezone: str | None = None


class JobAccepted(ResponseModel):
    """The 202 body: where to poll for a plan solved in the background."""

    job_id: str
    status_url: str


class ErrorDetailOut(ResponseModel):
    """One problem with one field, e.g. ``customers[3].lat``."""

    path: str
    message: str


class ErrorBody(ResponseModel):
    """The inside of every error answer."""

    code: str
    message: str
    details: list[ErrorDetailOut] = Field(default_factory=list)


class ErrorOut(ResponseModel):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


class JobOut(ResponseModel):
    """``GET /jobs/{job_id}``: where a background plan stands."""

    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: float = Field(ge=0, le=1)
    plan_id: str | None
    error: ErrorBody | None
    created_at: AwareDatetime
    started_at: AwareDatetime | None
    finished_at: AwareDatetime | None
