"""Reasons for customers the search left out: full days versus window clashes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from solver.distance import straight_line_matrix
from solver.domain import Code, CustomerInput, Hint, PlanningInput, PlanOutcome, RepInput, Unplanned
from solver.explain import add_hints, explain_drop
from solver.pipeline import drop_penalty, plan
from solver.prechecks import routes
from solver.types import DAY, Point, SolveParams, Window
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


# -- hints: each one is checked by solving again with the suggested change --

PARAMS = SolveParams(time_limit_s=0.5, solution_limit=80)


def _solve(inp: PlanningInput) -> PlanOutcome:
    return plan(inp, straight_line_matrix(inp.locations()), PARAMS)


def _placed(outcome: PlanOutcome) -> set[str]:
    return {f"{s.customer}" for d in outcome.days for s in d.stops}


def _hints(outcome: PlanOutcome, customer: int) -> dict[str, Hint]:
    (u,) = [u for u in outcome.unassigned if u.customer == customer]
    return {h.kind: h for h in u.hints}


def test_hint_shorter_visit_fits_the_window() -> None:
    """A 60-min visit in a 40-min window: the hint's length, solved again, is planned."""
    window = (Window(10 * HOUR, 10 * HOUR + 40 * MINUTE),)
    customers = (CustomerInput("short", offset_point(HOME, 2, 0), 60 * MINUTE, 50, windows=window),)
    outcome = _solve(_input(customers))
    hint = _hints(outcome, 0)["visit_minutes"]
    assert hint.value == 40
    assert "fits on Mon 2025-03-03 if the visit is 40 min" in hint.text
    fixed = (replace(customers[0], duration=hint.value * MINUTE),)
    assert _placed(_solve(_input(fixed))) == {"0"}
    too_long = (replace(customers[0], duration=(hint.value + 1) * MINUTE),)
    assert _placed(_solve(_input(too_long))) == set()


def test_hint_later_day_end_fits_a_long_visit() -> None:
    """An 8.5 h visit 15 km out does not fit 09:00-18:00; the suggested end time does."""
    customers = (CustomerInput("long", offset_point(HOME, 15, 0), 510 * MINUTE, 50),)
    outcome = _solve(_input(customers))
    hint = _hints(outcome, 0)["work_end"]
    assert hint.value is not None
    assert "day ended at" in hint.text
    rep = RepInput("r", HOME, HOME, 9 * HOUR, hint.value * MINUTE)
    assert _placed(_solve(PlanningInput((rep,), (DAY0,), customers, DAY0))) == {"0"}
    rep = RepInput("r", HOME, HOME, 9 * HOUR, (hint.value - 1) * MINUTE)
    assert _placed(_solve(PlanningInput((rep,), (DAY0,), customers, DAY0))) == set()


def test_hint_priority_names_the_visit_it_would_displace() -> None:
    """Capped at 2 visits, the dropped customer wins a slot at the hinted priority."""
    customers = (
        CustomerInput("low", offset_point(HOME, 2, 0), 30 * MINUTE, 10),
        CustomerInput("mid", offset_point(HOME, 2.5, 0), 30 * MINUTE, 40),
        CustomerInput("high", offset_point(HOME, 3, 0), 30 * MINUTE, 70),
    )
    outcome = _solve(_input(customers, cap=2))
    hint = _hints(outcome, 0)["priority"]
    assert hint.instead_of == 1
    assert hint.value is not None
    assert 40 < hint.value <= 100
    assert f"above {hint.value - 1}" in hint.text
    assert "instead of mid" in hint.text
    raised = (replace(customers[0], priority=hint.value), *customers[1:])
    assert _placed(_solve(_input(raised, cap=2))) == {"0", "2"}


def test_hints_are_bounded_by_the_budget() -> None:
    """With no budget left, customers keep their code and reason and get no hint."""
    customers = (CustomerInput("long", offset_point(HOME, 15, 0), 510 * MINUTE, 50),)
    inp = _input(customers)
    matrix = straight_line_matrix(inp.locations())
    unplanned = [Unplanned(0, Code.TOO_FAR, "far")]
    (u,) = add_hints(inp, matrix, routes(inp), {}, unplanned, drop_penalty, budget=0)
    assert (u.code, u.reason, u.hints) == (Code.TOO_FAR, "far", ())
    (u,) = add_hints(inp, matrix, routes(inp), {}, unplanned, drop_penalty)
    assert u.hints


def test_hint_never_meets_when_no_change_of_hours_helps() -> None:
    """Pinned to Monday but open only on Tuesday: no hours help, and the hint says so."""
    tuesday = DAY0.replace(day=4)
    rep = RepInput("r", HOME, HOME, 9 * HOUR, 18 * HOUR)
    window = (Window(DAY + 9 * HOUR, DAY + 12 * HOUR),)
    customers = (
        CustomerInput("tue", offset_point(HOME, 2, 0), 30 * MINUTE, 50, windows=window, day=0),
    )
    outcome = _solve(PlanningInput((rep,), (DAY0, tuesday), customers, DAY0))
    (u,) = outcome.unassigned
    assert u.code is Code.NO_TIME_WINDOW_FITS
    assert [h.kind for h in u.hints] == ["never_meets"]
