"""Solution quality on public VRP benchmarks: our OR-Tools model beside PyVRP, same run.

Reads Solomon VRPTW (``solomon/NAME.txt``) and CVRPLIB X (``cvrplib/NAME.vrp``) instances from
``../shared/benchmarks/``, maps each onto the generic ``solver.types.Problem`` (one vehicle per
fleet slot with capacity and shift, one visit per customer with demand, one window, service
duration and a drop penalty), solves it with ``solver.routing.solve`` under a time budget, then
solves the *same integer matrix* with PyVRP at the same budget. Both answers are re-checked here
(every customer once, capacity, windows, return time, fleet size) and re-costed from the routes
alone, so neither solver's own objective is trusted.

Conventions (see ``../shared/benchmarks/README.md``):

* Solomon uses the DIMACS/CVRPLIB convention: each arc is ``floor(10 * euclid) / 10``, used for
  cost *and* travel time. At the solver boundary everything is scaled x10 to integers (arc
  ``floor(10 * euclid)``, windows and service times x10), so the model sees exactly the BKS's
  rounding; the fleet is the instance's 25 vehicles; the objective is distance only.
* CVRPLIB X uses TSPLIB EUC_2D (each arc rounded to the nearest integer), no time windows, no
  fleet limit in the file: the fleet offered to both solvers is ``k_min + ceil(k_min / 10) + 1``.

Run it with ``python -m bench.solomon_bench`` (needs the ``bench`` extra for PyVRP).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import itertools
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from solver.routing import iterated, solve
from solver.types import (
    FirstSolution,
    Metaheuristic,
    Problem,
    SolveParams,
    TravelMatrix,
    Vehicle,
    Visit,
    Window,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
# Two of each Solomon class plus the four plain OR-Tools found nothing for (issue 7).
DEFAULT_SOLOMON = [
    "C101",
    "C105",
    "C201",
    "C205",
    "R101",
    "R102",
    "R105",
    "R201",
    "R205",
    "RC101",
    "RC105",
    "RC201",
]
SCALE = {"solomon": 10, "cvrp": 1}
BKS_CONVENTION = {"solomon": "dimacs_distance", "cvrp": "cvrp_nint"}


@dataclass(frozen=True, eq=False)
class Instance:
    """One benchmark instance; row 0 is the depot. Times are in the file's own units."""

    name: str
    kind: str  # "solomon" or "cvrp"
    xy: npt.NDArray[np.float64]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]
    capacity: int
    fleet: int

    @property
    def customers(self) -> int:
        return len(self.demand) - 1

    def matrix(self) -> npt.NDArray[np.int64]:
        """Integer arc lengths with the instance's rounding (Solomon x10, see module doc)."""
        diff = self.xy[:, None, :] - self.xy[None, :, :]
        euclid = np.sqrt((diff**2).sum(axis=2))
        # Solomon: the epsilon keeps exact values such as 10 * 5.0 from flooring to 49.
        solomon = self.kind == "solomon"
        scaled = np.floor(euclid * 10 + 1e-9) if solomon else np.floor(euclid + 0.5)
        out: npt.NDArray[np.int64] = scaled.astype(np.int64)
        return out


def read_solomon(path: Path) -> Instance:
    """Parse the Solomon text format: VEHICLE block, then the CUSTOMER table."""
    lines = [ln.split() for ln in path.read_text().splitlines()]
    fleet = capacity = 0
    rows: list[list[float]] = []
    for i, parts in enumerate(lines):
        if parts[:2] == ["NUMBER", "CAPACITY"]:
            fleet, capacity = (int(x) for x in lines[i + 1][:2])
        if len(parts) == 7 and all(_is_number(p) for p in parts):
            rows.append([float(p) for p in parts])
    table = np.asarray(rows)
    return Instance(
        name=path.stem,
        kind="solomon",
        xy=table[:, 1:3],
        demand=[int(x) for x in table[:, 3]],
        ready=[int(x) for x in table[:, 4]],
        due=[int(x) for x in table[:, 5]],
        service=[int(x) for x in table[:, 6]],
        capacity=capacity,
        fleet=fleet,
    )


def read_vrplib(path: Path) -> Instance:
    """Parse a TSPLIB-style CVRP file (EUC_2D, one depot listed first)."""
    section = ""
    coords: dict[int, tuple[float, float]] = {}
    demand: dict[int, int] = {}
    capacity = 0
    for raw in path.read_text().splitlines():
        parts = raw.replace(":", " ").split()
        if not parts:
            continue
        if parts[0] == "CAPACITY":
            capacity = int(parts[1])
        elif parts[0].endswith("_SECTION") or parts[0] == "EOF":
            section = parts[0]
        elif section == "NODE_COORD_SECTION":
            coords[int(parts[0])] = (float(parts[1]), float(parts[2]))
        elif section == "DEMAND_SECTION":
            demand[int(parts[0])] = int(parts[1])
    ids = sorted(coords)
    n = len(ids)
    k_min = math.ceil(sum(demand.values()) / capacity)
    return Instance(
        name=path.stem,
        kind="cvrp",
        xy=np.asarray([coords[i] for i in ids]),
        demand=[demand[i] for i in ids],
        ready=[0] * n,
        due=[0] * n,
        service=[0] * n,
        capacity=capacity,
        fleet=k_min + math.ceil(k_min / 10) + 1,
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load(name: str) -> Instance:
    """Find ``name`` in either benchmark folder."""
    solomon = DATA / "solomon" / f"{name}.txt"
    if solomon.exists():
        return read_solomon(solomon)
    return read_vrplib(DATA / "cvrplib" / f"{name}.vrp")


def best_known() -> dict[str, float]:
    """BKS distance per instance in the convention this harness reproduces."""
    out: dict[str, float] = {}
    with (DATA / "bks.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["convention"] in BKS_CONVENTION.values():
                out[row["instance"]] = float(row["distance"])
    return out


# -- mapping onto the generic model ------------------------------------------------------


def to_problem(inst: Instance, dist: npt.NDArray[np.int64]) -> Problem:
    """The instance as a ``Problem``: arc cost = travel time = the integer distance."""
    s = SCALE[inst.kind]
    # A drop must cost more than any detour so the search serves everyone it can.
    penalty = int(dist.max()) * 100 + 1
    if inst.kind == "solomon":
        shift = Window(inst.ready[0] * s, inst.due[0] * s)
    else:
        shift = Window(0, int(dist.max()) * (inst.customers + 2))
    vehicles = tuple(Vehicle(0, 0, shift, capacity=inst.capacity) for _ in range(inst.fleet))
    visits = []
    for c in range(1, inst.customers + 1):
        windows: tuple[Window, ...] = ()
        if inst.kind == "solomon":
            # Solomon windows bound the *start* of service; ours hold the whole visit.
            windows = (Window(inst.ready[c] * s, inst.due[c] * s + inst.service[c] * s),)
        visits.append(
            Visit(
                location=c,
                duration=inst.service[c] * s,
                penalty=penalty,
                windows=windows,
                demand=inst.demand[c],
            )
        )
    return Problem(TravelMatrix(dist, dist), vehicles, tuple(visits))


# -- independent check and cost --------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One solver's answer on one instance, as re-checked here."""

    served: int
    vehicles: int
    distance: float  # in the instance's units (Solomon: one decimal, DIMACS)
    feasible: bool
    wall_s: float


def check(
    inst: Instance, dist: npt.NDArray[np.int64], routes: list[list[int]], wall: float
) -> Outcome:
    """Re-cost ``routes`` (customer numbers, depot omitted) and check every constraint."""
    s = SCALE[inst.kind]
    ok = len(routes) <= inst.fleet
    seen: list[int] = []
    total = 0
    for route in routes:
        ok &= sum(inst.demand[c] for c in route) <= inst.capacity
        t, prev = inst.ready[0] * s, 0
        for c in route:
            total += int(dist[prev, c])
            t += int(dist[prev, c])
            if inst.kind == "solomon":
                t = max(t, inst.ready[c] * s)
                ok &= t <= inst.due[c] * s
                t += inst.service[c] * s
            prev = c
            seen.append(c)
        total += int(dist[prev, 0])
        t += int(dist[prev, 0])
        if inst.kind == "solomon":
            ok &= t <= inst.due[0] * s
    served = len(set(seen))
    ok &= served == len(seen) == inst.customers
    return Outcome(served, len(routes), total / s, bool(ok), wall)


def run_ours(inst: Instance, dist: npt.NDArray[np.int64], params: SolveParams) -> Outcome:
    """Solve with solver.routing; wall time includes building the model."""
    began = time.perf_counter()
    solution = solve(to_problem(inst, dist), params)
    wall = time.perf_counter() - began
    routes = [[s.visit + 1 for s in r.stops] for r in solution.routes]
    return check(inst, dist, routes, wall)


def run_pyvrp(inst: Instance, dist: npt.NDArray[np.int64], budget: float, seed: int) -> Outcome:
    """Solve the same integer matrix with PyVRP's default hybrid search (one core)."""
    pyvrp: Any = importlib.import_module("pyvrp")
    stop: Any = importlib.import_module("pyvrp.stop")
    s = SCALE[inst.kind]
    n = len(inst.demand)
    solomon = inst.kind == "solomon"
    locations = [pyvrp.Location(float(x), float(y)) for x, y in inst.xy]
    depot_late = inst.due[0] * s if solomon else int(dist.max()) * (n + 2)
    depots = [pyvrp.Depot(0, tw_early=0, tw_late=depot_late)]
    clients = [
        pyvrp.Client(
            c,
            delivery=[inst.demand[c]],
            service_duration=inst.service[c] * s,
            tw_early=inst.ready[c] * s if solomon else 0,
            tw_late=inst.due[c] * s if solomon else depot_late,
        )
        for c in range(1, n)
    ]
    vehicle = pyvrp.VehicleType(
        inst.fleet, capacity=[inst.capacity], tw_early=0, tw_late=depot_late
    )
    data = pyvrp.ProblemData(locations, clients, depots, [vehicle], [dist], [dist])
    began = time.perf_counter()
    result = pyvrp.solve(data, stop.MaxRuntime(budget), seed=seed, display=False)
    wall = time.perf_counter() - began
    # A client activity indexes ``clients`` (0-based), whose entry k is customer k + 1.
    routes = [[int(a.idx) + 1 for a in r if a.is_client()] for r in result.best.routes()]
    if result.best.distance() != sum(_route_length(dist, r) for r in routes):
        raise RuntimeError("PyVRP routes do not re-cost to its own distance: mapping is off")
    return check(inst, dist, routes, wall)


def _route_length(dist: npt.NDArray[np.int64], route: list[int]) -> int:
    path = [0, *route, 0]
    return sum(int(dist[a, b]) for a, b in itertools.pairwise(path))


# -- report ----------------------------------------------------------------------------


def _gap(value: float, ref: float) -> float:
    return 100.0 * (value - ref) / ref


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", default=",".join(DEFAULT_SOLOMON))
    parser.add_argument("--budget", type=float, default=5.0, help="seconds per solver and instance")
    parser.add_argument("--parallel", type=int, default=2, help="our parallel searches")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first", default=None, help="first-solution strategy override")
    parser.add_argument("--meta", default=None, help="metaheuristic override")
    parser.add_argument("--no-pyvrp", action="store_true")
    args = parser.parse_args(argv)

    names = [n for n in args.instances.split(",") if n]
    if names == ["solomon-all"]:
        names = sorted(p.stem for p in (DATA / "solomon").glob("*.txt"))
    bks = best_known()
    extra: dict[str, Any] = {}
    if args.first:
        extra["first_solution"] = FirstSolution(args.first)
    if args.meta:
        extra["metaheuristic"] = Metaheuristic(args.meta)
    params = SolveParams(time_limit_s=args.budget, seed=args.seed, parallel=args.parallel, **extra)
    meta = params.metaheuristic.value
    if iterated(params):
        meta = "ITERATED_LOCAL_SEARCH (SISR ruin, simulated annealing, greedy descents)"
    print(
        f"budget {args.budget:g} s per solver; ours: parallel={args.parallel} "
        f"first={params.first_solution.value} meta={meta}"
    )
    header = (
        f"{'instance':<12}{'bks':>9} | {'ok':>3}{'srv':>5}{'veh':>4}{'dist':>10}{'gap%':>7}"
        f"{'s':>6} | {'ok':>3}{'veh':>4}{'pyvrp':>10}{'gap%':>7}{'s':>6} | {'ours/pyvrp':>10}"
    )
    print(header)
    print("-" * len(header))
    ours_gaps: list[float] = []
    py_gaps: list[float] = []
    ratios: list[float] = []
    feasible = 0
    for name in names:
        inst = load(name)
        dist = inst.matrix()
        ref = bks[name]
        ours = run_ours(inst, dist, params)
        py = None if args.no_pyvrp else run_pyvrp(inst, dist, args.budget, args.seed)
        feasible += ours.feasible
        gap = _gap(ours.distance, ref)
        line = (
            f"{name:<12}{ref:>9.1f} | {'yes' if ours.feasible else 'NO':>3}{ours.served:>5}"
            f"{ours.vehicles:>4}{ours.distance:>10.1f}{gap:>7.2f}{ours.wall_s:>6.1f} | "
        )
        if ours.feasible:
            ours_gaps.append(gap)
        if py is not None:
            pgap = _gap(py.distance, ref)
            ratio = ours.distance / py.distance
            line += (
                f"{'yes' if py.feasible else 'NO':>3}{py.vehicles:>4}{py.distance:>10.1f}"
                f"{pgap:>7.2f}{py.wall_s:>6.1f} | {ratio:>10.4f}"
            )
            if py.feasible:
                py_gaps.append(pgap)
            if py.feasible and ours.feasible:
                ratios.append(ratio)
        print(line, flush=True)
    print("-" * len(header))
    summary = f"feasible (all served) {feasible}/{len(names)}"
    if ours_gaps:
        summary += f"; ours mean gap {statistics.mean(ours_gaps):.2f} %"
        summary += f" (max {max(ours_gaps):.2f})"
    if py_gaps:
        summary += f"; pyvrp mean gap {statistics.mean(py_gaps):.2f} %"
    if ratios:
        summary += f"; ours/pyvrp mean {statistics.mean(ratios):.4f}"
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
