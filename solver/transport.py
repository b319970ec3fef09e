"""The transportation problem: ship each source's supply to sinks of bounded capacity, cheapest.

``solver.decompose`` uses it to give customers to reps. It is a min-cost flow (OR-Tools'
``SimpleMinCostFlow``, cost-scaling push-relabel, exact on integers), kept in its own
module so that OR-Tools is imported in two places only: here and ``solver.routing``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def transport(
    unit_cost: IntArray, supply: IntArray, capacity: IntArray, allowed: BoolArray
) -> IntArray:
    """Sources x sinks: how much of each source's supply each sink takes, at least total cost.

    ``unit_cost`` and ``allowed`` are sources x sinks; a source ships only where allowed.
    When the capacities cannot take everything (a source allowed only into full sinks), the
    flow is as large as possible and still cheapest for that amount, so the caller sees the
    unshipped part as rows that sum to less than their supply, rather than no answer at all.
    """
    n, m = allowed.shape
    source, sink = np.nonzero(allowed)
    flow = min_cost_flow.SimpleMinCostFlow()
    # Nodes: sources 0..n-1, sinks n..n+m-1, one terminal that takes what the sinks carry.
    terminal = n + m
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        source.astype(np.int32),
        (n + sink).astype(np.int32),
        supply[source].astype(np.int64),
        unit_cost[source, sink].astype(np.int64),
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(n, n + m, dtype=np.int32),
        np.full(m, terminal, dtype=np.int32),
        capacity.astype(np.int64),
        np.zeros(m, dtype=np.int64),
    )
    shipped = np.where(allowed.any(axis=1), supply, 0).astype(np.int64)
    flow.set_nodes_supplies(np.arange(n, dtype=np.int32), shipped)
    flow.set_node_supply(terminal, -int(shipped.sum()))
    carried = np.zeros((n, m), dtype=np.int64)
    if flow.solve_max_flow_with_min_cost() == flow.OPTIMAL:
        carried[source, sink] = flow.flows(np.asarray(arcs, dtype=np.int32))
    return carried
