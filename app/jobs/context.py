"""What a job handler gets to work with, whichever executor (thread pool, Celery worker) runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.plans.service import Planner


@dataclass(frozen=True)
class JobContext:
    """The process's database, settings and planner, and how to queue further jobs.

    ``submit`` hands a job id to the same executor that runs this job, so a territory run
    fans its per-rep solves out to wherever jobs run (threads here, Celery workers there).
    """

    session_factory: sessionmaker[Session]
    settings: Settings
    planner: Planner
    submit: Callable[[str], None]
