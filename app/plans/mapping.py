"""The one place where API shapes become solver shapes and solver results become rows.

Wall-clock rules live here: the plan's time zone turns local ``HH:MM`` and ISO-8601
instants into seconds on the solver's horizon axis (local midnight of the first working
day = 0), and back into aware datetimes for storage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from app.config import SegmentDefaults, Settings
from app.plans.schemas import Customer, Location, PlanRequest, Rep
from solver.domain import Code, CustomerInput, Lunch, PlanningInput, RepInput
from solver.types import DAY, Point, Window

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def seconds_of_day(value: str | time) -> int:
    """``"09:30"`` or ``time(9, 30)`` -> 34200; ``"24:00"`` is the end of the day."""
    if isinstance(value, time):
        return value.hour * 3600 + value.minute * 60 + value.second
    hours, minutes = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60


@dataclass(frozen=True)
class Rejected:
    """A customer the service leaves out before solving (not precise, no coordinates...)."""

    index: int
    code: Code
    reason: str


@dataclass
class Mapped:
    """The solver input plus what the service needs to map results back."""

    planning: PlanningInput
    tz: ZoneInfo
    customer_index: list[int]  # planning customer -> request customer
    rejected: list[Rejected]
    segments: dict[str, SegmentDefaults]
    warnings: list[str] = field(default_factory=list)

    def to_datetime(self, t: int) -> datetime:
        """Horizon seconds -> aware datetime in the plan's zone (DST-correct wall clock)."""
        local = datetime.combine(self.planning.epoch, time()) + timedelta(seconds=t)
        return local.replace(tzinfo=self.tz)


def point_of(location: Location | None) -> Point | None:
    if location is None or location.lat is None or location.lon is None:
        return None
    return Point(location.lat, location.lon)


def _rep_input(rep: Rep) -> RepInput:
    start = point_of(rep.start)
    end = point_of(rep.end) if rep.end is not None else start
    if start is None or end is None:
        # Validation guarantees coordinates or an address; the service geocodes addresses
        # before mapping, so reaching this is a bug, not bad input.
        raise ValueError(f"rep {rep.id} has no coordinates after geocoding")
    lunch = None
    if rep.lunch is not None:
        lunch = Lunch(
            seconds_of_day(rep.lunch.earliest),
            seconds_of_day(rep.lunch.latest),
            round(rep.lunch.minutes * 60),
        )
    return RepInput(
        id=rep.id,
        start=start,
        end=end,
        work_start=seconds_of_day(rep.work_start),
        work_end=seconds_of_day(rep.work_end),
        lunch=lunch,
        max_visits_per_day=rep.max_visits_per_day,
    )


def merge(windows: list[Window]) -> tuple[Window, ...]:
    """Union of possibly overlapping windows, sorted; touching ones join."""
    out: list[Window] = []
    for w in sorted(windows):
        if out and w.start <= out[-1].end:
            out[-1] = Window(out[-1].start, max(out[-1].end, w.end))
        else:
            out.append(w)
    return tuple(out)


def _opening_windows(c: Customer, days: list[date], epoch: date) -> list[Window]:
    hours: dict[str, Any] = c.opening_hours or {}
    out = []
    for day in days:
        offset = (day - epoch).days * DAY
        for start, end in hours.get(WEEKDAYS[day.weekday()], []):
            out.append(Window(offset + seconds_of_day(start), offset + seconds_of_day(end)))
    return out


def _absolute_windows(c: Customer, tz: ZoneInfo, epoch: date) -> list[Window]:
    origin = datetime.combine(epoch, time())
    out = []
    for tw in c.time_windows or []:
        a = (tw.start.astimezone(tz).replace(tzinfo=None) - origin).total_seconds()
        b = (tw.end.astimezone(tz).replace(tzinfo=None) - origin).total_seconds()
        if b > 0:
            # Round outwards: a sub-second window must not collapse to nothing.
            out.append(Window(max(0, math.floor(a)), math.ceil(b)))
    return out


def customer_windows(
    c: Customer, days: list[date], epoch: date, tz: ZoneInfo
) -> tuple[Window, ...] | None:
    """Where the visit may lie: opening hours intersected with time windows (both optional).

    None means unrestricted (the rep's working hours apply); an empty tuple means no
    interval at all falls inside the horizon.
    """
    has_hours, has_windows = c.opening_hours is not None, c.time_windows is not None
    if not has_hours and not has_windows:
        return None
    opening = _opening_windows(c, days, epoch) if has_hours else None
    absolute = _absolute_windows(c, tz, epoch) if has_windows else None
    if opening is None:
        return merge(absolute or [])
    if absolute is None:
        return merge(opening)
    parts = [p for a in opening for b in absolute if (p := a.intersect(b)) is not None]
    return merge(parts)


def _precheck_customer(
    i: int,
    c: Customer,
    req: PlanRequest,
    days: list[date],
    windows: tuple[Window, ...] | None,
    geocode_failure: str | None = None,
) -> Rejected | None:
    if req.options.precise_only and not c.precise:
        missing = [
            name
            for name, ok in (
                ("a need", c.need in ("explicit", "latent")),
                ("the ability to pay", bool(c.can_pay)),
                ("the decision maker (KP)", bool(c.decision_maker)),
            )
            if not ok
        ]
        return Rejected(
            i, Code.NOT_PRECISE, f"not a precise customer: missing {', '.join(missing)}"
        )
    if c.lat is None or c.lon is None:
        if not c.address:
            why = "no lat/lon given and no address either"
        else:
            why = f"no lat/lon given and the address {c.address!r} could not be geocoded"
            if geocode_failure:
                why += f": {geocode_failure}"
        return Rejected(i, Code.GEOCODE_FAILED, why)
    if c.date is not None and c.date not in days:
        return Rejected(
            i, Code.OUTSIDE_HORIZON, f"pinned to {c.date}, which is not a working day of the plan"
        )
    if c.opening_hours is not None and windows == ():
        if c.time_windows is not None and _opening_windows(c, days, days[0]):
            why = "its time windows never meet its opening hours on a working day"
        else:
            open_days = ", ".join(sorted(k for k, v in c.opening_hours.items() if v)) or "none"
            why = f"its opening hours (open on: {open_days}) fall on no working day of the horizon"
        return Rejected(i, Code.NO_TIME_WINDOW_FITS, why)
    return None


def to_planning_input(
    req: PlanRequest, settings: Settings, geocode_failures: Mapping[int, str] | None = None
) -> Mapped:
    """Map a validated request (coordinates already filled in) to the solver's input.

    ``geocode_failures`` (request customer index -> reason) says why geocoding left a
    customer without coordinates, so its ``geocode_failed`` entry can say so.
    """
    failures = geocode_failures or {}
    tz = ZoneInfo(req.timezone)
    days = sorted(req.horizon.dates())
    epoch = days[0]
    segments = req.options.segment_table(settings.segments)
    rep_index = {rep.id: k for k, rep in enumerate(req.reps)}
    customers: list[CustomerInput] = []
    index: list[int] = []
    rejected: list[Rejected] = []
    for i, c in enumerate(req.customers):
        windows = customer_windows(c, days, epoch, tz)
        problem = _precheck_customer(i, c, req, days, windows, failures.get(i))
        if problem is not None:
            rejected.append(problem)
            continue
        assert c.lat is not None
        assert c.lon is not None
        defaults = segments[c.segment]
        minutes = c.visit_minutes if c.visit_minutes is not None else defaults.visit_minutes
        customers.append(
            CustomerInput(
                id=c.id,
                point=Point(c.lat, c.lon),
                duration=max(1, round(minutes * 60)),
                priority=c.priority if c.priority is not None else defaults.priority,
                must_visit=c.must_visit,
                windows=windows,
                day=days.index(c.date) if c.date is not None else None,
                rep=rep_index[c.rep_id] if c.rep_id is not None else None,
                area=c.area,
            )
        )
        index.append(i)
    planning = PlanningInput(
        reps=tuple(_rep_input(r) for r in req.reps),
        days=tuple(days),
        customers=tuple(customers),
        epoch=epoch,
    )
    return Mapped(planning, tz, index, rejected, segments)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)
