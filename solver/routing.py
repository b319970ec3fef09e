"""The OR-Tools routing model: the ONLY module that imports ``ortools``.

OR-Tools' Python API is untyped; it stays inside this file and the rest of the code sees
``Problem`` in and ``Solution`` out. The model:

* one node per visit plus one per distinct start/end location (visits sharing a building
  still get their own node, since OR-Tools visits each node at most once);
* a time dimension on the horizon axis whose transit is travel + service of the origin, so
  ``CumulVar(n)`` is the start of the visit at ``n``; windows become the cumul's domain with
  holes removed, shifts bound the start and end cumuls;
* breaks (lunch) as fixed-duration interval variables that may not overlap a visit;
* a visit-count dimension for ``max_visits`` and a demand dimension for ``capacity``;
* every visit optional through a disjunction with its penalty, so a first solution always
  exists (the empty plan) and infeasible requests become partial plans, never errors.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from solver.errors import NoSolutionError
from solver.types import (
    FirstSolution,
    Metaheuristic,
    Problem,
    Route,
    Solution,
    SolveParams,
    Stop,
    WarmStart,
    Window,
)

_TIME = "time"
_COUNT = "visits"
_LOAD = "load"
_INSERTION_NEIGHBORS_RATIO = 0.2
_INSERTION_MIN_NEIGHBORS = 10
# First solutions tried by the extra parallel searches, in order (see search_variants).
# Measured on six Solomon instances at 2 s (bench/README.md): path-cheapest-arc + GLS had the
# lowest mean gap, parallel insertion the best on the clustered ones, so they pair up first.
# Iterated local search (OR-Tools' RoutingModel.SolveWithIteratedLocalSearch): descend to a
# local optimum, ruin part of the solution with SISR string removals (Christiaens & Vanden
# Berghe 2020), recreate it by cheapest insertion, descend again, and keep the result as the
# new reference by simulated annealing. It runs for the default metaheuristic (solver/types.py
# offers no member of its own for it): on the 12 default Solomon instances at 5 s it halved
# the mean gap of guided local search (2.9 % -> 1.1-1.5 %, bench/README.md, "How the search
# set-up was chosen"). Ruin size: on average _ILS_REMOVED visits per perturbation, at most
# _ILS_SEQUENCE consecutive ones from one route; _ILS_BYPASS is the paper's alpha.
_ITERATED_FOR = frozenset({Metaheuristic.GUIDED_LOCAL_SEARCH})
_ILS_REMOVED = 10
_ILS_SEQUENCE = 10
_ILS_BYPASS = 0.01
_ALTERNATIVE_FIRST = (
    FirstSolution.PATH_CHEAPEST_ARC,
    FirstSolution.PARALLEL_CHEAPEST_INSERTION,
    FirstSolution.SEQUENTIAL_CHEAPEST_INSERTION,
    FirstSolution.SAVINGS,
    FirstSolution.LOCAL_CHEAPEST_INSERTION,
)


@dataclass(frozen=True)
class _Nodes:
    """Node layout: one node per visit first, then the depots (distinct locations).

    Visits come first because OR-Tools' SISR ruin (iterated local search) draws a random
    visit from indices 0..Size()-vehicles() and redraws until it hits a performed one
    (``PickRandomPerformedVisit``, ortools/routing/search.cc): with depots first, the last
    visits fall outside that range, and a solution whose only performed visits were among
    them made the draw loop forever (seen as a solve that never returned under load).
    """

    location: list[int]  # node -> matrix index
    vehicle_starts: list[int]
    vehicle_ends: list[int]
    visits: int
    first_visit: int = 0

    def visit_of(self, node: int) -> int:
        return node - self.first_visit

    def per_node(self, visit_values: list[int]) -> list[int]:
        """``visit_values`` (one per visit) laid out per node, 0 at the depots."""
        return visit_values + [0] * (len(self.location) - self.visits)


def _layout(problem: Problem) -> _Nodes:
    depots: dict[int, int] = {}
    for v in problem.vehicles:
        for loc in (v.start, v.end):
            depots.setdefault(loc, len(depots))
    n = len(problem.visits)
    location = [s.location for s in problem.visits] + list(depots)
    return _Nodes(
        location=location,
        vehicle_starts=[n + depots[v.start] for v in problem.vehicles],
        vehicle_ends=[n + depots[v.end] for v in problem.vehicles],
        visits=n,
    )


def _horizon_end(problem: Problem) -> int:
    ends = [v.shift.end for v in problem.vehicles]
    ends += [w.end for s in problem.visits for w in s.windows]
    return max(ends, default=1)


def _service(problem: Problem, nodes: _Nodes) -> list[int]:
    return nodes.per_node([s.duration for s in problem.visits])


def _add_time_dimension(
    routing: Any, manager: Any, problem: Problem, nodes: _Nodes, horizon: int
) -> tuple[Any, int]:
    loc = np.asarray(nodes.location, dtype=np.int64)
    travel = problem.matrix.durations[np.ix_(loc, loc)]
    service = np.asarray(_service(problem, nodes), dtype=np.int64)
    transit = travel + service[:, None]
    time_cb = routing.RegisterTransitMatrix(transit.tolist())
    # Waiting is allowed anywhere (slack up to the horizon); start cumuls are not fixed to
    # zero because each vehicle's shift starts on its own day.
    routing.AddDimension(time_cb, horizon, horizon, False, _TIME)
    dim = routing.GetDimensionOrDie(_TIME)

    for i, visit in enumerate(problem.visits):
        index = manager.NodeToIndex(nodes.first_visit + i)
        # Cumuls are never negative; a window wholly before 0 would make the model fail.
        domain = tuple(w for w in visit.start_domain() if w.end > 0)
        if not domain:
            if visit.windows:
                # No window can hold the whole visit: it can never be performed. Skipping
                # the domain would leave its start free, i.e. the visit allowed any time.
                routing.ActiveVar(index).SetValue(0)
            continue
        cumul = dim.CumulVar(index)
        cumul.SetRange(domain[0].start, domain[-1].end - 1)
        for a, b in itertools.pairwise(domain):
            if b.start > a.end:
                cumul.RemoveInterval(a.end, b.start - 1)

    for v, vehicle in enumerate(problem.vehicles):
        for index in (routing.Start(v), routing.End(v)):
            dim.CumulVar(index).SetRange(vehicle.shift.start, vehicle.shift.end)
    return dim, travel_cost_callback(routing, travel)


def travel_cost_callback(routing: Any, travel: np.ndarray[Any, Any]) -> int:
    """Arc cost is pure travel time, so the objective is driving, not waiting or visiting."""
    return int(routing.RegisterTransitMatrix(travel.tolist()))


def _add_breaks(
    routing: Any, manager: Any, problem: Problem, nodes: _Nodes, dim: Any
) -> dict[str, int]:
    solver = routing.solver()
    service = _service(problem, nodes)
    visit_transits = [service[manager.IndexToNode(i)] for i in range(routing.Size())]
    owner: dict[str, int] = {}
    for v, vehicle in enumerate(problem.vehicles):
        intervals = []
        for k, brk in enumerate(vehicle.breaks):
            name = f"break-{v}-{k}"
            owner[name] = v
            intervals.append(
                solver.FixedDurationIntervalVar(
                    brk.window.start, brk.window.end - brk.duration, brk.duration, False, name
                )
            )
        if intervals:
            dim.SetBreakIntervalsOfVehicle(intervals, v, visit_transits)
    return owner


def _add_counts(routing: Any, problem: Problem, nodes: _Nodes) -> None:
    if any(v.max_visits is not None for v in problem.vehicles):
        ones = nodes.per_node([1] * len(problem.visits))
        cb = routing.RegisterUnaryTransitVector(ones)
        caps = [
            v.max_visits if v.max_visits is not None else len(problem.visits)
            for v in problem.vehicles
        ]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, _COUNT)
    if any(v.capacity is not None for v in problem.vehicles):
        demand = nodes.per_node([s.demand for s in problem.visits])
        cb = routing.RegisterUnaryTransitVector(demand)
        total = sum(demand)
        caps = [v.capacity if v.capacity is not None else total for v in problem.vehicles]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, _LOAD)


def iterated(params: SolveParams) -> bool:
    """Whether ``solve`` runs ``params`` as iterated local search (see _ITERATED_FOR)."""
    return params.iterated and params.metaheuristic in _ITERATED_FOR


def _search_parameters(params: SolveParams, *, allow_iterated: bool = True) -> Any:
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, params.first_solution.value
    )
    search.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, params.metaheuristic.value
    )
    if allow_iterated and iterated(params):
        _iterated_local_search(search, deterministic=params.solution_limit is not None)
    # Cheapest-insertion first solutions weigh each visit against its nearest fifth of the
    # others (at least 10) instead of all: on six Solomon instances at 2 s this cut the mean
    # gap from 4.5 % to 3.2-3.5 % (two runs), since the search starts sooner.
    first = search.global_cheapest_insertion_first_solution_parameters
    first.neighbors_ratio = _INSERTION_NEIGHBORS_RATIO
    first.min_neighbors = _INSERTION_MIN_NEIGHBORS
    search.time_limit.FromMilliseconds(max(1, round(params.time_limit_s * 1000)))
    if params.solution_limit is not None:
        search.solution_limit = params.solution_limit
    return search


def _iterated_local_search(search: Any, *, deterministic: bool) -> None:
    """Turn ``search`` into iterated local search: greedy descents between ruin-and-recreate.

    The descent must end on its own (a metaheuristic such as GLS would keep the first descent
    going until the time limit, leaving no time to iterate). Simulated annealing accepts a
    worse reference at a temperature that falls with max(time used, solutions found) over
    their limits, so it follows the clock; with a ``solution_limit`` (a repeatable search)
    only improving references are accepted instead, which depends on costs alone.
    """
    search.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    search.use_iterated_local_search = True
    ils = search.iterated_local_search_parameters
    ils.improve_perturbed_solution = True
    sisr = ils.ruin_recreate_parameters.ruin_strategies.add().sisr
    sisr.avg_num_removed_visits = _ILS_REMOVED
    sisr.max_removed_sequence_size = _ILS_SEQUENCE
    sisr.bypass_factor = _ILS_BYPASS
    reference = ils.reference_solution_acceptance_strategy
    if deterministic:
        reference.greedy_descent.SetInParent()
    else:
        reference.simulated_annealing.automatic_temperatures = True


def solve(problem: Problem, params: SolveParams) -> Solution:
    """Solve ``problem`` within ``params``' limits; visits that cannot fit are dropped.

    The empty plan is always feasible (every visit is a disjunction), so this raises
    ``NoSolutionError`` only if OR-Tools itself fails, which is a bug worth hearing about.
    With ``params.parallel`` > 1, that many differently configured searches run at once (the
    first here, the others in child processes) and the lowest objective wins; ties go to the
    lowest-numbered search, so with a ``solution_limit`` the answer is still deterministic
    (as long as that limit, not the clock, ends every search).
    """
    if params.parallel <= 1 or not problem.vehicles or not problem.visits:
        return _solve_one(problem, params)
    began = time.perf_counter()
    deadline = time.time() + params.time_limit_s
    variants = search_variants(params)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(variants) - 1, mp_context=ctx) as pool:
        try:
            futures = [pool.submit(_solve_by, problem, v, deadline) for v in variants[1:]]
        except (AssertionError, OSError, RuntimeError):
            # No child processes here (e.g. inside a daemonic worker): search alone.
            futures = []
        results = [_solve_one(problem, variants[0])]
        for future in futures:
            # A lost helper search costs quality, never the answer: the first one stands.
            with contextlib.suppress(Exception):
                results.append(future.result())
    best = min(results, key=lambda sol: sol.objective)  # min keeps the first of equals
    return replace(
        best,
        wall_time_s=time.perf_counter() - began,
        solutions_found=sum(r.solutions_found for r in results),
    )


def search_variants(params: SolveParams) -> list[SolveParams]:
    """The configurations run side by side: the caller's own first, then alternatives.

    They differ in the first solution, so one bad start does not sink the answer; the order
    was chosen by measurement (bench/README.md, "solomon_bench.py"). Other knobs measured there
    (metaheuristic, GLS lambda, extra LNS operators) changed the gap less than run-to-run noise.
    """
    first = params.first_solution
    alternatives = [
        replace(params, parallel=1, first_solution=f) for f in _ALTERNATIVE_FIRST if f is not first
    ]
    return [replace(params, parallel=1), *alternatives][: params.parallel]


def _solve_by(problem: Problem, params: SolveParams, deadline: float) -> Solution:
    """Child-process entry: solve with what is left of the shared wall-clock budget.

    Spawning a process and importing OR-Tools takes up to a second, which comes out of this
    search's time so the caller's limit holds for the whole parallel solve.
    """
    left = max(0.05, deadline - time.time())
    return _solve_one(problem, replace(params, time_limit_s=min(params.time_limit_s, left)))


def _solve_one(problem: Problem, params: SolveParams) -> Solution:
    """One OR-Tools search in this process."""
    began = time.perf_counter()
    nodes = _layout(problem)
    if not problem.vehicles:
        return Solution((), tuple(range(len(problem.visits))), 0, "NO_VEHICLES", 0.0)
    manager = pywrapcp.RoutingIndexManager(
        len(nodes.location), len(problem.vehicles), nodes.vehicle_starts, nodes.vehicle_ends
    )
    routing = pywrapcp.RoutingModel(manager)
    horizon = _horizon_end(problem)
    dim, cost_cb = _add_time_dimension(routing, manager, problem, nodes, horizon)
    routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    break_owner = _add_breaks(routing, manager, problem, nodes, dim)
    _add_counts(routing, problem, nodes)

    for v, vehicle in enumerate(problem.vehicles):
        if vehicle.fixed_cost:
            routing.SetFixedCostOfVehicle(vehicle.fixed_cost, v)
    for i, visit in enumerate(problem.visits):
        index = manager.NodeToIndex(nodes.first_visit + i)
        routing.AddDisjunction([index], visit.penalty)
        if visit.allowed_vehicles is not None and len(visit.allowed_vehicles) < len(
            problem.vehicles
        ):
            # SetAllowedVehiclesForIndex's absl::Span binding rejects Python lists in this
            # release; restricting the vehicle variable is equivalent (-1 = unperformed).
            routing.VehicleVar(index).SetValues([-1, *sorted(visit.allowed_vehicles)])

    # Report compact days: leave as late and come back as early as the plan allows.
    for v in range(len(problem.vehicles)):
        routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.End(v)))
        routing.AddVariableMaximizedByFinalizer(dim.CumulVar(routing.Start(v)))

    search = _search_parameters(params)
    found = [0]
    if search.use_iterated_local_search:
        # The loop runs many searches; the solver only counts the last one's solutions.
        routing.AddAtSolutionCallback(lambda: found.__setitem__(0, found[0] + 1))
        # No stall rule: OR-Tools' ILS loop ends only on the clock or the solution count, so
        # a stalled step would just end each later step at once (measured: it idles through
        # to the time limit all the same); the search uses its whole time limit.
    elif params.stall_s is not None:
        _add_stall_limit(routing, params.stall_s)
    assignment = _run_search(routing, search)
    if assignment is None and search.use_iterated_local_search:
        # Without a first solution in time ILS returns nothing, where SolveWithParameters
        # keeps the all-unperformed plan it checked before searching (measured: a 600-visit,
        # 50-route model whose insertion took ~20 s of a 20 s limit). Same answer here.
        dropped = tuple(range(len(problem.visits)))
        penalty = sum(v.penalty for v in problem.visits)
        status = "ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED"
        return Solution((), dropped, penalty, status, time.perf_counter() - began, found[0])
    if assignment is None:
        raise NoSolutionError(f"OR-Tools returned no solution (status {routing.status()})")
    routes, dropped = _extract(problem, nodes, routing, manager, dim, assignment, break_owner)
    if search.use_iterated_local_search:
        # SolveWithIteratedLocalSearch leaves the model's status unset (ROUTING_NOT_SOLVED).
        status, solutions = "ROUTING_SUCCESS", found[0]
    else:
        status, solutions = _status_name(routing.status()), int(routing.solver().Solutions())
    return Solution(
        routes=routes,
        dropped=dropped,
        objective=int(assignment.ObjectiveValue()),
        status=status,
        wall_time_s=time.perf_counter() - began,
        solutions_found=solutions,
    )


def _run_search(routing: Any, search: Any) -> Any:
    """Run ``search`` on ``routing``; iterated local search is its own entry point.

    OR-Tools 9.15 ignores ``use_iterated_local_search`` in ``SolveWithParameters``: only
    ``SolveWithIteratedLocalSearch`` runs the ruin-and-recreate loop.
    """
    if not search.use_iterated_local_search:
        return routing.SolveWithParameters(search)
    return routing.SolveWithIteratedLocalSearch(search)


def _add_stall_limit(routing: Any, stall_s: float) -> None:
    """Stop the search once ``stall_s`` seconds pass without a better solution.

    Guided local search never stops on its own; without this a two-customer plan would
    use the whole time limit. The check is a cheap clock read, polled by OR-Tools.
    """
    best: list[int] = []  # the best cost so far, once there is one
    last = [time.monotonic()]

    def on_solution() -> None:
        cost = int(routing.CostVar().Value())
        if not best or cost < best[0]:
            best[:] = [cost]
            last[0] = time.monotonic()

    def stalled() -> bool:
        return bool(best) and time.monotonic() - last[0] > stall_s

    routing.AddAtSolutionCallback(on_solution)
    routing.AddSearchMonitor(routing.solver().CustomLimit(stalled))


def _status_name(status: int) -> str:
    # The status enum is nested (RoutingSearchStatus.Value) in the pinned release, so the
    # class's own attributes hold no names.
    names = {v: k for k, v in routing_enums_pb2.RoutingSearchStatus.Value.items()}
    return str(names.get(status, status))


def _extract(
    problem: Problem,
    nodes: _Nodes,
    routing: Any,
    manager: Any,
    dim: Any,
    assignment: Any,
    break_owner: dict[str, int],
) -> tuple[tuple[Route, ...], tuple[int, ...]]:
    breaks: dict[int, list[Window]] = {}
    intervals = assignment.IntervalVarContainer()
    for k in range(intervals.Size()):
        element = intervals.Element(k)
        if element.PerformedValue():
            v = break_owner[element.Var().Name()]
            start, length = element.StartValue(), element.DurationValue()
            breaks.setdefault(v, []).append(Window(start, start + length))

    durations, distances = problem.matrix.durations, problem.matrix.distances
    routes: list[Route] = []
    served: set[int] = set()
    for v in range(len(problem.vehicles)):
        index = routing.Start(v)
        depart = assignment.Value(dim.CumulVar(index))
        prev_loc, prev_end = nodes.location[manager.IndexToNode(index)], depart
        vehicle_breaks = sorted(breaks.get(v, []))
        stops: list[Stop] = []
        index = assignment.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            visit = nodes.visit_of(node)
            loc = nodes.location[node]
            start = assignment.Value(dim.CumulVar(index))
            travel = int(durations[prev_loc, loc])
            arrival = _arrival(prev_end, travel, vehicle_breaks)
            end = start + problem.visits[visit].duration
            wait = start - arrival - _break_time(arrival, start, vehicle_breaks)
            leg_m = int(distances[prev_loc, loc])
            stops.append(Stop(visit, arrival, start, end, travel, leg_m, wait))
            served.add(visit)
            prev_loc, prev_end = loc, end
            index = assignment.Value(routing.NextVar(index))
        if not stops:
            continue
        end_loc = nodes.location[manager.IndexToNode(index)]
        travel = int(durations[prev_loc, end_loc])
        routes.append(
            Route(
                vehicle=v,
                depart=depart,
                stops=tuple(stops),
                arrival_end=_arrival(prev_end, travel, vehicle_breaks),
                return_travel_s=travel,
                return_travel_m=int(distances[prev_loc, end_loc]),
                breaks=tuple(vehicle_breaks),
            )
        )
    dropped = tuple(i for i in range(len(problem.visits)) if i not in served)
    return tuple(routes), dropped


def _arrival(leave: int, travel: int, breaks: list[Window]) -> int:
    """When the rep arrives after leaving at ``leave``; a break that starts before the
    drive would end interrupts it (OR-Tools places breaks inside a leg's slack)."""
    arrival = leave + travel
    for brk in breaks:
        if leave <= brk.start < arrival:
            arrival += brk.length
    return arrival


def _break_time(begin: int, end: int, breaks: list[Window]) -> int:
    """Seconds of break inside ``[begin, end)``: idle time that is lunch, not waiting."""
    return sum(max(0, min(end, b.end) - max(begin, b.start)) for b in breaks)


# -- re-planning (warm start from the current routes, change costs) --


def solve_warm(problem: Problem, params: SolveParams, warm: WarmStart) -> Solution:
    """Re-optimise from the current routes: the search starts at them and pays for changes.

    Change costs live in one arc-cost matrix per vehicle (travel, plus ``move_cost`` into a
    visit that was on another vehicle, plus ``reorder_cost`` into a visit over an arc the
    current plan did not have), registered as transit matrices so the search never calls
    back into Python. The current routes become the first solution; when they no longer fit
    (a shorter day, a new start point), each route is cut back from its end until the rest
    fits, and the search inserts what was cut. Always in this process (no parallel search):
    a re-plan is small and must answer fast.
    """
    began = time.perf_counter()
    nodes = _layout(problem)
    if not problem.vehicles:
        return Solution((), tuple(range(len(problem.visits))), 0, "NO_VEHICLES", 0.0)
    manager = pywrapcp.RoutingIndexManager(
        len(nodes.location), len(problem.vehicles), nodes.vehicle_starts, nodes.vehicle_ends
    )
    routing = pywrapcp.RoutingModel(manager)
    horizon = _horizon_end(problem)
    dim, cost_cb = _add_time_dimension(routing, manager, problem, nodes, horizon)
    if warm.move_cost or warm.reorder_cost:
        loc = np.asarray(nodes.location, dtype=np.int64)
        travel = problem.matrix.durations[np.ix_(loc, loc)]
        for v, matrix in enumerate(_change_costs(problem, nodes, travel, warm)):
            routing.SetArcCostEvaluatorOfVehicle(routing.RegisterTransitMatrix(matrix), v)
    else:  # nothing to pay for changes: one shared travel cost, as in a cold solve
        routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    break_owner = _add_breaks(routing, manager, problem, nodes, dim)
    _add_counts(routing, problem, nodes)
    for v, vehicle in enumerate(problem.vehicles):
        if vehicle.fixed_cost:
            routing.SetFixedCostOfVehicle(vehicle.fixed_cost, v)
    for i, visit in enumerate(problem.visits):
        index = manager.NodeToIndex(nodes.first_visit + i)
        routing.AddDisjunction([index], visit.penalty)
        if visit.allowed_vehicles is not None and len(visit.allowed_vehicles) < len(
            problem.vehicles
        ):
            routing.VehicleVar(index).SetValues([-1, *sorted(visit.allowed_vehicles)])
    _pin(routing, manager, nodes, dim, warm)
    for v in range(len(problem.vehicles)):
        routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.End(v)))
        routing.AddVariableMaximizedByFinalizer(dim.CumulVar(routing.Start(v)))
    if params.stall_s is not None:
        _add_stall_limit(routing, params.stall_s)
    # Iterated local search has no entry point that starts from given routes: plain search.
    search = _search_parameters(params, allow_iterated=False)
    routing.CloseModelWithParameters(search)
    initial = _initial_assignment(routing, manager, nodes, warm)
    if initial is None:
        assignment = routing.SolveWithParameters(search)
    else:
        assignment = routing.SolveFromAssignmentWithParameters(initial, search)
    if assignment is None:
        raise NoSolutionError(f"OR-Tools returned no solution (status {routing.status()})")
    routes, dropped = _extract(problem, nodes, routing, manager, dim, assignment, break_owner)
    return Solution(
        routes=routes,
        dropped=dropped,
        objective=int(assignment.ObjectiveValue()),
        status=_status_name(routing.status()),
        wall_time_s=time.perf_counter() - began,
        solutions_found=int(routing.solver().Solutions()),
    )


def _change_costs(
    problem: Problem, nodes: _Nodes, travel: np.ndarray[Any, Any], warm: WarmStart
) -> list[list[list[int]]]:
    """Per vehicle: travel plus what arriving at each visit over each arc changes."""
    first = nodes.first_visit
    out = []
    for v in range(len(problem.vehicles)):
        cost = travel.copy()
        for i, prev in enumerate(warm.previous):
            if prev is not None and prev != v:
                cost[:, first + i] += warm.move_cost
        if warm.reorder_cost and v < len(warm.routes):
            kept = np.zeros_like(cost, dtype=bool)
            before = nodes.vehicle_starts[v]
            for i in warm.routes[v]:
                kept[before, first + i] = True
                before = first + i
            # Arcs into this vehicle's own visits that the current plan did not have.
            own = [first + i for i in warm.routes[v]]
            changed = ~kept[:, own]
            cost[:, own] += changed * warm.reorder_cost
        out.append(cost.tolist())
    return out


def _pin(routing: Any, manager: Any, nodes: _Nodes, dim: Any, warm: WarmStart) -> None:
    """Frozen chains open their vehicle's route in order; fixed visits keep vehicle and start."""
    solver = routing.solver()
    for v, chain in enumerate(warm.frozen):
        before = routing.Start(v)
        for i in chain:
            index = manager.NodeToIndex(nodes.first_visit + i)
            solver.Add(routing.NextVar(before) == index)
            before = index
    for i, v, start in warm.fixed:
        index = manager.NodeToIndex(nodes.first_visit + i)
        routing.VehicleVar(index).SetValues([-1, v])
        dim.CumulVar(index).SetRange(start, start)


def _initial_assignment(routing: Any, manager: Any, nodes: _Nodes, warm: WarmStart) -> Any:
    """The current routes as a first solution, each cut back from its end until all fit."""
    routes = [[manager.NodeToIndex(nodes.first_visit + i) for i in route] for route in warm.routes]
    routes += [[] for _ in range(routing.vehicles() - len(routes))]
    assignment = routing.ReadAssignmentFromRoutes(routes, True)
    if assignment is not None:
        return assignment
    # Something no longer fits: keep routes one at a time, trimming each until it does.
    kept: list[list[int]] = [[] for _ in routes]
    for v, route in enumerate(routes):
        for length in range(len(route), 0, -1):
            kept[v] = route[:length]
            if routing.ReadAssignmentFromRoutes(kept, True) is not None:
                break
        else:
            kept[v] = []
    return routing.ReadAssignmentFromRoutes(kept, True)
