"""SQL for jobs; functions flush, the caller's boundary commits.

Every state change is one conditional UPDATE checked by its row count, so it is atomic on
SQLite and PostgreSQL alike without row locks: two runners racing for a job, or a runner
whose lease was taken over, find out from ``rowcount`` instead of overwriting each other.
``attempts`` doubles as the fencing token: a runner changes its job only while the row still
carries the attempt number it claimed.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from models import Job, utcnow

WORKER_LOST = "worker_lost"


def add_job(
    session: Session, kind: str, payload: dict[str, Any], parent_id: str | None = None
) -> Job:
    job = Job(
        id=secrets.token_hex(16),
        kind=kind,
        status="queued",
        progress=0.0,
        payload=payload,
        parent_id=parent_id,
        attempts=0,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


def _rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _abandoned(now: datetime) -> ColumnElement[bool]:
    """Running under a lease nobody renewed: its runner died. No lease = waiting on sub-jobs."""
    return and_(
        Job.status == "running",
        Job.lease_expires_at.is_not(None),
        Job.lease_expires_at < now,
    )


def claim(
    session: Session,
    job_id: str,
    *,
    lease_seconds: float,
    max_attempts: int,
    now: datetime | None = None,
) -> int | None:
    """Take a queued or abandoned job; the attempt number, or None if it is not ours to run."""
    now = now or utcnow()
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.attempts < max_attempts,
            or_(Job.status == "queued", _abandoned(now)),
        )
        .values(
            status="running",
            progress=0.1,
            attempts=Job.attempts + 1,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            started_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if _rows(result) != 1:
        return None
    attempts = session.scalar(select(Job.attempts).where(Job.id == job_id))
    return int(attempts) if attempts is not None else None


def _lost(job_id: str, max_attempts: int, now: datetime) -> ColumnElement[bool]:
    return and_(Job.id == job_id, Job.attempts >= max_attempts, _abandoned(now))


def is_lost(
    session: Session, job_id: str, *, max_attempts: int, now: datetime | None = None
) -> bool:
    """Whether ``fail_lost`` would fail the job now (a read: someone may still beat us to it)."""
    found = session.scalar(select(Job.id).where(_lost(job_id, max_attempts, now or utcnow())))
    return found is not None


def fail_lost(
    session: Session, job_id: str, *, max_attempts: int, now: datetime | None = None
) -> bool:
    """Fail an abandoned job that used up its attempts (each one killed its runner)."""
    now = now or utcnow()
    error = {
        "code": WORKER_LOST,
        "message": f"The job's worker stopped {max_attempts} times before finishing it",
        "details": [],
    }
    result = session.execute(
        update(Job)
        .where(_lost(job_id, max_attempts, now))
        .values(status="failed", error=error, finished_at=now, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return _rows(result) == 1


def _held(job_id: str, attempt: int | None) -> ColumnElement[bool]:
    """Still running under this claim (``attempt`` None: under any claim)."""
    clauses = [Job.id == job_id, Job.status == "running"]
    if attempt is not None:
        clauses.append(Job.attempts == attempt)
    return and_(*clauses)


def extend_lease(
    session: Session, job_id: str, attempt: int, lease_seconds: float, now: datetime | None = None
) -> bool:
    """Heartbeat: push the lease out; False once the claim is no longer ours."""
    until = (now or utcnow()) + timedelta(seconds=lease_seconds)
    result = session.execute(
        update(Job)
        .where(_held(job_id, attempt), Job.lease_expires_at.is_not(None))
        .values(lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )
    return _rows(result) == 1


def release(session: Session, job_id: str, attempt: int) -> bool:
    """Drop the lease of a job that now waits on its sub-jobs: nobody should reclaim it."""
    result = session.execute(
        update(Job)
        .where(_held(job_id, attempt))
        .values(lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return _rows(result) == 1


def complete(
    session: Session,
    job_id: str,
    attempt: int | None,
    *,
    plan_id: str | None = None,
    result: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """Mark succeeded if still held by ``attempt``; False: already finished or taken over."""
    outcome = session.execute(
        update(Job)
        .where(_held(job_id, attempt))
        .values(
            status="succeeded",
            progress=1.0,
            plan_id=plan_id,
            result=result,
            finished_at=now or utcnow(),
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return _rows(outcome) == 1


def fail(
    session: Session,
    job_id: str,
    attempt: int | None,
    error: dict[str, Any],
    now: datetime | None = None,
) -> bool:
    """Mark failed with the contract's error JSON if still held by ``attempt``."""
    outcome = session.execute(
        update(Job)
        .where(_held(job_id, attempt))
        .values(status="failed", error=error, finished_at=now or utcnow(), lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return _rows(outcome) == 1


def set_progress(session: Session, job_id: str, value: float) -> bool:
    """Progress of a running job, clamped to [0, 1); 1 is reserved for "succeeded"."""
    value = min(max(value, 0.0), 0.99)
    outcome = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(progress=value)
        .execution_options(synchronize_session=False)
    )
    return _rows(outcome) == 1


def queued_ids(session: Session) -> list[str]:
    """Jobs still waiting, oldest first."""
    rows = session.scalars(select(Job.id).where(Job.status == "queued").order_by(Job.created_at))
    return list(rows)


def resumable_ids(session: Session, now: datetime | None = None) -> list[str]:
    """Queued jobs and abandoned running ones, oldest first: what a restart submits again."""
    rows = session.scalars(
        select(Job.id)
        .where(or_(Job.status == "queued", _abandoned(now or utcnow())))
        .order_by(Job.created_at)
    )
    return list(rows)
