"""Re-plan the rest of a horizon from a moment, changing as little as the new facts require.

The current plan is given as ``PlannedDay`` rows. At the replan moment ``now``:

* everything that already happened (days before today, and today's stops that started
  before ``now``) is history and is copied unchanged, except visits to re-place (no-show,
  rescheduled), which go back into the pool for later in the week;
* ``done`` visits never move: past ones are history, later ones keep vehicle and start;
* the freeze window (default: today's next visit) keeps its day and order at the head of
  today's route;
* the rest is re-optimised from the current routes (warm start) with a cost on every change
  (``routing.solve_warm``), so a small disturbance gives a small change.

Today's route starts at ``now`` from the rep's ``position`` when given, otherwise from the
last stop already made today, otherwise from the rep's start.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from solver.areas import area_label
from solver.baseline import baseline_travel
from solver.domain import PlannedDay, PlannedStop, PlanningInput, PlanOutcome, Unplanned
from solver.errors import InvalidProblemError, NoSolutionError
from solver.explain import add_hints, explain_drop
from solver.pipeline import DAY_COST, drop_penalty
from solver.prechecks import Route, precheck, routes
from solver.routing import solve_warm
from solver.types import (
    DAY,
    BreakSpec,
    Point,
    Problem,
    SolveParams,
    TravelMatrix,
    Vehicle,
    Visit,
    WarmStart,
    Window,
)

# Moving a visit to another rep-day costs as much as this much extra driving (seconds), and
# each arc into a visit that the current plan did not have costs a little, so the search only
# reshuffles for a real gain. Measured with bench/replan_bench.py (see bench/README.md).
MOVE_COST = 1800
REORDER_COST = 300


@dataclass(frozen=True)
class ReplanInput:
    """The planning input, the plan as it stands, and what is known at ``now``.

    Customer indices (``done``, ``replace``, the stops of ``current``) point into
    ``planning.customers``; ``current`` days use the same (rep, day) indices as planning.
    ``freeze_s`` of None freezes today's next visit; otherwise the upcoming visits that start
    within that many seconds of ``now`` (0 freezes nothing).
    """

    planning: PlanningInput
    current: tuple[PlannedDay, ...]
    now: int
    done: frozenset[int] = frozenset()
    replace: frozenset[int] = frozenset()
    freeze_s: int | None = None
    position: Point | None = None
    move_cost: int = MOVE_COST
    reorder_cost: int = REORDER_COST
    _keys: frozenset[tuple[int, int]] = field(init=False, repr=False, default=frozenset())

    def __post_init__(self) -> None:
        n = len(self.planning.customers)
        seen: set[int] = set()
        keys: set[tuple[int, int]] = set()
        for day in self.current:
            if not (
                0 <= day.rep < len(self.planning.reps) and 0 <= day.day < len(self.planning.days)
            ):
                raise InvalidProblemError("a current day names an unknown rep or day")
            if (day.rep, day.day) in keys:
                raise InvalidProblemError("two current days for the same rep and day")
            keys.add((day.rep, day.day))
            for s in day.stops:
                if not 0 <= s.customer < n or s.customer in seen:
                    raise InvalidProblemError(f"current stop {s.customer} unknown or repeated")
                seen.add(s.customer)
        if any(not 0 <= i < n for i in self.done | self.replace):
            raise InvalidProblemError("done or replace names an unknown customer")
        if self.freeze_s is not None and self.freeze_s < 0:
            raise InvalidProblemError("freeze_s < 0")
        if self.move_cost < 0 or self.reorder_cost < 0:
            raise InvalidProblemError("change costs must not be negative")
        object.__setattr__(self, "_keys", frozenset(keys))

    def locations(self) -> list[Point]:
        """Matrix order: the planning input's locations, then the rep's position if given."""
        extra = [self.position] if self.position is not None else []
        return self.planning.locations() + extra

    @property
    def position_loc(self) -> int:
        return len(self.planning.locations())


@dataclass(frozen=True)
class ReplanOutcome:
    """The new plan plus what the service needs to explain the change."""

    outcome: PlanOutcome
    frozen: frozenset[int]
    fixed: frozenset[int]
    warnings: tuple[str, ...] = ()


@dataclass
class _Split:
    """The current plan cut at ``now``: history, routes to re-optimise, what is pinned."""

    history: dict[tuple[int, int], list[PlannedStop]] = field(default_factory=dict)
    upcoming: dict[tuple[int, int], list[PlannedStop]] = field(default_factory=dict)
    pool: set[int] = field(default_factory=set)


def _today(inp: ReplanInput) -> int:
    """Index of the first working day that has not ended at ``now`` (may be len(days))."""
    p = inp.planning
    return next((d for d in range(len(p.days)) if p.day_offset(d) + DAY > inp.now), len(p.days))


def _split(inp: ReplanInput) -> _Split:
    out = _Split()
    for day in inp.current:
        key = (day.rep, day.day)
        for s in day.stops:
            happened = s.start <= inp.now  # started: in progress counts as done
            if s.customer in inp.replace and (happened or s.customer not in inp.done):
                out.pool.add(s.customer)
            elif happened:
                out.history.setdefault(key, []).append(s)
            else:
                out.upcoming.setdefault(key, []).append(s)
    return out


def _candidates(inp: ReplanInput, split: _Split) -> tuple[list[Route], list[Vehicle]]:
    """Routes (and vehicles) from today on; today's starts at ``now``, where the rep is."""
    p = inp.planning
    today = _today(inp)
    lunches = {(d.rep, d.day): d.lunch for d in inp.current}
    cands: list[Route] = []
    vehicles: list[Vehicle] = []
    for route in routes(p):
        if route.day < today:
            continue
        rep = p.reps[route.rep]
        shift, start = route.shift, p.start_loc(route.rep)
        key = (route.rep, route.day)
        lunch_taken = False
        if shift.start < inp.now:
            # A visit under way when the re-plan happens finishes first.
            busy = max([inp.now, *(s.end for s in split.history.get(key, []))])
            if busy >= shift.end:
                continue
            shift = Window(busy, shift.end)
            old = lunches.get(key)
            lunch_taken = old is not None and old.start < inp.now
            if inp.position is not None:
                start = inp.position_loc
            elif split.history.get(key):
                start = p.customer_loc(split.history[key][-1].customer)
        breaks: tuple[BreakSpec, ...] = ()
        if rep.lunch is not None and not lunch_taken:
            offset = p.day_offset(route.day)
            window = Window(offset + rep.lunch.earliest, offset + rep.lunch.latest)
            inside = window.intersect(shift)
            if inside is not None and inside.length >= rep.lunch.duration:
                breaks = (BreakSpec(inside, rep.lunch.duration),)
        cands.append(Route(route.rep, route.day, shift))
        vehicles.append(
            Vehicle(
                start=start,
                end=p.end_loc(route.rep),
                shift=shift,
                breaks=breaks,
                max_visits=_cap(rep.max_visits_per_day, len(split.history.get(key, []))),
                fixed_cost=DAY_COST * route.day,
                rep=route.rep,
                day=route.day,
            )
        )
    return cands, vehicles


def _cap(cap: int | None, made: int) -> int | None:
    return None if cap is None else max(0, cap - made)


def replan(inp: ReplanInput, matrix: TravelMatrix, params: SolveParams) -> ReplanOutcome:
    """Re-plan ``inp`` from ``inp.now``; ``matrix`` is over ``inp.locations()``."""
    p = inp.planning
    if matrix.size != len(inp.locations()):
        raise InvalidProblemError("travel matrix does not match the replan input's locations")
    split = _split(inp)
    cands, vehicles = _candidates(inp, split)
    vehicle_of = {(r.rep, r.day): v for v, r in enumerate(cands)}
    history = {s.customer for stops in split.history.values() for s in stops}
    checked = precheck(p, matrix, cands)
    allowed = dict(checked.allowed)

    today = _today(inp)
    fixed: dict[int, tuple[int, int]] = {}
    frozen: dict[int, list[int]] = {}
    previous: dict[int, int] = {}
    current_routes: dict[int, list[int]] = {}
    for key, stops in sorted(split.upcoming.items()):
        v = vehicle_of.get(key)
        if v is None:  # today's shift is over: its remaining visits go back to the pool
            split.pool.update(s.customer for s in stops if s.customer not in inp.done)
            continue
        chain_open = key[1] == today
        for k, s in enumerate(stops):
            current_routes.setdefault(v, []).append(s.customer)
            previous[s.customer] = v
            if s.customer in inp.done:
                fixed[s.customer] = (v, s.start)
                allowed[s.customer] = frozenset({v})
                chain_open = False
            elif chain_open and _in_freeze(inp, s, first=k == 0):
                frozen.setdefault(v, []).append(s.customer)
                allowed[s.customer] = frozenset({v})
            else:
                chain_open = False

    order = sorted(i for i in allowed if i not in history)
    index = {c: k for k, c in enumerate(order)}
    optional = sum(drop_penalty(p.customers[i].priority) for i in order)
    must = optional + 10 * 200_000
    visits = tuple(
        Visit(
            location=p.customer_loc(i),
            duration=p.customers[i].duration,
            penalty=must
            if p.customers[i].must_visit or i in fixed
            else drop_penalty(p.customers[i].priority),
            windows=tuple(sorted(p.customers[i].windows or ())),
            allowed_vehicles=allowed[i],
        )
        for i in order
    )
    warm = WarmStart(
        routes=tuple(
            tuple(index[c] for c in current_routes.get(v, []) if c in index)
            for v in range(len(vehicles))
        ),
        previous=tuple(
            None if order[k] in split.pool else previous.get(order[k]) for k in range(len(order))
        ),
        move_cost=inp.move_cost,
        reorder_cost=inp.reorder_cost,
        frozen=tuple(
            tuple(index[c] for c in frozen.get(v, []) if c in index) for v in range(len(vehicles))
        ),
        fixed=tuple((index[c], v, t) for c, (v, t) in fixed.items() if c in index),
    )
    problem = Problem(matrix, tuple(vehicles), visits)
    warnings: list[str] = []
    try:
        solution = solve_warm(problem, replace(params, parallel=1), warm)
    except NoSolutionError:
        # A frozen or done visit no longer fits where it was (e.g. the rep is far away now):
        # better a plan that moves it than no plan.
        warnings.append("frozen and done visits could not all be kept in place; they moved")
        solution = solve_warm(problem, params, replace(warm, frozen=(), fixed=()))

    routed: dict[tuple[int, int], PlannedDay] = {}
    sequences: dict[int, list[int]] = {}
    for r in solution.routes:
        c = cands[r.vehicle]
        made = tuple(
            PlannedStop(order[s.visit], s.arrival, s.start, s.end, s.travel_s, s.travel_m, s.wait_s)
            for s in r.stops
        )
        sequences[r.vehicle] = [s.customer for s in made]
        routed[(c.rep, c.day)] = PlannedDay(
            c.rep,
            c.day,
            r.depart,
            r.arrival_end,
            made,
            r.return_travel_s,
            r.return_travel_m,
            r.breaks[0] if r.breaks else None,
            "",
        )
    days = _merge(inp, split, routed)

    placed = {s.customer for d in days for s in d.stops}
    unassigned = [
        Unplanned(i, code, why) for i, (code, why) in checked.rejected.items() if i not in placed
    ]
    for k in solution.dropped:
        i = order[k]
        if i in placed:
            continue
        code, why = explain_drop(p, matrix, cands, allowed[i], sequences, i)
        unassigned.append(Unplanned(i, code, why))
    unassigned.sort(key=lambda u: u.customer)
    unassigned = _with_hints(inp, matrix, cands, sequences, unassigned)
    base_s, base_m = baseline_travel(p, matrix, routes(p), sorted(placed))
    outcome = PlanOutcome(
        days=tuple(days),
        unassigned=tuple(unassigned),
        baseline_travel_s=base_s,
        baseline_travel_m=base_m,
        status=solution.status,
        wall_time_s=solution.wall_time_s,
    )
    return ReplanOutcome(
        outcome, frozenset(i for c in frozen.values() for i in c), frozenset(fixed), tuple(warnings)
    )


def _with_hints(
    inp: ReplanInput,
    matrix: TravelMatrix,
    cands: list[Route],
    sequences: dict[int, list[int]],
    unassigned: list[Unplanned],
) -> list[Unplanned]:
    """``unassigned`` with the same what-would-fit hints ``pipeline.plan`` gives.

    ``explain.add_hints`` checks each change against a whole working day (``day_model``:
    the rep's hours, from the rep's start). That is exactly a day the re-plan leaves whole,
    but not today once ``now`` has passed its start: visits already made, a later start at
    the rep's position and a lunch maybe taken would all be ignored, so a hint could promise
    a slot that is already in the past. Such days are left out of the hint search; a
    customer that could only go on them keeps its reason without a hint. For a customer that
    may go on a left-out day (today's cut one, or a day already over), "never_meets" is
    dropped too: it claims that no day it may go could ever hold it, and those days were not
    looked at.
    """
    p = inp.planning
    # As in ``_candidates``: a day whose working hours began before ``now`` was cut there.
    whole = [
        k for k, r in enumerate(cands) if p.day_offset(r.day) + p.reps[r.rep].work_start >= inp.now
    ]
    renumber = {k: n for n, k in enumerate(whole)}
    kept_sequences = {renumber[k]: seq for k, seq in sequences.items() if k in renumber}
    hinted = add_hints(
        p, matrix, [cands[k] for k in whole], kept_sequences, unassigned, drop_penalty
    )
    searched = {(cands[k].rep, cands[k].day) for k in whole}
    unsearched = [r for r in routes(p) if (r.rep, r.day) not in searched]
    out = []
    for u in hinted:
        c = p.customers[u.customer]
        if any(
            (c.day is None or r.day == c.day) and (c.rep is None or r.rep == c.rep)
            for r in unsearched
        ):
            u = replace(u, hints=tuple(h for h in u.hints if h.kind != "never_meets"))
        out.append(u)
    return out


def _in_freeze(inp: ReplanInput, stop: PlannedStop, *, first: bool) -> bool:
    if inp.freeze_s is None:
        return first
    return stop.start < inp.now + inp.freeze_s


def _merge(
    inp: ReplanInput, split: _Split, routed: dict[tuple[int, int], PlannedDay]
) -> list[PlannedDay]:
    """History first, then the re-planned part of each day; labels by area as a new plan."""
    p = inp.planning
    old = {(d.rep, d.day): d for d in inp.current}
    out = []
    for key in sorted(set(split.history) | set(routed), key=lambda k: (k[1], k[0])):
        past = tuple(split.history.get(key, []))
        new = routed.get(key)
        if new is None:
            o = old[key]
            out.append(replace(o, stops=past))
            continue
        stops = past + new.stops
        lunch = new.lunch
        if lunch is None and key in old and old[key].lunch is not None and past:
            lunch = old[key].lunch
        rep = p.reps[key[0]]
        area = area_label(
            rep.start,
            [p.customers[s.customer].point for s in stops],
            [p.customers[s.customer].area for s in stops],
        )
        depart = old[key].depart if past else new.depart
        out.append(replace(new, depart=depart, stops=stops, lunch=lunch, area=area))
    return out
