"""Plan a horizon of visits: prechecks -> routing model -> explanations -> baseline.

This is the solver's one entry point for the service. It takes domain inputs and a travel
matrix over ``inp.locations()`` (so any matrix provider fits), and returns a ``PlanOutcome``
in which every customer is either on a day or in ``unassigned`` with a reason.
"""

from __future__ import annotations

from dataclasses import replace

from solver.areas import area_label
from solver.baseline import baseline_travel
from solver.decompose import should_decompose, solve_decomposed
from solver.domain import (
    CustomerInput,
    PlannedDay,
    PlannedStop,
    PlanningInput,
    PlanOutcome,
    Unplanned,
)
from solver.errors import InvalidProblemError
from solver.explain import add_hints, explain_drop
from solver.prechecks import Route, precheck, routes
from solver.routing import solve
from solver.types import (
    BreakSpec,
    FirstSolution,
    Problem,
    SolveParams,
    TravelMatrix,
    Vehicle,
    Visit,
    Window,
)

# Objective units are seconds of driving. Leaving a customer out must cost far more than any
# day's driving (so visits are only dropped when they cannot fit), and more for higher
# priority (so the lowest priority goes first when time runs out).
DROP_BASE = 200_000
DROP_PER_PRIORITY = 20_000
# Each later day costs a little, so a light week fills Monday first rather than Friday.
DAY_COST = 60
# Visits asked / visits the horizon roughly holds, above which the first solution changes.
OVERLOAD = 1.5


def drop_penalty(priority: int) -> int:
    """Cost of leaving out an optional customer of ``priority`` (0..100)."""
    return DROP_BASE + DROP_PER_PRIORITY * priority


def _vehicles(inp: PlanningInput, candidates: list[Route]) -> tuple[Vehicle, ...]:
    out = []
    for route in candidates:
        rep = inp.reps[route.rep]
        breaks: tuple[BreakSpec, ...] = ()
        if rep.lunch is not None:
            offset = inp.day_offset(route.day)
            window = Window(offset + rep.lunch.earliest, offset + rep.lunch.latest)
            inside = window.intersect(route.shift)
            # A lunch window outside working hours is the rep's own time: no break to plan.
            if inside is not None and inside.length >= rep.lunch.duration:
                breaks = (BreakSpec(inside, rep.lunch.duration),)
        out.append(
            Vehicle(
                start=inp.start_loc(route.rep),
                end=inp.end_loc(route.rep),
                shift=route.shift,
                breaks=breaks,
                max_visits=rep.max_visits_per_day,
                fixed_cost=DAY_COST * route.day,
                rep=route.rep,
                day=route.day,
            )
        )
    return tuple(out)


def _visits(
    inp: PlanningInput, allowed: dict[int, frozenset[int]]
) -> tuple[list[int], tuple[Visit, ...]]:
    order = sorted(allowed)
    optional = sum(drop_penalty(inp.customers[i].priority) for i in order)
    # A must-visit outweighs every optional visit together, so it is kept whenever any
    # plan the search finds can keep it.
    must = optional + 10 * DROP_BASE
    visits = []
    for i in order:
        c: CustomerInput = inp.customers[i]
        visits.append(
            Visit(
                location=inp.customer_loc(i),
                duration=c.duration,
                penalty=must if c.must_visit else drop_penalty(c.priority),
                windows=tuple(sorted(c.windows)) if c.windows is not None else (),
                allowed_vehicles=allowed[i],
            )
        )
    return order, tuple(visits)


def _visit_capacity(vehicles: tuple[Vehicle, ...], visits: tuple[Visit, ...]) -> int:
    """Rough number of visits the horizon holds: the visit cap, else the day over mean length."""
    mean = sum(v.duration for v in visits) / len(visits) if visits else 1.0
    total = 0
    for v in vehicles:
        by_time = int(v.shift.length // max(mean, 1.0))
        total += min(v.max_visits, by_time) if v.max_visits is not None else by_time
    return total


def first_solution_for(params: SolveParams, load: float) -> SolveParams:
    """Use path-cheapest-arc when far more visits are asked than the horizon holds.

    Insertion heuristics then spend most of the time limit evaluating customers that will be
    dropped anyway (measured with bench/plan_bench.py data, 500 customers on 5 reps x 5 days:
    parallel insertion needed 9 s for a first solution that filled 175 of 200 slots and ended
    there; path-cheapest-arc filled all 200 in 1.4 s and ended with a 5% lower objective).
    With room for everyone, insertion copes better with tight windows, so it stays. For the
    same reason an overloaded request searches with plain guided local search rather than
    iterated local search, whose recreate step weighs every dropped visit at each iteration
    (plan_bench, 500 customers on 5 reps: 160 of 200 slots filled with it, 200 without).
    """
    if load <= OVERLOAD:
        return params
    params = replace(params, iterated=False)
    if params.first_solution is FirstSolution.PARALLEL_CHEAPEST_INSERTION:
        return replace(params, first_solution=FirstSolution.PATH_CHEAPEST_ARC)
    return params


def plan(inp: PlanningInput, matrix: TravelMatrix, params: SolveParams) -> PlanOutcome:
    """Plan every customer of ``inp`` onto its reps' working days, or say why not."""
    if matrix.size != len(inp.locations()):
        raise InvalidProblemError("travel matrix does not match the input's locations")
    if not inp.days or not inp.reps:
        raise InvalidProblemError("a plan needs at least one rep and one working day")
    candidates = routes(inp)
    checked = precheck(inp, matrix, candidates)
    order, visits = _visits(inp, checked.allowed)
    vehicles = _vehicles(inp, candidates)
    load = len(visits) / max(1, _visit_capacity(vehicles, visits))
    problem, tuned = Problem(matrix, vehicles, visits), first_solution_for(params, load)
    # Large requests: one search per rep, then repair across reps (solver/decompose.py).
    big = should_decompose(problem)
    solution = solve_decomposed(problem, tuned) if big else solve(problem, tuned)

    days = []
    sequences: dict[int, list[int]] = {}
    for r in solution.routes:
        route = candidates[r.vehicle]
        stops = tuple(
            PlannedStop(order[s.visit], s.arrival, s.start, s.end, s.travel_s, s.travel_m, s.wait_s)
            for s in r.stops
        )
        sequences[r.vehicle] = [s.customer for s in stops]
        rep = inp.reps[route.rep]
        label = area_label(
            rep.start,
            [inp.customers[s.customer].point for s in stops],
            [inp.customers[s.customer].area for s in stops],
        )
        days.append(
            PlannedDay(
                rep=route.rep,
                day=route.day,
                depart=r.depart,
                return_at=r.arrival_end,
                stops=stops,
                return_travel_s=r.return_travel_s,
                return_travel_m=r.return_travel_m,
                lunch=r.breaks[0] if r.breaks else None,
                area=label,
            )
        )

    unassigned = [Unplanned(i, code, why) for i, (code, why) in checked.rejected.items()]
    for v in solution.dropped:
        i = order[v]
        code, why = explain_drop(inp, matrix, candidates, checked.allowed[i], sequences, i)
        unassigned.append(Unplanned(i, code, why))
    unassigned.sort(key=lambda u: u.customer)
    unassigned = add_hints(inp, matrix, candidates, sequences, unassigned, drop_penalty)

    planned = [s.customer for d in days for s in d.stops]
    base_s, base_m = baseline_travel(inp, matrix, candidates, planned)
    days.sort(key=lambda d: (d.day, d.rep))
    return PlanOutcome(
        days=tuple(days),
        unassigned=tuple(unassigned),
        baseline_travel_s=base_s,
        baseline_travel_m=base_m,
        status=solution.status,
        wall_time_s=solution.wall_time_s,
    )
