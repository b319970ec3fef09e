"""SQL for jobs; functions flush, the caller's boundary commits."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Job, utcnow


def add_job(session: Session, kind: str, payload: dict[str, Any]) -> Job:
    job = Job(id=secrets.token_hex(16), kind=kind, status="queued", progress=0.0, payload=payload)
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


def claim(session: Session, job_id: str, now: datetime | None = None) -> bool:
    """Move a queued job to running; False when another executor got there first."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="running", progress=0.1, started_at=now or utcnow())
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def queued_ids(session: Session) -> list[str]:
    """Jobs still waiting, oldest first: what a restarted executor picks up again."""
    rows = session.scalars(select(Job.id).where(Job.status == "queued").order_by(Job.created_at))
    return list(rows)
