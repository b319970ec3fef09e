"""Reasons for customers the search left out: full days versus window clashes."""

from __future__ import annotations

from datetime import date

from solver.distance import straight_line_matrix
from solver.domain import Code, CustomerInput, PlanningInput, RepInput
from solver.explain import explain_drop
from solver.prechecks import routes
from solver.types import Point, Window
from tests.solver.feasibility import HOUR, MINUTE, offset_point

HOME = Point(48.8566, 2.3522)
DAY0 = date(2025, 3, 3)


def _input(customers: tuple[CustomerInput, ...], cap: int | None = None) -> PlanningInput:
    rep = RepInput("r", HOME, HOME, 9 * HOUR, 18 * HOUR, max_visits_per_day=cap)
    return PlanningInput((rep,), (DAY0,), customers, DAY0)


def _explain(inp: PlanningInput, sequence: list[int], customer: int) -> tuple[Code, str]:
    matrix = straight_line_matrix(inp.locations())
    return explain_drop(inp, matrix, routes(inp), frozenset({0}), {0: sequence}, customer)


def test_full_cap_is_over_capacity() -> None:
    """A customer whose only day is at its visit cap is over_capacity, naming the cap."""
    customers = tuple(CustomerInput(f"c{i}", offset_point(HOME, i, 0), 1800, 10) for i in range(3))
    code, why = _explain(_input(customers, cap=2), [0, 1], 2)
    assert code is Code.OVER_CAPACITY
    assert "2 visits" in why


def test_window_clash_is_no_time_window_fits() -> None:
    """A customer whose only window is taken by another visit is blamed on its window."""
    window = (Window(10 * HOUR, 11 * HOUR),)
    customers = (
        CustomerInput("a", offset_point(HOME, 1, 0), 60 * MINUTE, 90, windows=window),
        CustomerInput("b", offset_point(HOME, 1.2, 0), 60 * MINUTE, 10, windows=window),
    )
    code, why = _explain(_input(customers), [0], 1)
    assert code is Code.NO_TIME_WINDOW_FITS
    assert "window" in why


def test_full_day_is_over_capacity() -> None:
    """A day with no time left for the visit at all is over_capacity."""
    customers = tuple(
        CustomerInput(f"c{i}", offset_point(HOME, 1, 0.1 * i), 3 * HOUR, 10) for i in range(4)
    )
    code, _ = _explain(_input(customers), [0, 1, 2], 3)
    assert code is Code.OVER_CAPACITY
