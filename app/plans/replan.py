"""Re-planning a stored plan: the week as it stands -> a new version with the least change.

Top to bottom in ``replan_plan``: load the newest version -> apply the body (added and removed
customers) and the recorded outcomes (cancelled visits leave, done ones stay, no-shows are
placed again) -> geocode new addresses (cached) -> travel matrix with the rep's position ->
``solver.replan`` warm-started from the current routes (in the service's solver pool, under
the same concurrency cap as ``POST /plan``) -> store version + 1 with its diff.
The service flushes; the route commits.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time
from typing import Any

from pydantic import Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import AppError, ErrorDetail, NotFound, ValidationFailed
from app.geo.cache import CachingGeocoder
from app.geo.matrix import TravelOptions, parse_traffic_bands, resolve_travel, working_day_factor
from app.plans import repository, versions
from app.plans.mapping import Mapped, to_planning_input
from app.plans.records import build_plan
from app.plans.schemas import (
    Customer,
    Identifier,
    Instant,
    Latitude,
    Longitude,
    PlanRequest,
    RequestModel,
)
from app.plans.service import Planner, add_geometry, check_limits, geocode
from app.solving import observed_replan
from app.validation import validation_error_details
from models import Plan, VisitOutcome
from solver.domain import PlannedDay, PlannedStop
from solver.replan import MOVE_COST, REORDER_COST, ReplanInput
from solver.types import Point, SolveParams, Window

# Statuses whose visit did not happen and should be placed again later in the week.
REPLACE_STATUSES = ("no_show", "rescheduled", "skipped")


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Position(RequestModel):
    """Where the rep is at the replan moment."""

    lat: Latitude
    lon: Longitude


class ReplanOptions(RequestModel):
    """The search budget of a re-plan; a solution limit makes it repeatable."""

    time_limit_seconds: float | None = Field(default=None, gt=0, le=3600)
    solution_limit: int | None = Field(default=None, ge=1, le=1_000_000_000)
    move_cost_minutes: float = Field(
        default=MOVE_COST / 60,
        ge=0,
        le=600,
        description="Moving a visit to another rep or day costs as much as this much driving.",
    )
    reorder_cost_minutes: float = Field(
        default=REORDER_COST / 60,
        ge=0,
        le=600,
        description="Each new leg into a visit that stays on its day costs this much driving.",
    )


class ReplanRequest(RequestModel):
    """The body of ``POST /plans/{plan_id}/replan``; every field is optional."""

    at: Instant | None = Field(
        default=None, description="The replan moment (ISO-8601 with offset); default now."
    )
    position: Position | None = Field(
        default=None, description="The rep's position now; today's route starts there."
    )
    freeze_minutes: float | None = Field(
        default=None,
        ge=0,
        le=1440,
        description="Upcoming visits of today starting within this many minutes keep their"
        " day and order; default: today's next visit only; 0 freezes nothing.",
    )
    add_customers: list[Customer] = Field(default_factory=list, max_length=2000)
    remove_customer_ids: list[Identifier] = Field(default_factory=list, max_length=2000)
    base_version: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="Refuse with 409 unless this is still the newest version.",
    )
    options: ReplanOptions = Field(default_factory=ReplanOptions)


def _changed_request(old: Plan, body: ReplanRequest) -> tuple[PlanRequest, dict[str, Any]]:
    """The stored request with customers added and removed, validated as a new request."""
    raw = dict(old.request)
    customers = list(raw.get("customers", []))
    known = {c["id"] for c in customers}
    problems = [
        ErrorDetail(f"remove_customer_ids[{k}]", f"unknown customer id {cid!r} in this plan")
        for k, cid in enumerate(body.remove_customer_ids)
        if cid not in known
    ]
    problems += [
        ErrorDetail(f"add_customers[{k}].id", f"customer id {c.id!r} is already in the plan")
        for k, c in enumerate(body.add_customers)
        if c.id in known and c.id not in body.remove_customer_ids
    ]
    if problems:
        raise ValidationFailed("Invalid replan request", problems)
    gone = set(body.remove_customer_ids)
    kept = [c for c in customers if c["id"] not in gone]
    added = [
        c.model_dump(mode="json", by_alias=True, exclude_unset=True) for c in body.add_customers
    ]
    raw["customers"] = kept + added
    try:
        req = PlanRequest.model_validate(raw)
    except ValidationError as exc:
        details = []
        for d in validation_error_details(exc.errors()):
            path = d.path
            for k in range(len(added)):
                prefix = f"customers[{len(kept) + k}]"
                if path.startswith(prefix):
                    path = f"add_customers[{k}]" + path[len(prefix) :]
            details.append(ErrorDetail(path, d.message))
        raise ValidationFailed("Invalid replan request", details) from None
    return req, raw


def _seconds(mapped: Mapped, value: datetime) -> int:
    """An aware instant -> seconds on the plan's horizon axis (local wall clock)."""
    local = value.astimezone(mapped.tz).replace(tzinfo=None)
    return round((local - datetime.combine(mapped.planning.epoch, time())).total_seconds())


def _current_days(old: Plan, req: PlanRequest, mapped: Mapped) -> tuple[PlannedDay, ...]:
    """The stored days as solver days over the new input's indices (left-out visits skipped)."""
    index = {req.customers[i].id: k for k, i in enumerate(mapped.customer_index)}
    reps = {r.id: k for k, r in enumerate(req.reps)}
    dates = {d: k for k, d in enumerate(mapped.planning.days)}
    out = []
    for day in old.days:
        if day.rep_id not in reps or day.date not in dates:
            continue
        stops = tuple(
            PlannedStop(
                index[s.customer_id],
                _seconds(mapped, s.arrival),
                _seconds(mapped, s.start),
                _seconds(mapped, s.end),
                round(s.travel_minutes * 60),
                round(s.travel_km * 1000),
                round(s.wait_minutes * 60),
            )
            for s in day.stops
            if s.customer_id in index
        )
        lunch = None
        if day.lunch_start is not None and day.lunch_end is not None:
            lunch = Window(_seconds(mapped, day.lunch_start), _seconds(mapped, day.lunch_end))
        if stops:
            out.append(
                PlannedDay(
                    reps[day.rep_id],
                    dates[day.date],
                    _seconds(mapped, day.depart),
                    _seconds(mapped, day.return_at),
                    stops,
                    round((day.drive_minutes - sum(s.travel_minutes for s in day.stops)) * 60),
                    round((day.drive_km - sum(s.travel_km for s in day.stops)) * 1000),
                    lunch,
                    day.area,
                )
            )
    return tuple(out)


def _params(req: PlanRequest, body: ReplanRequest, settings: Settings) -> SolveParams:
    """A short default budget: the search starts from a good plan and only mends it."""
    limit = body.options.time_limit_seconds
    lo, hi = settings.min_time_limit_seconds, settings.max_time_limit_seconds
    if limit is not None and not lo <= limit <= hi:
        raise ValidationFailed(
            "Invalid solver options",
            [ErrorDetail("options.time_limit_seconds", f"must be between {lo} and {hi} seconds")],
        )
    if limit is None:
        limit = min(hi, max(1.0, len(req.customers) / 40))
    stall = None if body.options.solution_limit is not None else max(0.5, limit / 4)
    return SolveParams(
        time_limit_s=limit,
        solution_limit=body.options.solution_limit,
        stall_s=stall,
        seed=req.options.seed,
    )


def _outcomes(session: Session, lineage_id: str) -> list[VisitOutcome]:
    statement = select(VisitOutcome).where(VisitOutcome.plan_id == lineage_id)
    return list(session.scalars(statement))


def replan_plan(
    session: Session,
    settings: Settings,
    planner: Planner,
    plan_id: str,
    body: ReplanRequest,
    *,
    wait_for_solver: bool = False,
) -> Plan:
    """Store and return the next version of ``plan_id`` re-planned from ``body.at``.

    The search runs in ``planner.solver`` like ``POST /plan``'s: OR-Tools holds the GIL for
    the whole search, so solving in the request thread would stall every other request of
    the API process, and it would slip past ``max_concurrent_solves``. As there, an HTTP
    request does not wait for a free slot (503 with Retry-After); a background caller may.
    """
    old = repository.get_plan(session, plan_id)
    if old is None:
        raise NotFound(f"No plan with id {plan_id!r}")
    if body.base_version is not None and body.base_version != old.version:
        raise Conflict(
            f"The plan is at version {old.version}, not {body.base_version}; re-read it first",
            [ErrorDetail("base_version", f"the newest version is {old.version}")],
        )
    outcomes = _outcomes(session, old.lineage_id)
    in_request = {c["id"] for c in old.request.get("customers", [])}
    dropping = sorted(
        o.customer_id
        for o in outcomes
        if o.status == "cancelled"
        and o.customer_id in in_request
        and o.customer_id not in body.remove_customer_ids
    )
    changed = body.model_copy(
        update={"remove_customer_ids": [*body.remove_customer_ids, *dropping]}
    )
    req, raw = _changed_request(old, changed)
    check_limits(req, settings)
    params = _params(req, body, settings)
    if not wait_for_solver:
        planner.solver.ensure_free()  # before geocoding and the matrix, which a 503 wastes
    geocoded = geocode(req, CachingGeocoder(planner.geocoder, session))
    mapped = to_planning_input(req, settings, geocode_failures=geocoded.failures)
    mapped.warnings.extend(geocoded.warnings)
    ids = {req.customers[i].id: k for k, i in enumerate(mapped.customer_index)}
    # Outcomes recorded before this version was made were already acted on by it.
    fresh = [o for o in outcomes if o.recorded_at >= old.created_at]
    replaced = {o.customer_id: o.status for o in fresh if o.status in REPLACE_STATUSES}
    done = {ids[o.customer_id] for o in outcomes if o.status == "done" and o.customer_id in ids}
    at = body.at or datetime.now(UTC)
    position = Point(body.position.lat, body.position.lon) if body.position else None
    inp = ReplanInput(
        planning=mapped.planning,
        current=_current_days(old, req, mapped),
        now=_seconds(mapped, at),
        done=frozenset(done),
        replace=frozenset(ids[c] for c in replaced if c in ids),
        freeze_s=round(body.freeze_minutes * 60) if body.freeze_minutes is not None else None,
        position=position,
        move_cost=round(body.options.move_cost_minutes * 60),
        reorder_cost=round(body.options.reorder_cost_minutes * 60),
    )
    options = TravelOptions(
        speed_kmh=req.options.speed_kmh or settings.speed_kmh,
        detour_factor=req.options.detour_factor or settings.detour_factor,
        traffic_factor=working_day_factor(
            parse_traffic_bands(settings.osrm_traffic_bands),
            [(r.work_start, r.work_end) for r in mapped.planning.reps],
        ),
    )
    labels = [f"rep {r.id} {end}" for r in req.reps for end in ("start", "end")]
    labels += [c.id for c in mapped.planning.customers] + ["rep position"]
    travel = resolve_travel(
        planner.providers(), req.options.travel, inp.locations(), options, labels=labels
    )
    mapped.warnings.extend(travel.warnings)
    result = observed_replan(planner.solver, inp, travel.matrix, params, wait_for_solver)
    mapped.warnings.extend(result.warnings)
    new = build_plan(req, raw, mapped, result.outcome)
    new.id = secrets.token_hex(16)
    new.lineage_id = old.lineage_id
    new.version = old.version + 1
    add_geometry(new, mapped, travel)
    reasons = dict.fromkeys(body.remove_customer_ids, "removed by request")
    reasons |= dict.fromkeys(dropping, "cancelled")
    new.diff = versions.diff(
        old,
        new,
        added_ids={c.id for c in body.add_customers},
        removed_reasons=reasons,
        replaced=replaced,
    )
    new.diff["at"] = at.astimezone(mapped.tz).isoformat()
    try:
        with session.begin_nested():
            repository.add_plan(session, new)
    except IntegrityError:
        raise Conflict(
            "Another re-plan of this plan was stored first; re-read it and try again"
        ) from None
    return new


def list_versions(session: Session, plan_id: str) -> dict[str, Any]:
    """``GET /plans/{plan_id}/versions``: each version with its counts and change counts."""
    rows = repository.list_versions(session, plan_id)
    if not rows:
        raise NotFound(f"No plan with id {plan_id!r}")
    out = []
    for plan in rows:
        item: dict[str, Any] = {
            "version": plan.version,
            "created_at": plan.created_at.isoformat(),
            "status": plan.status,
            "visits": int(plan.summary.get("visits", 0)),
            "unassigned": int(plan.summary.get("unassigned", 0)),
        }
        if plan.diff:
            item |= {k: len(plan.diff.get(k, [])) for k in ("added", "removed", "moved")}
        out.append(item)
    return {"plan_id": plan_id, "versions": out}
