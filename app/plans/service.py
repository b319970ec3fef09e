"""Planning, top to bottom: validate -> geocode (cached) -> travel matrix -> route -> persist.

The service flushes but never commits: the HTTP route (or a worker task) owns the
transaction, so a failure anywhere leaves nothing half-stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import ErrorDetail, NotFound, TooLarge, ValidationFailed
from app.geo.cache import CachingGeocoder
from app.geo.geocoding import (
    GeocodeFailure,
    Geocoder,
    GeocodeResult,
    Precision,
    precision_rank,
)
from app.geo.matrix import (
    MatrixProvider,
    MatrixResult,
    MatrixUnavailable,
    TravelOptions,
    parse_traffic_bands,
    resolve_travel,
    working_day_factor,
)
from app.plans import repository, share_tokens
from app.plans.mapping import Mapped, to_planning_input
from app.plans.records import build_plan
from app.plans.schemas import PlanRequest
from app.solving import SolverRunner, observed_solve
from models import Plan
from solver.types import Point, SolveParams


@dataclass(frozen=True)
class Planner:
    """The external services a plan needs, chosen by settings at start-up."""

    geocoder: Geocoder
    matrix: MatrixProvider  # the default travel model (straight-line)
    solver: SolverRunner
    # Further travel models by the name ``options.travel`` uses (e.g. "osrm").
    matrices: Mapping[str, MatrixProvider] = field(default_factory=dict)

    def providers(self) -> Mapping[str, MatrixProvider]:
        """Providers by name; ``matrix`` is always the one under its own name."""
        return {**self.matrices, self.matrix.name: self.matrix}


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


def _coarse(found: GeocodeResult, min_precision: Precision | None) -> bool:
    return min_precision is not None and precision_rank(found.precision) > precision_rank(
        min_precision
    )


@dataclass
class Geocoded:
    """What geocoding found out beyond coordinates: why customers failed, what to warn about."""

    failures: dict[int, str]
    warnings: list[str]


def geocode(req: PlanRequest, geocoder: CachingGeocoder) -> Geocoded:
    """Fill in coordinates from addresses in one deduplicated, cached batch.

    A rep we cannot place is a 422 (the caller must fix the request); a customer is not:
    whatever went wrong (unknown address, provider timeout, 5xx, quota, too coarse for
    ``options.min_precision``) it becomes ``geocode_failed`` with the reason and the rest of
    the plan goes ahead.
    """
    rep_locations = [
        (f"reps[{k}].{name}", loc)
        for k, rep in enumerate(req.reps)
        for name, loc in (("start", rep.start), ("end", rep.end))
        if loc is not None and not loc.has_coordinates and loc.address
    ]
    wanted = [c.address for c in req.customers if c.lat is None and c.address]
    outcomes = geocoder.geocode_many(
        [loc.address for _, loc in rep_locations if loc.address] + wanted
    )
    problems = []
    for path, loc in rep_locations:
        assert loc.address is not None
        outcome = outcomes[loc.address]
        if isinstance(outcome, GeocodeFailure):
            problems.append(
                ErrorDetail(
                    path, f"could not geocode {loc.address!r} ({outcome.reason}); give lat/lon"
                )
            )
        else:
            loc.lat, loc.lon = outcome.lat, outcome.lon
    if problems:
        raise ValidationFailed("Rep locations could not be geocoded", problems)
    failures: dict[int, str] = {}
    coarse: dict[str, list[str]] = {}
    min_precision = req.options.min_precision
    for i, c in enumerate(req.customers):
        if c.lat is not None or not c.address:
            continue
        outcome = outcomes[c.address]
        if isinstance(outcome, GeocodeFailure):
            failures[i] = outcome.reason
        elif _coarse(outcome, min_precision):
            failures[i] = (
                f"placed only at {outcome.precision} precision by {outcome.source};"
                f" options.min_precision is {min_precision}"
            )
        else:
            c.lat, c.lon = outcome.lat, outcome.lon
            if outcome.precision in ("district", "city"):
                coarse.setdefault(outcome.precision, []).append(c.id)
    warnings = [
        f"{len(ids)} customer(s) placed only at {precision} precision: {', '.join(ids[:10])}"
        + (" ..." if len(ids) > 10 else "")
        for precision, ids in coarse.items()
    ]
    return Geocoded(failures, warnings)


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
    if not wait_for_solver:
        planner.solver.ensure_free()  # before geocoding and the matrix, which a 503 wastes
    geocoded = geocode(req, CachingGeocoder(planner.geocoder, session))
    mapped = to_planning_input(req, settings, geocode_failures=geocoded.failures)
    mapped.warnings.extend(geocoded.warnings)
    travel = plan_travel(settings, planner, req, mapped)
    outcome = observed_solve(
        planner.solver, mapped.planning, travel.matrix, params, wait_for_solver
    )
    plan = build_plan(req, raw_request, mapped, outcome)
    add_geometry(plan, mapped, travel)
    repository.add_plan(session, plan)
    expires = datetime.now(UTC) + timedelta(days=settings.share_link_days)
    add_share_link(session, settings, plan.id, expires)
    return plan


def plan_travel(
    settings: Settings,
    planner: Planner,
    req: PlanRequest,
    mapped: Mapped,
    locations: Sequence[Point] | None = None,
    labels: Sequence[str] | None = None,
) -> MatrixResult:
    """The travel model of a request, the same for planning, re-planning and evaluating.

    One place decides provider, speed, detour and traffic, so an evaluated or re-planned
    day is timed exactly like the plan it is compared with. ``locations`` (and their
    ``labels``) default to the planning input's; the provider's warnings join the plan's.
    """
    options = TravelOptions(
        speed_kmh=req.options.speed_kmh or settings.speed_kmh,
        detour_factor=req.options.detour_factor or settings.detour_factor,
        traffic_factor=working_day_factor(
            parse_traffic_bands(settings.osrm_traffic_bands),
            [(r.work_start, r.work_end) for r in mapped.planning.reps],
        ),
    )
    travel = resolve_travel(
        planner.providers(),
        req.options.travel,
        list(locations) if locations is not None else mapped.planning.locations(),
        options,
        labels=list(labels) if labels is not None else location_labels(mapped),
    )
    mapped.warnings.extend(travel.warnings)
    return travel


def location_labels(mapped: Mapped) -> list[str]:
    """Names for ``PlanningInput.locations()`` in its order, for warnings about points."""
    reps = mapped.planning.reps
    names = [f"rep {r.id} {end}" for r in reps for end in ("start", "end")]
    names += [c.id for c in mapped.planning.customers]
    if len(names) != len(mapped.planning.locations()):  # another layout: stay generic
        return [f"location {i}" for i in range(len(mapped.planning.locations()))]
    return names


def add_geometry(plan: Plan, mapped: Mapped, travel: MatrixResult) -> None:
    """Road geometry for each day from the provider that timed it; failures only warn.

    Straight-line plans get none (the map joins the stops itself).
    """
    if travel.geometry is None:
        return
    reps = {r.id: r for r in mapped.planning.reps}
    failed = 0
    for day in plan.days:
        rep = reps[day.rep_id]
        points = [rep.start, *(Point(s.lat, s.lon) for s in day.stops), rep.end]
        try:
            day.geometry = travel.geometry.route_polyline(points)
        except MatrixUnavailable:
            failed += 1
    if failed:
        plan.warnings = [
            *plan.warnings,
            f"route geometry could not be fetched for {failed} of {len(plan.days)} day(s);"
            " the map joins their stops with straight lines",
        ]


def share_secret(settings: Settings) -> bytes:
    """The key share-link tokens are derived with (see app/plans/share_tokens.py)."""
    return settings.share_token_secret.get_secret_value().encode()


def add_share_link(
    session: Session, settings: Settings, plan_id: str, expires_at: datetime | None
) -> str:
    """Store a new link to ``plan_id`` (only its hash) and return its absolute URL."""
    minted = share_tokens.new_token(share_secret(settings))
    repository.add_share_link(
        session, plan_id, expires_at, token_hash=minted.token_hash, nonce=minted.nonce
    )
    return f"{settings.public_base_url.rstrip('/')}/s/{minted.token}"


def share_url(session: Session, settings: Settings, plan_id: str) -> str | None:
    """The newest live share link this server can re-derive, as an absolute URL, if any."""
    secret = share_secret(settings)
    for link in repository.live_share_links(session, plan_id):
        token = share_tokens.rederive(secret, link.nonce, link.token_hash)
        if token is not None:
            return f"{settings.public_base_url.rstrip('/')}/s/{token}"
    return None


def get_plan(session: Session, plan_id: str, version: int | None = None) -> Plan:
    plan = repository.get_plan(session, plan_id, version)
    if plan is None:
        which = f" at version {version}" if version is not None else ""
        raise NotFound(f"No plan with id {plan_id!r}{which}")
    return plan
