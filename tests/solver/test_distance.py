"""Straight-line travel: haversine distances and the detour/speed conversion to a matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest

from solver.distance import great_circle_m, straight_line_matrix
from solver.errors import InvalidProblemError
from solver.types import Point

PARIS = Point(48.8566, 2.3522)
LONDON = Point(51.5074, -0.1278)
NEW_YORK = Point(40.7128, -74.0060)


def test_paris_london_is_about_343_km() -> None:
    """Haversine Paris-London lands within 0.5% of the textbook 343.5 km."""
    metres = great_circle_m([PARIS, LONDON])[0, 1]
    assert metres == pytest.approx(343_500, rel=0.005)


def test_matrix_is_symmetric_with_zero_diagonal() -> None:
    """Great-circle distances are symmetric, non-negative and zero on the diagonal."""
    m = great_circle_m([PARIS, LONDON, NEW_YORK, Point(0.0, 0.0), Point(0.0, 180.0)])
    assert np.allclose(m, m.T)
    assert np.all(np.diag(m) == 0)
    assert np.all(m >= 0)


def test_antipodes_are_half_the_circumference() -> None:
    """Antipodal points give pi * R, not NaN."""
    m = great_circle_m([Point(0.0, 0.0), Point(0.0, 180.0)])
    assert m[0, 1] == pytest.approx(math.pi * 6_371_008.8, rel=1e-9)


def test_empty_input_gives_empty_matrix() -> None:
    """No points, no distances."""
    assert great_circle_m([]).shape == (0, 0)
    assert straight_line_matrix([]).size == 0


def test_detour_and_speed_scaling() -> None:
    """Distances are great-circle x detour; durations are that distance at the given speed."""
    gc = great_circle_m([PARIS, LONDON])[0, 1]
    tm = straight_line_matrix([PARIS, LONDON], speed_kmh=30.0, detour_factor=1.3)
    assert tm.distances.dtype == np.int64
    assert tm.durations.dtype == np.int64
    assert tm.distances[0, 1] == round(gc * 1.3)
    assert tm.durations[0, 1] == round(gc * 1.3 / (30.0 / 3.6))
    assert tm.durations[0, 1] == tm.durations[1, 0]
    assert tm.durations[0, 0] == tm.distances[0, 0] == 0


def test_30_kmh_over_a_known_distance() -> None:
    """6 km of road at 30 km/h takes 720 s."""
    a = Point(48.0, 2.0)
    b = Point(48.0 + 6_000 / 1.3 / 6_371_008.8 * 180 / math.pi, 2.0)
    tm = straight_line_matrix([a, b], speed_kmh=30.0, detour_factor=1.3)
    assert tm.distances[0, 1] == pytest.approx(6_000, abs=1)
    assert tm.durations[0, 1] == pytest.approx(720, abs=1)


@pytest.mark.parametrize("speed", [0.0, -5.0, math.nan, math.inf])
def test_invalid_speed_is_refused(speed: float) -> None:
    """A speed that is not a positive finite number is refused."""
    with pytest.raises(InvalidProblemError):
        straight_line_matrix([PARIS, LONDON], speed_kmh=speed)


@pytest.mark.parametrize("detour", [0.9, math.nan, math.inf])
def test_invalid_detour_is_refused(detour: float) -> None:
    """A detour factor below 1 or not finite is refused."""
    with pytest.raises(InvalidProblemError):
        straight_line_matrix([PARIS, LONDON], detour_factor=detour)
