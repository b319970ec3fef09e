"""Large requests by decomposition: reps nearest-first -> one search per rep -> exchange -> repair.

One OR-Tools model over every rep-day and every customer grows with visits x vehicles, and
its local search slows down with it (bench/README.md: 500 customers on 25 rep-days took 26 s
for a plan that was still improving). Reps rarely share customers in practice: a rep works
the area around home. So large requests are split:

1. each customer goes to a rep by a min-cost transportation problem: visits supply their
   work (visit plus an estimated drive), reps take up to their week's room, and a visit
   costs its distance from the rep's home, so customers go to the nearest rep with room,
   optimally over the whole request (pins and reach limit which reps a visit may go to);
2. each rep's week is an independent subproblem on a slice of the matrix, solved by
   ``routing.solve``, in worker processes when the caller allows more than one; the
   search itself groups a rep's customers into days, nearest first;
3. neighbouring reps' weeks are re-solved together, starting from their current routes,
   so visits can cross the boundary the assignment drew without seeing any route; a pair's
   answer is kept only when its objective (driving, used days, drop penalties) falls;
4. customers a rep had to drop are offered to the next nearest rep allowed to take them, whose
   week is re-solved with them and kept only when its objective is lower.

The answer is an ordinary ``Solution`` over the whole problem, so the pipeline's explanations,
baseline and rendering work unchanged. Every step is deterministic; with a solution limit the
number of exchange and repair rounds is fixed too, so the same request gives the same plan.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from solver.errors import NoSolutionError
from solver.routing import solve, solve_warm
from solver.transport import transport
from solver.types import (
    FirstSolution,
    Problem,
    Route,
    Solution,
    SolveParams,
    TravelMatrix,
    Visit,
    WarmStart,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Drive time a visit adds to a day: about its mean leg to the nearest few other visits.
_NEAREST = 3
# Rows of the matrix looked at per step, so estimates never copy an n x n block.
_CHUNK = 512
# A rep may take this much more than its room's share of the work before visits spill over.
_ROOM_SLACK = 1.05
# A worker's memory grows by ~6 MiB per searched part (OR-Tools does not hand it back to
# the OS; measured on the 3,000-customer bench: 52 -> 365 MiB over ~50 parts), so workers are
# replaced after this many parts each: ~150 MiB at most, for ~1 s of start-up per replacement.
_TASKS_PER_WORKER = 16
# Per-unit costs of the assignment's flow are integers: distance x this / work keeps 3 digits.
_UNIT_SCALE = 1000


@dataclass(frozen=True, slots=True)
class DecomposeConfig:
    """When to decompose and how to share the time limit.

    ``max_visits``/``max_vehicles``: above either (and with at least two reps to split by),
    the request is decomposed. ``first_share`` of the time limit goes to the first pass over
    every rep, ``exchange_share`` to re-solving neighbouring reps' weeks together (at most
    ``exchange_partners`` partners per rep), the rest to repair rounds; ``repair_rounds``
    bounds those (and is exactly the number run when a solution limit makes the solve
    deterministic).
    """

    max_visits: int = 150
    max_vehicles: int = 25
    first_share: float = 0.5
    exchange_share: float = 0.35
    exchange_partners: int = 3
    repair_rounds: int = 2
    min_sub_time_s: float = 0.5


DEFAULT_CONFIG = DecomposeConfig()


def should_decompose(problem: Problem, config: DecomposeConfig | None = None) -> bool:
    """True for requests large enough that per-rep subproblems beat one model."""
    cfg = config or DEFAULT_CONFIG
    reps = {v.rep for v in problem.vehicles}
    large = len(problem.visits) > cfg.max_visits or len(problem.vehicles) > cfg.max_vehicles
    return len(reps) >= 2 and large


# -- estimates -------------------------------------------------------------------------------


def visit_work(problem: Problem) -> FloatArray:
    """Seconds each visit costs a day: its duration plus an estimated drive to reach it."""
    n = len(problem.visits)
    durations = np.fromiter((v.duration for v in problem.visits), dtype=np.float64, count=n)
    if n < 2:
        return durations
    locs = np.fromiter((v.location for v in problem.visits), dtype=np.int64, count=n)
    k = min(_NEAREST, n - 1)
    drive = np.empty(n, dtype=np.float64)
    travel = problem.matrix.durations
    for lo in range(0, n, _CHUNK):
        rows = travel[np.ix_(locs[lo : lo + _CHUNK], locs)].astype(np.float64)
        rows[np.arange(rows.shape[0]), np.arange(lo, lo + rows.shape[0])] = np.inf
        nearest = np.partition(rows, k - 1, axis=1)[:, :k]
        drive[lo : lo + _CHUNK] = nearest.mean(axis=1)
    return durations + drive


def vehicle_room(problem: Problem, work: FloatArray) -> FloatArray:
    """Seconds of work each vehicle (rep-day) holds: shift minus breaks, within its visit cap."""
    mean = float(work.mean()) if len(work) else 1.0
    room = []
    for v in problem.vehicles:
        seconds = float(v.shift.length - sum(b.duration for b in v.breaks))
        if v.max_visits is not None:
            seconds = min(seconds, v.max_visits * mean)
        room.append(max(seconds, 0.0))
    return np.asarray(room, dtype=np.float64)


# -- customers to reps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reps:
    """The reps (groups of vehicles) of a problem, with homes and room."""

    ids: list[int]  # rep value of each group
    vehicles: list[list[int]]  # vehicle indices per group
    starts: IntArray
    ends: IntArray
    room: FloatArray  # seconds of work per group
    slots: FloatArray  # visits its days may hold (inf: some day has no cap)


def _slots(problem: Problem, vehicles: Sequence[int]) -> float:
    caps = [problem.vehicles[k].max_visits for k in vehicles]
    return math.inf if any(c is None for c in caps) else float(sum(c or 0 for c in caps))


def _reps(problem: Problem, room: FloatArray) -> _Reps:
    ids = sorted({v.rep for v in problem.vehicles})
    groups = [[k for k, v in enumerate(problem.vehicles) if v.rep == r] for r in ids]
    return _Reps(
        ids=ids,
        vehicles=groups,
        starts=np.asarray([problem.vehicles[g[0]].start for g in groups], dtype=np.int64),
        ends=np.asarray([problem.vehicles[g[0]].end for g in groups], dtype=np.int64),
        room=np.asarray([room[g].sum() for g in groups], dtype=np.float64),
        slots=np.asarray([_slots(problem, g) for g in groups], dtype=np.float64),
    )


def _allowed_groups(problem: Problem, reps: _Reps) -> list[frozenset[int] | None]:
    """Per visit, the rep groups it may go to (None: any)."""
    group_of = {k: g for g, vs in enumerate(reps.vehicles) for k in vs}
    return [
        None
        if v.allowed_vehicles is None
        else frozenset(group_of[k] for k in v.allowed_vehicles if k in group_of)
        for v in problem.visits
    ]


def place_visits(problem: Problem, reps: _Reps, work: FloatArray) -> IntArray:
    """Visit -> rep group (-1: no rep may take it): nearest home within room, then balance."""
    locs = np.fromiter((v.location for v in problem.visits), dtype=np.int64)
    near = _home_cost(problem, reps, locs)
    may = _may(_allowed_groups(problem, reps), len(reps.ids))
    group = assign_reps(near, may, work, reps)
    _rebalance(group, may, near, work, reps)
    return group


def _home_cost(problem: Problem, reps: _Reps, locs: IntArray) -> FloatArray:
    """Visits x reps: half the round trip from each rep's start to the visit and on to its end."""
    travel = problem.matrix.durations
    there = travel[np.ix_(reps.starts, locs)].astype(np.float64)
    back = travel[np.ix_(locs, reps.ends)].astype(np.float64).T
    out: FloatArray = ((there + back) / 2.0).T
    return out


def assign_reps(
    cost: FloatArray, may: npt.NDArray[np.bool_], work: FloatArray, reps: _Reps
) -> IntArray:
    """Visit -> rep group (-1: no rep may take it) by a min-cost transportation problem.

    Reps take up to their room, scaled up evenly when the request holds more than the reps'
    weeks (so every rep shares the excess), and a visit costs its distance from the rep's
    home. Room is counted in whichever measure binds the request as a whole: visit slots
    when every day has a visit cap that the visits fill at least as fully as the work fills
    the time (each visit then supplies one slot), else seconds of work (each visit supplies
    its work, a unit costing the home distance over the work). The optimum puts every visit
    as near home as the reps' room allows, globally: on the 600-customer workload bench
    (10 reps, exactly full) its mean home distance was 29.5 min against 36.0 min for areas
    handed to reps greedily, whose last areas went to whichever rep still had room. Counting
    work where slots bind gave some reps more visits than slots (100 of 3,000 dropped on
    the large bench). An optimal basic solution splits at most reps - 1 visits between two
    reps; each goes to the rep carrying most of it. Visits that fit nowhere (pins onto a rep
    already full) go to their nearest allowed rep. ``cost`` and ``may`` are visits x reps:
    the home distance, and whether the visit may go to the rep at all.
    """
    n, count = may.shape
    label = np.full(n, -1, dtype=np.int64)
    if n == 0 or count == 0:
        return label
    placed = may.any(axis=1)
    slot_share = float(placed.sum()) / max(float(reps.slots.sum()), 1.0)
    work_share = float(work[placed].sum()) / max(float(reps.room.sum()), 1.0)
    if np.isfinite(reps.slots).all() and slot_share >= work_share:
        supply = np.ones(n, dtype=np.int64)
        capacity, slack = reps.slots, 1.0
    else:
        supply = np.maximum(np.ceil(work), 1.0).astype(np.int64)
        capacity, slack = reps.room, _ROOM_SLACK
    total = float(supply[placed].sum())
    scale = max(1.0, total / max(float(capacity.sum()), 1.0)) * slack
    room = np.ceil(capacity * scale).astype(np.int64)
    unit = np.ceil(cost * _UNIT_SCALE / supply[:, None]).astype(np.int64)
    carried = transport(unit, supply, room, may)
    best = np.argmax(carried, axis=1)
    has = carried[np.arange(n), best] > 0
    label[has] = best[has]
    stray = np.flatnonzero(placed & ~has)
    for i in stray:
        label[i] = int(np.argmin(np.where(may[i], cost[i], np.inf)))
    return label


def _may(allowed: list[frozenset[int] | None], count: int) -> npt.NDArray[np.bool_]:
    """Visits x reps: True where the visit may go to the rep."""
    may = np.ones((len(allowed), count), dtype=bool)
    for i, ok in enumerate(allowed):
        if ok is not None:
            may[i] = False
            may[i, sorted(ok)] = True
    return may


def _rebalance(
    group: IntArray,
    may: npt.NDArray[np.bool_],
    near: FloatArray,
    work: FloatArray,
    reps: _Reps,
) -> None:
    """Move boundary visits off reps over their share of work or of visit slots, cheapest first.

    The assignment balances work; visit caps count visits, and a rep given more visits than
    its days have slots must drop the rest even when a neighbour has free slots (the
    3,000-customer bench, exactly full at 12 a day, lost ~100 visits that way). Either
    measure's excess is shared in proportion when the whole request is overloaded.
    """
    n, count = near.shape
    placed = group >= 0
    ratio = float(work[placed].sum()) / max(float(reps.room.sum()), 1.0)
    limit = reps.room * max(ratio, 1.0) * _ROOM_SLACK
    capped = bool(np.isfinite(reps.slots).all())
    per_slot = float(placed.sum()) / max(float(reps.slots.sum()), 1.0) if capped else 1.0
    slots = reps.slots * max(per_slot, 1.0)
    load = np.bincount(group[placed], weights=work[placed], minlength=count)
    visits = np.bincount(group[placed], minlength=count)
    for _ in range(n):
        over = (load > limit) | (visits > slots)
        if not over.any():
            return
        members = np.flatnonzero(placed & over[np.maximum(group, 0)])
        own = near[members, group[members]]
        extra = near[members] - own[:, None]
        room_left = (load[None, :] + work[members, None] <= limit) & (visits + 1 <= slots)
        extra = np.where(may[members] & ~over[None, :] & room_left, extra, np.inf)
        if not np.isfinite(extra).any():
            return
        flat = int(np.argmin(extra))  # first of equals: deterministic
        i, h = int(members[flat // count]), flat % count
        load[group[i]] -= work[i]
        load[h] += work[i]
        visits[group[i]] -= 1
        visits[h] += 1
        group[i] = h


# -- subproblems -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Part:
    """One rep's week as its own problem, with the maps back to the whole one."""

    problem: Problem
    vehicles: tuple[int, ...]  # local -> global vehicle
    visits: tuple[int, ...]  # local -> global visit
    warm: WarmStart | None = None  # the current routes: re-solve from them (local indices)


def subproblem(problem: Problem, vehicles: Sequence[int], visits: Sequence[int]) -> Part:
    """The problem restricted to some vehicles and visits, on a slice of the matrix."""
    chosen = [problem.vehicles[k] for k in vehicles]
    wanted = [problem.visits[i] for i in visits]
    locs = sorted({x for v in chosen for x in (v.start, v.end)} | {s.location for s in wanted})
    index = {loc: j for j, loc in enumerate(locs)}
    take = np.asarray(locs, dtype=np.int64)
    matrix = TravelMatrix(
        durations=problem.matrix.durations[np.ix_(take, take)],
        distances=problem.matrix.distances[np.ix_(take, take)],
    )
    local_vehicle = {k: j for j, k in enumerate(vehicles)}
    sub_vehicles = tuple(replace(v, start=index[v.start], end=index[v.end]) for v in chosen)
    sub_visits = tuple(_local_visit(s, index, local_vehicle) for s in wanted)
    return Part(Problem(matrix, sub_vehicles, sub_visits), tuple(vehicles), tuple(visits))


def _local_visit(visit: Visit, index: dict[int, int], local: dict[int, int]) -> Visit:
    allowed = None
    if visit.allowed_vehicles is not None:
        allowed = frozenset(local[k] for k in visit.allowed_vehicles if k in local)
    return replace(visit, location=index[visit.location], allowed_vehicles=allowed)


def _solve_part(part: Part, params: SolveParams, deadline: float, floor: float) -> Solution:
    """One part within what is left of the shared budget (module level, so it pickles).

    A part never gets less than ``floor`` seconds: overrunning the deadline a little beats
    losing a rep's week. If the search still finds no first solution in time (a heavily
    loaded machine), it retries once with path-cheapest-arc, the fastest start, and a longer
    limit; only then are the part's visits reported dropped rather than failing the plan.
    """
    left = max(floor, deadline - time.time())
    limited = replace(params, time_limit_s=min(params.time_limit_s, left))
    try:
        if part.warm is not None:
            return solve_warm(part.problem, limited, part.warm)
        return solve(part.problem, limited)
    except NoSolutionError:
        if part.warm is not None:  # the current plan stands: this answer costs more than it
            return _nothing(part)
    quick = replace(
        params, time_limit_s=max(4 * floor, 1.0), first_solution=FirstSolution.PATH_CHEAPEST_ARC
    )
    try:
        return solve(part.problem, quick)
    except NoSolutionError:
        return _nothing(part)


def _nothing(part: Part) -> Solution:
    """Every visit of ``part`` dropped: the answer when no search found anything."""
    dropped = tuple(range(len(part.problem.visits)))
    penalty = sum(v.penalty for v in part.problem.visits)
    return Solution((), dropped, penalty, "ROUTING_FAIL_TIMEOUT", 0.0)


def _warm_up() -> None:
    """Import OR-Tools in a worker while the parent is still clustering."""
    import solver.routing  # noqa: F401


class _Runner:
    """Solves parts in this process or in a pool of spawned workers reused across calls.

    Starting a worker and importing OR-Tools costs about a second, so the pool is created
    once, before clustering, and reused by the first pass and the repair rounds; after
    ``_TASKS_PER_WORKER`` parts per worker it is replaced, which returns the workers' grown
    memory (``max_tasks_per_child`` would do this, but hangs the pool in Python 3.11).
    """

    def __init__(self, processes: int, floor: float) -> None:
        self.processes = processes
        self.floor = floor
        self.pool: ProcessPoolExecutor | None = None
        self.used = 0
        if processes > 1:
            self._start()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        try:
            self.pool = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=ctx, initializer=_warm_up
            )
            for _ in range(self.processes):
                self.pool.submit(_warm_up)
        except (AssertionError, OSError, RuntimeError):
            # No child processes here (e.g. inside a daemonic worker): work alone.
            self.pool, self.processes = None, 1
        self.used = 0

    def solve(self, parts: Sequence[Part], params: SolveParams, deadline: float) -> list[Solution]:
        out: list[Solution] = []
        batch = self.processes * _TASKS_PER_WORKER
        while len(out) < len(parts):
            if self.pool is not None and self.used >= batch:
                self.close()
                self._start()
            todo = parts[len(out) : len(out) + max(1, batch - self.used)]
            out += self._solve_batch(todo, params, deadline)
        return out

    def _solve_batch(
        self, parts: Sequence[Part], params: SolveParams, deadline: float
    ) -> list[Solution]:
        if self.pool is not None and len(parts) > 1:
            try:
                n = len(parts)
                args = [params] * n, [deadline] * n, [self.floor] * n
                found = list(self.pool.map(_solve_part, parts, *args))
                self.used += n
                return found
            except (BrokenProcessPool, OSError, RuntimeError):
                self.close()
                self.processes = 1
        return [_solve_part(p, params, deadline, self.floor) for p in parts]

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _part_params(params: SolveParams, budget: float, solves: int, processes: int) -> SolveParams:
    """Each part's share of ``budget``: parts run ``processes`` at a time."""
    waves = math.ceil(solves / max(1, processes))
    limit = max(budget / max(1, waves), 0.05)
    stall = None
    if params.stall_s is not None:
        stall = max(0.2, params.stall_s * limit / params.time_limit_s)
    return replace(params, time_limit_s=limit, stall_s=stall, parallel=1)


# -- merge -----------------------------------------------------------------------------------


def _globalise(part: Part, solution: Solution) -> list[Route]:
    return [
        replace(
            r,
            vehicle=part.vehicles[r.vehicle],
            stops=tuple(replace(s, visit=part.visits[s.visit]) for s in r.stops),
        )
        for r in solution.routes
    ]


def objective(problem: Problem, routes: Sequence[Route], dropped: Sequence[int]) -> int:
    """The routing model's objective for a plan: travel, fixed costs of used days, drops."""
    travel = sum(r.travel_s for r in routes)
    fixed = sum(problem.vehicles[r.vehicle].fixed_cost for r in routes)
    return travel + fixed + sum(problem.visits[i].penalty for i in dropped)


# -- the decomposition -----------------------------------------------------------------------


@dataclass
class _State:
    """Per rep group: its visits (global), its solved part and that part's solution."""

    visits: list[list[int]]
    parts: list[Part | None]
    solutions: list[Solution | None]

    def dropped(self) -> list[tuple[int, int]]:
        """(visit, group) of every visit its group's search left out."""
        out = []
        for g, (part, sol) in enumerate(zip(self.parts, self.solutions, strict=True)):
            if part is not None and sol is not None:
                out += [(part.visits[v], g) for v in sol.dropped]
        return sorted(out)


@dataclass(frozen=True)
class _Run:
    """What every phase of one decomposed solve shares (``group`` and ``state`` change)."""

    problem: Problem
    reps: _Reps
    state: _State
    group: IntArray
    params: SolveParams
    deadline: float
    runner: _Runner
    cfg: DecomposeConfig

    def unpack(
        self,
    ) -> tuple[Problem, _Reps, _State, SolveParams, float, _Runner, DecomposeConfig]:
        return (
            self.problem,
            self.reps,
            self.state,
            self.params,
            self.deadline,
            self.runner,
            self.cfg,
        )


def solve_decomposed(
    problem: Problem, params: SolveParams, config: DecomposeConfig | None = None
) -> Solution:
    """Solve a large problem rep by rep within ``params``' limits (see the module docstring).

    ``params.parallel`` is how many worker processes the caller allows for the parts; each
    part itself is one in-process search. Every part shares one wall-clock deadline, so the
    whole call keeps to ``params.time_limit_s`` (plus clustering on a very large request).
    """
    cfg = config or DEFAULT_CONFIG
    began = time.perf_counter()
    # Merging, explanations and the pool's shutdown come after the last part: keep a margin.
    deadline = time.time() + params.time_limit_s - min(1.0, 0.05 * params.time_limit_s)
    runner = _Runner(params.parallel if len(problem.visits) else 1, cfg.min_sub_time_s)
    try:
        work = visit_work(problem)
        room = vehicle_room(problem, work)
        reps = _reps(problem, room)
        group = place_visits(problem, reps, work)
        state = _State(
            visits=[
                sorted(int(i) for i in np.flatnonzero(group == g)) for g in range(len(reps.ids))
            ],
            parts=[None] * len(reps.ids),
            solutions=[None] * len(reps.ids),
        )
        run = _Run(problem, reps, state, group, params, deadline, runner, cfg)
        todo = [g for g in range(len(reps.ids)) if state.visits[g]]
        first = params.time_limit_s * cfg.first_share - (time.perf_counter() - began)
        _first_pass(run, todo, first)
        deterministic = params.solution_limit is not None
        swap = min(
            params.time_limit_s * cfg.exchange_share,
            deadline - time.time() - (0.0 if deterministic else cfg.min_sub_time_s),
        )
        if deterministic or swap >= cfg.min_sub_time_s:
            _exchange(run, swap)
        for r in range(cfg.repair_rounds):
            left = (deadline - time.time()) / (cfg.repair_rounds - r)
            if not deterministic and left < cfg.min_sub_time_s:
                break
            if not _repair(run, left):
                break
    finally:
        runner.close()

    routes: list[Route] = []
    statuses: Counter[str] = Counter()
    found = 0
    for part, sol in zip(state.parts, state.solutions, strict=True):
        if part is None or sol is None:
            continue
        routes += _globalise(part, sol)
        statuses[sol.status] += 1
        found += sol.solutions_found
    unplaceable = {int(i) for i in np.flatnonzero(group < 0)}
    dropped = sorted({i for i, _ in state.dropped()} | unplaceable)
    routes.sort(key=lambda r: r.vehicle)
    status = min(statuses, key=lambda s: (-statuses[s], s)) if statuses else "ROUTING_SUCCESS"
    return Solution(
        routes=tuple(routes),
        dropped=tuple(dropped),
        objective=objective(problem, routes, dropped),
        status=status,
        wall_time_s=time.perf_counter() - began,
        solutions_found=found,
    )


def _first_pass(run: _Run, groups: Sequence[int], budget: float) -> None:
    """Solve each listed group's part and store it."""
    problem, reps, state, params, deadline, runner, cfg = run.unpack()
    parts = [subproblem(problem, reps.vehicles[g], state.visits[g]) for g in groups]
    sub = _part_params(params, max(budget, cfg.min_sub_time_s), len(parts), runner.processes)
    for g, part, sol in zip(groups, parts, runner.solve(parts, sub, deadline), strict=True):
        state.parts[g], state.solutions[g] = part, sol


def neighbour_pairs(
    problem: Problem, reps: _Reps, group: IntArray, partners: int
) -> list[tuple[int, int]]:
    """Pairs of reps whose customers lie between them, those sharing most first.

    Each visit votes for the pair of its own rep and the next nearest rep that may take it;
    each rep keeps its ``partners`` most-voted pairs (a rep walled in by others pairs with
    the ones it borders, not with one across the map).
    """
    count = len(reps.ids)
    placed = np.flatnonzero(group >= 0)
    if count < 2 or not len(placed):
        return []
    locs = np.asarray([problem.visits[i].location for i in placed], dtype=np.int64)
    cost = np.where(_may(_allowed_groups(problem, reps), count)[placed], 0.0, np.inf)
    cost = cost + _home_cost(problem, reps, locs)
    own = group[placed]
    cost[np.arange(len(placed)), own] = np.inf
    other = np.argmin(cost, axis=1)
    ok = np.isfinite(cost[np.arange(len(placed)), other])
    votes = np.zeros((count, count), dtype=np.int64)
    np.add.at(votes, (own[ok], other[ok]), 1)
    votes += votes.T
    kept: set[tuple[int, int]] = set()
    for g in range(count):
        ranked = sorted((h for h in range(count) if votes[g, h] > 0), key=lambda h: -votes[g, h])
        kept |= {(min(g, h), max(g, h)) for h in ranked[:partners]}
    return sorted(kept, key=lambda p: (-votes[p], p))


def _waves(pairs: Sequence[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Split pairs into rounds in which no rep appears twice, so a round runs in parallel."""
    waves: list[list[tuple[int, int]]] = []
    left = list(pairs)
    while left:
        used: set[int] = set()
        wave, rest = [], []
        for pair in left:
            if used.isdisjoint(pair):
                wave.append(pair)
                used.update(pair)
            else:
                rest.append(pair)
        waves.append(wave)
        left = rest
    return waves


def joint_part(problem: Problem, reps: _Reps, state: _State, groups: Sequence[int]) -> Part:
    """Several reps' weeks as one part, starting from their current routes."""
    vehicles = [k for g in groups for k in reps.vehicles[g]]
    visits = sorted(i for g in groups for i in state.visits[g])
    part = subproblem(problem, vehicles, visits)
    local_vehicle = {k: j for j, k in enumerate(vehicles)}
    local_visit = {i: j for j, i in enumerate(visits)}
    routes: list[tuple[int, ...]] = [() for _ in vehicles]
    previous: list[int | None] = [None] * len(visits)
    for g in groups:
        own, sol = state.parts[g], state.solutions[g]
        if own is None or sol is None:
            continue
        for r in _globalise(own, sol):
            j = local_vehicle[r.vehicle]
            routes[j] = tuple(local_visit[s.visit] for s in r.stops)
            for s in r.stops:
                previous[local_visit[s.visit]] = j
    return replace(part, warm=WarmStart(tuple(routes), tuple(previous)))


def _split(
    problem: Problem,
    reps: _Reps,
    state: _State,
    group: IntArray,
    groups: Sequence[int],
    part: Part,
    sol: Solution,
) -> None:
    """Store a joint part's answer back as one part per rep (a dropped visit stays put)."""
    owner = {k: g for g in groups for k in reps.vehicles[g]}
    routes: dict[int, list[Route]] = {g: [] for g in groups}
    members: dict[int, list[int]] = {g: [] for g in groups}
    for r in _globalise(part, sol):
        g = owner[r.vehicle]
        routes[g].append(r)
        members[g] += [s.visit for s in r.stops]
    dropped = [part.visits[v] for v in sol.dropped]
    for i in dropped:
        members[int(group[i])].append(i)
    for g in groups:
        visits = sorted(members[g])
        local_vehicle = {k: j for j, k in enumerate(reps.vehicles[g])}
        local_visit = {i: j for j, i in enumerate(visits)}
        local = tuple(
            replace(
                r,
                vehicle=local_vehicle[r.vehicle],
                stops=tuple(replace(s, visit=local_visit[s.visit]) for s in r.stops),
            )
            for r in routes[g]
        )
        left_out = [i for i in dropped if i in local_visit]
        state.visits[g] = visits
        state.parts[g] = subproblem(problem, reps.vehicles[g], visits)
        state.solutions[g] = replace(
            sol,
            routes=local,
            dropped=tuple(local_visit[i] for i in left_out),
            objective=objective(problem, routes[g], left_out),
        )
        group[visits] = g


def _exchange(run: _Run, budget: float) -> int:
    """Re-solve neighbouring reps' weeks together, from their current routes; keep gains.

    The first pass fixed each customer's rep before any routing; here two neighbours' weeks
    form one part whose search starts at their current routes and may move visits across
    the boundary. It is accepted only when the pair's objective falls, so the plan never
    gets worse. Pairs run in rounds in which no rep appears twice. Returns the pairs improved.
    """
    problem, reps, state, params, deadline, runner, cfg = run.unpack()
    group = run.group
    pairs = neighbour_pairs(problem, reps, group, cfg.exchange_partners)
    if not pairs:
        return 0
    sub = _part_params(params, max(budget, cfg.min_sub_time_s), len(pairs), runner.processes)
    end = min(deadline, time.time() + budget)
    deterministic = params.solution_limit is not None
    improved = 0
    for wave in _waves(pairs):
        if not deterministic and end - time.time() < min(cfg.min_sub_time_s, sub.time_limit_s):
            break
        parts = [joint_part(problem, reps, state, pair) for pair in wave]
        for pair, part, sol in zip(wave, parts, runner.solve(parts, sub, end), strict=True):
            before = sum(_part_objective(problem, state, g) for g in pair)
            after = objective(problem, _globalise(part, sol), [part.visits[v] for v in sol.dropped])
            if after < before:
                _split(problem, reps, state, group, pair, part, sol)
                improved += 1
    return improved


def _repair(run: _Run, budget: float) -> bool:
    """Offer each dropped visit to the nearest other rep allowed to take it; keep gains.

    Returns False when nothing was offered or nothing improved (another round would repeat).
    """
    problem, reps, state, params, deadline, runner, cfg = run.unpack()
    group = run.group
    allowed = _allowed_groups(problem, reps)
    travel = problem.matrix.durations
    offers: dict[int, list[int]] = {}
    for i, g in state.dropped():
        ok = allowed[i]
        others = [h for h in (range(len(reps.ids)) if ok is None else sorted(ok)) if h != g]
        if not others:
            continue
        loc = problem.visits[i].location
        near = [_group_distance(problem, travel, reps, state, h, loc) for h in others]
        offers.setdefault(others[int(np.argmin(near))], []).append(i)
    if not offers:
        return False
    targets = sorted(offers)
    base = {h: list(state.visits[h]) for h in targets}
    origin = {i: int(group[i]) for h in targets for i in offers[h]}
    parts = [
        subproblem(problem, reps.vehicles[h], sorted(state.visits[h] + offers[h])) for h in targets
    ]
    sub = _part_params(params, max(budget, cfg.min_sub_time_s), len(parts), runner.processes)
    improved = False
    for h, part, sol in zip(targets, parts, runner.solve(parts, sub, deadline), strict=True):
        before = _part_objective(problem, state, h) + sum(
            problem.visits[i].penalty for i in offers[h]
        )
        after = objective(problem, _globalise(part, sol), [part.visits[v] for v in sol.dropped])
        # An earlier acceptance this round may have moved one of this part's visits, or
        # re-solved an offered visit's rep so that it now serves it.
        still_dropped = {i for i, _ in state.dropped()}
        intact = all(int(group[x]) == h for x in base[h]) and all(
            int(group[i]) == origin[i] and i in still_dropped for i in offers[h]
        )
        if intact and after < before:
            improved = True
            for i in offers[h]:
                g = int(group[i])
                state.visits[g].remove(i)
                _forget(problem, state, g, i)
                group[i] = h
            state.visits[h] = list(part.visits)
            state.parts[h], state.solutions[h] = part, sol
    return improved


def _part_objective(problem: Problem, state: _State, g: int) -> int:
    part, sol = state.parts[g], state.solutions[g]
    if part is None or sol is None:
        return 0
    return objective(problem, _globalise(part, sol), [part.visits[v] for v in sol.dropped])


def _forget(problem: Problem, state: _State, g: int, visit: int) -> None:
    """Remove a dropped ``visit`` from group ``g``'s part (its routes never had it)."""
    part, sol = state.parts[g], state.solutions[g]
    if part is None or sol is None:
        return
    local = part.visits.index(visit)
    keep = [j for j in range(len(part.visits)) if j != local]
    renumber = {old: new for new, old in enumerate(keep)}
    shrunk = Part(
        Problem(
            part.problem.matrix, part.problem.vehicles, tuple(part.problem.visits[j] for j in keep)
        ),
        part.vehicles,
        tuple(part.visits[j] for j in keep),
    )
    routes = tuple(
        replace(r, stops=tuple(replace(s, visit=renumber[s.visit]) for s in r.stops))
        for r in sol.routes
    )
    dropped = tuple(renumber[d] for d in sol.dropped if d != local)
    state.parts[g] = shrunk
    state.solutions[g] = replace(sol, routes=routes, dropped=dropped)


def _group_distance(
    problem: Problem, travel: IntArray, reps: _Reps, state: _State, g: int, loc: int
) -> float:
    """How far ``loc`` is from rep group ``g``'s work: its nearest planned stop or home."""
    part, sol = state.parts[g], state.solutions[g]
    near = [int(reps.starts[g])]
    if part is not None and sol is not None:
        near += [problem.visits[part.visits[s.visit]].location for r in sol.routes for s in r.stops]
    cols = np.asarray(near, dtype=np.int64)
    return float(np.min(travel[loc, cols] + travel[cols, loc]))
