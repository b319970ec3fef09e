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

import itertools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from solver.errors import NoSolutionError
from solver.types import Problem, Route, Solution, SolveParams, Stop, Window

_TIME = "time"
_COUNT = "visits"
_LOAD = "load"


@dataclass(frozen=True)
class _Nodes:
    """Node layout: depots first (distinct locations), then one node per visit."""

    location: list[int]  # node -> matrix index
    vehicle_starts: list[int]
    vehicle_ends: list[int]
    first_visit: int

    def visit_of(self, node: int) -> int:
        return node - self.first_visit


def _layout(problem: Problem) -> _Nodes:
    depots: dict[int, int] = {}
    for v in problem.vehicles:
        for loc in (v.start, v.end):
            depots.setdefault(loc, len(depots))
    location = list(depots) + [s.location for s in problem.visits]
    return _Nodes(
        location=location,
        vehicle_starts=[depots[v.start] for v in problem.vehicles],
        vehicle_ends=[depots[v.end] for v in problem.vehicles],
        first_visit=len(depots),
    )


def _horizon_end(problem: Problem) -> int:
    ends = [v.shift.end for v in problem.vehicles]
    ends += [w.end for s in problem.visits for w in s.windows]
    return max(ends, default=1)


def _service(problem: Problem, nodes: _Nodes) -> list[int]:
    return [0] * nodes.first_visit + [s.duration for s in problem.visits]


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
        ones = [0] * nodes.first_visit + [1] * len(problem.visits)
        cb = routing.RegisterUnaryTransitVector(ones)
        caps = [
            v.max_visits if v.max_visits is not None else len(problem.visits)
            for v in problem.vehicles
        ]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, _COUNT)
    if any(v.capacity is not None for v in problem.vehicles):
        demand = [0] * nodes.first_visit + [s.demand for s in problem.visits]
        cb = routing.RegisterUnaryTransitVector(demand)
        total = sum(demand)
        caps = [v.capacity if v.capacity is not None else total for v in problem.vehicles]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, _LOAD)


def _search_parameters(params: SolveParams) -> Any:
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, params.first_solution.value
    )
    search.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, params.metaheuristic.value
    )
    search.time_limit.FromMilliseconds(max(1, round(params.time_limit_s * 1000)))
    if params.solution_limit is not None:
        search.solution_limit = params.solution_limit
    return search


def solve(problem: Problem, params: SolveParams) -> Solution:
    """Solve ``problem`` within ``params``' limits; visits that cannot fit are dropped.

    The empty plan is always feasible (every visit is a disjunction), so this raises
    ``NoSolutionError`` only if OR-Tools itself fails, which is a bug worth hearing about.
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

    if params.stall_s is not None:
        _add_stall_limit(routing, params.stall_s)
    assignment = routing.SolveWithParameters(_search_parameters(params))
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
