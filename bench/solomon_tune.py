"""Search set-ups side by side on a few benchmark instances: the table behind routing's choices.

Each row is one OR-Tools configuration (first solution + metaheuristic + optional extra search
parameters) solved in one process (``parallel=1``) on every listed instance at the same budget;
columns are the gap to the best-known distance (%, same conventions as ``solomon_bench``). Extra
parameters are applied on top of ``solver.routing``'s own by wrapping its private
``_search_parameters``; this is a measuring tool, not an API. Every row starts from routing's
plain (non-iterated) search, so ``PCI+GLS`` is guided local search itself; the ``default`` row
is routing's own default set-up unchanged (iterated local search since issue 7).

Run it with ``python -m bench.solomon_tune --instances R101,R105 --budget 2``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from typing import Any

from ortools.constraint_solver import routing_enums_pb2
from ortools.util.optional_boolean_pb2 import BOOL_TRUE

import solver.routing as routing
from bench.solomon_bench import best_known, load, run_ours
from solver.types import FirstSolution, Metaheuristic, SolveParams

Tweak = Callable[[Any], None]
F, M = FirstSolution, Metaheuristic


def _nothing(search: Any) -> None:
    """No change to routing's own parameters."""


def _lns(search: Any) -> None:
    ops = search.local_search_operators
    ops.use_path_lns = BOOL_TRUE
    ops.use_inactive_lns = BOOL_TRUE
    ops.use_global_cheapest_insertion_close_nodes_lns = BOOL_TRUE
    ops.use_local_cheapest_insertion_close_nodes_lns = BOOL_TRUE


def _relocate_neighbors(search: Any) -> None:
    search.local_search_operators.use_relocate_neighbors = BOOL_TRUE
    search.local_search_operators.use_cross_exchange = BOOL_TRUE


def _gls_lambda(value: float) -> Tweak:
    def tweak(search: Any) -> None:
        search.guided_local_search_lambda_coefficient = value

    return tweak


def _ls_neighbors(ratio: float) -> Tweak:
    def tweak(search: Any) -> None:
        search.ls_operator_neighbors_ratio = ratio
        search.ls_operator_min_neighbors = 10

    return tweak


def _all_insertion_neighbors(search: Any) -> None:
    """Undo routing's insertion neighbour limit: every visit against all others."""
    search.global_cheapest_insertion_first_solution_parameters.neighbors_ratio = 1.0


def _ils(
    ruin: str = "sisr",
    size: int = 10,
    accept: str = "sa",
    recreate: str = "LOCAL_CHEAPEST_INSERTION",
    improve: bool = True,
    max_sequence: int = 10,
) -> Tweak:
    """Iterated local search: ruin ``size`` visits, recreate, improve, accept or not.

    ``ruin``: ``sisr`` (string removals, max ``max_sequence`` per route), ``walk`` (random
    walk) or ``routes`` (``size`` spatially close routes); ``accept``: ``sa`` (simulated
    annealing, automatic temperatures) or ``gd`` (greedy descent) for the reference solution.
    Solved through ``RoutingModel.SolveWithIteratedLocalSearch`` (routing's ``_run_search``).
    """

    def tweak(search: Any) -> None:
        search.use_iterated_local_search = True
        ils = search.iterated_local_search_parameters
        ils.improve_perturbed_solution = improve
        rr = ils.ruin_recreate_parameters
        rr.ClearField("ruin_strategies")
        strategy = rr.ruin_strategies.add()
        if ruin == "sisr":
            strategy.sisr.max_removed_sequence_size = max_sequence
            strategy.sisr.avg_num_removed_visits = size
            strategy.sisr.bypass_factor = 0.01
        elif ruin == "walk":
            strategy.random_walk.num_removed_visits = size
        else:
            strategy.spatially_close_routes.num_ruined_routes = size
        rr.recreate_strategy.heuristic = getattr(routing_enums_pb2.FirstSolutionStrategy, recreate)
        reference = ils.reference_solution_acceptance_strategy
        if accept == "sa":
            reference.simulated_annealing.automatic_temperatures = True
        else:
            reference.greedy_descent.SetInParent()

    return tweak


def _pci_ils(**kwargs: Any) -> tuple[FirstSolution, Metaheuristic, Tweak]:
    """An ILS row with the default start (parallel insertion) and greedy descents inside."""
    return F.PARALLEL_CHEAPEST_INSERTION, M.GREEDY_DESCENT, _ils(**kwargs)


CONFIGS: dict[str, tuple[FirstSolution, Metaheuristic, Tweak]] = {
    "default": (F.PARALLEL_CHEAPEST_INSERTION, M.GUIDED_LOCAL_SEARCH, _nothing),
    "PCI+GLS": (F.PARALLEL_CHEAPEST_INSERTION, M.GUIDED_LOCAL_SEARCH, _nothing),
    "PCI+GLS+allnb": (
        F.PARALLEL_CHEAPEST_INSERTION,
        M.GUIDED_LOCAL_SEARCH,
        _all_insertion_neighbors,
    ),
    "LCI+GLS": (F.LOCAL_CHEAPEST_INSERTION, M.GUIDED_LOCAL_SEARCH, _nothing),
    "SEQ+GLS": (F.SEQUENTIAL_CHEAPEST_INSERTION, M.GUIDED_LOCAL_SEARCH, _nothing),
    "LCCI+GLS": (F.LOCAL_CHEAPEST_COST_INSERTION, M.GUIDED_LOCAL_SEARCH, _nothing),
    "SAV+GLS": (F.SAVINGS, M.GUIDED_LOCAL_SEARCH, _nothing),
    "PCA+GLS": (F.PATH_CHEAPEST_ARC, M.GUIDED_LOCAL_SEARCH, _nothing),
    "PCI+SA": (F.PARALLEL_CHEAPEST_INSERTION, M.SIMULATED_ANNEALING, _nothing),
    "PCI+TS": (F.PARALLEL_CHEAPEST_INSERTION, M.TABU_SEARCH, _nothing),
    "PCA+TS": (F.PATH_CHEAPEST_ARC, M.TABU_SEARCH, _nothing),
    "PCI+GLS+lns": (F.PARALLEL_CHEAPEST_INSERTION, M.GUIDED_LOCAL_SEARCH, _lns),
    "PCA+GLS+lns": (F.PATH_CHEAPEST_ARC, M.GUIDED_LOCAL_SEARCH, _lns),
    "PCA+GLS+l0.5": (F.PATH_CHEAPEST_ARC, M.GUIDED_LOCAL_SEARCH, _gls_lambda(0.5)),
    "PCA+GLS+l0.05": (F.PATH_CHEAPEST_ARC, M.GUIDED_LOCAL_SEARCH, _gls_lambda(0.05)),
    "PCA+GLS+reln": (F.PATH_CHEAPEST_ARC, M.GUIDED_LOCAL_SEARCH, _relocate_neighbors),
    "PCA+GLS+nb0.2": (F.PATH_CHEAPEST_ARC, M.GUIDED_LOCAL_SEARCH, _ls_neighbors(0.2)),
    # Iterated local search (greedy descent inside, ruin-and-recreate between descents).
    "ILS-SISR10-SA": _pci_ils(),
    "ILS-SISR5-SA": _pci_ils(size=5),
    "ILS-SISR20-SA": _pci_ils(size=20),
    "ILS-SISR30-SA": _pci_ils(size=30, max_sequence=15),
    "ILS-SISR20-SA-L15": _pci_ils(size=20, max_sequence=15),
    "ILS-SISR50-SA": _pci_ils(size=50, max_sequence=20),
    "ILS-SISR80-SA": _pci_ils(size=80, max_sequence=25),
    "ILS-SISR30-SA-PCIre": _pci_ils(
        size=30, max_sequence=15, recreate="PARALLEL_CHEAPEST_INSERTION"
    ),
    "ILS-SISR10-GD": _pci_ils(accept="gd"),
    "ILS-SISR10-SA-noimp": _pci_ils(improve=False),
    "ILS-SISR10-SA-PCIre": _pci_ils(recreate="PARALLEL_CHEAPEST_INSERTION"),
    "ILS-WALK10-SA": _pci_ils(ruin="walk"),
    "ILS-ROUTES2-SA": _pci_ils(ruin="routes", size=2),
    # GLS inside ILS: the first descent is GLS, which runs to the time limit on its own.
    "ILS-SISR10-SA+GLS": (F.PARALLEL_CHEAPEST_INSERTION, M.GUIDED_LOCAL_SEARCH, _ils()),
    "PCA+ILS-SISR10-SA": (F.PATH_CHEAPEST_ARC, M.GREEDY_DESCENT, _ils()),
    "PCA+ILS-SISR50-SA": (
        F.PATH_CHEAPEST_ARC,
        M.GREEDY_DESCENT,
        _ils(size=50, max_sequence=20),
    ),
}


def _patched(own: Callable[..., Any], tweak: Tweak, *, iterated: bool) -> Callable[..., Any]:
    """Routing's own parameters (iterated search only for the default row), then ``tweak``."""

    def patched(params: SolveParams, *, allow_iterated: bool = True) -> Any:
        search = own(params, allow_iterated=allow_iterated and iterated)
        tweak(search)
        return search

    return patched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", default="R101,R105,RC105,RC201,R201,C205")
    parser.add_argument("--budget", type=float, default=2.0)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    args = parser.parse_args(argv)
    names = args.instances.split(",")
    bks = best_known()
    instances = [(name, load(name)) for name in names]
    own = routing._search_parameters
    print("config".ljust(20) + "".join(n.rjust(8) for n in names) + "   mean  served")
    for key in args.configs.split(","):
        first, meta, tweak = CONFIGS[key]

        routing._search_parameters = _patched(own, tweak, iterated=key == "default")
        gaps: list[float] = []
        served = 0
        for name, inst in instances:
            params = SolveParams(time_limit_s=args.budget, first_solution=first, metaheuristic=meta)
            out = run_ours(inst, inst.matrix(), params)
            full = out.served == inst.customers
            gaps.append(100 * (out.distance - bks[name]) / bks[name] if full else float("nan"))
            served += out.served
        row = "".join(f"{g:8.2f}" for g in gaps)
        print(f"{key:<20}{row}{statistics.mean(gaps):7.2f}{served:8d}", flush=True)
    routing._search_parameters = own
    return 0


if __name__ == "__main__":
    sys.exit(main())
