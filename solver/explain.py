"""Why the search left a feasible-alone customer out: capacity or a window clash.

The solver only says "dropped". A rep or sales-ops reader needs the binding constraint, so
each dropped customer is tried again, cheaply, at every position of every route it was
allowed on: if it only fits when its windows are ignored, the windows are what binds;
otherwise the days are simply full.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from solver.domain import Code, CustomerInput, Hint, PlanningInput, Unplanned
from solver.evaluate import DayModel, day_model, fits
from solver.prechecks import Route, day_text, duration_text, hhmm
from solver.types import DAY, TravelMatrix


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


# -- what would make it fit (hints) --

# ``fits`` calls allowed per plan for hints: each is one linear pass over a day, so this
# bounds the extra work to well under a second however many customers are left out.
HINT_BUDGET = 10_000
# ... and per customer at least this, at most the budget's fair share above it, so the first
# customers cannot use it all; only the days with the cheapest detour are tried.
_CUSTOMER_CALLS = 400
_MAX_ROUTES = 10
_MAX_HINTS = 3


class _Budget:
    """Counts ``fits`` calls, here and in the budget it was shared from; spent raises."""

    def __init__(self, calls: int, parent: _Budget | None = None) -> None:
        self.left = calls
        self.parent = parent

    def share(self, calls: int) -> _Budget:
        """A sub-budget of at most ``calls``, charged to this one as it is spent."""
        return _Budget(min(calls, self.left), self)

    def fits(
        self,
        inp: PlanningInput,
        matrix: TravelMatrix,
        model: DayModel,
        sequence: Sequence[int],
        durations: Mapping[int, int] | None = None,
    ) -> bool:
        if self.left <= 0:
            raise _Spent
        self.left -= 1
        if self.parent is not None:
            self.parent.left -= 1
        return fits(inp, matrix, model, sequence, durations)


class _Spent(Exception):
    pass


def _positions(
    budget: _Budget,
    inp: PlanningInput,
    matrix: TravelMatrix,
    model: DayModel,
    sequence: Sequence[int],
    customer: int,
    durations: Mapping[int, int] | None = None,
) -> list[list[int]]:
    """Every order with ``customer`` inserted into ``sequence`` that the day can run."""
    out = []
    for p in range(len(sequence) + 1):
        candidate = [*sequence[:p], customer, *sequence[p:]]
        if budget.fits(inp, matrix, model, candidate, durations):
            out.append(candidate)
    return out


def _travel(inp: PlanningInput, matrix: TravelMatrix, model: DayModel, seq: Sequence[int]) -> int:
    locs = [model.start_loc, *(inp.customer_loc(c) for c in seq), model.end_loc]
    return sum(int(matrix.durations[a, b]) for a, b in itertools.pairwise(locs))


def _detour(inp: PlanningInput, matrix: TravelMatrix, route: Route, seq: list[int], c: int) -> int:
    """The cheapest extra driving to insert ``c`` anywhere in ``seq`` (no time check)."""
    d = matrix.durations
    locs = [inp.start_loc(route.rep), *(inp.customer_loc(x) for x in seq), inp.end_loc(route.rep)]
    here = inp.customer_loc(c)
    return min(
        int(d[a, here]) + int(d[here, b]) - int(d[a, b]) for a, b in itertools.pairwise(locs)
    )


def _shorter_visit(
    budget: _Budget,
    inp: PlanningInput,
    matrix: TravelMatrix,
    model: DayModel,
    seq: list[int],
    c: int,
) -> int | None:
    """The longest visit (whole minutes, shorter than now) that fits that day, if any."""
    now = inp.customers[c].duration // 60

    def ok(minutes: int) -> bool:
        return bool(_positions(budget, inp, matrix, model, seq, c, {c: minutes * 60}))

    if now <= 1 or not ok(1):
        return None
    lo, hi = 1, now - 1  # ok(lo) holds
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return lo


def _longer_day(
    budget: _Budget,
    inp: PlanningInput,
    matrix: TravelMatrix,
    route: Route,
    seq: list[int],
    c: int,
    *,
    later: bool,
) -> int | None:
    """The least later end (or earlier start), in minutes of the day, that lets it in."""
    rep = inp.reps[route.rep]

    def ok(minute: int) -> bool:
        hours = {"work_end": minute * 60} if later else {"work_start": minute * 60}
        model = day_model(inp, route.rep, route.day, **hours)
        return bool(_positions(budget, inp, matrix, model, seq, c))

    if later:
        lo, hi = rep.work_end // 60 + 1, DAY // 60
        if lo > hi or not ok(hi):
            return None
        while lo < hi:  # least minute that works
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if ok(mid) else (mid + 1, hi)
        return lo
    lo, hi = 0, -(-rep.work_start // 60) - 1
    if hi < lo or not ok(lo):
        return None
    while lo < hi:  # latest minute that works
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return lo


def _swap(
    budget: _Budget,
    inp: PlanningInput,
    matrix: TravelMatrix,
    model: DayModel,
    seq: list[int],
    c: int,
    penalty: Callable[[int], int],
) -> tuple[int, int, int] | None:
    """(priority that wins, extra driving s, displaced customer) for the cheapest swap."""
    customer = inp.customers[c]
    before = _travel(inp, matrix, model, seq)
    best: tuple[int, int, int] | None = None
    for j, other in enumerate(seq):
        rival = inp.customers[other]
        if rival.must_visit:
            continue
        rest = seq[:j] + seq[j + 1 :]
        orders = _positions(budget, inp, matrix, model, rest, c)
        if not orders:
            continue
        extra = min(_travel(inp, matrix, model, o) for o in orders) - before
        # Swapping pays when the objective drops: penalty(p) > penalty(rival) + extra.
        wins = [p for p in range(101) if penalty(p) > penalty(rival.priority) + extra]
        if not wins or wins[0] <= customer.priority:
            continue
        found = (wins[0], extra, other)
        if best is None or found[:2] < best[:2]:
            best = found
    return best


def _hints_for(
    budget: _Budget,
    inp: PlanningInput,
    matrix: TravelMatrix,
    candidates: list[Route],
    sequences: Mapping[int, list[int]],
    u: Unplanned,
    penalty: Callable[[int], int],
) -> tuple[Hint, ...]:
    c = inp.customers[u.customer]
    mine = [
        k
        for k, r in enumerate(candidates)
        if (c.day is None or r.day == c.day) and (c.rep is None or r.rep == c.rep)
    ]
    mine.sort(key=lambda k: _detour(inp, matrix, candidates[k], sequences.get(k, []), u.customer))
    every = len(mine) <= _MAX_ROUTES
    mine = mine[:_MAX_ROUTES]
    best: dict[str, tuple[int, Hint]] = {}

    def offer(kind: str, size: int, hint: Hint) -> None:
        if kind not in best or size < best[kind][0]:
            best[kind] = (size, hint)

    try:
        _search(budget, inp, matrix, candidates, sequences, u, penalty, mine, offer)
        complete = True
    except _Spent:  # keep what was found; say nothing about what was not tried
        complete = False
    hints = [h for _, h in sorted(best.values(), key=lambda item: item[0])]
    if "priority" in best:  # the search weighed it against others: say that first
        hints.remove(best["priority"][1])
        hints.insert(0, best["priority"][1])
    if (
        complete
        and every
        and not hints
        and u.code is Code.NO_TIME_WINDOW_FITS
        and c.windows is not None
    ):
        hints.append(
            Hint(
                "never_meets",
                "its opening hours never meet working hours on a working day it may go,"
                " even with a day running to midnight: only other opening hours would help",
            )
        )
    return tuple(hints[:_MAX_HINTS])


def _search(
    budget: _Budget,
    inp: PlanningInput,
    matrix: TravelMatrix,
    candidates: list[Route],
    sequences: Mapping[int, list[int]],
    u: Unplanned,
    penalty: Callable[[int], int],
    mine: list[int],
    offer: Callable[[str, int, Hint], None],
) -> None:
    """Offer each kind of change on each route in ``mine``; raises ``_Spent`` when cut."""
    c = inp.customers[u.customer]
    alone = any(
        _positions(
            budget,
            inp,
            matrix,
            day_model(inp, candidates[k].rep, candidates[k].day),
            [],
            u.customer,
        )
        for k in mine
    )
    for k in mine:
        route = candidates[k]
        model = day_model(inp, route.rep, route.day)
        seq = list(sequences.get(k, []))
        when = day_text(inp, inp.day_offset(route.day))
        rep = inp.reps[route.rep]
        open_day = model.max_visits is None or len(seq) < model.max_visits
        if open_day and (m := _shorter_visit(budget, inp, matrix, model, seq, u.customer)):
            text = f"fits on {when} if the visit is {m} min (now {c.duration // 60} min)"
            offer(
                "visit_minutes",
                c.duration // 60 - m,
                Hint("visit_minutes", text, route.rep, route.day, m),
            )
        for later in (True, False):
            if not open_day:
                break
            minute = _longer_day(budget, inp, matrix, route, seq, u.customer, later=later)
            if minute is None:
                continue
            kind = "work_end" if later else "work_start"
            size = minute - rep.work_end // 60 if later else rep.work_start // 60 - minute
            verb = "ended" if later else "started"
            now = hhmm(rep.work_end if later else rep.work_start)
            text = (
                f"would fit on {when} if rep {rep.id}'s day {verb} at {hhmm(minute * 60)}"
                f" (now {now})"
            )
            offer(kind, size, Hint(kind, text, route.rep, route.day, minute))
        if alone and seq and not c.must_visit:
            swap = _swap(budget, inp, matrix, model, seq, u.customer, penalty)
            if swap is not None:
                priority, _, other = swap
                text = (
                    f"dropped for priority: raising its priority above {priority - 1}"
                    f" (now {c.priority}) would place it on {when} instead of"
                    f" {inp.customers[other].id}"
                )
                offer(
                    "priority",
                    priority - c.priority,
                    Hint("priority", text, route.rep, route.day, priority, other),
                )


def add_hints(
    inp: PlanningInput,
    matrix: TravelMatrix,
    candidates: list[Route],
    sequences: Mapping[int, list[int]],
    unassigned: Sequence[Unplanned],
    penalty: Callable[[int], int],
    budget: int = HINT_BUDGET,
) -> list[Unplanned]:
    """``unassigned`` with hints: what single change (a shorter visit, a longer day, a
    higher priority) would let each customer in, each checked with ``evaluate.fits``.

    ``penalty`` is the search's cost of leaving out a priority (``pipeline.drop_penalty``;
    passed in because the pipeline imports this module). Work is bounded by ``budget``
    ``fits`` calls for the whole plan; customers past it keep their reason only.
    """
    spend = _Budget(budget)
    fair = max(_CUSTOMER_CALLS, budget // max(1, len(unassigned)))
    out = []
    for u in unassigned:
        hints = _hints_for(spend.share(fair), inp, matrix, candidates, sequences, u, penalty)
        out.append(replace(u, hints=hints))
    return out
