"""Area grouping, measured: tight neighbourhoods should each be worked on a single day."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np

from solver.distance import straight_line_matrix
from solver.domain import CustomerInput, PlanningInput, PlanOutcome, RepInput
from solver.pipeline import plan
from solver.types import Point, SolveParams
from tests.solver.feasibility import HOUR, MINUTE, assert_feasible, offset_point

HOME = Point(48.8566, 2.3522)
EPOCH = date(2025, 3, 3)
PARAMS = SolveParams(time_limit_s=10.0, solution_limit=200)


def neighbourhoods(
    count: int, size: int, *, radius_km: tuple[float, float], seed: int
) -> tuple[list[CustomerInput], list[int]]:
    """``count`` clusters of ``size`` customers within ~1 km, spread around home; list order
    is shuffled so the input order gives no hint of the grouping."""
    rng = np.random.default_rng(seed)
    points: list[tuple[Point, int]] = []
    for k in range(count):
        angle = 2 * math.pi * k / count + rng.uniform(-0.2, 0.2)
        dist = rng.uniform(*radius_km)
        cx, cy = dist * math.cos(angle), dist * math.sin(angle)
        for _ in range(size):
            dx, dy = rng.uniform(-0.5, 0.5, size=2)
            points.append((offset_point(HOME, cx + dx, cy + dy), k))
    order = rng.permutation(len(points))
    customers = [CustomerInput(f"c{i}", points[j][0], 45 * MINUTE, 50) for i, j in enumerate(order)]
    return customers, [points[j][1] for j in order]


def _solve(customers: list[CustomerInput], n_days: int, cap: int) -> PlanningInput:
    rep = RepInput("r", HOME, HOME, 8 * HOUR, 18 * HOUR, max_visits_per_day=cap)
    horizon = tuple(EPOCH + timedelta(days=d) for d in range(n_days))
    return PlanningInput((rep,), horizon, tuple(customers), EPOCH)


def days_per_neighbourhood(outcome: PlanOutcome, labels: list[int]) -> dict[int, set[int]]:
    """For each neighbourhood, the set of days its planned customers fall on."""
    spread: dict[int, set[int]] = {}
    for day in outcome.days:
        for stop in day.stops:
            spread.setdefault(labels[stop.customer], set()).add(day.day)
    return spread


def purity(outcome: PlanOutcome, labels: list[int]) -> float:
    """Share of planned visits whose day is the majority day of their neighbourhood."""
    total = kept = 0
    for k, _ in days_per_neighbourhood(outcome, labels).items():
        per_day: dict[int, int] = {}
        for day in outcome.days:
            n = sum(labels[s.customer] == k for s in day.stops)
            if n:
                per_day[day.day] = n
        total += sum(per_day.values())
        kept += max(per_day.values())
    return kept / total if total else 1.0


def _run(count: int, size: int, n_days: int, seed: int) -> tuple[PlanOutcome, list[int]]:
    customers, labels = neighbourhoods(count, size, radius_km=(10.0, 15.0), seed=seed)
    inp = _solve(customers, n_days, cap=6)
    matrix = straight_line_matrix(inp.locations())
    outcome = plan(inp, matrix, PARAMS)
    assert_feasible(inp, matrix, outcome)
    assert not outcome.unassigned, "everything fits: nothing may be left out"
    return outcome, labels


def test_five_full_neighbourhoods_each_get_one_day() -> None:
    """5 neighbourhoods of 6 over 5 days of 6 visits: each neighbourhood is one day (100%)."""
    for seed in (1, 2):
        outcome, labels = _run(5, 6, 5, seed)
        figure = purity(outcome, labels)
        print(f"grouping 5x6/5 days seed {seed}: purity {figure:.0%}")
        spread = days_per_neighbourhood(outcome, labels)
        assert all(len(d) == 1 for d in spread.values()), f"split neighbourhoods: {spread}"


def test_four_neighbourhoods_over_five_days_are_never_split() -> None:
    """4 neighbourhoods of 5 over 5 days: no neighbourhood is split over two days."""
    for seed in (3, 4):
        outcome, labels = _run(4, 5, 5, seed)
        figure = purity(outcome, labels)
        print(f"grouping 4x5/5 days seed {seed}: purity {figure:.0%}")
        spread = days_per_neighbourhood(outcome, labels)
        assert all(len(d) == 1 for d in spread.values()), f"split neighbourhoods: {spread}"
