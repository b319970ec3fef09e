"""``POST /plans/{plan_id}/evaluate``: time a rep's hand-made routes against the optimised plan.

Top to bottom in ``evaluate_plan``: load the newest version -> its stored request, with the
coordinates the plan used -> the same planning input and travel matrix as planning (same
provider and options) -> ``solver.evaluate`` times every day the body lists (other days keep
the plan's order) and the plan's own days -> violations at their exact stop, and the cost
against the optimised order. Nothing is written: the route never commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import ErrorDetail, NotFound, ValidationFailed
from app.geo.cache import CachingGeocoder
from app.plans import repository
from app.plans.mapping import Mapped, to_planning_input
from app.plans.responses import ResponseModel
from app.plans.schemas import Identifier, PlanRequest, RequestModel
from app.plans.service import Planner, geocode, plan_travel
from models import Plan
from solver.evaluate import TimedDay, Violation, day_model, pin_violations, time_day
from solver.types import TravelMatrix

# -- request --


class EvaluateDay(RequestModel):
    """One rep-day in the order the rep wants to drive it."""

    rep_id: Identifier
    date: dt.date
    customer_ids: list[Identifier] = Field(default_factory=list, max_length=500)


class EvaluateRequest(RequestModel):
    """The rep's routes; rep-days not listed keep the plan's order (minus moved visits)."""

    days: list[EvaluateDay] = Field(default_factory=list, max_length=1000)


# -- response --


class EvalStopOut(ResponseModel):
    """A visit as the rep's order would run: when the rep gets there, starts and leaves."""

    customer_id: str
    arrival: dt.datetime
    start: dt.datetime
    end: dt.datetime
    wait_minutes: float
    travel_minutes: float
    travel_km: float


class EvalLunchOut(ResponseModel):
    start: dt.datetime
    end: dt.datetime


class EvalDayOut(ResponseModel):
    """One timed day; ``source`` says whether the body listed it or the plan's order stood."""

    rep_id: str
    date: dt.date
    source: Literal["request", "plan"]
    depart: dt.datetime
    return_: dt.datetime = Field(alias="return")
    lunch: EvalLunchOut | None
    stops: list[EvalStopOut]
    drive_minutes: float
    drive_km: float
    visits: int


class ViolationOut(ResponseModel):
    """A broken rule at one stop: ``day`` indexes ``days``, ``stop_index`` that day's stops."""

    type: Literal["late", "closed", "over_hours", "max_visits", "lunch", "pinned"]
    customer_id: str
    day: int
    rep_id: str
    date: dt.date
    stop_index: int
    path: str | None = Field(description="Where the stop is in the request, if it listed it.")
    message: str


class CostOut(ResponseModel):
    """Driving of a set of routes, valued at each rep's hourly value."""

    visits: int
    drive_minutes: float
    drive_km: float
    drive_cost: float


class EvaluateOut(ResponseModel):
    """The answer of ``POST /plans/{plan_id}/evaluate``; ``delta`` = ``cost`` - ``optimised``."""

    plan_id: str
    version: int
    feasible: bool
    days: list[EvalDayOut]
    violations: list[ViolationOut]
    unplanned: list[str] = Field(
        description="Customers the optimised plan visits that these routes leave out."
    )
    cost: CostOut
    optimised: CostOut
    delta: CostOut
    currency: str | None
    warnings: list[str]


# -- service --


def _request(plan: Plan) -> PlanRequest:
    """The plan's request with the coordinates its stops were planned at."""
    req = PlanRequest.model_validate(plan.request)
    placed = {s.customer_id: (s.lat, s.lon) for d in plan.days for s in d.stops}
    for c in req.customers:
        if (c.lat is None or c.lon is None) and c.id in placed:
            c.lat, c.lon = placed[c.id]
    return req


def _matrix(settings: Settings, planner: Planner, req: PlanRequest, mapped: Mapped) -> TravelMatrix:
    """The travel model of planning: same provider, speed, detour and traffic options."""
    return plan_travel(settings, planner, req, mapped).matrix


def _routes(
    body: EvaluateRequest, req: PlanRequest, mapped: Mapped, plan: Plan
) -> list[tuple[int, int, list[int], int | None]]:
    """(rep, day, customers, body index or None) per day to time; 422 with paths if bad."""
    reps = {r.id: k for k, r in enumerate(req.reps)}
    days = {d: k for k, d in enumerate(mapped.planning.days)}
    planning = {req.customers[i].id: k for k, i in enumerate(mapped.customer_index)}
    left_out = {req.customers[r.index].id: r.reason for r in mapped.rejected}
    problems: list[ErrorDetail] = []
    seen_days: dict[tuple[str, dt.date], int] = {}
    seen: dict[str, str] = {}
    out: list[tuple[int, int, list[int], int | None]] = []
    for i, day in enumerate(body.days):
        if day.rep_id not in reps:
            problems.append(ErrorDetail(f"days[{i}].rep_id", f"no rep {day.rep_id!r} in this plan"))
        if day.date not in days:
            problems.append(
                ErrorDetail(f"days[{i}].date", f"{day.date} is not a working day of this plan")
            )
        if (day.rep_id, day.date) in seen_days:
            first = seen_days[day.rep_id, day.date]
            problems.append(
                ErrorDetail(f"days[{i}].date", f"rep {day.rep_id} on {day.date} is days[{first}]")
            )
        seen_days.setdefault((day.rep_id, day.date), i)
        sequence = []
        for j, cid in enumerate(day.customer_ids):
            path = f"days[{i}].customer_ids[{j}]"
            if cid in seen:
                problems.append(ErrorDetail(path, f"customer {cid!r} is already at {seen[cid]}"))
            elif cid in left_out:
                problems.append(
                    ErrorDetail(path, f"customer {cid!r} cannot be timed: {left_out[cid]}")
                )
            elif cid not in planning:
                problems.append(ErrorDetail(path, f"no customer {cid!r} in this plan's request"))
            else:
                sequence.append(planning[cid])
            seen.setdefault(cid, path)
        if day.rep_id in reps and day.date in days:
            out.append((reps[day.rep_id], days[day.date], sequence, i))
    if problems:
        raise ValidationFailed("Invalid routes to evaluate", problems)
    listed = set(seen_days)
    for d in plan.days:
        if (d.rep_id, d.date) in listed or d.rep_id not in reps or d.date not in days:
            continue
        kept = [
            planning[s.customer_id]
            for s in d.stops
            if s.customer_id not in seen and s.customer_id in planning
        ]
        if kept:
            out.append((reps[d.rep_id], days[d.date], kept, None))
    return out


def _optimised(plan: Plan, req: PlanRequest, mapped: Mapped) -> list[tuple[int, int, list[int]]]:
    reps = {r.id: k for k, r in enumerate(req.reps)}
    days = {d: k for k, d in enumerate(mapped.planning.days)}
    planning = {req.customers[i].id: k for k, i in enumerate(mapped.customer_index)}
    # A stop always maps back (its coordinates are reused); the guard only avoids a 500.
    return [
        (
            reps[d.rep_id],
            days[d.date],
            [planning[s.customer_id] for s in d.stops if s.customer_id in planning],
        )
        for d in plan.days
        if d.rep_id in reps and d.date in days
    ]


def _cost(req: PlanRequest, timed: list[TimedDay]) -> dict[str, Any]:
    rates = [req.reps[t.model.rep].hourly_value for t in timed]
    minutes = [t.travel_s / 60 for t in timed]
    return {
        "visits": sum(len(t.stops) for t in timed),
        "drive_minutes": sum(minutes),
        "drive_km": sum(t.travel_m for t in timed) / 1000,
        "drive_cost": sum(m / 60 * r for m, r in zip(minutes, rates, strict=True)),
    }


def _rounded(cost: dict[str, Any]) -> dict[str, Any]:
    return {
        "visits": cost["visits"],
        "drive_minutes": round(cost["drive_minutes"], 2),
        "drive_km": round(cost["drive_km"], 3),
        "drive_cost": round(cost["drive_cost"], 2),
    }


def _day_json(mapped: Mapped, t: TimedDay, source: str) -> dict[str, Any]:
    iso = mapped.to_datetime
    c = mapped.planning.customers
    return {
        "rep_id": mapped.planning.reps[t.model.rep].id,
        "date": mapped.planning.days[t.model.day].isoformat(),
        "source": source,
        "depart": iso(t.depart).isoformat(),
        "return": iso(t.return_at).isoformat(),
        "lunch": {"start": iso(t.lunch.start).isoformat(), "end": iso(t.lunch.end).isoformat()}
        if t.lunch
        else None,
        "stops": [
            {
                "customer_id": c[s.customer].id,
                "arrival": iso(s.arrival).isoformat(),
                "start": iso(s.start).isoformat(),
                "end": iso(s.end).isoformat(),
                "wait_minutes": round(s.wait_s / 60, 2),
                "travel_minutes": round(s.travel_s / 60, 2),
                "travel_km": round(s.travel_m / 1000, 3),
            }
            for s in t.stops
        ],
        "drive_minutes": round(t.travel_s / 60, 2),
        "drive_km": round(t.travel_m / 1000, 3),
        "visits": len(t.stops),
    }


def _violation_json(
    mapped: Mapped, k: int, t: TimedDay, v: Violation, index: int | None
) -> dict[str, Any]:
    return {
        "type": v.type.value,
        "customer_id": mapped.planning.customers[v.customer].id,
        "day": k,
        "rep_id": mapped.planning.reps[t.model.rep].id,
        "date": mapped.planning.days[t.model.day].isoformat(),
        "stop_index": v.stop,
        "path": f"days[{index}].customer_ids[{v.stop}]" if index is not None else None,
        "message": v.message,
    }


def evaluate_plan(
    session: Session, settings: Settings, planner: Planner, plan_id: str, body: EvaluateRequest
) -> dict[str, Any]:
    """Times, violations and cost of the rep's routes for ``plan_id``; stores nothing."""
    plan = repository.get_plan(session, plan_id)
    if plan is None:
        raise NotFound(f"No plan with id {plan_id!r}")
    req = _request(plan)
    # Addresses the plan did not place (reps, left-out customers) come from the cache.
    geocoded = geocode(req, CachingGeocoder(planner.geocoder, session))
    mapped = to_planning_input(req, settings, geocode_failures=geocoded.failures)
    routes = _routes(body, req, mapped, plan)
    matrix = _matrix(settings, planner, req, mapped)
    inp = mapped.planning
    days, violations = [], []
    timed_all = []
    for k, (rep, day, sequence, index) in enumerate(routes):
        model = day_model(inp, rep, day)
        timed = time_day(inp, matrix, model, sequence)
        timed_all.append(timed)
        days.append(_day_json(mapped, timed, "request" if index is not None else "plan"))
        found = [*pin_violations(inp, model, sequence), *timed.violations]
        found.sort(key=lambda v: v.stop)
        violations += [_violation_json(mapped, k, timed, v, index) for v in found]
    optimised = [
        time_day(inp, matrix, day_model(inp, rep, day), seq)
        for rep, day, seq in _optimised(plan, req, mapped)
    ]
    mine, best = _cost(req, timed_all), _cost(req, optimised)
    visited = {s.customer for t in timed_all for s in t.stops}
    unplanned = [
        inp.customers[s.customer].id
        for t in optimised
        for s in t.stops
        if s.customer not in visited
    ]
    return {
        "plan_id": plan.lineage_id,
        "version": plan.version,
        "feasible": not violations,
        "days": days,
        "violations": violations,
        "unplanned": sorted(unplanned),
        "cost": _rounded(mine),
        "optimised": _rounded(best),
        "delta": _rounded({key: mine[key] - best[key] for key in mine}),
        "currency": plan.currency,
        "warnings": list(mapped.warnings),
    }
