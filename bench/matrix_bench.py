"""OSRM travel-matrix time, cold and cached, and its share of the whole plan time.

Starts a real ``osrm-routed`` (MLD, default ``--max-table-size 100``) on the Monaco graph built
by ``scripts/osrm.sh`` and asks it for n x n matrices of random street points, through the
service's own provider (100 x 100 blocks, 4 in flight):

* ``straight`` is the in-process straight-line matrix of the same points: the baseline all
  other rows are divided by (``x base``);
* ``osrm cold`` empties the cache first; ``osrm cached`` asks again (cache hit, no HTTP);
* ``plan`` rows run ``POST /plan`` with ``options.travel = "osrm"`` in-process (TestClient,
  SQLite) and report the share of that request's wall time spent obtaining the matrix.

Usage: ``python -m bench.matrix_bench [--sizes 200,2000] [--plan-sizes 200,2000]
[--time-limit S]``
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app import db as db_module
from app.config import Settings
from app.geo.matrix import MatrixResult, OsrmMatrix, StraightLineMatrix, TravelOptions
from app.geo.osrm import OsrmClient, TableCache
from app.main import create_app
from solver.types import Point
from tests.app.geo.osrm_server import osrm_server

OPTIONS = TravelOptions(speed_kmh=30.0, detour_factor=1.3)


def street_points(n: int, seed: int) -> list[Point]:
    """Random points over Monaco's built-up area (most within metres of a street)."""
    rng = random.Random(seed)
    return [
        Point(round(rng.uniform(43.728, 43.748), 6), round(rng.uniform(7.412, 7.436), 6))
        for _ in range(n)
    ]


def timed(fn: Callable[[Sequence[Point], TravelOptions], object], pts: list[Point]) -> float:
    start = time.perf_counter()
    fn(pts, OPTIONS)
    return time.perf_counter() - start


def matrix_rows(url: str, sizes: Sequence[int]) -> None:
    print(f"{'points':>6}  {'mode':<12} {'seconds':>8} {'x base':>8} {'requests':>8}")
    for n in sizes:
        pts = street_points(n, seed=n)
        base = timed(StraightLineMatrix().matrix, pts)
        client = OsrmClient(url, max_table_size=100, concurrency=4)
        osrm = OsrmMatrix(client, max_snap_m=500, cache=TableCache(8))
        cold = timed(osrm.travel, pts)
        sent = client.requests
        cached = timed(osrm.travel, pts)
        for mode, secs, req in (
            ("straight", base, 0),
            ("osrm cold", cold, sent),
            ("osrm cached", cached, client.requests - sent),
        ):
            print(f"{n:>6}  {mode:<12} {secs:>8.3f} {secs / base:>8.2f} {req:>8}")


def plan_request(n: int, time_limit: float | None) -> dict[str, Any]:
    pts = street_points(n, seed=n + 1)
    reps = max(1, n // 40)
    return {
        "timezone": "Europe/Monaco",
        "horizon": {"start_date": "2026-12-07", "days": 5},
        "reps": [
            {"id": f"rep-{k}", "start": {"lat": 43.7310, "lon": 7.4200}, "max_visits_per_day": 8}
            for k in range(reps)
        ],
        "customers": [
            {"id": f"C{i:04d}", "name": f"Customer {i}", "lat": p.lat, "lon": p.lon}
            for i, p in enumerate(pts)
        ],
        "options": {"travel": "osrm"} | ({"time_limit_seconds": time_limit} if time_limit else {}),
    }


def plan_rows(url: str, sizes: Sequence[int], time_limit: float | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(
            database_url=db,
            require_api_key=False,
            solver_processes=0,
            inline_max_customers=10_000,
            osrm_url=url,
            osrm_max_table_size=100,
            rate_limit_per_minute=0,
        )
        db_module.migrate(settings)
        with TestClient(create_app(settings)) as client:
            osrm = client.app.state.planner.matrices["osrm"]  # type: ignore[attr-defined]
            assert isinstance(osrm, OsrmMatrix)
            spent: list[float] = []
            original = osrm.travel

            def timed_travel(*args: Any, **kw: Any) -> MatrixResult:
                start = time.perf_counter()
                try:
                    return original(*args, **kw)
                finally:
                    spent.append(time.perf_counter() - start)

            osrm.travel = timed_travel  # type: ignore[method-assign]
            print(f"\n{'customers':>9}  {'matrix':<7} {'plan s':>8} {'matrix s':>9} {'share':>7}")
            for n in sizes:
                body = plan_request(n, time_limit)
                for mode in ("cold", "cached"):
                    if mode == "cold":
                        osrm.cache.clear()
                    spent.clear()
                    start = time.perf_counter()
                    response = client.post("/plan", json=body)
                    total = time.perf_counter() - start
                    assert response.status_code == 201, response.text
                    warnings = response.json()["warnings"]
                    share = spent[0] / total
                    print(
                        f"{n:>9}  {mode:<7} {total:>8.2f} {spent[0]:>9.3f} {share:>6.1%}"
                        + (f"  warnings: {len(warnings)}" if warnings else "")
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="200,2000")
    parser.add_argument("--plan-sizes", default="200,2000")
    parser.add_argument("--time-limit", type=float, default=None)
    args = parser.parse_args()
    with osrm_server(max_table_size=100) as server:
        matrix_rows(server.url, [int(s) for s in args.sizes.split(",") if s])
        plan_rows(server.url, [int(s) for s in args.plan_sizes.split(",") if s], args.time_limit)


if __name__ == "__main__":
    main()
