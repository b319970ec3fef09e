"""The generic OR-Tools model: coverage, caps, windows, breaks, vehicle rules, determinism."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from solver.routing import _search_parameters, iterated, search_variants, solve
from solver.types import (
    BreakSpec,
    FirstSolution,
    Metaheuristic,
    Problem,
    Solution,
    SolveParams,
    TravelMatrix,
    Vehicle,
    Visit,
    Window,
)

# Tiny models can run to the time limit (no new solution to count), so keep it short.
PARAMS = SolveParams(time_limit_s=1.0, solution_limit=100)
PENALTY = 1_000_000


def line_matrix(xs: Sequence[int], seconds_per_unit: int = 60) -> TravelMatrix:
    """Locations on a line; travel is proportional to the gap (metres = 10 x seconds)."""
    x = np.asarray(xs, dtype=np.int64)
    gaps = np.abs(x[:, None] - x[None, :]) * seconds_per_unit
    return TravelMatrix(durations=gaps, distances=gaps * 10)


def assert_consistent(problem: Problem, solution: Solution) -> None:
    """Each visit served at most once or dropped; legs, times, windows, shifts and caps hold."""
    served = [s.visit for r in solution.routes for s in r.stops]
    assert len(served) == len(set(served))
    assert set(served).isdisjoint(solution.dropped)
    assert set(served) | set(solution.dropped) == set(range(len(problem.visits)))
    d = problem.matrix.durations
    for route in solution.routes:
        vehicle = problem.vehicles[route.vehicle]
        assert vehicle.shift.start <= route.depart
        assert route.arrival_end <= vehicle.shift.end
        if vehicle.max_visits is not None:
            assert len(route.stops) <= vehicle.max_visits
        if vehicle.capacity is not None:
            assert sum(problem.visits[s.visit].demand for s in route.stops) <= vehicle.capacity
        prev_loc, prev_end = vehicle.start, route.depart
        for stop in route.stops:
            visit = problem.visits[stop.visit]
            allowed = visit.allowed_vehicles
            assert allowed is None or route.vehicle in allowed
            assert stop.travel_s == d[prev_loc, visit.location]
            assert stop.arrival >= prev_end + stop.travel_s
            assert stop.start >= stop.arrival
            assert stop.wait_s >= 0
            assert stop.end == stop.start + visit.duration
            if visit.windows:
                assert any(w.start <= stop.start and stop.end <= w.end for w in visit.windows)
            for brk in route.breaks:
                assert brk.end <= stop.start or brk.start >= stop.end
            prev_loc, prev_end = visit.location, stop.end
        assert route.return_travel_s == d[prev_loc, vehicle.end]
        assert route.arrival_end >= prev_end + route.return_travel_s


def test_single_vehicle_visits_everything_when_it_fits() -> None:
    """With ample time, nothing is dropped and the route is the straight sweep."""
    xs = [0, 5, 1, 9, 3, 7, 2, 8, 4]
    matrix = line_matrix(xs)
    visits = tuple(Visit(i, 600, PENALTY) for i in range(1, len(xs)))
    problem = Problem(matrix, (Vehicle(0, 0, Window(0, 36_000)),), visits)
    solution = solve(problem, PARAMS)
    assert_consistent(problem, solution)
    assert solution.dropped == ()
    assert solution.travel_s == 2 * 9 * 60, "an out-and-back along a line is optimal"


def test_capacity_is_respected() -> None:
    """Demand on a route never exceeds its vehicle's capacity; the excess is dropped."""
    matrix = line_matrix([0, 1, 2, 3, 4, 5, 6])
    visits = tuple(Visit(i, 60, PENALTY, demand=2) for i in range(1, 7))
    vehicles = (Vehicle(0, 0, Window(0, 36_000), capacity=5),) * 2
    problem = Problem(matrix, vehicles, visits)
    solution = solve(problem, PARAMS)
    assert_consistent(problem, solution)
    assert len(solution.dropped) == 2


def test_max_visits_is_respected() -> None:
    """No route has more stops than its vehicle's max_visits."""
    matrix = line_matrix(list(range(11)))
    visits = tuple(Visit(i, 60, PENALTY) for i in range(1, 11))
    vehicles = (Vehicle(0, 0, Window(0, 36_000), max_visits=3),) * 2
    problem = Problem(matrix, vehicles, visits)
    solution = solve(problem, PARAMS)
    assert_consistent(problem, solution)
    assert len(solution.dropped) == 4


def test_two_interval_windows_hold_the_whole_visit_in_one() -> None:
    """A visit lands wholly inside one of its intervals, never across the gap between them."""
    matrix = line_matrix([0, 1, 2, 3, 4])
    windows = (Window(1_000, 2_000), Window(5_000, 7_000))
    visits = (
        Visit(1, 1_200, PENALTY, windows=windows),  # too long for the first interval
        Visit(2, 900, PENALTY, windows=(Window(1_500, 2_600), Window(4_000, 4_950))),
        Visit(3, 600, PENALTY, windows=(Window(0, 700), Window(8_000, 9_000))),
        Visit(4, 300, PENALTY, windows=windows),
    )
    problem = Problem(matrix, (Vehicle(0, 0, Window(0, 20_000)),), visits)
    solution = solve(problem, PARAMS)
    assert_consistent(problem, solution)
    assert solution.dropped == ()
    first = next(s for r in solution.routes for s in r.stops if s.visit == 0)
    assert 5_000 <= first.start <= 7_000 - 1_200


def test_break_is_placed_and_no_visit_overlaps_it() -> None:
    """A mandatory break lies in its window, has its length and overlaps no visit."""
    matrix = line_matrix([0, 1, 2, 3, 4, 5, 6])
    visits = tuple(Visit(i, 1_800, PENALTY) for i in range(1, 7))
    brk = BreakSpec(Window(3_600, 9_000), 2_400)
    problem = Problem(matrix, (Vehicle(0, 0, Window(0, 20_000), breaks=(brk,)),), visits)
    solution = solve(problem, PARAMS)
    assert_consistent(problem, solution)
    assert solution.dropped == ()
    (route,) = solution.routes
    (placed,) = route.breaks
    assert placed.length == brk.duration
    assert brk.window.start <= placed.start
    assert placed.end <= brk.window.end


def test_allowed_vehicles_are_respected() -> None:
    """A visit only rides a vehicle it allows, even when another would be cheaper."""
    matrix = line_matrix([0, 10, 1, 2, 11, 12])
    left, right = frozenset({0}), frozenset({1})
    visits = (
        Visit(2, 60, PENALTY, allowed_vehicles=right),
        Visit(3, 60, PENALTY, allowed_vehicles=right),
        Visit(4, 60, PENALTY, allowed_vehicles=left),
        Visit(5, 60, PENALTY, allowed_vehicles=left),
    )
    vehicles = (Vehicle(0, 0, Window(0, 36_000)), Vehicle(1, 1, Window(0, 36_000)))
    problem = Problem(matrix, vehicles, visits)
    solution = solve(problem, PARAMS)
    assert_consistent(problem, solution)
    assert solution.dropped == ()


def test_impossible_visits_are_dropped_not_errors() -> None:
    """A visit too far, too long for its window, or outside the shift is dropped quietly."""
    matrix = line_matrix([0, 1, 1_000, 2, 3])
    visits = (
        Visit(1, 60, PENALTY),
        Visit(2, 60, PENALTY),  # 16.7 h out, the shift is 10 h
        Visit(3, 500, PENALTY, windows=(Window(100, 200),)),  # window shorter than the visit
        Visit(4, 60, PENALTY, windows=(Window(50_000, 60_000),)),  # after the shift
    )
    problem = Problem(matrix, (Vehicle(0, 0, Window(0, 36_000)),), visits)
    solution = solve(problem, PARAMS)
    assert_consistent(problem, solution)
    assert solution.dropped == (1, 2, 3)


def test_no_vehicles_drops_everything() -> None:
    """Without vehicles every visit is dropped and nothing raises."""
    problem = Problem(line_matrix([0, 1]), (), (Visit(1, 60, PENALTY),))
    assert solve(problem, PARAMS).dropped == (0,)


def test_same_seed_and_solution_limit_give_the_same_plan() -> None:
    """Solving twice with the same parameters and a solution limit gives identical routes."""
    rng = np.random.default_rng(7)
    xs = [0, *rng.integers(-50, 50, size=20).tolist()]
    windows = (Window(0, 9_000), Window(12_000, 30_000))
    visits = tuple(Visit(i, 900, PENALTY, windows=windows) for i in range(1, len(xs)))
    vehicles = (
        Vehicle(
            0, 0, Window(0, 30_000), max_visits=8, breaks=(BreakSpec(Window(9_000, 14_000), 1_800),)
        ),
    ) * 3
    problem = Problem(line_matrix(xs), vehicles, visits)
    params = SolveParams(time_limit_s=30.0, solution_limit=150, seed=3)
    first, second = solve(problem, params), solve(problem, params)
    assert_consistent(problem, first)
    assert first.routes == second.routes
    assert first.dropped == second.dropped
    assert first.objective == second.objective


def test_windows_before_the_epoch_drop_the_visit() -> None:
    """A visit whose windows all end before time 0 is dropped instead of failing the model."""
    matrix = line_matrix([0, 1, 2])
    visits = (Visit(1, 60, PENALTY, windows=(Window(-1_000, -100),)), Visit(2, 60, PENALTY))
    problem = Problem(matrix, (Vehicle(0, 0, Window(0, 36_000)),), visits)
    solution = solve(problem, SolveParams(time_limit_s=1.0, solution_limit=20))
    assert_consistent(problem, solution)
    assert solution.dropped == (0,)


def test_status_is_a_named_routing_status() -> None:
    """The reported status is OR-Tools' status name, not a bare number."""
    problem = Problem(line_matrix([0, 1]), (Vehicle(0, 0, Window(0, 36_000)),), (Visit(1, 60, 1),))
    assert solve(problem, PARAMS).status.startswith("ROUTING_")


def test_default_search_is_iterated_local_search() -> None:
    """The default runs as ILS (SISR ruin); other metaheuristics run as asked."""
    default = SolveParams()
    assert iterated(default)
    assert not iterated(replace(default, metaheuristic=Metaheuristic.TABU_SEARCH))
    assert not iterated(replace(default, iterated=False))
    search = _search_parameters(default)
    assert search.use_iterated_local_search
    ils = search.iterated_local_search_parameters
    assert ils.ruin_recreate_parameters.ruin_strategies[0].HasField("sisr")
    assert ils.reference_solution_acceptance_strategy.HasField("simulated_annealing")
    assert not _search_parameters(default, allow_iterated=False).use_iterated_local_search


def test_a_solution_limit_makes_iterated_search_accept_only_improvements() -> None:
    """Annealing follows the clock, so a repeatable (solution-limited) search descends instead."""
    search = _search_parameters(SolveParams(solution_limit=50))
    acceptance = search.iterated_local_search_parameters.reference_solution_acceptance_strategy
    assert acceptance.HasField("greedy_descent")


def test_iterated_search_reports_success_and_its_solutions() -> None:
    """ILS leaves OR-Tools' status unset; the solve still reports success and counts solutions."""
    problem = _windowed_problem(3)
    solution = solve(problem, SolveParams(time_limit_s=10.0, solution_limit=40))
    assert_consistent(problem, solution)
    assert solution.status == "ROUTING_SUCCESS"
    assert solution.solutions_found >= 40


def _last_visit_only() -> Problem:
    """Two reps with distinct homes; only the last of ten visits can ever be made."""
    xs = [0, 100] + [5 * i for i in range(1, 11)]
    never = (Window(10**6, 10**6 + 100),)
    visits = tuple(Visit(2 + i, 60, PENALTY, windows=never) for i in range(9))
    visits += (Visit(11, 60, PENALTY),)
    vehicles = (Vehicle(0, 0, Window(0, 3600)), Vehicle(1, 1, Window(0, 3600)))
    return Problem(line_matrix(xs, 1), vehicles, visits)


def test_every_visit_is_in_the_range_the_ils_ruin_draws_from() -> None:
    """OR-Tools' SISR ruin picks visits among routing indices 0..Size()-vehicles() only."""
    from ortools.constraint_solver import pywrapcp

    from solver.routing import _layout

    problem = _last_visit_only()
    nodes = _layout(problem)
    manager = pywrapcp.RoutingIndexManager(
        len(nodes.location), len(problem.vehicles), nodes.vehicle_starts, nodes.vehicle_ends
    )
    routing = pywrapcp.RoutingModel(manager)
    top = routing.Size() - routing.vehicles()
    indexes = [manager.NodeToIndex(nodes.first_visit + i) for i in range(len(problem.visits))]
    assert max(indexes) <= top
    assert not any(routing.IsStart(i) or routing.IsEnd(i) for i in indexes)


def test_iterated_search_returns_when_only_the_last_visit_fits() -> None:
    """With depots laid out first this solve never returned (the ruin's draw looped forever).

    Run in a child process with a timeout, so a regression fails instead of hanging the suite.
    """
    code = (
        "from tests.solver.test_routing import _last_visit_only\n"
        "from solver.routing import solve\n"
        "from solver.types import SolveParams\n"
        "s = solve(_last_visit_only(), SolveParams(time_limit_s=1.0))\n"
        "print([stop.visit for r in s.routes for stop in r.stops], len(s.dropped))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["[9]", "9"]


def _windowed_problem(seed: int) -> Problem:
    rng = np.random.default_rng(seed)
    xs = [0, *rng.integers(-60, 60, size=24).tolist()]
    visits = []
    for i in range(1, len(xs)):
        start = int(rng.integers(0, 20_000))
        visits.append(Visit(i, 600, PENALTY, windows=(Window(start, start + 7_200),), demand=1))
    vehicles = (Vehicle(0, 0, Window(0, 32_000), capacity=9),) * 4
    return Problem(line_matrix(xs), vehicles, tuple(visits))


def test_parallel_search_is_deterministic_and_never_worse_than_one() -> None:
    """Two parallel searches with a solution limit repeat exactly and tie or beat one alone."""
    problem = _windowed_problem(11)
    params = SolveParams(time_limit_s=30.0, solution_limit=60, parallel=2)
    first, second = solve(problem, params), solve(problem, params)
    alone = solve(problem, replace(params, parallel=1))
    assert_consistent(problem, first)
    assert first.routes == second.routes
    assert first.objective == second.objective
    assert first.objective <= alone.objective


def test_search_variants_start_with_the_callers_own_and_differ() -> None:
    """The first variant is the caller's set-up; the others try other first solutions."""
    params = SolveParams(
        first_solution=FirstSolution.SAVINGS,
        metaheuristic=Metaheuristic.TABU_SEARCH,
        parallel=3,
    )
    variants = search_variants(params)
    assert len(variants) == 3
    assert variants[0] == replace(params, parallel=1)
    assert all(v.parallel == 1 for v in variants)
    assert len({v.first_solution for v in variants}) == 3


def test_parallel_one_is_a_single_search() -> None:
    """parallel=1 asks for exactly the caller's own search."""
    params = SolveParams(parallel=1)
    assert search_variants(params) == [params]


def test_parallel_falls_back_to_one_search_without_child_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When no child process can start, parallel solving returns the caller's own search."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(ProcessPoolExecutor, "submit", refuse)
    problem = _windowed_problem(5)
    params = SolveParams(time_limit_s=30.0, solution_limit=40, parallel=2)
    fallback = solve(problem, params)
    alone = solve(problem, replace(params, parallel=1))
    assert_consistent(problem, fallback)
    assert fallback.routes == alone.routes
    assert fallback.objective == alone.objective
