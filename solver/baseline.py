"""The unoptimised baseline: what a rep would drive working the list top to bottom.

The contract defines it as "the same visits done without optimisation (customer list
order, each day filled in turn)". It ignores windows on purpose: it stands for the rep
who does not plan, and only serves to put a value on what planning saved.
"""

from __future__ import annotations

from collections.abc import Sequence

from solver.domain import PlanningInput
from solver.prechecks import Route
from solver.types import TravelMatrix


def baseline_travel(
    inp: PlanningInput, matrix: TravelMatrix, candidates: Sequence[Route], planned: Sequence[int]
) -> tuple[int, int]:
    """Travel seconds and metres of the list-order plan over the same routes.

    Each route (day by day, rep by rep) takes customers in list order while they fit in its
    hours (lunch included) and its visit cap; when the routes run out, the rest go on the
    last one, so every planned visit is counted.
    """
    order = sorted(planned)
    if not order or not candidates:
        return 0, 0
    durations, distances = matrix.durations, matrix.distances
    total_s = total_m = 0
    k, pos = 0, 0
    while pos < len(order):
        route = candidates[k]
        rep = inp.reps[route.rep]
        home, end = inp.start_loc(route.rep), inp.end_loc(route.rep)
        budget = route.shift.length - (rep.lunch.duration if rep.lunch else 0)
        cap = rep.max_visits_per_day
        last_route = k == len(candidates) - 1
        loc, used, count = home, 0, 0
        while pos < len(order):
            c = order[pos]
            nxt = inp.customer_loc(c)
            step = int(durations[loc, nxt]) + inp.customers[c].duration
            fits = used + step + int(durations[nxt, end]) <= budget
            if count and not last_route and (not fits or (cap is not None and count >= cap)):
                break
            total_s += int(durations[loc, nxt])
            total_m += int(distances[loc, nxt])
            used, loc, count, pos = used + step, nxt, count + 1, pos + 1
        if count:
            total_s += int(durations[loc, end])
            total_m += int(distances[loc, end])
        k = min(k + 1, len(candidates) - 1)
    return total_s, total_m
