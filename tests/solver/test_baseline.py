"""The list-order baseline: the same visits driven top to bottom, day by day."""

from __future__ import annotations

import itertools
from datetime import date

from solver.baseline import baseline_travel
from solver.distance import straight_line_matrix
from solver.domain import CustomerInput, PlanningInput, RepInput
from solver.prechecks import routes
from solver.types import Point
from tests.solver.feasibility import HOUR, MINUTE, offset_point

HOME = Point(48.8566, 2.3522)


def _input(order: list[int], cap: int | None = 6) -> PlanningInput:
    """Customers in two clusters 12 km east and west of home, listed in ``order``."""

    def where(k: int) -> Point:
        return offset_point(HOME, (12 if k % 2 else -12) + 0.1 * k, 0.1 * k)

    rep = RepInput("r", HOME, HOME, 8 * HOUR, 18 * HOUR, max_visits_per_day=cap)
    customers = tuple(CustomerInput(f"c{k}", where(k), 30 * MINUTE, 50) for k in order)
    return PlanningInput((rep,), (date(2025, 3, 3), date(2025, 3, 4)), customers, date(2025, 3, 3))


def _baseline(inp: PlanningInput) -> tuple[int, int]:
    matrix = straight_line_matrix(inp.locations())
    return baseline_travel(inp, matrix, routes(inp), list(range(len(inp.customers))))


def test_alternating_clusters_cost_more_than_sorted_ones() -> None:
    """A list alternating between far clusters drives more than the same list by cluster."""
    alternating = list(range(12))
    by_cluster = sorted(alternating, key=lambda k: (k % 2, k))
    alt_s, alt_m = _baseline(_input(alternating))
    sorted_s, sorted_m = _baseline(_input(by_cluster))
    assert alt_s > 2 * sorted_s
    assert alt_m > 2 * sorted_m


def test_nothing_planned_costs_nothing() -> None:
    """An empty plan has a zero baseline."""
    inp = _input([0, 1])
    matrix = straight_line_matrix(inp.locations())
    assert baseline_travel(inp, matrix, routes(inp), []) == (0, 0)


def test_single_route_baseline_is_the_list_path() -> None:
    """When all visits fit one day, the baseline is home -> list order -> home."""
    inp = _input([0, 2, 4, 6])
    matrix = straight_line_matrix(inp.locations())
    path = [0, *(inp.customer_loc(i) for i in range(4)), 1]
    expected = sum(int(matrix.durations[a, b]) for a, b in itertools.pairwise(path))
    assert _baseline(inp)[0] == expected


def test_overflow_goes_on_the_last_route() -> None:
    """Visits beyond every day's cap are still counted (on the last day)."""
    inp = _input(list(range(6)), cap=1)
    matrix = straight_line_matrix(inp.locations())
    last = [0, *(inp.customer_loc(i) for i in range(1, 6)), 1]
    first = [0, inp.customer_loc(0), 1]
    expected = sum(
        int(matrix.durations[a, b]) for path in (first, last) for a, b in itertools.pairwise(path)
    )
    assert _baseline(inp)[0] == expected
