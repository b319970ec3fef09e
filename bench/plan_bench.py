"""Plan time and quality for 40, 200 and 500 customers over 5 days, 1 and 5 reps.

Runs the whole request path in-process (HTTP validation, mapping, straight-line matrix,
OR-Tools, persistence in a temporary SQLite file) through FastAPI's TestClient, with the
service's default time limit (adapted to size) unless ``--time-limit`` is given.

Figures are reported as ratios against baselines measured in the same process:
* ``t/t40``: wall time relative to the 40-customer, 1-rep run of this invocation;
* ``drive/base``: optimised driving relative to the list-order baseline of the same visits.

Usage: ``python -m bench.plan_bench [--sizes 40,200,500] [--reps 1,5] [--time-limit S]``
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from app.cli import main as cli_main
from app.config import Settings
from app.main import create_app

CENTRE = (31.2304, 121.4737)


def make_request(customers: int, reps: int, seed: int, time_limit: float | None) -> dict[str, Any]:
    """Customers in 12 neighbourhoods within ~25 km of the centre; some with opening hours."""
    rng = random.Random(seed)
    hubs = [
        (CENTRE[0] + rng.uniform(-0.2, 0.2), CENTRE[1] + rng.uniform(-0.25, 0.25))
        for _ in range(12)
    ]
    rows = []
    for i in range(customers):
        lat, lon = rng.choice(hubs)
        row: dict[str, Any] = {
            "id": f"C{i:04d}",
            "name": f"Customer {i}",
            "lat": round(lat + rng.gauss(0, 0.01), 6),
            "lon": round(lon + rng.gauss(0, 0.01), 6),
            "segment": rng.choice(["prospect", "maintaining", "ordered"]),
            "priority": rng.randint(10, 90),
        }
        if rng.random() < 0.25:
            row["opening_hours"] = {
                d: [["09:00", "12:00"], ["14:00", "17:30"]]
                for d in ("mon", "tue", "wed", "thu", "fri")
            }
        rows.append(row)
    rep_rows = [
        {
            "id": f"rep-{k + 1}",
            "start": {
                "lat": CENTRE[0] + rng.uniform(-0.1, 0.1),
                "lon": CENTRE[1] + rng.uniform(-0.1, 0.1),
            },
            "lunch": {"earliest": "11:30", "latest": "13:30", "minutes": 60},
            "max_visits_per_day": 8,
            "hourly_value": 300,
        }
        for k in range(reps)
    ]
    options: dict[str, Any] = {"seed": seed}
    if time_limit is not None:
        options["time_limit_seconds"] = time_limit
    return {
        "timezone": "Asia/Shanghai",
        "horizon": {"start_date": "2026-12-07", "days": 5},
        "reps": rep_rows,
        "customers": rows,
        "options": options,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="40,200,500")
    parser.add_argument("--reps", default="1,5")
    parser.add_argument("--time-limit", type=float, default=None)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rep_counts = [int(r) for r in args.reps.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        # Inline for every size: the benchmark times the solve, not the job queue.
        settings = Settings(database_url=url, require_api_key=False, inline_max_customers=100_000)
        os.environ["VP_DATABASE_URL"] = url
        cli_main(["migrate"])
        client = TestClient(create_app(settings))
        header = f"{'customers':>9} {'reps':>4} {'wall s':>7} {'t/t40':>6} {'visits':>6} "
        header += f"{'unassigned':>10} {'drive min':>9} {'base min':>9} {'drive/base':>10}"
        print(header)
        reference: float | None = None
        for n in sizes:
            for reps in rep_counts:
                body = make_request(n, reps, seed=7, time_limit=args.time_limit)
                began = time.perf_counter()
                response = client.post("/plan", json=body)
                wall = time.perf_counter() - began
                response.raise_for_status()
                s = response.json()["summary"]
                reference = reference or wall
                ratio = (
                    s["drive_minutes"] / s["baseline_drive_minutes"]
                    if s["baseline_drive_minutes"]
                    else 0.0
                )
                print(
                    f"{n:>9} {reps:>4} {wall:>7.2f} {wall / reference:>6.2f} {s['visits']:>6} "
                    f"{s['unassigned']:>10} {s['drive_minutes']:>9.1f} "
                    f"{s['baseline_drive_minutes']:>9.1f} {ratio:>10.2f}"
                )


if __name__ == "__main__":
    main()
