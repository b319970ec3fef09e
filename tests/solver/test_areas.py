"""Day labels: CRM area majority first, else a compass direction and distance from start."""

from __future__ import annotations

import pytest

from solver.areas import area_label, bearing_deg, centroid
from solver.types import Point
from tests.solver.feasibility import offset_point

START = Point(48.8566, 2.3522)


def test_north_east_point_gets_a_north_east_label() -> None:
    """Stops 5 km north and 5 km east of the start read "North-east, 7 km"."""
    stop = offset_point(START, 5, 5)
    assert area_label(START, [stop], [None]) == "North-east, 7 km"


@pytest.mark.parametrize(
    ("east", "north", "sector"),
    [(0, 8, "North"), (8, 0, "East"), (0, -8, "South"), (-8, 0, "West"), (-6, -6, "South-west")],
)
def test_compass_sectors(east: float, north: float, sector: str) -> None:
    """Each main direction maps to its compass sector."""
    label = area_label(START, [offset_point(START, east, north)], [None])
    assert label.split(",")[0] == sector


def test_bearing_is_clockwise_from_north() -> None:
    """Due east is about 90 degrees, due south about 180."""
    assert bearing_deg(START, offset_point(START, 5, 0)) == pytest.approx(90, abs=0.1)
    assert bearing_deg(START, offset_point(START, 0, -5)) == pytest.approx(180, abs=0.1)


def test_close_stops_are_near_start() -> None:
    """A day whose visits centre within 1 km of the start is "Near start"."""
    stops = [offset_point(START, 0.3, 0.2), offset_point(START, -0.2, 0.1)]
    assert area_label(START, stops, [None, None]) == "Near start"
    assert area_label(START, [], []) == ""


def test_crm_area_majority_wins() -> None:
    """The most common CRM area names the day when it covers at least half the stops."""
    stops = [offset_point(START, i, 0) for i in range(4)]
    assert area_label(START, stops, ["Marais", "Marais", "Bastille", None]) == "Marais"
    assert area_label(START, stops[:1], ["Bastille"]) == "Bastille"


def test_split_crm_areas_name_the_two_largest() -> None:
    """Without a majority the label joins the two most common areas."""
    stops = [offset_point(START, i, 0) for i in range(5)]
    label = area_label(START, stops, ["A", "A", "B", "C", None])
    assert label == "A + B"


def test_centroid_is_the_mean() -> None:
    """The centroid of two points is their midpoint in degrees."""
    assert centroid([Point(0.0, 0.0), Point(2.0, 4.0)]) == Point(1.0, 2.0)
