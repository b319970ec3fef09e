"""Re-plan latency and stability on the sample week (2 reps, 5 days, 40 visits).

Runs the whole request path in-process (HTTP validation, mapping, straight-line matrix,
OR-Tools, persistence in a temporary SQLite file) through FastAPI's TestClient, solves inline.
For each change (one cancellation, one urgent insert) it compares, in the same process:

* ``POST /plans/{id}/replan`` (default budget: 1 s for 40 customers, warm-started), against
* ``POST /plan`` of the changed request from scratch (default budget: 2 s for 40 customers),

reporting wall time, visits moved against the first plan (another rep or day, or out of
order on the same day) and visits moved to another day, plus the ratios replan/scratch.
A mid-week replan (Wednesday 12:00, rep position given) is timed as well. A second table
inserts an urgent must-visit into a full day (synthetic week, solver level) with the change
costs on and off, which is where they matter: the sample week has room everywhere.

Usage: ``python -m bench.replan_bench [--runs 3] [--seed 0] [--move-cost MIN]
[--reorder-cost MIN] [--time-limit S]`` (the last three are passed as replan options).
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.cli import main as cli_main
from app.config import Settings
from app.main import create_app
from app.plans.versions import stable_order
from app.sample.build import build_sample_request
from models import VisitOutcome, utcnow
from solver.distance import straight_line_matrix
from solver.domain import CustomerInput, Lunch, PlannedDay, PlanningInput, RepInput
from solver.pipeline import plan
from solver.replan import MOVE_COST, REORDER_COST, ReplanInput, replan
from solver.types import Point, SolveParams

MONDAY = date(2026, 12, 7)
BEFORE_WEEK = "2026-12-06T20:00:00+08:00"
URGENT = {
    "id": "URGENT-1",
    "name": "Hot prospect",
    "lat": 31.205,
    "lon": 121.44,
    "segment": "prospect",
    "must_visit": True,
    "date": "2026-12-09",
}

Slot = tuple[str, str, int]


def slots(body: dict[str, Any]) -> dict[str, Slot]:
    return {
        s["customer_id"]: (d["rep_id"], d["date"], k)
        for d in body["days"]
        for k, s in enumerate(d["stops"])
    }


def moved(before: dict[str, Slot], after: dict[str, Slot]) -> tuple[int, int]:
    """(visits moved in any way, visits moved to another rep or day) between two plans."""
    seq_before: dict[tuple[str, str], list[str]] = {}
    seq_after: dict[tuple[str, str], list[str]] = {}
    for cid, (rep, day, _) in sorted(before.items(), key=lambda i: i[1][2]):
        seq_before.setdefault((rep, day), []).append(cid)
    for cid, (rep, day, _) in sorted(after.items(), key=lambda i: i[1][2]):
        seq_after.setdefault((rep, day), []).append(cid)
    kept: set[str] = set()
    for key, seq in seq_before.items():
        stayed = [c for c in seq if c in after and after[c][:2] == key]
        kept |= stable_order(stayed, seq_after.get(key, []))
    common = [c for c in before if c in after]
    other_day = sum(1 for c in common if before[c][:2] != after[c][:2])
    return sum(1 for c in common if c not in kept), other_day


def record(url: str, plan_id: str, customer_id: str, status: str) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        session.add(
            VisitOutcome(
                plan_id=plan_id,
                customer_id=customer_id,
                status=status,
                source="api",
                recorded_at=utcnow(),
            )
        )
        session.commit()
    engine.dispose()


def timed(client: TestClient, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    began = time.perf_counter()
    response = client.post(path, json=body)
    wall = time.perf_counter() - began
    response.raise_for_status()
    return wall, response.json()


Row = tuple[str, float, float, tuple[int, int], tuple[int, int]]


def one_run(client: TestClient, url: str, seed: int, options: dict[str, Any]) -> list[Row]:
    """Rows (case, replan s, scratch s, (moved, other day) by replan, the same by scratch)."""
    request = build_sample_request(MONDAY)
    request["options"] = {"seed": seed}
    _, first = timed(client, "/plan", request)
    pid = first["plan_id"]
    base = slots(first)
    rows = []

    # One cancellation: the middle visit of the fullest Tuesday.
    tuesday = max(
        (d for d in first["days"] if d["date"] == "2026-12-08"), key=lambda d: len(d["stops"])
    )
    gone = tuesday["stops"][len(tuesday["stops"]) // 2]["customer_id"]
    record(url, pid, gone, "cancelled")
    t_re, re = timed(client, f"/plans/{pid}/replan", {"at": BEFORE_WEEK, "options": options})
    changed = copy.deepcopy(request)
    changed["customers"] = [c for c in changed["customers"] if c["id"] != gone]
    t_sc, sc = timed(client, "/plan", changed)
    rows.append(("cancel", t_re, t_sc, moved(base, slots(re)), moved(base, slots(sc))))

    # One urgent insert on Wednesday, on top of the version just made.
    t_re2, re2 = timed(
        client,
        f"/plans/{pid}/replan",
        {"at": BEFORE_WEEK, "add_customers": [URGENT], "options": options},
    )
    changed2 = copy.deepcopy(changed)
    changed2["customers"].append(URGENT)
    t_sc2, sc2 = timed(client, "/plan", changed2)
    assert "URGENT-1" in slots(re2), "the urgent customer was not placed"
    rows.append(
        ("urgent", t_re2, t_sc2, moved(slots(re), slots(re2)), moved(slots(re), slots(sc2)))
    )

    # Mid-week: Wednesday noon, the rep somewhere in town, nothing else changed.
    t_mid, mid = timed(
        client,
        f"/plans/{pid}/replan",
        {
            "at": "2026-12-09T12:00:00+08:00",
            "position": {"lat": 31.22, "lon": 121.46},
            "options": options,
        },
    )
    rows.append(("midweek", t_mid, 0.0, moved(slots(re2), slots(mid)), (0, 0)))
    return rows


def _synthetic_week(seed: int) -> PlanningInput:
    """One rep, five days capped at 8 visits, 34 customers within 15 km: days fill up."""
    rng = random.Random(seed)
    home = Point(31.2304, 121.4737)
    customers = tuple(CustomerInput(f"c{i}", _near(home, rng), 30 * 60, 50) for i in range(34))
    rep = RepInput("r1", home, home, 9 * 3600, 18 * 3600, Lunch(41400, 48600, 3600), 8)
    days = tuple(MONDAY + timedelta(days=d) for d in range(5))
    return PlanningInput((rep,), days, customers, MONDAY)


def _near(home: Point, rng: random.Random) -> Point:
    return Point(home.lat + rng.uniform(-0.13, 0.13), home.lon + rng.uniform(-0.16, 0.16))


def _day_slots(inp: PlanningInput, days: tuple[PlannedDay, ...]) -> dict[str, Slot]:
    return {
        inp.customers[s.customer].id: (str(d.rep), str(d.day), k)
        for d in days
        for k, s in enumerate(d.stops)
    }


def change_costs(runs: int) -> None:
    """Urgent must-visit into the fullest day (solver level): change costs on and off."""
    params = SolveParams(time_limit_s=2.0, stall_s=1.0)
    table: dict[tuple[int, int], list[tuple[int, int, float, float]]] = {}
    for seed in range(runs):
        inp = _synthetic_week(seed)
        first = plan(inp, straight_line_matrix(inp.locations()), SolveParams(2.0, 100))
        full = max(first.days, key=lambda d: len(d.stops))
        rng = random.Random(seed)
        urgent = CustomerInput(
            "urgent", _near(inp.reps[0].start, rng), 45 * 60, 90, True, day=full.day
        )
        changed = replace(inp, customers=(*inp.customers, urgent))
        matrix = straight_line_matrix(changed.locations())
        for costs in ((MOVE_COST, REORDER_COST), (0, 0)):
            began = time.perf_counter()
            result = replan(
                ReplanInput(changed, first.days, 0, move_cost=costs[0], reorder_cost=costs[1]),
                matrix,
                params,
            )
            wall = time.perf_counter() - began
            n_moved, n_day = moved(
                _day_slots(inp, first.days), _day_slots(changed, result.outcome.days)
            )
            drive = sum(d.travel_s for d in result.outcome.days) / 60
            table.setdefault(costs, []).append((n_moved, n_day, drive, wall))
    print(f"urgent insert into a full day, solver level, {runs} seeds, sums (time: median)")
    head = ("move/reorder s", "moved", "other day", "drive min", "drive ratio", "s")
    print(f"{head[0]:<15} {head[1]:>6} {head[2]:>9} {head[3]:>9} {head[4]:>11} {head[5]:>5}")
    reference = sum(v[2] for v in table[(0, 0)])
    for (move, reorder), rows in table.items():
        n_moved, n_day = sum(v[0] for v in rows), sum(v[1] for v in rows)
        drive = sum(v[2] for v in rows)
        wall = statistics.median(v[3] for v in rows)
        print(
            f"{f'{move}/{reorder}':<15} {n_moved:>6} {n_day:>9} {drive:>9.0f}"
            f" {drive / reference:>11.3f} {wall:>5.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--move-cost", type=float, default=None, help="minutes, replan option")
    parser.add_argument("--reorder-cost", type=float, default=None, help="minutes, replan option")
    parser.add_argument("--time-limit", type=float, default=None, help="replan time limit (s)")
    parser.add_argument("--cost-seeds", type=int, default=6, help="seeds of the full-day case")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {}
    if args.move_cost is not None:
        options["move_cost_minutes"] = args.move_cost
    if args.reorder_cost is not None:
        options["reorder_cost_minutes"] = args.reorder_cost
    if args.time_limit is not None:
        options["time_limit_seconds"] = args.time_limit
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(database_url=url, require_api_key=False, solver_processes=0)
        os.environ["VP_DATABASE_URL"] = url
        cli_main(["migrate"])
        client = TestClient(create_app(settings))
        results: dict[str, list[Row]] = {}
        for run in range(args.runs):
            for row in one_run(client, url, args.seed + run, options):
                results.setdefault(row[0], []).append(row)
    print(f"{args.runs} runs (seeds {args.seed}..{args.seed + args.runs - 1}), medians")
    print(
        f"{'case':<8} {'replan s':>8} {'scratch s':>9} {'t re/scr':>8} "
        f"{'moved re':>8} {'moved scr':>9} {'other-day re':>12} {'other-day scr':>13}"
    )
    for case, rows in results.items():
        t_re = statistics.median(r[1] for r in rows)
        t_sc = statistics.median(r[2] for r in rows)
        m_re = statistics.median(r[3][0] for r in rows)
        m_sc = statistics.median(r[4][0] for r in rows)
        d_re = statistics.median(r[3][1] for r in rows)
        d_sc = statistics.median(r[4][1] for r in rows)
        scratch = f"{t_sc:9.2f} {t_re / t_sc:8.2f}" if t_sc else f"{'-':>9} {'-':>8}"
        print(
            f"{case:<8} {t_re:8.2f} {scratch} {m_re:>8} {m_sc if t_sc else '-':>9}"
            f" {d_re:>12} {d_sc if t_sc else '-':>13}"
        )
    print()
    change_costs(args.cost_seeds)


if __name__ == "__main__":
    main()
