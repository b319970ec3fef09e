"""Visit cadence: who is due this week, how urgent, and which rep takes whom.

Pure functions over pool rows (anything with the attributes below), so the rules are tested
without a database. The rules:

- A customer's interval is its own ``cadence_days``, else the territory's ``cadence_days``
  for its segment, else the server's (``VP_CADENCE_DAYS``: ordered 28, maintaining 14,
  prospect 7).
- It is *due* on ``as_of`` when it was never visited or ``as_of >= last_visit + interval``.
  A run evaluates this on its week's first day, so a customer coming due mid-week is not
  yet due and may be offered as fill instead.
- Overdue raises priority: ``priority = min(100, base + ceil(points * overdue / interval))``
  where ``base`` is the customer's priority (else its segment's), ``overdue`` the days past
  the due date and ``points`` ``VP_CADENCE_OVERDUE_POINTS`` (20): one whole interval late
  adds 20 points, two add 40, whatever the segment's interval.
- Not-yet-due customers near a rep's due customers (the same ``area``, or within
  ``VP_CADENCE_FILL_RADIUS_KM``) are offered to that rep as optional fill at
  ``VP_CADENCE_FILL_PRIORITY``, never ``must_visit``, soonest due first, at most
  ``VP_CADENCE_FILL_MAX_PER_REP`` each. The solver visits them only where time is left.
- Inactive customers and reps take no part; a customer pinned to an inactive (or unknown)
  rep is treated as unassigned.
- Unassigned due customers go to the nearest rep home with room: each rep takes at most
  ``ceil(1.1 x due / reps)`` due customers (its pinned ones count), and customers with the
  biggest gap between their nearest and second-nearest rep choose first, so balancing moves
  the customers it costs least to move.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

_EARTH_KM = 6371.0088
_BALANCE_SLACK = 1.1


class PoolCustomer(Protocol):
    """The fields of ``models.TerritoryCustomer`` the cadence reads."""

    external_id: str
    segment: str
    cadence_days: int | None
    last_visit: date | None
    priority: int | None
    must_visit: bool
    rep_id: str | None
    lat: float | None
    lon: float | None
    active: bool
    attributes: dict[str, Any]


class PoolRep(Protocol):
    """The fields of ``models.TerritoryRep`` the assignment reads."""

    external_id: str
    start_lat: float | None
    start_lon: float | None
    active: bool


@dataclass(frozen=True)
class CadenceRules:
    """The intervals and fill rules in force for one territory."""

    defaults: Mapping[str, int]  # server settings, per segment
    territory: Mapping[str, int] = field(default_factory=dict)  # the territory's overrides
    overdue_points: int = 20
    fill_priority: int = 5
    fill_radius_km: float = 2.0
    fill_max_per_rep: int = 20

    def interval(self, customer: PoolCustomer) -> int:
        """Days between visits: the customer's own, else the territory's, else the server's."""
        if customer.cadence_days is not None:
            return customer.cadence_days
        days = self.territory.get(customer.segment, self.defaults.get(customer.segment))
        if days is None:
            raise ValueError(f"no cadence interval for segment {customer.segment!r}")
        return int(days)


def due_date(customer: PoolCustomer, interval: int) -> date | None:
    """When the next visit is due; None: never visited, so due now."""
    if customer.last_visit is None:
        return None
    return customer.last_visit + timedelta(days=interval)


def is_due(customer: PoolCustomer, as_of: date, interval: int) -> bool:
    """Due when never visited or ``as_of >= last_visit + interval``."""
    due = due_date(customer, interval)
    return due is None or as_of >= due


def overdue_days(customer: PoolCustomer, as_of: date, interval: int) -> int:
    """Days past the due date on ``as_of`` (0 when not overdue or never visited)."""
    due = due_date(customer, interval)
    return 0 if due is None else max(0, (as_of - due).days)


def boosted_priority(base: int, overdue: int, interval: int, points: int) -> int:
    """``min(100, base + ceil(points * overdue / interval))``: one interval late adds ``points``."""
    if overdue <= 0:
        return min(100, base)
    return min(100, base + math.ceil(points * overdue / max(1, interval)))


@dataclass(frozen=True)
class Visit:
    """One customer offered to one rep for the week."""

    customer_id: str
    priority: int
    must_visit: bool
    fill: bool
    overdue_days: int = 0


@dataclass
class Week:
    """Every active rep's offered visits (due first, then fill), by rep external id."""

    visits: dict[str, list[Visit]]

    def customer_ids(self) -> list[str]:
        return [v.customer_id for visits in self.visits.values() for v in visits]


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def _point(c: PoolCustomer) -> tuple[float, float] | None:
    return None if c.lat is None or c.lon is None else (c.lat, c.lon)


def _area(c: PoolCustomer) -> str | None:
    area = (c.attributes or {}).get("area")
    return area if isinstance(area, str) and area else None


def assign_due(
    due: Sequence[PoolCustomer], reps: Sequence[PoolRep]
) -> dict[str, list[PoolCustomer]]:
    """Due customers by rep: pinned ones to their rep, the rest to the nearest rep with room."""
    rep_ids = [r.external_id for r in reps]
    homes = {
        r.external_id: (r.start_lat, r.start_lon)
        for r in reps
        if r.start_lat is not None and r.start_lon is not None
    }
    out: dict[str, list[PoolCustomer]] = {rid: [] for rid in rep_ids}
    free: list[PoolCustomer] = []
    for c in due:
        if c.rep_id in out:
            out[c.rep_id].append(c)
        else:
            free.append(c)
    if not rep_ids:
        return out
    cap = math.ceil(_BALANCE_SLACK * len(due) / len(rep_ids))

    def ranked(c: PoolCustomer) -> list[tuple[float, str]]:
        p = _point(c)
        return sorted(
            (km(p[0], p[1], *homes[rid]) if p is not None and rid in homes else math.inf, rid)
            for rid in rep_ids
        )

    choices = [(c, ranked(c)) for c in free]

    def regret(item: tuple[PoolCustomer, list[tuple[float, str]]]) -> tuple[float, str]:
        c, options = item
        first = options[0][0]
        second = options[1][0] if len(options) > 1 else first
        gap = second - first if math.isfinite(second) and math.isfinite(first) else -1.0
        return (-gap, c.external_id)

    for c, options in sorted(choices, key=regret):
        if not math.isfinite(options[0][0]):
            # No coordinates to compare: the least-loaded rep (geocoding places it later).
            target = min(rep_ids, key=lambda rid: (len(out[rid]), rid))
        else:
            roomy = [rid for _, rid in options if len(out[rid]) < cap]
            target = roomy[0] if roomy else options[0][1]
        out[target].append(c)
    return out


class _Grid:
    """Due customers bucketed by position so fill lookups check only nearby cells."""

    def __init__(self, radius_km: float) -> None:
        self.step = max(radius_km / 111.0, 1e-4)
        self.radius = radius_km
        self.cells: dict[tuple[int, int], list[tuple[float, float, str]]] = {}

    def add(self, lat: float, lon: float, rep_id: str) -> None:
        key = (math.floor(lat / self.step), math.floor(lon / self.step))
        self.cells.setdefault(key, []).append((lat, lon, rep_id))

    def nearest(self, lat: float, lon: float, allowed: set[str]) -> tuple[float, str] | None:
        """The closest due customer of an allowed rep within the radius: (km, rep)."""
        row, col = math.floor(lat / self.step), math.floor(lon / self.step)
        # A degree of longitude is shorter than one of latitude: look further east and west.
        span = math.ceil(1 / max(0.05, math.cos(math.radians(lat))))
        best: tuple[float, str] | None = None
        for r in range(row - 1, row + 2):
            for c in range(col - span, col + span + 1):
                for plat, plon, rep_id in self.cells.get((r, c), ()):
                    if rep_id not in allowed:
                        continue
                    d = km(lat, lon, plat, plon)
                    if d <= self.radius and (best is None or (d, rep_id) < best):
                        best = (d, rep_id)
        return best


def plan_week(
    customers: Iterable[PoolCustomer],
    reps: Iterable[PoolRep],
    as_of: date,
    rules: CadenceRules,
    base_priority: Mapping[str, int],
) -> Week:
    """Who each active rep should visit in the week starting ``as_of`` (see the module rules).

    ``base_priority`` is the segment table's priority, used for customers without their own.
    Every customer is offered to at most one rep.
    """
    active_reps = sorted((r for r in reps if r.active), key=lambda r: r.external_id)
    rep_ids = {r.external_id for r in active_reps}
    pool = sorted((c for c in customers if c.active), key=lambda c: c.external_id)
    due: list[PoolCustomer] = []
    later: list[tuple[PoolCustomer, date]] = []
    for c in pool:
        interval = rules.interval(c)
        if is_due(c, as_of, interval):
            due.append(c)
        else:
            when = due_date(c, interval)
            assert when is not None
            later.append((c, when))
    by_rep = assign_due(due, active_reps)
    visits: dict[str, list[Visit]] = {rid: [] for rid in sorted(rep_ids)}
    grid = _Grid(rules.fill_radius_km)
    areas: dict[str, set[str]] = {}
    for rep_id, assigned in by_rep.items():
        for c in assigned:
            interval = rules.interval(c)
            late = overdue_days(c, as_of, interval)
            base = c.priority if c.priority is not None else base_priority.get(c.segment, 50)
            priority = boosted_priority(base, late, interval, rules.overdue_points)
            visits[rep_id].append(Visit(c.external_id, priority, c.must_visit, False, late))
            point, area = _point(c), _area(c)
            if point is not None:
                grid.add(point[0], point[1], rep_id)
            if area is not None:
                areas.setdefault(area, set()).add(rep_id)
    if rules.fill_max_per_rep <= 0:
        return Week(visits)
    offers: dict[str, list[tuple[date, float, str]]] = {}
    for c, when in later:
        allowed = {c.rep_id} if c.rep_id in rep_ids else rep_ids
        point, area = _point(c), _area(c)
        found = grid.nearest(point[0], point[1], allowed) if point is not None else None
        same_area = sorted(areas.get(area, set()) & allowed) if area is not None else []
        if found is None and same_area:
            found = (rules.fill_radius_km, same_area[0])
        if found is not None:
            offers.setdefault(found[1], []).append((when, found[0], c.external_id))
    for rep_id, offered in offers.items():
        for _, _, customer_id in sorted(offered)[: rules.fill_max_per_rep]:
            visits[rep_id].append(Visit(customer_id, rules.fill_priority, False, True))
    return Week(visits)
