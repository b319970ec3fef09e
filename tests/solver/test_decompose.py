"""Decomposition of large requests: feasible, pins kept, everyone accounted for, repeatable."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from unittest import mock

import numpy as np

from solver import decompose
from solver.decompose import (
    DecomposeConfig,
    objective,
    should_decompose,
    solve_decomposed,
    subproblem,
)
from solver.distance import straight_line_matrix
from solver.domain import CustomerInput, Lunch, PlanningInput, PlanOutcome, RepInput
from solver.pipeline import plan
from solver.types import DAY, Point, Problem, SolveParams, TravelMatrix, Vehicle, Visit, Window
from tests.solver.feasibility import HOUR, MINUTE, assert_feasible, offset_point

HOME = Point(52.3676, 4.9041)  # Amsterdam
EPOCH = date(2025, 3, 3)  # a Monday
PARAMS = SolveParams(time_limit_s=20.0, solution_limit=10)


def _instance(seed: int = 7, customers: int = 200, reps: int = 4) -> PlanningInput:
    """Reps spread around town, customers in clusters; windows, day and rep pins mixed in."""
    rng = random.Random(seed)
    rep_rows = tuple(
        RepInput(
            f"r{r}",
            offset_point(HOME, 12 * np.cos(r * 1.6), 12 * np.sin(r * 1.6)),
            offset_point(HOME, 12 * np.cos(r * 1.6), 12 * np.sin(r * 1.6)),
            8 * HOUR,
            18 * HOUR,
            Lunch(11 * HOUR + 30 * MINUTE, 13 * HOUR + 30 * MINUTE, 45 * MINUTE),
            10,
        )
        for r in range(reps)
    )
    hubs = [(rng.uniform(-20, 20), rng.uniform(-20, 20)) for _ in range(8)]
    rows = []
    for i in range(customers):
        east, north = rng.choice(hubs)
        windows = None
        if i % 4 == 1:  # opening hours every day, closed over lunch
            windows = tuple(
                Window(d * DAY + a, d * DAY + b)
                for d in range(5)
                for a, b in ((9 * HOUR, 12 * HOUR), (14 * HOUR, 17 * HOUR))
            )
        rows.append(
            CustomerInput(
                f"c{i}",
                offset_point(HOME, east + rng.gauss(0, 2), north + rng.gauss(0, 2)),
                rng.choice([20, 30, 45]) * MINUTE,
                rng.randint(0, 100),
                windows=windows,
                day=rng.randrange(5) if i % 10 == 3 else None,
                rep=rng.randrange(reps) if i % 10 in (3, 7) else None,
            )
        )
    days = tuple(EPOCH + timedelta(days=d) for d in range(5))
    return PlanningInput(rep_rows, days, tuple(rows), EPOCH)


def _plan(inp: PlanningInput, params: SolveParams = PARAMS) -> PlanOutcome:
    matrix = straight_line_matrix(inp.locations())
    outcome = plan(inp, matrix, params)
    assert_feasible(inp, matrix, outcome)
    return outcome


def test_large_request_goes_through_decomposition_and_is_feasible() -> None:
    """200 customers on 4 reps: decomposed, feasible, pins kept, every customer accounted for."""
    inp = _instance()
    outcome = _plan(inp)  # assert_feasible: pins, windows, lunch, caps, coverage, legs
    planned = {s.customer for d in outcome.days for s in d.stops}
    # 4 reps x 5 days x 10 visits hold all 200; a real search places nearly everyone.
    assert len(planned) >= 180
    pinned = [i for i, c in enumerate(inp.customers) if c.rep is not None or c.day is not None]
    assert sum(i in planned for i in pinned) >= 0.9 * len(pinned)
    for d in outcome.days:
        for s in d.stops:
            c = inp.customers[s.customer]
            assert c.rep in (None, d.rep)
            assert c.day in (None, d.day)
    # Every rep works: areas went to all of them, not to the first one found.
    assert {d.rep for d in outcome.days} == set(range(len(inp.reps)))


def test_decomposition_is_deterministic_with_a_solution_limit() -> None:
    """The same request and seed with a solution limit gives the same plan twice."""
    inp = _instance(seed=11, customers=160, reps=3)
    first, second = _plan(inp), _plan(inp)
    key = [(d.rep, d.day, [(s.customer, s.start) for s in d.stops]) for d in first.days]
    assert key == [(d.rep, d.day, [(s.customer, s.start) for s in d.stops]) for d in second.days]
    assert first.unassigned == second.unassigned


def test_should_decompose_needs_size_and_two_reps() -> None:
    """Small requests and single-rep requests keep the one-model search."""
    matrix = TravelMatrix(np.zeros((3, 3), np.int64), np.zeros((3, 3), np.int64))
    shift = Window(0, 3600)
    visits = tuple(Visit(2, 60, 1000) for _ in range(200))
    one_rep = tuple(Vehicle(0, 0, shift, rep=0, day=d) for d in range(5))
    two_reps = one_rep + tuple(Vehicle(1, 1, shift, rep=1, day=d) for d in range(5))
    assert not should_decompose(Problem(matrix, one_rep, visits))
    assert should_decompose(Problem(matrix, two_reps, visits))
    assert not should_decompose(Problem(matrix, two_reps, visits[:150]))
    assert should_decompose(Problem(matrix, two_reps, visits[:10]), DecomposeConfig(max_vehicles=9))


def _grid_problem(n: int) -> Problem:
    """Two reps on opposite sides of a line of visits, 2 days each, no windows."""
    points = [offset_point(HOME, -10, 0), offset_point(HOME, 10, 0)]
    points += [offset_point(HOME, -9 + 18 * i / max(n - 1, 1), (i % 3) - 1) for i in range(n)]
    matrix = straight_line_matrix(points)
    vehicles = tuple(
        Vehicle(r, r, Window(d * DAY + 8 * HOUR, d * DAY + 17 * HOUR), rep=r, day=d)
        for d in range(2)
        for r in range(2)
    )
    visits = tuple(Visit(2 + i, 20 * MINUTE, 500_000) for i in range(n))
    return Problem(matrix, vehicles, visits)


def test_subproblem_slices_the_matrix_by_index() -> None:
    """A part's matrix is the whole matrix's rows and columns of its locations, nothing else."""
    problem = _grid_problem(12)
    part = subproblem(problem, [1, 3], [4, 0, 7])
    sub = part.problem
    assert sub.matrix.size == 1 + 3  # rep 1 starts and ends at one place, plus three visits
    for j, visit in enumerate(sub.visits):
        g = problem.visits[part.visits[j]].location
        home = problem.vehicles[1].start
        assert (
            sub.matrix.durations[sub.vehicles[0].start, visit.location]
            == (problem.matrix.durations[home, g])
        )
    assert sub.matrix.durations.dtype == np.int64


def test_solve_decomposed_splits_by_nearest_rep_and_costs_honestly() -> None:
    """Each rep serves its own side; the reported objective is the plan's real cost."""
    problem = _grid_problem(40)
    solution = solve_decomposed(problem, SolveParams(time_limit_s=10, solution_limit=20))
    served = [s.visit for r in solution.routes for s in r.stops]
    assert sorted(served + list(solution.dropped)) == list(range(40))
    assert not solution.dropped
    for r in solution.routes:
        rep = problem.vehicles[r.vehicle].rep
        xs = [problem.visits[s.visit].location - 2 for s in r.stops]
        # Visits are ordered west to east: rep 0 (west) takes the western half, mostly.
        assert (np.mean(xs) < 20) == (rep == 0)
    assert solution.objective == objective(problem, solution.routes, solution.dropped)


def test_repair_moves_a_dropped_visit_to_a_rep_with_room() -> None:
    """Visits that the nearest rep cannot fit are re-offered to the other rep and served."""
    problem = _grid_problem(30)
    # Rep 0's days are short: it cannot do its half, rep 1 has room to spare.
    short = tuple(
        Vehicle(v.start, v.end, Window(v.shift.start, v.shift.start + 2 * HOUR), rep=0, day=v.day)
        if v.rep == 0
        else v
        for v in problem.vehicles
    )
    problem = Problem(problem.matrix, short, problem.visits)
    params = SolveParams(time_limit_s=10, solution_limit=30)
    alone = DecomposeConfig(exchange_partners=0)  # repair only: no joint re-solves
    without = solve_decomposed(problem, params, replace(alone, repair_rounds=0))
    repaired = solve_decomposed(problem, params, alone)
    assert len(repaired.dropped) < len(without.dropped)
    assert repaired.objective < without.objective


def _interleaved(problem: Problem, reps: object, work: object) -> np.ndarray:
    """A deliberately poor first assignment: visits alternate between the two reps."""
    return np.arange(len(problem.visits), dtype=np.int64) % 2


def test_exchange_moves_visits_across_a_poor_boundary() -> None:
    """Joint re-solves of neighbouring reps undo a bad split, and never make a plan worse."""
    problem = _grid_problem(40)
    params = SolveParams(time_limit_s=10, solution_limit=40)
    with mock.patch.object(decompose, "place_visits", _interleaved):
        split = solve_decomposed(problem, params, DecomposeConfig(exchange_partners=0))
        joint = solve_decomposed(problem, params)
    assert not split.dropped
    assert not joint.dropped
    assert joint.objective < split.objective
    assert joint.objective == objective(problem, joint.routes, joint.dropped)
    served = sorted(s.visit for r in joint.routes for s in r.stops)
    assert served == list(range(40))
    # After the exchange each rep works mostly its own side of the line.
    west = [
        problem.visits[s.visit].location - 2 < 20
        for r in joint.routes
        if problem.vehicles[r.vehicle].rep == 0
        for s in r.stops
    ]
    assert sum(west) >= 0.8 * len(west)


def test_neighbour_pairs_and_waves() -> None:
    """Pairs come from shared boundaries; a wave never holds a rep twice."""
    pairs = [(0, 1), (1, 2), (0, 2), (3, 4), (2, 3)]
    waves = decompose._waves(pairs)
    assert sorted(p for w in waves for p in w) == sorted(pairs)
    for wave in waves:
        members = [g for p in wave for g in p]
        assert len(members) == len(set(members))
    problem = _grid_problem(20)
    work = decompose.visit_work(problem)
    reps = decompose._reps(problem, decompose.vehicle_room(problem, work))
    group = decompose.place_visits(problem, reps, work)
    assert decompose.neighbour_pairs(problem, reps, group, 3) == [(0, 1)]
    assert decompose.neighbour_pairs(problem, reps, group, 0) == []


def _placement(problem: Problem) -> np.ndarray:
    work = decompose.visit_work(problem)
    reps = decompose._reps(problem, decompose.vehicle_room(problem, work))
    return _assigned(problem, reps, work)


def _assigned(problem: Problem, reps: decompose._Reps, work: np.ndarray) -> np.ndarray:
    """The transportation assignment alone (no rebalance), as place_visits feeds it."""
    locs = np.asarray([v.location for v in problem.visits], dtype=np.int64)
    may = decompose._may(decompose._allowed_groups(problem, reps), len(reps.ids))
    return decompose.assign_reps(decompose._home_cost(problem, reps, locs), may, work, reps)


def test_assign_reps_keeps_visits_near_home_within_room() -> None:
    """The nearest rep takes what its room holds; the overflow is its far edge, not a scatter."""
    problem = _grid_problem(30)
    group = _placement(problem)
    xs = np.asarray([v.location - 2 for v in problem.visits])
    assert (group[xs < 14] == 0).all()
    assert (group[xs > 15] == 1).all()
    # Rep 1 works 90 minutes a day: rep 0 takes more, and rep 1 keeps its nearest.
    short = tuple(
        replace(v, shift=Window(v.shift.start, v.shift.start + 90 * MINUTE)) if v.rep == 1 else v
        for v in problem.vehicles
    )
    group = _placement(Problem(problem.matrix, short, problem.visits))
    east = np.flatnonzero(group == 1)
    assert 0 < len(east) < 15
    assert list(east) == list(range(30 - len(east), 30))  # a contiguous eastern end


def test_assign_reps_respects_pins_and_reports_unplaceable() -> None:
    """A visit pinned to the far rep goes there; one no rep may take is -1."""
    problem = _grid_problem(10)
    rep1 = frozenset(k for k, v in enumerate(problem.vehicles) if v.rep == 1)
    visits = list(problem.visits)
    visits[0] = replace(visits[0], allowed_vehicles=rep1)  # far west, but rep 1's
    visits[1] = replace(visits[1], allowed_vehicles=frozenset())
    group = _placement(Problem(problem.matrix, problem.vehicles, tuple(visits)))
    assert group[0] == 1
    assert group[1] == -1
    assert group[2] == 0


def test_placement_keeps_each_rep_within_its_visit_slots() -> None:
    """Short visits near a rep with few slots: work alone would overfill its days."""
    base = _grid_problem(20)
    vehicles = tuple(
        replace(v, max_visits=3 if v.rep == 0 else 12) for v in base.vehicles
    )  # rep 0: 6 slots over two days; rep 1: 24
    visits = tuple(
        replace(v, duration=10 * MINUTE if i < 10 else 60 * MINUTE)
        for i, v in enumerate(base.visits)
    )
    problem = Problem(base.matrix, vehicles, visits)
    work = decompose.visit_work(problem)
    reps = decompose._reps(problem, decompose.vehicle_room(problem, work))
    assert (_assigned(problem, reps, work) == 0).sum() > 6  # work alone overfills
    group = decompose.place_visits(problem, reps, work)
    west = np.flatnonzero(group == 0)
    assert len(west) == 6
    assert list(west) == list(range(6))  # rep 0 keeps its nearest six
    solution = solve_decomposed(problem, SolveParams(time_limit_s=10, solution_limit=20))
    assert not solution.dropped


def test_assign_reps_counts_slots_when_visit_caps_bind() -> None:
    """As many visits as slots, short ones near the rep with few: each gets exactly its slots."""
    base = _grid_problem(20)
    vehicles = tuple(replace(v, max_visits=3 if v.rep == 0 else 7) for v in base.vehicles)
    visits = tuple(
        replace(v, duration=(10 if i < 10 else 40) * MINUTE) for i, v in enumerate(base.visits)
    )
    group = _placement(Problem(base.matrix, vehicles, visits))
    assert list(np.flatnonzero(group == 0)) == list(range(6))
    assert list(np.flatnonzero(group == 1)) == list(range(6, 20))
