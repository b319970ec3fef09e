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
    outcome: StopOutcomeOut | None = Field(
        default=None,
        description="What happened at the visit, once recorded (GET and re-plan answers).",
    )


class StopOutcomeOut(ResponseModel):
    """A stop's recorded outcome (``/plans/{plan_id}/outcomes`` has the full record)."""

    status: Literal["done", "no_show", "cancelled", "rescheduled", "skipped"]
    actual_start: AwareDatetime | None = None
    actual_end: AwareDatetime | None = None
    recorded_at: AwareDatetime | None = None


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


class SuggestionOut(ResponseModel):
    """One change that would let a left-out customer in; fields beyond ``kind``/``text``
    depend on the kind (``visit_minutes``, ``work_end``, ``work_start``, ``priority`` with
    ``instead_of``, ``never_meets``, ``precise``, ``location``, ``date``)."""

    kind: str
    text: str
    rep_id: str | None = None
    date: dt.date | None = None


class UnassignedOut(ResponseModel):
    """A customer left out of the plan, with a stable code and a reason for people."""

    customer_id: str
    code: UnassignedCode
    reason: str
    name: str | None = None
    hint: str | None = Field(
        default=None, description="What would most simply let it in (the first suggestion)."
    )
    suggestions: list[SuggestionOut] | None = Field(
        default=None, description="Changes checked against the time model, best first."
    )


class SpreadOut(ResponseModel):
    """Mean, smallest and largest over the days that have visits."""

    mean: float
    min: int | None = None
    max: int


class DayKpisOut(ResponseModel):
    """One day's figures; ``drive_share`` is drive time over (return - depart)."""

    rep_id: str
    date: dt.date
    visits: int
    drive_share: float
    area_changes: int


class KpisOut(ResponseModel):
    """How full, how much driving, how scattered (see solver/kpis.py)."""

    rep_days: int | None = Field(default=None, description="Reps x working days.")
    days_with_visits: int | None = Field(
        default=None, description="The days the per-day figures are taken over."
    )
    visits_per_day: SpreadOut
    drive_share: float
    area_changes_per_day: SpreadOut
    days: list[DayKpisOut]


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
    kpis: KpisOut | None = None


class SlotOut(ResponseModel):
    """Where a visit is in one version: rep, date and 0-based position in that day's stops."""

    rep_id: str
    date: dt.date
    position: int


class AddedOut(ResponseModel):
    """A visit the new version has and the previous one did not."""

    customer_id: str
    to: SlotOut
    reason: str


class RemovedOut(ResponseModel):
    """A visit the previous version had and the new one does not."""

    customer_id: str
    from_: SlotOut = Field(alias="from")
    reason: str


class MovedOut(ResponseModel):
    """A visit on another rep or day, or out of its order on the same day."""

    customer_id: str
    from_: SlotOut = Field(alias="from")
    to: SlotOut
    reason: str


class DiffOut(ResponseModel):
    """What a re-plan changed against ``base_version``; ``unchanged`` counts the rest."""

    base_version: int
    at: AwareDatetime | None = None
    added: list[AddedOut]
    removed: list[RemovedOut]
    moved: list[MovedOut]
    unchanged: int


class VersionOut(ResponseModel):
    """One version of a plan in ``GET /plans/{plan_id}/versions``."""

    version: int
    created_at: AwareDatetime
    status: Literal["complete", "partial"]
    visits: int
    unassigned: int
    added: int | None = None
    removed: int | None = None
    moved: int | None = None


class VersionsOut(ResponseModel):
    """Every version of a plan, oldest first."""

    plan_id: str
    versions: list[VersionOut]


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
    version: int = Field(default=1, description="1 for a new plan; each re-plan adds one.")
    diff: DiffOut | None = Field(
        default=None, description="What the re-plan that made this version changed."
    )


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
