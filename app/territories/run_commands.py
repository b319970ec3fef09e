"""``visit-planner run-territory TERRITORY [--week YYYY-MM-DD] [--wait]``: plan a week now.

With the in-process executor (the default) the run is made here, in this process (``--wait``
is implied: nothing else would run it); with ``VP_JOB_EXECUTOR=celery`` it is handed to the
workers and ``--wait`` follows it to the end. The per-rep table goes to stdout; the exit code
is 0 when the run succeeded, 1 when it failed (or is still running without ``--wait``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app import db
from app.config import Settings
from app.geo.geocoding import make_geocoder
from app.geo.matrix import make_matrix_provider, make_matrix_providers
from app.jobs.executor import JobExecutor, make_executor
from app.plans.service import Planner
from app.solving import make_solver
from app.territories import runs, service
from models import TerritoryRun

EXIT_FAILED = 1
_POLL_SECONDS = 0.5


def _error(message: str) -> Exception:
    from app.cli import CommandError  # late: app.cli imports this module

    return CommandError(message)


def run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("territory", help="the territory's id or exact name")
    parser.add_argument(
        "--week",
        type=date.fromisoformat,
        help="first day to plan, YYYY-MM-DD (default: next Monday in the territory's zone)",
    )
    parser.add_argument(
        "--wait", action="store_true", help="Celery: wait until the run has finished"
    )


def make_planner(settings: Settings) -> Planner:
    """The planner a server with ``settings`` would use."""
    return Planner(
        geocoder=make_geocoder(settings),
        matrix=make_matrix_provider(settings),
        matrices=make_matrix_providers(settings),
        solver=make_solver(settings.solver_processes, settings.max_concurrent_solves),
    )


@dataclass(frozen=True)
class Finished:
    run: dict[str, Any]
    seconds: float


def start(factory: sessionmaker[Session], territory: str, week: date | None) -> tuple[str, str]:
    """Create a manual run (committed); its id and its job's id."""
    with factory() as session:
        found = service.find_territory(session, territory)
        if found is None:
            raise _error(f"no territory with id or name {territory!r}")
        run = runs.start_run(session, found.id, week)
        session.commit()
        assert run.job_id is not None
        return run.id, run.job_id


def wait(
    factory: sessionmaker[Session], settings: Settings, run_id: str, timeout: float | None = None
) -> dict[str, Any]:
    """Poll the run until it finished (or ``timeout`` seconds); its rendered state."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with factory() as session:
            run = session.get_one(TerritoryRun, run_id)
            if run.status in runs.FINISHED or (deadline and time.monotonic() > deadline):
                return runs.render_run(session, settings, run)
        time.sleep(_POLL_SECONDS)


def run_to_end(
    settings: Settings, territory: str, week: date | None, *, follow: bool = True
) -> Finished:
    """Start a run, hand it to the configured executor and (in-process: always) wait for it."""
    engine = db.make_engine(settings)
    factory = db.make_session_factory(engine)
    planner = make_planner(settings)
    executor: JobExecutor = make_executor(settings, factory, planner)
    began = time.monotonic()
    try:
        run_id, job_id = start(factory, territory, week)
        executor.submit(job_id)
        if settings.job_executor == "celery" and not follow:
            with factory() as session:
                state = runs.render_run(session, settings, session.get_one(TerritoryRun, run_id))
        else:
            state = wait(factory, settings, run_id)
        return Finished(state, time.monotonic() - began)
    finally:
        executor.shutdown()
        planner.solver.shutdown()
        engine.dispose()


def print_run(state: dict[str, Any], seconds: float) -> None:
    """The per-rep table on stdout, the summary on stderr."""
    print(f"{'rep':<16} {'visits':>6} {'due':>5} {'unassigned':>10} {'fill':>5}  share_url")
    for entry in state["plans"]:
        print(
            f"{entry['rep_id']:<16} {entry.get('visits', ''):>6} {entry.get('due', ''):>5}"
            f" {entry.get('unassigned', ''):>10} {entry.get('fill_visits', ''):>5}"
            f"  {entry.get('share_url') or '-'}"
        )
    for failure in state["failed"]:
        message = (failure.get("error") or {}).get("message", "")
        print(f"{failure['rep_id']:<16} FAILED: {message}")
    visits = sum(int(e.get("visits", 0)) for e in state["plans"])
    print(
        f"run {state['run_id']} ({state['week_start']}): {state['status']}, "
        f"{len(state['plans'])} plans, {visits} visits, {len(state['failed'])} reps failed, "
        f"{seconds:.1f} s",
        file=sys.stderr,
    )


def run_territory(args: argparse.Namespace, settings: Settings) -> int:
    """Plan a territory's week now and print each rep's visits and share link."""
    finished = run_to_end(settings, args.territory, args.week, follow=args.wait)
    print_run(finished.run, finished.seconds)
    return 0 if finished.run["status"] == "succeeded" else EXIT_FAILED
