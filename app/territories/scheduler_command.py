"""``visit-planner scheduler``: the process that enqueues scheduled territory runs.

It submits to the executor the settings name, built exactly as the API builds it: with the
in-process executor this process also runs the jobs; with Celery it only enqueues them and the
workers solve. Any number of schedulers may run: each (territory, week) is planned once.
SIGTERM or SIGINT stops it after the current tick; in-process jobs already running finish.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from app import db
from app.config import Settings
from app.geo.geocoding import make_geocoder
from app.geo.matrix import make_matrix_provider, make_matrix_providers
from app.jobs.executor import InProcessExecutor, make_executor
from app.plans.service import Planner
from app.solving import make_solver
from app.territories import scheduler

log = logging.getLogger("visit_planner.scheduler")


def scheduler_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds between ticks (default: VP_SCHEDULER_INTERVAL_SECONDS)",
    )
    parser.add_argument(
        "--once",
        action="store_true",
        help="tick once and exit (with the in-process executor: after its jobs finish)",
    )


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler stopping (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def run_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    """Tick until stopped; exit code 0 after a clean stop."""
    from app.cli import CommandError, _require_migrated  # app.cli imports this module

    interval = args.interval if args.interval is not None else settings.scheduler_interval_seconds
    if interval <= 0:
        raise CommandError("--interval must be positive")
    _require_migrated(settings)
    from app.observability import configure_logging

    configure_logging(settings.log_level, settings.json_logs)
    engine = db.make_engine(settings)
    session_factory = db.make_session_factory(engine)
    planner = Planner(
        geocoder=make_geocoder(settings),
        matrix=make_matrix_provider(settings),
        matrices=make_matrix_providers(settings),
        solver=make_solver(settings.solver_processes, settings.max_concurrent_solves),
    )
    executor = make_executor(settings, session_factory, planner)
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        resubmitted = scheduler.queued_run_jobs(session_factory)
        for job_id in resubmitted:
            executor.submit(job_id)
        if resubmitted:
            log.info("resubmitted %d queued scheduled runs", len(resubmitted))
        created = scheduler.run_loop(
            session_factory,
            settings,
            executor.submit,
            interval=interval,
            stop=stop,
            once=args.once,
        )
        if args.once:
            print(f"{len(created)} runs queued", file=sys.stderr)
            if isinstance(executor, InProcessExecutor):
                job_ids = resubmitted + scheduler.run_job_ids(session_factory, created)
                scheduler.wait_for_jobs(session_factory, job_ids, stop)
    finally:
        executor.shutdown()
        planner.solver.shutdown()
        engine.dispose()
    return 0
