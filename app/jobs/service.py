"""Queue a plan as a job, run it, and report on it.

The job stores the request as sent; the runner validates it again and calls the same
``create_plan`` as the inline path, so a plan is the same whichever way it was made.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.errors import AppError, NotFound
from app.jobs import repository
from app.plans import service as plans
from app.plans.schemas import PlanRequest
from models import Job, utcnow

log = logging.getLogger("visit_planner.jobs")

PLAN = "plan"


def should_run_async(req: PlanRequest, settings: Settings) -> bool:
    """Asked for, or too large to keep an HTTP request waiting."""
    return req.options.async_ or len(req.customers) > settings.inline_max_customers


def queue_plan(session: Session, settings: Settings, req: PlanRequest, raw: dict[str, Any]) -> Job:
    """Check what can be checked now (size, bounds) and queue the rest (flushed)."""
    plans.check_limits(req, settings)
    plans.solve_params(req, settings)
    return repository.add_job(session, PLAN, {"request": raw})


def run_job(
    session_factory: sessionmaker[Session], settings: Settings, planner: plans.Planner, job_id: str
) -> None:
    """Claim and run one job; every outcome, failure included, ends up in its row."""
    with session_factory() as session:
        if not repository.claim(session, job_id):
            return
        session.commit()
    try:
        with session_factory() as session:
            raw = session.get_one(Job, job_id).payload["request"]
            req = PlanRequest.model_validate(raw)
            plan = plans.create_plan(session, settings, planner, req, raw, wait_for_solver=True)
            job = session.get_one(Job, job_id)
            job.status, job.progress, job.plan_id = "succeeded", 1.0, plan.id
            job.finished_at = utcnow()
            session.commit()
    except Exception as exc:
        error: dict[str, Any]
        if isinstance(exc, AppError):
            details = [{"path": d.path, "message": d.message} for d in exc.details]
            error = {"code": exc.code, "message": exc.message, "details": details}
        else:
            log.exception("job %s failed", job_id)
            error = {
                "code": "internal_error",
                "message": "The plan could not be made because of an internal error",
                "details": [],
            }
        with session_factory() as session:
            job = session.get_one(Job, job_id)
            job.status, job.error, job.finished_at = "failed", error, utcnow()
            session.commit()


def get_job(session: Session, job_id: str) -> Job:
    job = repository.get_job(session, job_id)
    if job is None:
        raise NotFound(f"No job with id {job_id!r}")
    return job


def render_job(job: Job) -> dict[str, Any]:
    """The contract's job status body, plus timestamps."""
    return {
        "job_id": job.id,
        "status": job.status,
        "progress": job.progress,
        "plan_id": job.plan_id,
        "error": job.error,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }
