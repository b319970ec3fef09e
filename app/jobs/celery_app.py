"""Celery on Redis: jobs run in worker processes on any number of machines.

Nothing here reads settings at import time. ``make_celery(settings)`` builds the app; the
module attribute ``app`` (what ``celery -A app.jobs.celery_app worker`` looks up) is built
from the environment (``VP_*``) on first access. ``visit-planner worker`` uses the factory.

Delivery is at least once: ``acks_late`` keeps a message unacknowledged until its task
returns, so a worker killed mid-job leaves it to be redelivered once Redis's visibility
timeout passes (any worker's periodic scan moves it back to the queue).
Exactly-once results come from the job row, not the broker: a delivery claims the job with
a conditional UPDATE, and a duplicate finds it finished (nothing to do) or held under a live
lease (it looks again once the lease could have run out, in case that runner died too).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import Celery, Task
from celery.signals import worker_ready, worker_shutdown
from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings
from app.db import make_engine, make_session_factory
from app.geo.geocoding import make_geocoder
from app.geo.matrix import make_matrix_provider, make_matrix_providers
from app.jobs.context import JobContext
from app.jobs.service import RunOutcome, run_job
from app.plans.service import Planner
from app.solving import make_solver

log = logging.getLogger("visit_planner.jobs")

TASK_NAME = "visit_planner.run_job"


class VisitPlannerCelery(Celery):  # type: ignore[misc]
    """A Celery app that remembers the settings it was built from (workers build from them)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("visit_planner", broker=settings.redis_url, set_as_current=False)
        self.vp_settings = settings


def broker_options(settings: Settings) -> dict[str, Any]:
    """Redis transport options: unacked messages come back after the visibility timeout.

    Kombu scans for them every ``interval x throttle`` seconds (100 s by default), which
    would dwarf a short timeout, so the scan runs at a quarter of it (at most every 10 s).
    """
    timeout = settings.celery_visibility_timeout
    return {
        "visibility_timeout": timeout,
        "unacked_restore_interval": max(1, min(10, int(timeout // 4))),
        "unacked_restore_throttle": 1,
    }


def make_celery(settings: Settings) -> VisitPlannerCelery:
    """The Celery app for ``settings`` (broker ``redis_url``), with the job task registered."""
    if not settings.redis_url:
        raise ValueError("the Celery executor needs VP_REDIS_URL (the Redis broker)")
    celery = VisitPlannerCelery(settings)
    celery.conf.update(
        task_default_queue=settings.celery_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A handler's failure is already recorded in the job row: redelivering would only
        # repeat it. Lost workers are the case acks_late is for.
        task_acks_on_failure_or_timeout=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        # Jobs run in threads of the worker process and solve in its solver processes: a
        # prefork pool child is daemonic and may not start solver processes, and a solve
        # in the job's own thread would hold the GIL and starve the lease heartbeat.
        worker_pool="threads",
        broker_transport_options=broker_options(settings),
        broker_connection_retry_on_startup=True,
        worker_send_task_events=False,
    )

    @celery.task(  # type: ignore[untyped-decorator]
        name=TASK_NAME,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=None,
        # The job row could not be read or written (database down): try again later rather
        # than ack a job nobody ran. Handler errors never get here; they fail the job.
        autoretry_for=(SQLAlchemyError,),
        retry_backoff=2,
        retry_backoff_max=60,
        # Not shared: each app's task closes over its own settings (tests build several).
        shared=False,
    )
    def run(task: Task, job_id: str) -> str:
        outcome = run_job(worker_context(celery), job_id)
        if outcome is RunOutcome.BUSY:
            # Someone else runs it under a live lease; look again once it could have expired.
            raise task.retry(countdown=settings.job_lease_seconds)
        return str(outcome.value)

    return celery


class CeleryExecutor:
    """Submits job ids to the Celery workers; the API process runs nothing itself."""

    def __init__(self, settings: Settings, celery: VisitPlannerCelery | None = None) -> None:
        self._celery = celery or make_celery(settings)
        self._queue = settings.celery_queue

    def submit(self, job_id: str) -> None:
        self._celery.send_task(TASK_NAME, args=[job_id], queue=self._queue)

    def shutdown(self) -> None:
        self._celery.close()


# One context per worker process: its own engine (connections never cross a fork), its
# planner, and submit going back to Celery so sub-jobs spread over every worker.
_contexts: dict[tuple[int, int], JobContext] = {}
_contexts_lock = threading.Lock()


def worker_context(celery: VisitPlannerCelery) -> JobContext:
    """This process's job context, built on first use (by whichever job thread comes first)."""
    key = (os.getpid(), id(celery))
    with _contexts_lock:
        ctx = _contexts.get(key)
        if ctx is None:
            ctx = _build(celery)
            _contexts[key] = ctx
        return ctx


def _build(celery: VisitPlannerCelery) -> JobContext:
    settings = celery.vp_settings
    planner = Planner(
        geocoder=make_geocoder(settings),
        matrix=make_matrix_provider(settings),
        matrices=make_matrix_providers(settings),
        # Solver processes as in the API (one per core by default); jobs wait for a slot.
        solver=make_solver(settings.solver_processes, settings.max_concurrent_solves),
    )
    session_factory = make_session_factory(make_engine(settings))
    return JobContext(session_factory, settings, planner, CeleryExecutor(settings, celery).submit)


@worker_ready.connect(weak=False)  # type: ignore[untyped-decorator]
def _build_context(sender: Any = None, **_: object) -> None:
    """Build engine and planner when the worker starts, not in its first job."""
    celery = getattr(sender, "app", None)
    if isinstance(celery, VisitPlannerCelery):
        worker_context(celery)


@worker_shutdown.connect(weak=False)  # type: ignore[untyped-decorator]
def _close_context(**_: object) -> None:
    """Stop this process's solver processes and close its database connections."""
    with _contexts_lock:
        for (pid, _id), ctx in list(_contexts.items()):
            if pid == os.getpid():
                ctx.planner.solver.shutdown()
                engine = ctx.session_factory.kw.get("bind")
                if engine is not None:
                    engine.dispose()
                del _contexts[(pid, _id)]


_app: VisitPlannerCelery | None = None


def __getattr__(name: str) -> VisitPlannerCelery:
    """``app``: the worker entry for ``celery -A app.jobs.celery_app``, built from ``VP_*``."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = make_celery(Settings())
    return _app
