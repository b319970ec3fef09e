"""Queue jobs, run them (claim -> dispatch by kind -> record the outcome), report on them.

A plan job stores the request as sent; its handler validates it again and calls the same
``create_plan`` as the inline path, so a plan is the same whichever way it was made.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.errors import AppError, NotFound
from app.jobs import repository
from app.jobs.context import JobContext, JobDone
from app.jobs.handlers import resolve, resolve_lost
from app.jobs.lease import Heartbeat
from app.plans import service as plans
from app.plans.schemas import PlanRequest
from models import Job

log = logging.getLogger("visit_planner.jobs")

PLAN = "plan"


class RunOutcome(enum.Enum):
    """What became of one attempt to run a job (executors act on BUSY only)."""

    RAN = "ran"  # this runner claimed it and the handler returned or failed
    BUSY = "busy"  # another runner holds a live lease: look again when it may have expired
    SKIPPED = "skipped"  # finished, unknown, or failed now for running out of attempts


class JobTakenOver(Exception):
    """This runner's claim ended (lease expired and reclaimed) before it stored its result."""


def should_run_async(req: PlanRequest, settings: Settings) -> bool:
    """Asked for, or too large to keep an HTTP request waiting."""
    return req.options.async_ or len(req.customers) > settings.inline_max_customers


def queue_plan(session: Session, settings: Settings, req: PlanRequest, raw: dict[str, Any]) -> Job:
    """Check what can be checked now (size, bounds) and queue the rest (flushed)."""
    plans.check_limits(req, settings)
    plans.solve_params(req, settings)
    return repository.add_job(session, PLAN, {"request": raw})


def run_plan_job(ctx: JobContext, job_id: str) -> JobDone:
    """The "plan" handler: the plan and the job's success are committed together, or neither."""
    with ctx.session_factory() as session:
        raw = session.get_one(Job, job_id).payload["request"]
        req = PlanRequest.model_validate(raw)
        plan = plans.create_plan(session, ctx.settings, ctx.planner, req, raw, wait_for_solver=True)
        complete(session, ctx, job_id, JobDone(plan_id=plan.id))
        session.commit()
        return JobDone(plan_id=plan.id)


def complete(session: Session, ctx: JobContext, job_id: str, done: JobDone) -> None:
    """Mark the job succeeded in the caller's transaction (flushed) if ``ctx`` still holds it.

    Raises ``JobTakenOver`` otherwise, so the caller's transaction (its plan rows) rolls
    back and a job is never stored twice (a parent job's last sub-job uses
    ``finish_parent`` instead).
    """
    if not repository.complete(
        session, job_id, ctx.attempt, plan_id=done.plan_id, result=done.result
    ):
        raise JobTakenOver(f"job {job_id} is no longer held by attempt {ctx.attempt}")


def finish_parent(session: Session, job_id: str, done: JobDone) -> bool:
    """Mark a job that fanned out sub-jobs succeeded (flushed); False if it already ended.

    Not fenced by attempt: its last sub-job calls this, possibly before the parent's own
    handler has even returned None (a fast fan-out), and the parent then records nothing.
    """
    return repository.complete(session, job_id, None, plan_id=done.plan_id, result=done.result)


def fail_parent(session: Session, job_id: str, error: dict[str, Any]) -> bool:
    """Mark a job that fanned out sub-jobs failed (flushed); False if it already ended."""
    return repository.fail(session, job_id, None, error)


def set_progress(session_factory: sessionmaker[Session], job_id: str, value: float) -> None:
    """Report progress (0..1) of a running job in its own short transaction."""
    with session_factory() as session:
        repository.set_progress(session, job_id, value)
        session.commit()


def error_json(exc: BaseException, job_id: str) -> dict[str, Any]:
    """The contract's error JSON for a failed job; internals are logged, not shown."""
    if isinstance(exc, AppError):
        details = [{"path": d.path, "message": d.message} for d in exc.details]
        return {"code": exc.code, "message": exc.message, "details": details}
    log.error("job %s failed", job_id, exc_info=exc)
    return {
        "code": "internal_error",
        "message": "The job could not be finished because of an internal error",
        "details": [],
    }


def _claim(ctx: JobContext, job_id: str) -> int | RunOutcome:
    settings = ctx.settings
    with ctx.session_factory() as session:
        attempt = repository.claim(
            session,
            job_id,
            lease_seconds=settings.job_lease_seconds,
            max_attempts=settings.job_max_attempts,
        )
        if attempt is None and _fail_lost(session, settings, job_id):
            log.error("job %s failed: its worker was lost too often", job_id)
        session.commit()
        if attempt is not None:
            return attempt
        job = repository.get_job(session, job_id)
        busy = job is not None and job.status == "running" and job.lease_expires_at is not None
        return RunOutcome.BUSY if busy else RunOutcome.SKIPPED


def _fail_lost(session: Session, settings: Settings, job_id: str) -> bool:
    """Fail a job whose workers died too often, through its kind's lost hook if it has one.

    No handler runs for such a job again, so this is the only place its ending is known: a
    job others wait on (a territory run's ``rep_plan``) must tell them here, or they wait
    forever.
    """

    def fail(s: Session) -> bool:
        return repository.fail_lost(s, job_id, max_attempts=settings.job_max_attempts)

    job = repository.get_job(session, job_id)
    hook = resolve_lost(job.kind) if job is not None else None
    if hook is None:
        return fail(session)
    # The hook takes locks: only for a job that is lost, not for every claim that lost a race.
    if not repository.is_lost(session, job_id, max_attempts=settings.job_max_attempts):
        return False
    return hook(session, job_id, fail)


def run_job(ctx: JobContext, job_id: str) -> RunOutcome:
    """Claim one job, run its kind's handler under a heartbeat, record what it returned.

    Every outcome, failure included, ends up in the row, and only while this runner's claim
    still holds: a runner whose lease was taken over records nothing.
    """
    claimed = _claim(ctx, job_id)
    if isinstance(claimed, RunOutcome):
        return claimed
    attempt = claimed
    ctx = dataclasses.replace(ctx, attempt=attempt)
    with ctx.session_factory() as session:
        kind = session.get_one(Job, job_id).kind
    try:
        with Heartbeat(ctx.session_factory, job_id, attempt, ctx.settings.job_lease_seconds):
            done = resolve(kind)(ctx, job_id)
    except JobTakenOver:
        log.warning("job %s attempt %d was taken over; result discarded", job_id, attempt)
        return RunOutcome.RAN
    except Exception as exc:
        error = error_json(exc, job_id)
        _record(ctx, job_id, lambda s: repository.fail(s, job_id, attempt, error))
        return RunOutcome.RAN
    if done is None:
        _record(ctx, job_id, lambda s: repository.release(s, job_id, attempt))
    else:
        _record(
            ctx,
            job_id,
            lambda s: repository.complete(
                s, job_id, attempt, plan_id=done.plan_id, result=done.result
            ),
        )
    return RunOutcome.RAN


def _record(ctx: JobContext, job_id: str, change: Callable[[Session], bool]) -> None:
    """Apply one fenced change; a no-op when the handler already recorded it or lost the job."""
    with ctx.session_factory() as session:
        changed = change(session)
        session.commit()
    if not changed:
        log.debug("job %s: outcome already recorded or claim lost", job_id)


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
