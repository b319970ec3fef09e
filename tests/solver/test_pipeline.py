"""The planning pipeline end to end: feasibility on varied inputs and every unassigned code."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.distance import straight_line_matrix
from solver.domain import (
    Code,
    CustomerInput,
    Lunch,
    PlanningInput,
    PlanOutcome,
    RepInput,
)
from solver.pipeline import plan
from solver.types import DAY, Point, SolveParams, Window
from tests.solver.feasibility import HOUR, MINUTE, assert_feasible, offset_point

HOME = Point(48.8566, 2.3522)
EPOCH = date(2025, 3, 3)  # a Monday
PARAMS = SolveParams(time_limit_s=2.0, solution_limit=60)


def _plan(inp: PlanningInput, params: SolveParams = PARAMS) -> PlanOutcome:
    matrix = straight_line_matrix(inp.locations())
    outcome = plan(inp, matrix, params)
    assert_feasible(inp, matrix, outcome)
    return outcome


def rep(
    rep_id: str = "r1",
    *,
    start: Point = HOME,
    lunch: Lunch | None = None,
    max_visits: int | None = None,
    hours: tuple[int, int] = (9 * HOUR, 18 * HOUR),
) -> RepInput:
    """A rep working ``hours`` from ``start`` and back."""
    return RepInput(rep_id, start, start, hours[0], hours[1], lunch, max_visits)


def customer(
    i: int, east_km: float, north_km: float, *, duration: int = 30 * MINUTE, **kwargs: object
) -> CustomerInput:
    """A customer ``east_km``/``north_km`` from home, priority 50 unless told."""
    fields: dict[str, object] = {"priority": 50} | kwargs
    return CustomerInput(
        f"c{i}",
        offset_point(HOME, east_km, north_km),
        duration,
        **fields,  # type: ignore[arg-type]
    )


def days(n: int) -> tuple[date, ...]:
    return tuple(EPOCH + timedelta(days=d) for d in range(n))


# --- hypothesis: varied inputs are always planned feasibly -----------------------------------


def _time(draw: st.DrawFn, lo_h: float, hi_h: float) -> int:
    """A time of day on a 15-minute grid between two hours."""
    return draw(st.integers(int(lo_h * 4), int(hi_h * 4))) * 15 * MINUTE


@st.composite
def planning_inputs(draw: st.DrawFn) -> PlanningInput:
    offsets = sorted(draw(st.sets(st.integers(0, 9), min_size=1, max_size=5)))
    horizon = tuple(EPOCH + timedelta(days=d) for d in offsets)
    reps = []
    for r in range(draw(st.integers(1, 3))):
        start = offset_point(HOME, draw(st.floats(-15, 15)), draw(st.floats(-15, 15)))
        end = start if draw(st.booleans()) else offset_point(HOME, draw(st.floats(-15, 15)), 0.0)
        work_start, work_end = _time(draw, 7, 9.5), _time(draw, 15, 19)
        lunch = None
        if draw(st.booleans()):
            earliest = _time(draw, 11, 12.5)
            lunch = Lunch(earliest, earliest + 2 * HOUR, draw(st.sampled_from([30, 45, 60])) * 60)
        cap = draw(st.one_of(st.none(), st.integers(1, 6)))
        reps.append(RepInput(f"r{r}", start, end, work_start, work_end, lunch, cap))
    customers = []
    for i in range(draw(st.integers(5, 25))):
        windows: tuple[Window, ...] | None = None
        if draw(st.booleans()):
            open_, close = _time(draw, 7, 12), _time(draw, 12.5, 20)
            split = draw(st.booleans())
            if split:
                gap = _time(draw, 12.5, 14.5)
                daily = [(open_, min(close, gap - HOUR)), (gap, max(close, gap + HOUR))]
            else:
                daily = [(open_, close)]
            open_days = draw(st.sets(st.integers(0, 10), min_size=1, max_size=6))
            windows = tuple(
                Window(d * DAY + a, d * DAY + b)
                for d in sorted(open_days)
                for a, b in daily
                if b > a
            )
        customers.append(
            CustomerInput(
                f"c{i}",
                offset_point(HOME, draw(st.floats(-12, 12)), draw(st.floats(-12, 12))),
                draw(st.integers(1, 12)) * 10 * MINUTE,
                draw(st.integers(0, 100)),
                must_visit=draw(st.integers(0, 5)) == 0,
                windows=windows,
                day=draw(st.one_of(st.none(), st.integers(0, len(horizon) - 1)))
                if draw(st.integers(0, 4)) == 0
                else None,
                rep=draw(st.one_of(st.none(), st.integers(0, len(reps) - 1)))
                if draw(st.integers(0, 4)) == 0
                else None,
            )
        )
    return PlanningInput(tuple(reps), horizon, tuple(customers), EPOCH)


@settings(max_examples=25, deadline=None)
@given(inp=planning_inputs())
def test_varied_inputs_give_feasible_plans(inp: PlanningInput) -> None:
    """Any mix of reps, days, windows, pins, lunches and caps yields a feasible, complete plan."""
    _plan(inp, SolveParams(time_limit_s=2.0, solution_limit=40))


# --- targeted cases --------------------------------------------------------------------------


def _code(outcome: PlanOutcome, customer: int) -> Code:
    (u,) = [u for u in outcome.unassigned if u.customer == customer]
    return u.code


def test_windows_after_the_horizon_are_outside_horizon() -> None:
    """A customer open only after the last working day is unassigned as outside_horizon."""
    late = (Window(10 * DAY + 9 * HOUR, 10 * DAY + 17 * HOUR),)
    inp = PlanningInput(
        (rep(),), days(2), (customer(0, 1, 1), customer(1, 2, 0, windows=late)), EPOCH
    )
    outcome = _plan(inp)
    assert _code(outcome, 1) is Code.OUTSIDE_HORIZON
    assert [s.customer for d in outcome.days for s in d.stops] == [0]


def test_evening_window_outside_working_hours_is_no_time_window_fits() -> None:
    """A 20:00-21:00 window never meets 09:00-18:00 hours: no_time_window_fits."""
    evening = tuple(Window(d * DAY + 20 * HOUR, d * DAY + 21 * HOUR) for d in range(3))
    inp = PlanningInput((rep(),), days(3), (customer(0, 1, 0, windows=evening),), EPOCH)
    outcome = _plan(inp)
    assert _code(outcome, 0) is Code.NO_TIME_WINDOW_FITS
    assert "09:00-18:00" in outcome.unassigned[0].reason


def test_customer_500_km_away_is_too_far() -> None:
    """A customer a day's drive away is unassigned as too_far."""
    inp = PlanningInput((rep(),), days(2), (customer(0, 500, 0), customer(1, 1, 0)), EPOCH)
    outcome = _plan(inp)
    assert _code(outcome, 0) is Code.TOO_FAR
    assert {s.customer for d in outcome.days for s in d.stops} == {1}


def test_more_visits_than_capacity_is_over_capacity() -> None:
    """With 2 visits a day over 2 days, 4 of 8 customers are left out as over_capacity."""
    customers = tuple(customer(i, 0.5 * i, 0.3) for i in range(8))
    inp = PlanningInput((rep(max_visits=2),), days(2), customers, EPOCH)
    outcome = _plan(inp)
    assert sum(len(d.stops) for d in outcome.days) == 4
    assert len(outcome.unassigned) == 4
    assert all(u.code is Code.OVER_CAPACITY for u in outcome.unassigned)


def test_must_visit_beats_higher_priority_optional_ones() -> None:
    """When capacity is short, a must-visit of priority 0 is kept over priority-100 optionals."""
    customers = (
        customer(0, 8, 8, priority=0, must_visit=True),  # the farthest, lowest priority
        *(customer(i, 1, 0.2 * i, priority=100) for i in range(1, 4)),
    )
    inp = PlanningInput((rep(max_visits=2),), days(1), customers, EPOCH)
    outcome = _plan(inp)
    assert 0 in {s.customer for d in outcome.days for s in d.stops}


def test_lowest_priority_is_dropped_first() -> None:
    """With room for 3 of 6 similar customers, the 3 highest priorities are planned."""
    priorities = [10, 90, 30, 70, 50, 20]
    customers = tuple(customer(i, 2 + 0.3 * i, 1, priority=p) for i, p in enumerate(priorities))
    inp = PlanningInput((rep(max_visits=3),), days(1), customers, EPOCH)
    outcome = _plan(inp)
    assert {s.customer for d in outcome.days for s in d.stops} == {1, 3, 4}


def test_pins_are_honoured() -> None:
    """Customers pinned to a day or a rep are planned there and only there."""
    reps = (rep("a"), rep("b", start=offset_point(HOME, 10, 0)))
    customers = (
        customer(0, 0.5, 0, day=2),
        customer(1, 9.5, 0, rep=0),  # next to b's home, pinned to a
        customer(2, 1, 1, day=1, rep=1),
        *(customer(i, (i % 2) * 10, 0.5) for i in range(3, 8)),
    )
    inp = PlanningInput(reps, days(3), customers, EPOCH)
    outcome = _plan(inp)
    where = {s.customer: (d.rep, d.day) for d in outcome.days for s in d.stops}
    assert where[0][1] == 2
    assert where[1][0] == 0
    assert where[2] == (1, 1)


def test_all_windows_closed_gives_everyone_unassigned_with_reasons() -> None:
    """A request nobody can be visited in returns an outcome, not an error."""
    closed = (Window(0, 3 * HOUR),)  # 00:00-03:00 on the first day only
    customers = tuple(customer(i, i, 0, windows=closed) for i in range(5))
    inp = PlanningInput((rep(),), days(2), customers, EPOCH)
    outcome = _plan(inp)
    assert outcome.days == ()
    assert [u.customer for u in outcome.unassigned] == list(range(5))
    assert all(u.code is Code.NO_TIME_WINDOW_FITS and u.reason for u in outcome.unassigned)
    assert outcome.baseline_travel_s == 0


def test_baseline_is_not_better_than_the_plan_on_an_adversarial_list() -> None:
    """Listing customers alternately from two far clusters makes the baseline drive more."""
    customers = tuple(customer(i, (12 if i % 2 else -12) + 0.2 * i, 0.1 * i) for i in range(12))
    inp = PlanningInput((rep(max_visits=6),), days(2), customers, EPOCH)
    outcome = _plan(inp)
    assert not outcome.unassigned
    optimised = sum(d.travel_s for d in outcome.days)
    assert outcome.baseline_travel_s >= optimised
    assert outcome.baseline_travel_s > 2 * optimised, "alternating clusters should cost double"


def test_lunch_is_planned_inside_its_window() -> None:
    """A rep with lunch gets it on every planned day, inside its window, clear of visits."""
    lunch = Lunch(12 * HOUR, 14 * HOUR, 45 * MINUTE)
    customers = tuple(customer(i, 1 + 0.4 * i, 0.5, duration=60 * MINUTE) for i in range(10))
    inp = PlanningInput((rep(lunch=lunch),), days(2), customers, EPOCH)
    outcome = _plan(inp)
    assert outcome.days
    assert all(d.lunch is not None for d in outcome.days)


def test_mismatched_matrix_is_refused() -> None:
    """A matrix that does not cover the input's locations is an InvalidProblemError."""
    from solver.errors import InvalidProblemError

    inp = PlanningInput((rep(),), days(1), (customer(0, 1, 0),), EPOCH)
    with pytest.raises(InvalidProblemError):
        plan(inp, straight_line_matrix([HOME]), PARAMS)


def test_overloaded_horizon_switches_first_solution() -> None:
    """Far more visits than slots -> path-cheapest-arc and plain GLS; room for all keeps both."""
    from solver.pipeline import first_solution_for
    from solver.types import FirstSolution, SolveParams

    base = SolveParams(time_limit_s=1)
    assert first_solution_for(base, 3.0).first_solution is FirstSolution.PATH_CHEAPEST_ARC
    assert first_solution_for(base, 1.0).first_solution is FirstSolution.PARALLEL_CHEAPEST_INSERTION
    chosen = SolveParams(time_limit_s=1, first_solution=FirstSolution.SAVINGS)
    assert first_solution_for(chosen, 3.0).first_solution is FirstSolution.SAVINGS
    # Overloaded requests search with plain GLS; iterated local search only with room for all.
    assert [first_solution_for(p, 3.0).iterated for p in (base, chosen)] == [False, False]
    assert first_solution_for(base, 1.0).iterated
