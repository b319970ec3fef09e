"""What a job handler gets to work with, whichever executor (thread pool, Celery worker) runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.plans.service import Planner


@dataclass(frozen=True)
class JobContext:
    """The process's database, settings and planner, and how to queue further jobs.

    ``submit`` hands a job id to the same executor that runs this job, so a territory run
    fans its per-rep solves out to wherever jobs run (threads here, Celery workers there).
    ``attempt`` is the claim this handler runs under (``Job.attempts`` when it was claimed):
    a handler that stores its result in its own transaction passes it to
    ``app.jobs.service.complete`` so a runner whose lease was taken over stores nothing.
    """

    session_factory: sessionmaker[Session]
    settings: Settings
    planner: Planner
    submit: Callable[[str], None]
    attempt: int | None = None


@dataclass(frozen=True)
class JobDone:
    """A handler's "finished": the job is marked succeeded with these (progress 1)."""

    plan_id: str | None = None
    result: dict[str, Any] | None = None


# ``None`` means "still running: sub-jobs will finish it" (the lease is dropped meanwhile).
JobHandler = Callable[[JobContext, str], JobDone | None]

# ``(session, job_id, fail) -> failed``: called instead of failing a lost job directly.
# ``fail(session)`` is the fenced "worker lost" UPDATE (True only for the one caller that
# ended the job); the hook takes the locks its consequences need *before* calling it, so its
# lock order matches its handlers' (a parent's row, then the job's), and records those
# consequences in the same transaction only when ``fail`` returned True: the job ends, and
# whoever waits on it hears of it, together and exactly once. The caller commits.
LostHook = Callable[[Session, str, Callable[[Session], bool]], bool]
