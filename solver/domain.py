"""Planning-domain inputs and outputs: reps, working days and customers.

``solver.types`` speaks routing (vehicles, visits, windows); this module speaks the sales
team's language. ``solver.pipeline`` translates one into the other. Times are seconds on
the horizon axis (``DAY`` per calendar day from ``epoch``); times of day are seconds after
local midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from solver.errors import InvalidProblemError
from solver.types import DAY, Point, Window


class Code(StrEnum):
    """Why a customer is not in the plan; the values are the API contract's codes."""

    NOT_PRECISE = "not_precise"
    GEOCODE_FAILED = "geocode_failed"
    OUTSIDE_HORIZON = "outside_horizon"
    NO_TIME_WINDOW_FITS = "no_time_window_fits"
    TOO_FAR = "too_far"
    OVER_CAPACITY = "over_capacity"


@dataclass(frozen=True, slots=True)
class Lunch:
    """A break of ``duration`` seconds lying wholly between ``earliest`` and ``latest``."""

    earliest: int
    latest: int
    duration: int

    def __post_init__(self) -> None:
        if not 0 < self.duration <= self.latest - self.earliest:
            raise InvalidProblemError("lunch does not fit between earliest and latest")


@dataclass(frozen=True, slots=True)
class RepInput:
    """A rep's working day: where it starts and ends, hours, lunch and visit cap."""

    id: str
    start: Point
    end: Point
    work_start: int
    work_end: int
    lunch: Lunch | None = None
    max_visits_per_day: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.work_start < self.work_end <= DAY:
            raise InvalidProblemError(f"rep {self.id}: working hours out of order")


@dataclass(frozen=True, slots=True)
class CustomerInput:
    """A geocoded customer to visit.

    ``windows`` of None means "whenever the rep works"; otherwise the visit must fit
    wholly inside one of them. ``day`` and ``rep`` are pins (indices into the input's
    days and reps).
    """

    id: str
    point: Point
    duration: int
    priority: int
    must_visit: bool = False
    windows: tuple[Window, ...] | None = None
    day: int | None = None
    rep: int | None = None
    area: str | None = None

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise InvalidProblemError(f"customer {self.id}: visit duration must be positive")
        if not 0 <= self.priority <= 100:
            raise InvalidProblemError(f"customer {self.id}: priority outside 0..100")


@dataclass(frozen=True)
class PlanningInput:
    """Everything a plan needs except travel times, which depend on ``locations()``."""

    reps: tuple[RepInput, ...]
    days: tuple[date, ...]
    customers: tuple[CustomerInput, ...]
    epoch: date

    def __post_init__(self) -> None:
        if list(self.days) != sorted(set(self.days)):
            raise InvalidProblemError("days must be unique and ascending")
        if self.days and self.days[0] < self.epoch:
            raise InvalidProblemError("a day lies before the epoch")
        for c in self.customers:
            if c.day is not None and not 0 <= c.day < len(self.days):
                raise InvalidProblemError(f"customer {c.id}: pinned day out of range")
            if c.rep is not None and not 0 <= c.rep < len(self.reps):
                raise InvalidProblemError(f"customer {c.id}: pinned rep out of range")

    def day_offset(self, day: int) -> int:
        """Seconds from the epoch to local midnight of working day ``day``."""
        return (self.days[day] - self.epoch).days * DAY

    def locations(self) -> list[Point]:
        """Matrix order: each rep's start and end, then each customer."""
        points = [p for r in self.reps for p in (r.start, r.end)]
        return points + [c.point for c in self.customers]

    def start_loc(self, rep: int) -> int:
        return 2 * rep

    def end_loc(self, rep: int) -> int:
        return 2 * rep + 1

    def customer_loc(self, customer: int) -> int:
        return 2 * len(self.reps) + customer


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """A scheduled visit; ``travel_*`` is the leg from the previous stop or the start."""

    customer: int
    arrival: int
    start: int
    end: int
    travel_s: int
    travel_m: int
    wait_s: int


@dataclass(frozen=True, slots=True)
class PlannedDay:
    """One rep's itinerary on one working day."""

    rep: int
    day: int
    depart: int
    return_at: int
    stops: tuple[PlannedStop, ...]
    return_travel_s: int
    return_travel_m: int
    lunch: Window | None
    area: str

    @property
    def travel_s(self) -> int:
        return sum(s.travel_s for s in self.stops) + self.return_travel_s

    @property
    def travel_m(self) -> int:
        return sum(s.travel_m for s in self.stops) + self.return_travel_m


@dataclass(frozen=True, slots=True)
class Hint:
    """A change that would let a left-out customer in, checked against the time model.

    ``kind`` is ``visit_minutes``, ``work_end``, ``work_start`` (``value`` in minutes, or
    minutes after midnight for the hours), ``priority`` (``value`` the priority that would
    win, ``instead_of`` the customer it would displace) or ``never_meets`` (no value).
    """

    kind: str
    text: str
    rep: int | None = None
    day: int | None = None
    value: int | None = None
    instead_of: int | None = None


@dataclass(frozen=True, slots=True)
class Unplanned:
    """A customer left out, the contract's code, and the binding constraint in words."""

    customer: int
    code: Code
    reason: str
    hints: tuple[Hint, ...] = ()


@dataclass(frozen=True)
class PlanOutcome:
    """The plan in domain terms plus the unoptimised baseline for the savings figure."""

    days: tuple[PlannedDay, ...]
    unassigned: tuple[Unplanned, ...]
    baseline_travel_s: int
    baseline_travel_m: int
    status: str
    wall_time_s: float
