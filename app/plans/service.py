"""Planning, top to bottom: validate -> geocode -> travel matrix -> route -> persist.

The service flushes but never commits: the HTTP route (or a worker task) owns the
transaction, so a failure anywhere leaves nothing half-stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import ErrorDetail, NotFound, TooLarge, ValidationFailed
from app.geo.geocoding import Geocoder
from app.geo.matrix import MatrixProvider, TravelOptions
from app.plans import repository
from app.plans.mapping import to_planning_input
from app.plans.records import build_plan
from app.plans.schemas import Location, PlanRequest
from app.solving import SolverRunner
from models import Plan
from solver.types import SolveParams


@dataclass(frozen=True)
class Planner:
    """The external services a plan needs, chosen by settings at start-up."""

    geocoder: Geocoder
    matrix: MatrixProvider
    solver: SolverRunner


def check_limits(req: PlanRequest, settings: Settings) -> None:
    """Refuse requests over the configured size with 413 before any work is done."""
    sizes = {
        "customers": (len(req.customers), settings.max_customers),
        "reps": (len(req.reps), settings.max_reps),
        "horizon": (len(req.horizon.dates()), settings.max_days),
    }
    details = [
        ErrorDetail(path, f"{count} exceeds this server's limit of {limit}")
        for path, (count, limit) in sizes.items()
        if count > limit
    ]
    if details:
        raise TooLarge("The request is larger than this server accepts", details)


def solve_params(req: PlanRequest, settings: Settings) -> SolveParams:
    """The stopping rule: the caller's time limit within bounds, else one sized to the job."""
    limit = req.options.time_limit_seconds
    lo, hi = settings.min_time_limit_seconds, settings.max_time_limit_seconds
    if limit is not None and not lo <= limit <= hi:
        raise ValidationFailed(
            "Invalid solver options",
            [ErrorDetail("options.time_limit_seconds", f"must be between {lo} and {hi} seconds")],
        )
    if limit is None:
        limit = settings.default_time_limit_seconds
    if limit is None:
        # Local search keeps improving for as long as it is allowed; small plans converge
        # in a second or two, large ones need more. Bounded by the configured maximum.
        limit = min(hi, max(1.0, len(req.customers) / 20))
    # A solution limit asks for a repeatable plan, which a wall-clock stall rule would break.
    stall = None
    if req.options.solution_limit is None:
        stall = max(settings.min_stall_seconds, settings.stall_fraction * limit)
    return SolveParams(
        time_limit_s=limit,
        solution_limit=req.options.solution_limit,
        stall_s=stall,
        seed=req.options.seed,
    )


def _geocode_location(geocoder: Geocoder, loc: Location) -> bool:
    if loc.lat is not None and loc.lon is not None:
        return True
    if not loc.address:
        return False
    found = geocoder.geocode(loc.address)
    if found is None:
        return False
    loc.lat, loc.lon = found.lat, found.lon
    return True


def geocode(req: PlanRequest, geocoder: Geocoder) -> None:
    """Fill in coordinates from addresses; a rep we cannot place is a 422, a customer is not.

    A customer without coordinates is reported later as ``geocode_failed``; a rep without
    a start cannot be planned at all, so the caller must fix the request.
    """
    problems = []
    for k, rep in enumerate(req.reps):
        for name, loc in (("start", rep.start), ("end", rep.end)):
            if loc is not None and not _geocode_location(geocoder, loc):
                problems.append(
                    ErrorDetail(
                        f"reps[{k}].{name}", f"could not geocode {loc.address!r}; give lat/lon"
                    )
                )
    if problems:
        raise ValidationFailed("Rep locations could not be geocoded", problems)
    for c in req.customers:
        if c.lat is None and c.address:
            found = geocoder.geocode(c.address)
            if found is not None:
                c.lat, c.lon = found.lat, found.lon


def create_plan(
    session: Session,
    settings: Settings,
    planner: Planner,
    req: PlanRequest,
    raw_request: dict[str, Any],
    *,
    wait_for_solver: bool = False,
) -> Plan:
    """Plan, store and return the plan with a fresh share link (flushed, not committed).

    An HTTP request does not wait for a free solver slot (503, retry later); a background
    job does.
    """
    check_limits(req, settings)
    params = solve_params(req, settings)
    geocode(req, planner.geocoder)
    mapped = to_planning_input(req, settings)
    options = TravelOptions(
        speed_kmh=req.options.speed_kmh or settings.speed_kmh,
        detour_factor=req.options.detour_factor or settings.detour_factor,
    )
    if req.options.travel != planner.matrix.name:
        mapped.warnings.append(
            f"travel model {req.options.travel!r} is not available on this server;"
            f" planned with {planner.matrix.name!r} travel times"
        )
    matrix = planner.matrix.matrix(mapped.planning.locations(), options)
    outcome = planner.solver.plan(mapped.planning, matrix, params, wait=wait_for_solver)
    plan = build_plan(req, raw_request, mapped, outcome)
    repository.add_plan(session, plan)
    expires = datetime.now(UTC) + timedelta(days=settings.share_link_days)
    repository.add_share_link(session, plan.id, expires)
    return plan


def share_url(session: Session, settings: Settings, plan_id: str) -> str | None:
    """The newest live share link of a plan as an absolute URL, if it has one."""
    link = repository.latest_share_link(session, plan_id)
    if link is None:
        return None
    return f"{settings.public_base_url.rstrip('/')}/s/{link.token}"


def get_plan(session: Session, plan_id: str) -> Plan:
    plan = repository.get_plan(session, plan_id)
    if plan is None:
        raise NotFound(f"No plan with id {plan_id!r}")
    return plan
