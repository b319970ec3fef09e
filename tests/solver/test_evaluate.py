"""Re-timing hand-made days with the solver's time model: times, violations, consistency."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import date

from solver.distance import straight_line_matrix
from solver.domain import (
    Code,
    CustomerInput,
    Lunch,
    PlannedDay,
    PlanningInput,
    PlanOutcome,
    RepInput,
    Unplanned,
)
from solver.evaluate import TimedDay, ViolationType, day_model, fits, pin_violations, time_day
from solver.pipeline import plan
from solver.types import DAY, Point, SolveParams, TravelMatrix, Window
from tests.solver.feasibility import HOUR, MINUTE, assert_feasible, offset_point

HOME = Point(31.2304, 121.4737)
MON = date(2026, 12, 7)
TUE = date(2026, 12, 8)
PARAMS = SolveParams(time_limit_s=2.0, solution_limit=80)
LUNCH = Lunch(11 * HOUR + 30 * MINUTE, 13 * HOUR + 30 * MINUTE, 60 * MINUTE)


def _rep(*, lunch: Lunch | None = LUNCH, cap: int | None = None) -> RepInput:
    return RepInput("rep-1", HOME, HOME, 9 * HOUR, 18 * HOUR, lunch, cap)


def _c(name: str, east_km: float, minutes: int = 30, **kw: object) -> CustomerInput:
    fields: dict[str, object] = {"priority": 50} | kw
    return CustomerInput(name, offset_point(HOME, east_km, 0.5), minutes * MINUTE, **fields)  # type: ignore[arg-type]


def _input(customers: list[CustomerInput], **rep: object) -> PlanningInput:
    return PlanningInput((_rep(**rep),), (MON, TUE), tuple(customers), MON)  # type: ignore[arg-type]


def _as_planned(t: TimedDay) -> PlannedDay:
    return PlannedDay(
        t.model.rep,
        t.model.day,
        t.depart,
        t.return_at,
        t.stops,
        t.return_travel_s,
        t.return_travel_m,
        t.lunch,
        "",
    )


def _check(inp: PlanningInput, matrix: TravelMatrix, days: list[TimedDay]) -> None:
    """Timed days without violations pass the solver's own feasibility checks."""
    planned = {s.customer for d in days for s in d.stops}
    left = tuple(
        Unplanned(i, Code.OVER_CAPACITY, "left out by the test")
        for i in range(len(inp.customers))
        if i not in planned
    )
    outcome = PlanOutcome(tuple(_as_planned(d) for d in days), left, 0, 0, "test", 0.0)
    assert_feasible(inp, matrix, outcome)


def test_optimised_days_retime_to_the_solver_times() -> None:
    """The solver's routes re-time without violation, each visit no later than it planned.

    The solver's times are one feasible schedule; re-timing gives the earliest one.
    """
    customers = [_c(f"c{i}", 2 + 1.5 * i, 45) for i in range(8)]
    customers[2] = replace(customers[2], windows=(Window(14 * HOUR, 16 * HOUR),))
    customers[5] = replace(customers[5], windows=(Window(DAY + 9 * HOUR, DAY + 11 * HOUR),))
    inp = _input(customers)
    matrix = straight_line_matrix(inp.locations())
    outcome = plan(inp, matrix, PARAMS)
    assert outcome.days
    for d in outcome.days:
        timed = time_day(inp, matrix, day_model(inp, d.rep, d.day), [s.customer for s in d.stops])
        assert timed.violations == ()
        assert all(a.start <= b.start for a, b in zip(timed.stops, d.stops, strict=True))
        assert timed.travel_s == d.travel_s
        assert timed.travel_m == d.travel_m
    _check(
        inp,
        matrix,
        [
            time_day(inp, matrix, day_model(inp, d.rep, d.day), [s.customer for s in d.stops])
            for d in outcome.days
        ],
    )


def test_late_for_a_window_names_the_stop() -> None:
    """A window visit put after a long one is late, and the late stop is the one named."""
    customers = [
        _c("far", 20, 120),
        _c("early", 2, 30, windows=(Window(9 * HOUR, 10 * HOUR + 30 * MINUTE),)),
    ]
    inp = _input(customers, lunch=None)
    matrix = straight_line_matrix(inp.locations())
    model = day_model(inp, 0, 0)
    timed = time_day(inp, matrix, model, [0, 1])
    assert [(v.type, v.stop, v.customer) for v in timed.violations] == [(ViolationType.LATE, 1, 1)]
    assert "early" in timed.violations[0].message
    assert not fits(inp, matrix, model, [0, 1])
    assert time_day(inp, matrix, model, [1, 0]).violations == ()
    assert fits(inp, matrix, model, [1, 0])


def test_closed_by_opening_hours_on_that_day() -> None:
    """A customer open only on Tuesday, put on Monday, is ``closed`` at its own stop."""
    tuesday = (Window(DAY + 9 * HOUR, DAY + 17 * HOUR),)
    inp = _input([_c("a", 3), _c("tue-only", 4, windows=tuesday), _c("b", 5)])
    matrix = straight_line_matrix(inp.locations())
    monday = time_day(inp, matrix, day_model(inp, 0, 0), [0, 1, 2])
    assert [(v.type, v.stop) for v in monday.violations] == [(ViolationType.CLOSED, 1)]
    assert "closed all day" in monday.violations[0].message
    assert time_day(inp, matrix, day_model(inp, 0, 1), [0, 1, 2]).violations == ()


def test_over_hours_blames_the_first_stop_that_overruns() -> None:
    """Four 2.5 h visits overrun a 9 h day; the fourth (index 3) is where it breaks."""
    inp = _input([_c(f"c{i}", 2 + i, 150) for i in range(4)])
    matrix = straight_line_matrix(inp.locations())
    timed = time_day(inp, matrix, day_model(inp, 0, 0), [0, 1, 2, 3])
    types = [(v.type, v.stop) for v in timed.violations]
    assert (ViolationType.OVER_HOURS, 3) in types
    assert timed.return_at > day_model(inp, 0, 0).shift.end
    assert time_day(inp, matrix, day_model(inp, 0, 0), [0, 1, 2]).violations == ()


def test_max_visits_and_lunch() -> None:
    """The visit past the cap is named; back-to-back visits over lunch break the lunch rule."""
    inp = _input([_c(f"c{i}", 2 + 0.1 * i, 60) for i in range(4)], cap=3)
    matrix = straight_line_matrix(inp.locations())
    timed = time_day(inp, matrix, day_model(inp, 0, 0), [0, 1, 2, 3])
    assert (ViolationType.MAX_VISITS, 3) in [(v.type, v.stop) for v in timed.violations]
    held = (Window(11 * HOUR, 14 * HOUR),)
    inp = _input([_c("x", 2, 180, windows=held), _c("y", 2.2, 60)])
    matrix = straight_line_matrix(inp.locations())
    timed = time_day(inp, matrix, day_model(inp, 0, 0), [0, 1])
    assert [(v.type, v.stop, v.customer) for v in timed.violations] == [(ViolationType.LUNCH, 0, 0)]
    assert timed.lunch is None


def test_pins_are_reported() -> None:
    """A visit pinned to Tuesday evaluated on Monday is a ``pinned`` violation."""
    inp = _input([_c("a", 2), _c("pinned", 3, day=1)])
    got = pin_violations(inp, day_model(inp, 0, 0), [0, 1])
    assert [(v.type, v.stop) for v in got] == [(ViolationType.PINNED, 1)]


def test_fits_agrees_with_time_day_on_random_orders() -> None:
    """``fits`` (one pass) is exactly "``time_day`` finds no violation", lunch included."""
    rng = random.Random(7)
    agreed = feasible = 0
    for _ in range(150):
        customers = []
        for i in range(rng.randint(1, 6)):
            windows = None
            if rng.random() < 0.5:
                a = rng.randrange(8 * 60, 16 * 60, 15) * MINUTE
                windows = (Window(a, a + rng.choice([60, 120, 240]) * MINUTE),)
            customers.append(
                _c(f"c{i}", rng.uniform(-15, 15), rng.choice([20, 45, 90]), windows=windows)
            )
        inp = _input(customers, lunch=rng.choice([None, LUNCH]))
        matrix = straight_line_matrix(inp.locations())
        model = day_model(inp, 0, 0)
        order = list(range(len(customers)))
        rng.shuffle(order)
        timed = time_day(inp, matrix, model, order)
        assert fits(inp, matrix, model, order) == (timed.violations == ())
        agreed += 1
        if not timed.violations:
            feasible += 1
            _check(inp, matrix, [timed])
    assert agreed == 150
    assert 20 < feasible < 140  # both outcomes were exercised


def test_feasible_reorder_costs_no_less_than_the_optimised_order() -> None:
    """On a small day every feasible reordering drives at least as long as the solver's."""
    inp = _input([_c(f"c{i}", e, 30) for i, e in enumerate((3, -4, 6, -2, 8))])
    matrix = straight_line_matrix(inp.locations())
    outcome = plan(inp, matrix, PARAMS)
    assert len(outcome.days) == 1
    best = outcome.days[0]
    model = day_model(inp, best.rep, best.day)
    for order in itertools.permutations(s.customer for s in best.stops):
        timed = time_day(inp, matrix, model, order)
        assert timed.violations == ()
        assert timed.travel_s >= best.travel_s
