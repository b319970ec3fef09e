"""Area names for days: what a rep reads first ("Pudong - Zhangjiang", "North-east, 8 km").

A day is worth planning when it stays in one area. The CRM's own area names are the best
label; without them the day is named by where its visits lie as seen from the rep's start.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from solver.distance import great_circle_m
from solver.types import Point

_COMPASS = (
    "North",
    "North-east",
    "East",
    "South-east",
    "South",
    "South-west",
    "West",
    "North-west",
)


def bearing_deg(origin: Point, target: Point) -> float:
    """Initial great-circle bearing, degrees clockwise from north."""
    lat1, lat2 = math.radians(origin.lat), math.radians(target.lat)
    dlon = math.radians(target.lon - origin.lon)
    x = math.sin(dlon) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


def centroid(points: Sequence[Point]) -> Point:
    """Mean of coordinates: fine at city scale, where areas live."""
    return Point(sum(p.lat for p in points) / len(points), sum(p.lon for p in points) / len(points))


def area_label(start: Point, stops: Sequence[Point], names: Sequence[str | None]) -> str:
    """Most common CRM area of the day's stops (two if split), else a compass label."""
    known = Counter(n for n in names if n)
    if known:
        ranked = known.most_common(2)
        if len(ranked) == 1 or ranked[0][1] * 2 >= len(stops):
            return ranked[0][0]
        return f"{ranked[0][0]} + {ranked[1][0]}"
    if not stops:
        return ""
    middle = centroid(stops)
    km = float(great_circle_m([start, middle])[0, 1]) / 1000.0
    if km < 1.0:
        return "Near start"
    sector = _COMPASS[round(bearing_deg(start, middle) / 45.0) % 8]
    return f"{sector}, {km:.0f} km"
