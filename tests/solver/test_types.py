"""Validation of the solver's typed inputs, and the start domain of a windowed visit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.errors import InvalidProblemError
from solver.types import (
    BreakSpec,
    Point,
    Problem,
    SolveParams,
    TravelMatrix,
    Vehicle,
    Visit,
    Window,
)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(90.5, 0.0), (-91.0, 0.0), (0.0, 180.5), (0.0, -181.0), (math.nan, 0.0), (0.0, math.inf)],
)
def test_point_rejects_bad_coordinates(lat: float, lon: float) -> None:
    """A latitude or longitude out of range or not finite is refused."""
    with pytest.raises(InvalidProblemError):
        Point(lat, lon)


def test_point_accepts_the_poles_and_the_antimeridian() -> None:
    """The closed ranges' bounds are valid coordinates."""
    Point(90.0, 180.0)
    Point(-90.0, -180.0)


@pytest.mark.parametrize(("start", "end"), [(0.0, 10), (0, 10.5), (10, 10), (10, 5)])
def test_window_rejects_float_bounds_and_empty_intervals(start: float, end: float) -> None:
    """Window bounds must be ints with end > start."""
    with pytest.raises(InvalidProblemError):
        Window(start, end)  # type: ignore[arg-type]


def test_window_intersect_is_none_when_touching() -> None:
    """Half-open windows that only touch do not overlap."""
    assert Window(0, 10).intersect(Window(10, 20)) is None
    assert Window(0, 10).intersect(Window(5, 20)) == Window(5, 10)


def test_visit_rejects_overlapping_windows() -> None:
    """Overlapping windows are refused, touching ones accepted, in any order."""
    with pytest.raises(InvalidProblemError):
        Visit(0, 10, 1, windows=(Window(50, 100), Window(0, 60)))
    Visit(0, 10, 1, windows=(Window(50, 100), Window(0, 50)))


@pytest.mark.parametrize(("duration", "penalty", "demand"), [(-1, 1, 0), (1, -1, 0), (1, 1, -1)])
def test_visit_rejects_negative_fields(duration: int, penalty: int, demand: int) -> None:
    """Negative duration, penalty or demand is refused."""
    with pytest.raises(InvalidProblemError):
        Visit(0, duration, penalty, demand=demand)


def test_break_longer_than_its_window_is_refused() -> None:
    """A break must fit inside its window and last a positive time."""
    with pytest.raises(InvalidProblemError):
        BreakSpec(Window(0, 100), 101)
    with pytest.raises(InvalidProblemError):
        BreakSpec(Window(0, 100), 0)
    assert BreakSpec(Window(0, 100), 100).duration == 100


def test_vehicle_rejects_negative_limits() -> None:
    """Negative caps and fixed costs are refused."""
    shift = Window(0, 100)
    for kwargs in ({"max_visits": -1}, {"capacity": -1}, {"fixed_cost": -1}):
        with pytest.raises(InvalidProblemError):
            Vehicle(0, 0, shift, **kwargs)  # type: ignore[arg-type]


def test_matrix_and_problem_check_shapes_and_indices() -> None:
    """Non-square, mismatched or negative matrices and out-of-range indices are refused."""
    ok = np.zeros((2, 2), dtype=np.int64)
    with pytest.raises(InvalidProblemError):
        TravelMatrix(np.zeros((2, 3), dtype=np.int64), np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(InvalidProblemError):
        TravelMatrix(ok, np.zeros((3, 3), dtype=np.int64))
    with pytest.raises(InvalidProblemError):
        TravelMatrix(ok - 1, ok)
    matrix = TravelMatrix(ok, ok)
    vehicle = Vehicle(0, 1, Window(0, 100))
    with pytest.raises(InvalidProblemError):
        Problem(matrix, (Vehicle(0, 2, Window(0, 100)),), ())
    with pytest.raises(InvalidProblemError):
        Problem(matrix, (vehicle,), (Visit(2, 1, 1),))
    with pytest.raises(InvalidProblemError):
        Problem(matrix, (vehicle,), (Visit(1, 1, 1, allowed_vehicles=frozenset({1})),))


def test_solve_params_are_bounded() -> None:
    """Every solve has a positive, bounded time limit and a positive solution limit."""
    for kwargs in ({"time_limit_s": 0.0}, {"time_limit_s": 4000.0}, {"solution_limit": 0}):
        with pytest.raises(InvalidProblemError):
            SolveParams(**kwargs)


@pytest.mark.parametrize("parallel", [0, -1, 17])
def test_solve_params_parallel_is_bounded(parallel: int) -> None:
    """The number of parallel searches is at least one and at most sixteen."""
    with pytest.raises(InvalidProblemError):
        SolveParams(parallel=parallel)


def test_start_domain_examples() -> None:
    """A visit may start from a window's start until exactly end - duration; short ones drop."""
    visit = Visit(0, 30, 1, windows=(Window(500, 520), Window(100, 200)))
    assert visit.start_domain() == (Window(100, 171),)
    assert Visit(0, 30, 1).start_domain() == ()


@st.composite
def _windows(draw: st.DrawFn) -> tuple[Window, ...]:
    cuts = sorted(draw(st.sets(st.integers(0, 10_000), min_size=2, max_size=8)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    return tuple(Window(a, b) for a, b in pairs)


@settings(max_examples=25, deadline=None)
@given(windows=_windows(), duration=st.integers(0, 3_000))
def test_start_domain_starts_give_whole_visits_inside_one_window(
    windows: tuple[Window, ...], duration: int
) -> None:
    """Every start in the domain keeps [start, start + duration] inside one window, and back."""
    visit = Visit(0, duration, 1, windows=windows)
    domain = visit.start_domain()
    for d in domain:
        for start in (d.start, d.end - 1):
            assert any(w.start <= start and start + duration <= w.end for w in windows)
    for w in windows:
        if w.length >= duration:
            assert any(d.start <= w.end - duration < d.end for d in domain)
