"""Per-plan figures a sales manager reads at a glance: how full, how much driving, how scattered.

* visits per day (mean, min, max) over the rep-days that have visits;
* drive share: driving time over the working span (return - depart), per day and overall;
* area changes: how often consecutive stops of a day lie in different areas. A stop's area
  is the customer's CRM ``area`` when given, else its compass sector from the rep's start
  (as ``solver.areas`` labels days), so a day that zig-zags across town counts high.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from solver.areas import bearing_deg
from solver.distance import great_circle_m
from solver.types import Point

# Stops nearer the start than this share one area whatever their bearing.
NEAR_M = 1000.0


def stop_area(start: Point, point: Point, name: str | None) -> str:
    """The area a stop counts in: its CRM name, "near" the start, or one of 8 sectors."""
    if name:
        return name
    if float(great_circle_m([start, point])[0, 1]) < NEAR_M:
        return "near"
    return f"sector-{round(bearing_deg(start, point) / 45.0) % 8}"


def area_changes(areas: Sequence[str]) -> int:
    """How many times consecutive stops change area."""
    return sum(a != b for a, b in itertools.pairwise(areas))


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One rep-day: visits, driving and working span in seconds, stop areas in order."""

    visits: int
    drive_s: float
    span_s: float
    areas: tuple[str, ...]

    @property
    def drive_share(self) -> float:
        return self.drive_s / self.span_s if self.span_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class PlanKpis:
    """The plan's figures; per-day lists follow the order of ``days``."""

    days: int
    visits_mean: float
    visits_min: int
    visits_max: int
    drive_share: float
    area_changes_mean: float
    area_changes_min: int
    area_changes_max: int
    day_drive_share: tuple[float, ...]
    day_area_changes: tuple[int, ...]


def plan_kpis(days: Sequence[DayFigures]) -> PlanKpis:
    """Figures over days that have visits; an empty plan gives zeros."""
    used = [d for d in days if d.visits]
    if not used:
        return PlanKpis(0, 0.0, 0, 0, 0.0, 0.0, 0, 0, (), ())
    visits = [d.visits for d in used]
    changes = [area_changes(d.areas) for d in used]
    span = sum(d.span_s for d in used)
    return PlanKpis(
        days=len(used),
        visits_mean=sum(visits) / len(used),
        visits_min=min(visits),
        visits_max=max(visits),
        drive_share=sum(d.drive_s for d in used) / span if span > 0 else 0.0,
        area_changes_mean=sum(changes) / len(used),
        area_changes_min=min(changes),
        area_changes_max=max(changes),
        day_drive_share=tuple(d.drive_share for d in used),
        day_area_changes=tuple(changes),
    )
