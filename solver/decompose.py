"""Large requests by decomposition: areas -> reps nearest-first -> one search per rep -> repair.

One OR-Tools model over every rep-day and every customer grows with visits x vehicles, and
its local search slows down with it (bench/README.md: 500 customers on 25 rep-days took 26 s
for a plan that was still improving). Reps rarely share customers in practice: a rep works
the areas around home. So large requests are split:

1. customers are clustered into *areas* of about one rep-day of work each (visit plus an
   estimated drive), with a capacity-balanced k-medoids on the travel matrix itself (so a road
   matrix shapes areas the way it shapes routes);
2. areas go to reps nearest-first (largest regret first, each rep while its days have room
   for the areas' work); visits a rep may not take (pins, windows, reach: ``allowed_vehicles``) move
   to the nearest rep that may, and overloaded reps shed boundary visits to neighbours;
3. each rep's week is an independent subproblem on a slice of the matrix, solved by
   ``routing.solve``, in worker processes when the caller allows more than one;
4. customers a rep had to drop are offered to the next nearest rep allowed to take them, whose
   week is re-solved with them and kept only when its objective (driving + drop penalties)
   is lower: boundaries improve, and the plan never gets worse.

The answer is an ordinary ``Solution`` over the whole problem, so the pipeline's explanations,
baseline and rendering work unchanged. Every step is deterministic; with a solution limit the
number of repair rounds is fixed too, so the same request gives the same plan.
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
from solver.routing import solve
from solver.types import FirstSolution, Problem, Route, Solution, SolveParams, TravelMatrix, Visit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Drive time a visit adds to a day: about its mean leg to the nearest few other visits.
_NEAREST = 3
# Rows of the matrix looked at per step, so estimates never copy an n x n block.
_CHUNK = 512
_MEDOID_ROUNDS = 4
# An area may exceed its share of the work by this much before visits spill to the next one.
_AREA_SLACK = 1.05
# A worker's memory grows by ~6 MiB per searched part (OR-Tools does not hand it back to
# the OS; measured on the 3,000-customer bench: 52 -> 365 MiB over ~50 parts), so workers are
# replaced after this many parts each: ~150 MiB at most, for ~1 s of start-up per replacement.
_TASKS_PER_WORKER = 16
# A medoid is chosen among at most this many members (evenly spaced), keeping updates linear.
_MEDOID_SAMPLE = 150


@dataclass(frozen=True, slots=True)
class DecomposeConfig:
    """When to decompose and how to share the time limit.

    ``max_visits``/``max_vehicles``: above either (and with at least two reps to split by),
    the request is decomposed. ``first_share`` of the time limit goes to the first pass over
    every rep, the rest to repair rounds; ``repair_rounds`` bounds those (and is exactly the
    number run when a solution limit makes the solve deterministic).
    """

    max_visits: int = 150
    max_vehicles: int = 25
    first_share: float = 0.7
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


def _sym(travel: IntArray, rows: IntArray, cols: IntArray) -> FloatArray:
    """Round-trip-halved travel between two location lists: clustering wants symmetry."""
    there = travel[np.ix_(rows, cols)].astype(np.float64)
    back = travel[np.ix_(cols, rows)].astype(np.float64).T
    out: FloatArray = (there + back) / 2.0
    return out


# -- areas -----------------------------------------------------------------------------------


def _capacitated_assign(dist: FloatArray, work: FloatArray, cap: float) -> IntArray:
    """Each point to its nearest centre with room; most constrained (largest regret) first."""
    n, k = dist.shape
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    part = np.partition(dist, 1, axis=1)
    regret = part[:, 1] - part[:, 0]
    order = np.lexsort((np.arange(n), -regret))  # stable: ties by index
    load = np.zeros(k, dtype=np.float64)
    label = np.empty(n, dtype=np.int64)
    ranked = np.argsort(dist, axis=1, kind="stable")
    for i in order:
        choice = int(ranked[i, 0])
        for c in ranked[i]:
            if load[c] + work[i] <= cap:
                choice = int(c)
                break
        label[i] = choice
        load[choice] += work[i]
    return label


def _medoid(travel: IntArray, locs: IntArray, members: IntArray) -> int:
    """The member with the least total travel to the others (on an even sample if large)."""
    if len(members) > _MEDOID_SAMPLE:
        sample = members[np.linspace(0, len(members) - 1, _MEDOID_SAMPLE).astype(np.int64)]
    else:
        sample = members
    cost = _sym(travel, locs[sample], locs[members]).sum(axis=1)
    return int(sample[int(np.argmin(cost))])


def _seeds(travel: IntArray, locs: IntArray, homes: IntArray, k: int) -> IntArray:
    """Farthest-first seeds, starting from the visit nearest to the reps' homes overall."""
    n = len(locs)
    to_homes = np.zeros(n, dtype=np.float64)
    for lo in range(0, n, _CHUNK):
        to_homes[lo : lo + _CHUNK] = _sym(travel, locs[lo : lo + _CHUNK], homes).mean(axis=1)
    seeds = [int(np.argmin(to_homes))]
    nearest = _sym(travel, locs, locs[seeds]).min(axis=1)
    while len(seeds) < k:
        nxt = int(np.argmax(nearest))
        seeds.append(nxt)
        nearest = np.minimum(nearest, _sym(travel, locs, locs[[nxt]])[:, 0])
    return np.asarray(seeds, dtype=np.int64)


def cluster_areas(problem: Problem, work: FloatArray, k: int) -> tuple[IntArray, IntArray]:
    """Visit -> area label and each area's medoid visit: k areas of about equal work."""
    travel = problem.matrix.durations
    locs = np.fromiter((v.location for v in problem.visits), dtype=np.int64)
    homes = np.asarray(sorted({v.start for v in problem.vehicles}), dtype=np.int64)
    k = max(1, min(k, len(locs)))
    medoids = _seeds(travel, locs, homes, k)
    cap = float(work.sum()) / k * _AREA_SLACK
    label = np.zeros(len(locs), dtype=np.int64)
    for _ in range(_MEDOID_ROUNDS):
        label = _capacitated_assign(_sym(travel, locs, locs[medoids]), work, cap)
        moved = np.asarray(
            [
                _medoid(travel, locs, np.flatnonzero(label == a)) if (label == a).any() else m
                for a, m in enumerate(medoids)
            ],
            dtype=np.int64,
        )
        if np.array_equal(moved, medoids):
            break
        medoids = moved
    return label, medoids


# -- areas to reps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reps:
    """The reps (groups of vehicles) of a problem, with homes and room."""

    ids: list[int]  # rep value of each group
    vehicles: list[list[int]]  # vehicle indices per group
    starts: IntArray
    ends: IntArray
    room: FloatArray  # seconds of work per group


def _reps(problem: Problem, room: FloatArray) -> _Reps:
    ids = sorted({v.rep for v in problem.vehicles})
    groups = [[k for k, v in enumerate(problem.vehicles) if v.rep == r] for r in ids]
    return _Reps(
        ids=ids,
        vehicles=groups,
        starts=np.asarray([problem.vehicles[g[0]].start for g in groups], dtype=np.int64),
        ends=np.asarray([problem.vehicles[g[0]].end for g in groups], dtype=np.int64),
        room=np.asarray([room[g].sum() for g in groups], dtype=np.float64),
    )


def assign_areas(
    problem: Problem, reps: _Reps, medoids: IntArray, area_work: FloatArray
) -> IntArray:
    """Area -> rep group, nearest-first: the area that loses most by waiting picks first.

    A rep takes areas while it has room (each area's work against its rep-days); once every
    rep is full, the rest go to the nearest rep regardless (an overloaded request).
    """
    travel = problem.matrix.durations
    locs = np.asarray([problem.visits[m].location for m in medoids], dtype=np.int64)
    cost = (
        travel[np.ix_(reps.starts, locs)].astype(np.float64)
        + travel[np.ix_(locs, reps.ends)].astype(np.float64).T
    ).T  # areas x reps
    left = reps.room.copy()
    owner = np.full(len(medoids), -1, dtype=np.int64)
    total_room, total_work = float(reps.room.sum()), float(area_work.sum())
    # Overloaded requests share the excess in proportion to room, so no rep is left idle.
    scale = max(1.0, total_work / total_room) if total_room > 0 else 1.0
    left *= scale * _AREA_SLACK
    while (owner < 0).any():
        free = np.flatnonzero(owner < 0)
        fits = left[None, :] >= area_work[free, None]
        masked = np.where(fits, cost[free], np.inf)
        if not np.isfinite(masked).any():
            masked = cost[free]
        part = np.sort(masked, axis=1)
        second = part[:, 1] if part.shape[1] > 1 else part[:, 0]
        regret = np.where(np.isfinite(second), second - part[:, 0], np.inf)
        pick = int(np.lexsort((free, -regret))[0])
        area = int(free[pick])
        rep = int(np.argmin(masked[pick]))
        owner[area] = rep
        left[rep] -= area_work[area]
    return owner


def _allowed_groups(problem: Problem, reps: _Reps) -> list[frozenset[int] | None]:
    """Per visit, the rep groups it may go to (None: any)."""
    group_of = {k: g for g, vs in enumerate(reps.vehicles) for k in vs}
    return [
        None
        if v.allowed_vehicles is None
        else frozenset(group_of[k] for k in v.allowed_vehicles if k in group_of)
        for v in problem.visits
    ]


def place_visits(problem: Problem, reps: _Reps, work: FloatArray, k: int) -> IntArray:
    """Visit -> rep group (-1: no rep may take it): areas, nearest-first, pins, balance."""
    n = len(problem.visits)
    label, medoids = cluster_areas(problem, work, k)
    area_work = np.bincount(label, weights=work, minlength=len(medoids)).astype(np.float64)
    owner = assign_areas(problem, reps, medoids, area_work)
    group = owner[label]
    allowed = _allowed_groups(problem, reps)
    travel = problem.matrix.durations
    locs = np.fromiter((v.location for v in problem.visits), dtype=np.int64, count=n)
    # Distance from each visit to each rep's nearest own area centre (home if it has none).
    centres = []
    for g in range(len(reps.ids)):
        own = medoids[owner == g]
        centres.append(locs[own] if len(own) else reps.starts[[g]])
    near = np.stack([_sym(travel, locs, c).min(axis=1) for c in centres], axis=1)
    for i, ok in enumerate(allowed):
        if ok is not None and int(group[i]) not in ok:
            choices = sorted(ok)
            group[i] = choices[int(np.argmin(near[i, choices]))] if choices else -1
    _rebalance(group, allowed, near, work, reps.room)
    return group


def _rebalance(
    group: IntArray,
    allowed: list[frozenset[int] | None],
    near: FloatArray,
    work: FloatArray,
    room: FloatArray,
) -> None:
    """Move boundary visits off reps loaded beyond the request's mean load, cheapest first."""
    n, reps = near.shape
    may = np.ones((n, reps), dtype=bool)
    for i, ok in enumerate(allowed):
        if ok is not None:
            may[i] = False
            may[i, sorted(ok)] = True
    placed = group >= 0
    ratio = float(work[placed].sum()) / max(float(room.sum()), 1.0)
    limit = room * max(ratio, 1.0) * _AREA_SLACK
    load = np.bincount(group[placed], weights=work[placed], minlength=reps)
    for _ in range(n):
        over = load > limit
        if not over.any():
            return
        members = np.flatnonzero(placed & over[np.maximum(group, 0)])
        own = near[members, group[members]]
        extra = near[members] - own[:, None]
        fits = may[members] & ~over[None, :] & (load[None, :] + work[members, None] <= limit)
        extra = np.where(fits, extra, np.inf)
        if not np.isfinite(extra).any():
            return
        flat = int(np.argmin(extra))  # first of equals: deterministic
        i, h = int(members[flat // reps]), flat % reps
        load[group[i]] -= work[i]
        load[h] += work[i]
        group[i] = h


# -- subproblems -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Part:
    """One rep's week as its own problem, with the maps back to the whole one."""

    problem: Problem
    vehicles: tuple[int, ...]  # local -> global vehicle
    visits: tuple[int, ...]  # local -> global visit


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
    try:
        return solve(part.problem, replace(params, time_limit_s=min(params.time_limit_s, left)))
    except NoSolutionError:
        pass
    quick = replace(
        params, time_limit_s=max(4 * floor, 1.0), first_solution=FirstSolution.PATH_CHEAPEST_ARC
    )
    try:
        return solve(part.problem, quick)
    except NoSolutionError:
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
        mean_day = float(room.mean()) if len(room) else 1.0
        k = min(len(problem.vehicles), max(1, math.ceil(float(work.sum()) / max(mean_day, 1.0))))
        group = place_visits(problem, reps, work, k) if problem.visits else np.zeros(0, np.int64)
        state = _State(
            visits=[
                sorted(int(i) for i in np.flatnonzero(group == g)) for g in range(len(reps.ids))
            ],
            parts=[None] * len(reps.ids),
            solutions=[None] * len(reps.ids),
        )
        todo = [g for g in range(len(reps.ids)) if state.visits[g]]
        first = params.time_limit_s * cfg.first_share - (time.perf_counter() - began)
        _first_pass(problem, reps, state, todo, params, first, deadline, runner, cfg)
        deterministic = params.solution_limit is not None
        for r in range(cfg.repair_rounds):
            left = (deadline - time.time()) / (cfg.repair_rounds - r)
            if not deterministic and left < cfg.min_sub_time_s:
                break
            if not _repair(problem, reps, state, group, params, left, deadline, runner, cfg):
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


def _first_pass(
    problem: Problem,
    reps: _Reps,
    state: _State,
    groups: Sequence[int],
    params: SolveParams,
    budget: float,
    deadline: float,
    runner: _Runner,
    cfg: DecomposeConfig,
) -> None:
    """Solve each listed group's part and store it."""
    parts = [subproblem(problem, reps.vehicles[g], state.visits[g]) for g in groups]
    sub = _part_params(params, max(budget, cfg.min_sub_time_s), len(parts), runner.processes)
    for g, part, sol in zip(groups, parts, runner.solve(parts, sub, deadline), strict=True):
        state.parts[g], state.solutions[g] = part, sol


def _repair(
    problem: Problem,
    reps: _Reps,
    state: _State,
    group: IntArray,
    params: SolveParams,
    budget: float,
    deadline: float,
    runner: _Runner,
    cfg: DecomposeConfig,
) -> bool:
    """Offer each dropped visit to the nearest other rep allowed to take it; keep gains.

    Returns False when nothing was offered or nothing improved (another round would repeat).
    """
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
