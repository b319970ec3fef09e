"""Why the search left a feasible-alone customer out: capacity or a window clash.

The solver only says "dropped". A rep or sales-ops reader needs the binding constraint, so
each dropped customer is tried again, cheaply, at every position of every route it was
allowed on: if it only fits when its windows are ignored, the windows are what binds;
otherwise the days are simply full.
"""

from __future__ import annotations

from collections.abc import Sequence

from solver.domain import Code, CustomerInput, PlanningInput
from solver.prechecks import Route, duration_text
from solver.types import TravelMatrix


def _schedule_fits(
    inp: PlanningInput,
    matrix: TravelMatrix,
    route: Route,
    sequence: Sequence[int],
    ignore_windows_of: int | None,
) -> bool:
    """Earliest-start simulation of ``sequence`` (customer indices) on ``route``.

    Lunch is accounted for by its length only: explanations need the binding constraint,
    not an exact schedule, and this keeps the check linear.
    """
    rep = inp.reps[route.rep]
    lunch = rep.lunch.duration if rep.lunch is not None else 0
    t = route.shift.start
    loc = inp.start_loc(route.rep)
    for i in sequence:
        c = inp.customers[i]
        nxt = inp.customer_loc(i)
        t += int(matrix.durations[loc, nxt])
        start = _earliest_start(c, t, ignore_windows=i == ignore_windows_of)
        if start is None:
            return False
        t, loc = start + c.duration, nxt
    t += int(matrix.durations[loc, inp.end_loc(route.rep)])
    return t + lunch <= route.shift.end


def _earliest_start(c: CustomerInput, arrival: int, *, ignore_windows: bool) -> int | None:
    if c.windows is None or ignore_windows:
        return arrival
    for w in sorted(c.windows):
        start = max(w.start, arrival)
        if start + c.duration <= w.end:
            return start
    return None


def _insertable(
    inp: PlanningInput,
    matrix: TravelMatrix,
    route: Route,
    sequence: list[int],
    customer: int,
    *,
    ignore_windows: bool,
) -> bool:
    ignore = customer if ignore_windows else None
    return any(
        _schedule_fits(inp, matrix, route, [*sequence[:p], customer, *sequence[p:]], ignore)
        for p in range(len(sequence) + 1)
    )


def explain_drop(
    inp: PlanningInput,
    matrix: TravelMatrix,
    candidates: list[Route],
    allowed: frozenset[int],
    sequences: dict[int, list[int]],
    customer: int,
) -> tuple[Code, str]:
    """The contract code and a sentence for a customer the search did not place."""
    c = inp.customers[customer]
    visit = duration_text(c.duration)
    open_routes = []
    for k in sorted(allowed):
        cap = inp.reps[candidates[k].rep].max_visits_per_day
        if cap is None or len(sequences.get(k, [])) < cap:
            open_routes.append(k)
    if not open_routes:
        cap_text = sorted({inp.reps[candidates[k].rep].max_visits_per_day or 0 for k in allowed})
        return Code.OVER_CAPACITY, (
            f"every day it could go on already has the maximum of"
            f" {'/'.join(str(x) for x in cap_text)} visits; its priority ({c.priority})"
            f" did not displace a planned visit"
        )
    for k in open_routes:
        seq = sequences.get(k, [])
        if _insertable(inp, matrix, candidates[k], seq, customer, ignore_windows=False):
            return Code.OVER_CAPACITY, (
                f"the {visit} visit fits only by displacing lunch or other visits;"
                f" priority {c.priority} lost to the visits planned (horizon full)"
            )
    if c.windows is not None:
        for k in open_routes:
            seq = sequences.get(k, [])
            if _insertable(inp, matrix, candidates[k], seq, customer, ignore_windows=True):
                return Code.NO_TIME_WINDOW_FITS, (
                    "its opening hours / time windows clash with higher-priority visits"
                    " on every day it could go; wider windows would let it in"
                )
    return Code.OVER_CAPACITY, (
        f"the horizon is full: no day it could go has {visit} plus the drive left;"
        f" priority {c.priority} is lower than the visits planned"
    )
