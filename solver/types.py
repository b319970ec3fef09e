"""Typed, validated inputs and outputs of the solver.

Units are integers at this boundary: seconds and metres. Times are seconds since the
*horizon epoch*, midnight (local wall-clock) of the first day of the horizon, so day ``d`` of
the horizon spans ``[offset_d, offset_d + 86400)``. The app converts time zones and ISO
strings to and from this axis; the solver never sees them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from solver.errors import InvalidProblemError

DAY = 86_400

IntMatrix = npt.NDArray[np.int64]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidProblemError(message)


@dataclass(frozen=True, slots=True)
class Point:
    """A WGS-84 coordinate; rejects what would silently corrupt a distance matrix."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        _require(math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0, f"bad latitude {self.lat}")
        _require(
            math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0, f"bad longitude {self.lon}"
        )


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """A half-open interval ``[start, end)`` on the horizon axis, in seconds."""

    start: int
    end: int

    def __post_init__(self) -> None:
        # Floats would reach OR-Tools' int64 API and fail far from the cause.
        _require(isinstance(self.start, int) and isinstance(self.end, int), "window bounds not int")
        _require(self.end > self.start, f"window end {self.end} <= start {self.start}")

    @property
    def length(self) -> int:
        return self.end - self.start

    def intersect(self, other: Window) -> Window | None:
        """The overlap of two windows, or None when they only touch or are disjoint."""
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Window(start, end) if end > start else None


@dataclass(frozen=True, slots=True)
class BreakSpec:
    """A break (lunch) that must lie wholly inside ``window`` and last ``duration`` seconds."""

    window: Window
    duration: int

    def __post_init__(self) -> None:
        _require(self.duration > 0, "break duration must be positive")
        _require(self.duration <= self.window.length, "break does not fit in its window")


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Travel durations (s) and distances (m) between locations, indexed the same way.

    ``eq=False`` because numpy arrays do not compare as booleans; identity is what matters.
    """

    durations: IntMatrix
    distances: IntMatrix

    def __post_init__(self) -> None:
        d, m = self.durations, self.distances
        _require(d.ndim == 2 and d.shape[0] == d.shape[1], "durations must be square")
        _require(d.shape == m.shape, "durations and distances differ in shape")
        _require(bool((d >= 0).all()) and bool((m >= 0).all()), "negative travel")

    @property
    def size(self) -> int:
        return int(self.durations.shape[0])


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One route: a rep on one day (or a truck in a benchmark).

    ``shift`` bounds departure from ``start`` and arrival at ``end``; both are location
    indices into the travel matrix.
    """

    start: int
    end: int
    shift: Window
    breaks: tuple[BreakSpec, ...] = ()
    max_visits: int | None = None
    capacity: int | None = None
    fixed_cost: int = 0
    rep: int = 0
    day: int = 0

    def __post_init__(self) -> None:
        _require(self.max_visits is None or self.max_visits >= 0, "max_visits < 0")
        _require(self.capacity is None or self.capacity >= 0, "capacity < 0")
        _require(self.fixed_cost >= 0, "fixed_cost < 0")


@dataclass(frozen=True, slots=True)
class Visit:
    """A customer visit to place on some vehicle.

    ``windows`` are the intervals the *whole* visit must fit into (start and end inside one);
    empty means "any time the vehicle works". ``penalty`` is the cost of leaving it out, in
    the objective's unit (seconds of travel); ``allowed_vehicles`` of None means any.
    """

    location: int
    duration: int
    penalty: int
    windows: tuple[Window, ...] = ()
    allowed_vehicles: frozenset[int] | None = None
    demand: int = 0

    def __post_init__(self) -> None:
        _require(self.duration >= 0, "visit duration < 0")
        _require(self.penalty >= 0, "penalty < 0")
        _require(self.demand >= 0, "demand < 0")
        ordered = sorted(self.windows)
        for a, b in itertools.pairwise(ordered):
            _require(a.end <= b.start, f"overlapping windows {a} and {b}")

    def start_domain(self) -> tuple[Window, ...]:
        """Intervals in which the visit may *start* so that it also ends inside a window."""
        out = []
        for w in sorted(self.windows):
            if w.length >= self.duration:
                # +1: a visit may start exactly at end - duration; Window is half-open.
                out.append(Window(w.start, w.end - self.duration + 1))
        return tuple(out)


@dataclass(frozen=True, eq=False)
class Problem:
    """A complete routing problem; checked once here so routing code can trust it."""

    matrix: TravelMatrix
    vehicles: tuple[Vehicle, ...]
    visits: tuple[Visit, ...]

    def __post_init__(self) -> None:
        n = self.matrix.size
        for i, v in enumerate(self.vehicles):
            _require(0 <= v.start < n and 0 <= v.end < n, f"vehicle {i} location out of range")
        nv = len(self.vehicles)
        for i, s in enumerate(self.visits):
            _require(0 <= s.location < n, f"visit {i} location out of range")
            if s.allowed_vehicles is not None:
                _require(
                    all(0 <= k < nv for k in s.allowed_vehicles),
                    f"visit {i} allows an unknown vehicle",
                )


class FirstSolution(StrEnum):
    """First-solution strategies offered to callers (a subset of OR-Tools')."""

    PARALLEL_CHEAPEST_INSERTION = "PARALLEL_CHEAPEST_INSERTION"
    LOCAL_CHEAPEST_INSERTION = "LOCAL_CHEAPEST_INSERTION"
    PATH_CHEAPEST_ARC = "PATH_CHEAPEST_ARC"
    SAVINGS = "SAVINGS"
    SEQUENTIAL_CHEAPEST_INSERTION = "SEQUENTIAL_CHEAPEST_INSERTION"
    LOCAL_CHEAPEST_COST_INSERTION = "LOCAL_CHEAPEST_COST_INSERTION"
    CHRISTOFIDES = "CHRISTOFIDES"
    AUTOMATIC = "AUTOMATIC"


class Metaheuristic(StrEnum):
    """Local-search metaheuristics offered to callers (a subset of OR-Tools')."""

    GUIDED_LOCAL_SEARCH = "GUIDED_LOCAL_SEARCH"
    SIMULATED_ANNEALING = "SIMULATED_ANNEALING"
    TABU_SEARCH = "TABU_SEARCH"
    GREEDY_DESCENT = "GREEDY_DESCENT"
    AUTOMATIC = "AUTOMATIC"


@dataclass(frozen=True, slots=True)
class SolveParams:
    """The stopping rule and search set-up; every solve is bounded in time.

    With ``solution_limit`` set, the search is deterministic: the same problem and
    parameters give the same solution (a time limit alone depends on machine speed).
    ``stall_s`` ends the search early once that long has passed without a better plan,
    so a small problem does not wait out a limit sized for a large one.
    """

    time_limit_s: float = 10.0
    solution_limit: int | None = None
    stall_s: float | None = None
    seed: int = 0
    first_solution: FirstSolution = FirstSolution.PARALLEL_CHEAPEST_INSERTION
    metaheuristic: Metaheuristic = Metaheuristic.GUIDED_LOCAL_SEARCH
    # Differently configured searches run side by side in processes, best kept; 1 = in-process.
    parallel: int = 1
    # Run the default metaheuristic as iterated local search (solver/routing.py). Off for
    # requests far over the horizon's capacity: each recreate step then weighs every one of
    # hundreds of dropped visits (bench/README.md, plan_bench: 160 of 200 slots filled
    # against 200 with plain guided local search).
    iterated: bool = True

    def __post_init__(self) -> None:
        _require(0 < self.time_limit_s <= 3600, "time limit must be in (0, 3600] s")
        _require(1 <= self.parallel <= 16, "parallel must be in [1, 16]")
        _require(self.solution_limit is None or self.solution_limit > 0, "solution_limit <= 0")
        _require(self.stall_s is None or self.stall_s > 0, "stall_s <= 0")


@dataclass(frozen=True, slots=True)
class Stop:
    """A visit as scheduled: when the vehicle arrives, starts, ends, and the leg before it."""

    visit: int
    arrival: int
    start: int
    end: int
    travel_s: int
    travel_m: int
    wait_s: int = 0


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle's day; ``arrival_end`` is the arrival at the end location."""

    vehicle: int
    depart: int
    stops: tuple[Stop, ...]
    arrival_end: int
    return_travel_s: int
    return_travel_m: int
    breaks: tuple[Window, ...] = ()

    @property
    def travel_s(self) -> int:
        return sum(s.travel_s for s in self.stops) + self.return_travel_s

    @property
    def travel_m(self) -> int:
        return sum(s.travel_m for s in self.stops) + self.return_travel_m


@dataclass(frozen=True)
class Solution:
    """The solver's answer: non-empty routes and the visits it left out."""

    routes: tuple[Route, ...]
    dropped: tuple[int, ...]
    objective: int
    status: str
    wall_time_s: float
    solutions_found: int = field(default=0)

    @property
    def travel_s(self) -> int:
        return sum(r.travel_s for r in self.routes)

    @property
    def travel_m(self) -> int:
        return sum(r.travel_m for r in self.routes)


@dataclass(frozen=True)
class WarmStart:
    """Re-planning extras for ``routing.solve_warm``: where visits were, and what may not move.

    ``routes`` (one tuple per vehicle) is the current plan as visit indices in order, the
    search's first solution. ``previous`` gives each visit's vehicle in the current plan (None
    for new or unplaced visits): arriving at a visit on another vehicle costs ``move_cost``,
    and an arc into a visit that the current plan did not have costs ``reorder_cost``, so a
    small disturbance gives a small change. ``frozen`` chains (per vehicle) must open their
    route in that order; ``fixed`` visits keep their vehicle and start time exactly.
    """

    routes: tuple[tuple[int, ...], ...]
    previous: tuple[int | None, ...]
    move_cost: int = 0
    reorder_cost: int = 0
    frozen: tuple[tuple[int, ...], ...] = ()
    fixed: tuple[tuple[int, int, int], ...] = ()  # (visit, vehicle, start)

    def __post_init__(self) -> None:
        _require(self.move_cost >= 0 and self.reorder_cost >= 0, "negative change cost")
        seen = [i for r in self.routes for i in r]
        _require(len(seen) == len(set(seen)), "a visit appears twice in the current routes")
        _require(not self.frozen or len(self.frozen) == len(self.routes), "frozen per vehicle")
        for route, chain in zip(self.routes, self.frozen, strict=False):
            _require(route[: len(chain)] == chain, "a frozen chain must open its current route")
