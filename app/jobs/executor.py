"""Executors run jobs by id; the embedded default is a bounded in-process thread pool.

An executor only needs ``submit(job_id)``: everything about a job lives in its row, so a
distributed executor (Celery on Redis) can replace this one without touching the API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

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

    def __init__(self, run: Callable[[str], None], workers: int) -> None:
        self._run = run
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vp-job")

    def submit(self, job_id: str) -> None:
        future = self._pool.submit(self._run, job_id)
        future.add_done_callback(_log_crash)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _log_crash(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("job runner crashed", exc_info=future.exception())
