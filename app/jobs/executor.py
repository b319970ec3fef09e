"""Executors run jobs by id: an in-process thread pool (the default) or Celery on Redis.

An executor only needs ``submit(job_id)``: everything about a job lives in its row, so the
distributed executor (``app.jobs.celery_app``) replaces this one without touching the API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.jobs.context import JobContext
from app.plans.service import Planner

log = logging.getLogger("visit_planner.jobs")


class JobExecutor(Protocol):
    """Runs queued jobs somewhere; callers only hand over ids."""

    def submit(self, job_id: str) -> None: ...

    def shutdown(self) -> None: ...


class InProcessExecutor:
    """A small thread pool in the API process, enough for one machine.

    On shutdown, running jobs finish and jobs not yet started are cancelled: they stay
    ``queued`` in the database and the next start-up submits them again.
    """

    def __init__(self, run: Callable[[str], object], workers: int) -> None:
        self._run = run
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vp-job")

    def submit(self, job_id: str) -> None:
        future = self._pool.submit(self._run, job_id)
        future.add_done_callback(_log_crash)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _log_crash(future: Future[object]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("job runner crashed", exc_info=future.exception())


def make_executor(
    settings: Settings, session_factory: sessionmaker[Session], planner: Planner
) -> JobExecutor:
    """The executor ``settings.job_executor`` names; the API process only submits to Celery."""
    if settings.job_executor == "celery":
        # Imported here: the embedded default must work without Celery configured.
        from app.jobs.celery_app import CeleryExecutor

        return CeleryExecutor(settings)
    from app.jobs.service import run_job

    contexts: list[JobContext] = []
    pool = InProcessExecutor(lambda job_id: run_job(contexts[0], job_id), settings.job_workers)
    # Sub-jobs a handler submits go back into this same pool.
    contexts.append(JobContext(session_factory, settings, planner, pool.submit))
    return pool
