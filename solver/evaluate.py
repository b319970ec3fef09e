"""Re-time a hand-made day with the solver's own time model and say exactly what breaks.

The routing model (``solver.routing``) is the reference: the day starts no earlier than the
shift, each leg is the matrix's travel time, a visit may wait for its window and must end
inside it, lunch is one unbroken break inside its window (clipped to the shift) that may
interrupt a drive or fill a wait but never a visit, the rep is home by the shift's end and
makes at most ``max_visits`` visits. This module applies those rules to an order *given*
by a person instead of searching for one, so nothing here needs OR-Tools.

Two entry points share one step function: ``time_day`` always answers a schedule and lists
each broken rule at the stop where it breaks (for ``POST /plans/{id}/evaluate``), and
``fits`` answers only whether the order is feasible, in one linear pass (for explanations,
which ask it many times).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from solver.domain import CustomerInput, PlannedStop, PlanningInput
from solver.prechecks import day_text, duration_text, hhmm
from solver.types import DAY, BreakSpec, TravelMatrix, Window


class ViolationType(StrEnum):
    """The rules a hand-made order can break; the values are the API's ``type``."""

    LATE = "late"
    CLOSED = "closed"
    OVER_HOURS = "over_hours"
    MAX_VISITS = "max_visits"
    LUNCH = "lunch"
    PINNED = "pinned"


@dataclass(frozen=True, slots=True)
class DayModel:
    """One rep's working day as the routing model sees it (see ``pipeline._vehicles``)."""

    rep: int
    day: int
    start_loc: int
    end_loc: int
    shift: Window
    lunch: BreakSpec | None
    max_visits: int | None


def day_model(
    inp: PlanningInput,
    rep: int,
    day: int,
    *,
    work_start: int | None = None,
    work_end: int | None = None,
) -> DayModel:
    """The day of ``rep`` on working day ``day``; other hours give a what-if day."""
    r = inp.reps[rep]
    offset = inp.day_offset(day)
    shift = Window(
        offset + (r.work_start if work_start is None else work_start),
        offset + (r.work_end if work_end is None else work_end),
    )
    lunch = None
    if r.lunch is not None:
        inside = Window(offset + r.lunch.earliest, offset + r.lunch.latest).intersect(shift)
        # A lunch window outside working hours is the rep's own time (as in the solver).
        if inside is not None and inside.length >= r.lunch.duration:
            lunch = BreakSpec(inside, r.lunch.duration)
    return DayModel(
        rep, day, inp.start_loc(rep), inp.end_loc(rep), shift, lunch, r.max_visits_per_day
    )


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken rule at stop ``stop`` (index in the day's order) of customer ``customer``."""

    type: ViolationType
    stop: int
    customer: int
    message: str


@dataclass(frozen=True, slots=True)
class TimedDay:
    """A given order with its times; ``violations`` is empty when the solver could run it."""

    model: DayModel
    depart: int
    return_at: int
    stops: tuple[PlannedStop, ...]
    return_travel_s: int
    return_travel_m: int
    lunch: Window | None
    violations: tuple[Violation, ...]

    @property
    def travel_s(self) -> int:
        return sum(s.travel_s for s in self.stops) + self.return_travel_s

    @property
    def travel_m(self) -> int:
        return sum(s.travel_m for s in self.stops) + self.return_travel_m


def _start(c: CustomerInput, ready: int, duration: int, shift: Window) -> tuple[int, str | None]:
    """Earliest start at or after ``ready`` that ends inside a window of that day.

    Returns the start (``ready`` itself when none fits) and None, "late" (a window of that
    day could hold the visit, but the rep gets there too late) or "closed" (none can).
    """
    if c.windows is None:
        return ready, None
    today = [w for w in c.windows if w.start < shift.end and w.end > shift.start]
    for w in sorted(today):
        start = max(w.start, ready)
        if start + duration <= w.end:
            return start, None
    if any(w.length >= duration for w in today):
        return ready, "late"
    return ready, "closed"


def _lunch_in_gap(leave: int, travel: int, lunch: BreakSpec) -> tuple[int, int] | None:
    """(lunch start, ready time) when lunch goes between ``leave`` and the next start.

    The earliest lunch start is always best: it can only make the rep ready sooner.
    """
    begin = max(leave, lunch.window.start)
    if begin + lunch.duration > lunch.window.end:
        return None
    return begin, max(leave + travel, begin) + lunch.duration


def _home_lunch(leave: int, travel: int, lunch: BreakSpec) -> tuple[int, int] | None:
    """(lunch start, return) when lunch is the last gap: after arriving if it can wait."""
    home = leave + travel
    after = max(home, lunch.window.start)
    if after + lunch.duration <= lunch.window.end:
        return after, home  # eaten at home / the office: the return is not delayed
    during = _lunch_in_gap(leave, travel, lunch)
    if during is None:
        return None
    return during[0], home + lunch.duration


def _duration(inp: PlanningInput, c: int, durations: Mapping[int, int] | None) -> int:
    if durations is not None and c in durations:
        return durations[c]
    return inp.customers[c].duration


def fits(
    inp: PlanningInput,
    matrix: TravelMatrix,
    model: DayModel,
    sequence: Sequence[int],
    durations: Mapping[int, int] | None = None,
) -> bool:
    """Whether the solver could run ``sequence`` (customer indices) in this order that day.

    One pass keeps the earliest finish both before and after lunch (earlier is never worse
    when waiting is allowed), so the answer equals "``time_day`` finds no violation".
    """
    if model.max_visits is not None and len(sequence) > model.max_visits:
        return False
    lunch, shift, d = model.lunch, model.shift, matrix.durations
    before: int | None = shift.start  # earliest finish with lunch still to come
    after: int | None = None  # ... with lunch eaten
    loc = model.start_loc
    for c in sequence:
        nxt = inp.customer_loc(c)
        travel = int(d[loc, nxt])
        dur = _duration(inp, c, durations)
        customer = inp.customers[c]
        new_before = new_after = None
        if before is not None:
            start, problem = _start(customer, before + travel, dur, shift)
            if problem is None:
                new_before = start + dur
            if lunch is not None and (gap := _lunch_in_gap(before, travel, lunch)) is not None:
                start, problem = _start(customer, gap[1], dur, shift)
                if problem is None:
                    new_after = start + dur
        if after is not None:
            start, problem = _start(customer, after + travel, dur, shift)
            if problem is None and (new_after is None or start + dur < new_after):
                new_after = start + dur
        before, after, loc = new_before, new_after, nxt
        if before is None and after is None:
            return False
    travel = int(d[loc, model.end_loc])
    if after is not None and after + travel <= shift.end:
        return True
    if before is None:
        return False
    if lunch is None:
        return before + travel <= shift.end
    home = _home_lunch(before, travel, lunch)
    return home is not None and home[1] <= shift.end


def _simulate(
    inp: PlanningInput,
    matrix: TravelMatrix,
    model: DayModel,
    sequence: Sequence[int],
    gap: int | None,
) -> TimedDay | None:
    """The schedule with lunch in gap ``gap`` (before stop ``gap``; len = before home).

    Broken windows do not stop the clock: the visit starts when the rep is there and the
    stop is reported. None when lunch cannot go in that gap.
    """
    shift, lunch = model.shift, model.lunch
    t, loc = shift.start, model.start_loc
    stops: list[PlannedStop] = []
    violations: list[Violation] = []
    eaten: Window | None = None
    for k, c in enumerate(sequence):
        nxt = inp.customer_loc(c)
        travel, metres = int(matrix.durations[loc, nxt]), int(matrix.distances[loc, nxt])
        arrival = ready = t + travel
        if gap == k and lunch is not None:
            placed = _lunch_in_gap(t, travel, lunch)
            if placed is None:
                return None
            eaten = Window(placed[0], placed[0] + lunch.duration)
            ready = placed[1]
            if placed[0] < t + travel:  # lunch interrupts the drive (as routing._arrival)
                arrival += lunch.duration
        customer = inp.customers[c]
        start, problem = _start(customer, ready, customer.duration, shift)
        if problem is not None:
            violations.append(_window_violation(inp, k, c, ready, problem, shift))
        lunch_inside = _overlap(eaten, arrival, start)
        stops.append(
            PlannedStop(
                c,
                arrival,
                start,
                start + customer.duration,
                travel,
                metres,
                start - arrival - lunch_inside,
            )
        )
        t, loc = start + customer.duration, nxt
    travel = int(matrix.durations[loc, model.end_loc])
    back_m = int(matrix.distances[loc, model.end_loc])
    return_at = t + travel
    if gap == len(sequence) and lunch is not None:
        home = _home_lunch(t, travel, lunch)
        if home is None:
            return None
        eaten, return_at = Window(home[0], home[0] + lunch.duration), home[1]
    if stops and return_at > shift.end:
        violations.append(_over_hours(inp, matrix, model, stops, return_at))
    if model.max_visits is not None and len(sequence) > model.max_visits:
        k = model.max_visits
        violations.append(
            Violation(
                ViolationType.MAX_VISITS,
                k,
                sequence[k],
                f"visit {k + 1} of a day capped at {model.max_visits} visits",
            )
        )
    return TimedDay(
        model,
        _depart(matrix, model, stops, gap, eaten),
        return_at,
        tuple(stops),
        travel,
        back_m,
        eaten,
        tuple(violations),
    )


def _overlap(window: Window | None, begin: int, end: int) -> int:
    if window is None:
        return 0
    return max(0, min(end, window.end) - max(begin, window.start))


def _window_violation(
    inp: PlanningInput, k: int, c: int, ready: int, problem: str, shift: Window
) -> Violation:
    customer = inp.customers[c]
    midnight = shift.start - shift.start % DAY
    calendar_day = Window(midnight, midnight + DAY)
    today = ", ".join(
        f"{hhmm(part.start)}-{hhmm(part.end)}"
        for w in customer.windows or ()
        if (part := w.intersect(calendar_day)) is not None
    )
    visit = duration_text(customer.duration)
    if problem == "late":
        return Violation(
            ViolationType.LATE,
            k,
            c,
            f"{customer.id}: ready at {hhmm(ready)}, too late for the {visit} visit to end"
            f" inside {today}",
        )
    where = f"open only {today}" if today else "closed all day"
    return Violation(
        ViolationType.CLOSED,
        k,
        c,
        f"{customer.id}: {where} on {day_text(inp, shift.start)}; the {visit} visit at"
        f" {hhmm(ready)} does not fit",
    )


def _over_hours(
    inp: PlanningInput,
    matrix: TravelMatrix,
    model: DayModel,
    stops: list[PlannedStop],
    return_at: int,
) -> Violation:
    """Blame the first stop after which the rep can no longer be home in time."""
    blamed = len(stops) - 1
    for k, s in enumerate(stops):
        back = int(matrix.durations[inp.customer_loc(s.customer), model.end_loc])
        if s.end + back > model.shift.end:
            blamed = k
            break
    c = stops[blamed].customer
    return Violation(
        ViolationType.OVER_HOURS,
        blamed,
        c,
        f"{inp.customers[c].id}: from this visit on the day cannot end by"
        f" {hhmm(model.shift.end)}; the rep is back at {hhmm(return_at)}"
        f" ({duration_text(return_at - model.shift.end)} over)",
    )


def _depart(
    matrix: TravelMatrix,
    model: DayModel,
    stops: list[PlannedStop],
    gap: int | None,
    eaten: Window | None,
) -> int:
    """Leave as late as the first stop allows, as the solver's finaliser does."""
    if not stops:
        return model.shift.start
    first = stops[0]
    if gap == 0 and eaten is not None and eaten.start < first.arrival:
        return model.shift.start  # lunch before the first visit: keep the computed times
    return max(model.shift.start, first.start - first.travel_s)


def time_day(
    inp: PlanningInput, matrix: TravelMatrix, model: DayModel, sequence: Sequence[int]
) -> TimedDay:
    """Times of ``sequence`` in the given order, with every rule it breaks.

    Lunch goes in whichever gap breaks fewest rules and then returns earliest; when no gap
    gives a clean day, skipping lunch competes too, as a ``lunch`` violation at the stop
    that takes its place.
    """
    gaps: list[int | None] = [None] if model.lunch is None else list(range(len(sequence) + 1))
    timed = [t for g in gaps if (t := _simulate(inp, matrix, model, sequence, g)) is not None]
    if model.lunch is not None and not any(not t.violations for t in timed):
        # Skipping lunch is one broken rule too; it wins a tie (it ends the day sooner).
        timed.append(_lunchless(inp, matrix, model, sequence))
    best = min(timed, key=lambda t: (len(t.violations), t.return_at))
    stops = best.stops
    if best.stops and best.depart > model.shift.start:
        # Times stay; only the first arrival and its wait follow the later departure.
        first = stops[0]
        arrival = best.depart + first.travel_s
        moved = PlannedStop(
            first.customer,
            arrival,
            first.start,
            first.end,
            first.travel_s,
            first.travel_m,
            first.start - arrival - _overlap(best.lunch, arrival, first.start),
        )
        stops = (moved, *stops[1:])
    return TimedDay(
        best.model,
        best.depart,
        best.return_at,
        stops,
        best.return_travel_s,
        best.return_travel_m,
        best.lunch,
        best.violations,
    )


def _lunchless(
    inp: PlanningInput, matrix: TravelMatrix, model: DayModel, sequence: Sequence[int]
) -> TimedDay:
    plain = _simulate(inp, matrix, model, sequence, None)
    assert plain is not None  # without lunch every gap is open
    lunch = model.lunch
    if lunch is None or not plain.stops:
        return plain
    blamed = next(
        (k for k, s in enumerate(plain.stops) if s.end > lunch.window.start),
        len(plain.stops) - 1,
    )
    c = plain.stops[blamed].customer
    violation = Violation(
        ViolationType.LUNCH,
        blamed,
        c,
        f"{inp.customers[c].id}: no room left for the {duration_text(lunch.duration)} lunch"
        f" between {hhmm(lunch.window.start)} and {hhmm(lunch.window.end)}",
    )
    return TimedDay(
        plain.model,
        plain.depart,
        plain.return_at,
        plain.stops,
        plain.return_travel_s,
        plain.return_travel_m,
        None,
        (*plain.violations, violation),
    )


def pin_violations(inp: PlanningInput, model: DayModel, sequence: Sequence[int]) -> list[Violation]:
    """Visits placed on a day or rep other than the one they are pinned to."""
    out = []
    for k, c in enumerate(sequence):
        customer = inp.customers[c]
        if customer.day is not None and customer.day != model.day:
            when = day_text(inp, inp.day_offset(customer.day))
            out.append(Violation(ViolationType.PINNED, k, c, f"{customer.id}: pinned to {when}"))
        elif customer.rep is not None and customer.rep != model.rep:
            out.append(
                Violation(
                    ViolationType.PINNED,
                    k,
                    c,
                    f"{customer.id}: pinned to rep {inp.reps[customer.rep].id}",
                )
            )
    return out
