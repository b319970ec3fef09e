"""Territory runs: one week of a territory planned as one job fanned out to one job per rep.

``create_run`` stores the run and its ``territory_run`` job (the caller commits and submits
it). That job's handler (``run_territory``) reads the pool, decides who is due (see
``cadence``), stores one ``rep_plan`` child job per active rep carrying that rep's whole
``POST /plan`` request, commits, submits them and returns None: the children finish it.

Each child (``plan_rep``) solves with the same ``create_plan`` as ``POST /plan`` and then,
in one transaction under a row lock on the run, stores ``TerritoryRunPlan`` (unique per run
and rep), adds its entry to the parent job's result, advances its progress and, when it is
the last, finishes the parent and the run and queues the ``run.completed`` webhook. A
retried child finds its row and stores nothing twice; a child whose claim was taken over
rolls all of it back (``app.jobs.service.complete`` fences it). A failed child fails only its
rep; the run fails only when every rep failed. A child the job system gives up on (its worker
died ``job_max_attempts`` times) never runs its handler again: ``rep_plan_lost``, its kind's
lost hook, counts its rep as failed in the same way, so the run still finishes; a parent
lost before it fanned out fails its run (``territory_run_lost``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import AppError, NotFound, ValidationFailed
from app.jobs import repository as jobs
from app.jobs.context import JobContext, JobDone
from app.jobs.service import JobTakenOver, complete, error_json
from app.plans import service as plans
from app.plans.schemas import PlanRequest
from app.territories import run_requests, service, webhooks
from app.validation import validation_error_details
from models import (
    Job,
    Plan,
    Territory,
    TerritoryRun,
    TerritoryRunPlan,
    utcnow,
)

log = logging.getLogger("visit_planner.territories")

TERRITORY_RUN = "territory_run"
REP_PLAN = "rep_plan"
FINISHED = ("succeeded", "failed")


def next_week_start(timezone: str, now: datetime | None = None) -> date:
    """The next Monday after today in ``timezone`` (what a run plans by default)."""
    today = (now or utcnow()).astimezone(ZoneInfo(timezone)).date()
    return today + timedelta(days=7 - today.weekday())


def create_run(
    session: Session,
    territory_id: str,
    week_start: date,
    trigger: str,
    schedule_id: int | None = None,
    schedule_key: str | None = None,
    fire_at: datetime | None = None,
) -> TerritoryRun:
    """Store a queued run and its job (flushed); the caller commits, then submits ``job_id``.

    A scheduled run's ``schedule_key`` is unique: a second insert fails on the flush.
    """
    service.get_territory(session, territory_id)
    run = TerritoryRun(
        id=secrets.token_hex(16),
        territory_id=territory_id,
        week_start=week_start,
        trigger=trigger,
        schedule_id=schedule_id,
        schedule_key=schedule_key,
        fire_at=fire_at,
        status="queued",
    )
    session.add(run)
    session.flush()
    run.job_id = jobs.add_job(session, TERRITORY_RUN, {"run_id": run.id}).id
    session.flush()
    return run


# -- the parent job --


def _fail_run(ctx: JobContext, run_id: str, error: dict[str, Any]) -> None:
    """A run that could not even fan out: failed, and its integrators told so."""
    with ctx.session_factory() as session:
        run = session.get_one(TerritoryRun, run_id)
        run.status, run.error, run.finished_at = "failed", error, utcnow()
        session.flush()
        territory = session.get_one(Territory, run.territory_id)
        webhooks.enqueue_run_completed(session, territory, run, {"plans": [], "failed": []})
        session.commit()


def run_territory(ctx: JobContext, job_id: str) -> JobDone | None:
    """The ``territory_run`` handler: fan out one ``rep_plan`` job per active rep.

    Runs again after a crash (lease expired): children already stored are not made twice,
    only those still queued are submitted again.
    """
    with ctx.session_factory() as session:
        run_id = session.get_one(Job, job_id).payload["run_id"]
        children = list(session.scalars(select(Job).where(Job.parent_id == job_id)))
        if not children:
            run = session.get_one(TerritoryRun, run_id)
            territory = session.get_one(Territory, run.territory_id)
            try:
                work = run_requests.rep_requests(session, ctx.settings, territory, run.week_start)
            except AppError as exc:
                session.rollback()
                _fail_run(ctx, run_id, error_json(exc, job_id))
                raise
            for item in work:
                payload = {"run_id": run_id, "territory_id": territory.id, **item}
                children.append(jobs.add_job(session, REP_PLAN, payload, parent_id=job_id))
            result = {"run_id": run_id, "reps": [i["rep_id"] for i in work]}
            session.execute(update(Job).where(Job.id == job_id).values(result=result))
            run.status = "running"
            session.commit()
        queued = [child.id for child in children if child.status == "queued"]
    for child_id in queued:
        ctx.submit(child_id)
    return None


# -- the child jobs --


def _lock_run(session: Session, run_id: str) -> TerritoryRun:
    """The run row, locked until the transaction ends, so children finish one at a time.

    PostgreSQL: ``SELECT ... FOR UPDATE``. SQLite ignores that, so a no-op UPDATE first takes
    its database write lock, which also makes the reads below see the other writers' commits.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(TerritoryRun)
            .where(TerritoryRun.id == run_id)
            .values(status=TerritoryRun.status)
            .execution_options(synchronize_session=False)
        )
    return session.scalars(
        select(TerritoryRun)
        .where(TerritoryRun.id == run_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _stored(session: Session, run_id: str, rep_id: str) -> TerritoryRunPlan | None:
    return session.scalar(
        select(TerritoryRunPlan).where(
            TerritoryRunPlan.run_id == run_id, TerritoryRunPlan.rep_id == rep_id
        )
    )


def _entry(
    session: Session, settings: Settings, plan: Plan, rep_id: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """The rep's line of the run result: plan, share link and what was (not) visited."""
    planned = {stop.customer_id for day in plan.days for stop in day.stops}
    due, fill = payload.get("due", []), payload.get("fill", [])
    return {
        "rep_id": rep_id,
        "plan_id": plan.id,
        "share_url": plans.share_url(session, settings, plan.id),
        "status": plan.status,
        "visits": len(planned),
        "due": len(due),
        "unassigned": sum(1 for c in due if c not in planned),
        "fill_offered": len(fill),
        "fill_visits": sum(1 for c in fill if c in planned),
    }


def _advance(
    session: Session,
    run: TerritoryRun,
    rep_id: str,
    entry: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    """Record one rep's outcome in the parent's result; the last one finishes the run.

    Called with the run row locked, so the read-modify-write of the result is safe. Children
    the job system failed without running (their workers died too often) count as failed.
    """
    assert run.job_id is not None
    parent = session.get_one(Job, run.job_id, populate_existing=True)
    result = dict(parent.result or {})
    done = {e["rep_id"]: e for e in result.get("plans", [])}
    failed = {e["rep_id"]: e for e in result.get("failed", [])}
    if entry is not None:
        done[rep_id] = entry
        failed.pop(rep_id, None)
    elif rep_id not in done:
        failed[rep_id] = {"rep_id": rep_id, "error": error}
    for child in session.scalars(
        select(Job).where(Job.parent_id == parent.id, Job.status == "failed")
    ):
        lost = child.payload.get("rep_id")
        if lost not in done and lost not in failed:
            failed[lost] = {"rep_id": lost, "error": child.error}
    result["plans"] = [done[k] for k in sorted(done)]
    result["failed"] = [failed[k] for k in sorted(failed)]
    expected = result.get("reps", [])
    finished = len(done) + len(failed)
    if run.status in FINISHED:  # a late duplicate: the result only gains its entry
        session.execute(update(Job).where(Job.id == parent.id).values(result=result))
        return
    if finished < len(expected):
        progress = min(0.99, 0.1 + 0.9 * finished / len(expected))
        session.execute(
            update(Job).where(Job.id == parent.id).values(result=result, progress=progress)
        )
        return
    _finish(session, run, parent, result)


def _finish(session: Session, run: TerritoryRun, parent: Job, result: dict[str, Any]) -> None:
    now = utcnow()
    if result["plans"] or not result["failed"]:
        run.status, run.error = "succeeded", None
        jobs.complete(session, parent.id, None, result=result, now=now)
    else:
        run.status = "failed"
        run.error = {
            "code": "all_reps_failed",
            "message": f"Every rep's plan failed ({len(result['failed'])})",
            "details": [
                {"path": f"reps.{f['rep_id']}", "message": (f["error"] or {}).get("message", "")}
                for f in result["failed"]
            ],
        }
        session.execute(
            update(Job)
            .where(Job.id == parent.id)
            .values(result=result)
            .execution_options(synchronize_session=False)
        )
        jobs.fail(session, parent.id, None, run.error, now=now)
    run.finished_at = now
    session.flush()
    territory = session.get_one(Territory, run.territory_id)
    webhooks.enqueue_run_completed(session, territory, run, result)


def plan_rep(ctx: JobContext, job_id: str) -> JobDone:
    """The ``rep_plan`` handler: one rep's week, stored once per run whatever the retries."""
    with ctx.session_factory() as session:
        payload = session.get_one(Job, job_id).payload
        run_id, rep_id = payload["run_id"], payload["rep_id"]
        stored = _stored(session, run_id, rep_id)
        if stored is not None:
            # Already stored (with its job's success, in one transaction): nothing to redo.
            jobs.complete(session, job_id, ctx.attempt, plan_id=stored.plan_id)
            session.commit()
            return JobDone(plan_id=stored.plan_id)
    try:
        with ctx.session_factory() as session:
            raw = payload["request"]
            try:
                req = PlanRequest.model_validate(raw)
            except ValidationError as error:  # pool data the request refuses: say where
                details = validation_error_details(error.errors())
                raise ValidationFailed(f"Rep {rep_id}'s request is invalid", details) from None
            plan = plans.create_plan(
                session, ctx.settings, ctx.planner, req, raw, wait_for_solver=True
            )
            plan.territory_id = payload["territory_id"]
            session.flush()
            run = _lock_run(session, run_id)
            stored = _stored(session, run_id, rep_id)
            if stored is not None:  # a duplicate delivery finished first: keep its plan
                session.rollback()
                return plan_rep(ctx, job_id)
            session.add(TerritoryRunPlan(run_id=run_id, rep_id=rep_id, plan_id=plan.id))
            session.flush()
            _advance(
                session, run, rep_id, entry=_entry(session, ctx.settings, plan, rep_id, payload)
            )
            complete(session, ctx, job_id, JobDone(plan_id=plan.id))
            session.commit()
            return JobDone(plan_id=plan.id)
    except JobTakenOver:
        raise
    except Exception as exc:
        try:
            _record_failure(ctx, job_id, run_id, rep_id, error_json(exc, job_id))
        except Exception:  # the job system still fails the child; the original error matters
            log.exception("could not record the failure of job %s", job_id)
        raise


def _record_failure(
    ctx: JobContext, job_id: str, run_id: str, rep_id: str, error: dict[str, Any]
) -> None:
    """Fail the child and count its rep as failed, together, if this runner still holds it."""
    with ctx.session_factory() as session:
        run = _lock_run(session, run_id)
        if not jobs.fail(session, job_id, ctx.attempt, error):
            session.rollback()
            return
        if _stored(session, run_id, rep_id) is None:
            _advance(session, run, rep_id, error=error)
        session.commit()


def rep_plan_lost(session: Session, job_id: str, fail: Callable[[Session], bool]) -> bool:
    """The ``rep_plan`` lost hook: the job system fails the child, its rep counts as failed.

    Without it the run would wait forever when the lost child is the last one out: nothing
    else calls ``_advance`` for it. The run row is locked before the child is failed, the
    order ``plan_rep`` and ``_record_failure`` lock in, so a stalled last attempt finishing
    at the same moment waits here instead of deadlocking; ``fail`` is fenced, so only the
    caller that ended the child advances the run, and ``_advance`` finishes the run (status,
    parent job, ``run.completed`` webhook) only while it is not finished yet: exactly once.
    """
    payload = session.get_one(Job, job_id).payload
    run_id, rep_id = payload["run_id"], payload["rep_id"]
    if session.get(TerritoryRun, run_id) is None:  # its territory was deleted since
        return fail(session)
    run = _lock_run(session, run_id)
    if not fail(session):
        return False
    if _stored(session, run_id, rep_id) is None:
        error = session.get_one(Job, job_id, populate_existing=True).error
        _advance(session, run, rep_id, error=error)
    return True


def territory_run_lost(session: Session, job_id: str, fail: Callable[[Session], bool]) -> bool:
    """The ``territory_run`` lost hook: a run whose fan-out never happened fails, once.

    The parent's worker died on every attempt before storing any child: nothing else will
    ever touch the run, so it fails here with the job's ``worker_lost`` error and its
    integrators are told (``run.completed``), as ``_fail_run`` does. Once children exist
    they finish the run themselves (``_advance``), so it is left to them.
    """
    run_id = session.get_one(Job, job_id).payload["run_id"]
    if session.get(TerritoryRun, run_id) is None:  # its territory was deleted since
        return fail(session)
    run = _lock_run(session, run_id)
    if not fail(session):
        return False
    fanned_out = session.scalar(select(Job.id).where(Job.parent_id == job_id).limit(1))
    if run.status not in FINISHED and fanned_out is None:
        job = session.get_one(Job, job_id, populate_existing=True)
        run.status, run.error, run.finished_at = "failed", job.error, utcnow()
        session.flush()
        territory = session.get_one(Territory, run.territory_id)
        webhooks.enqueue_run_completed(session, territory, run, {"plans": [], "failed": []})
    return True


# -- reading runs --


def start_run(session: Session, territory_id: str, week_start: date | None) -> TerritoryRun:
    """A manual run (flushed), by default for the next week in the territory's time zone."""
    territory = service.get_territory(session, territory_id)
    week = week_start or next_week_start(territory.timezone)
    return create_run(session, territory.id, week, "manual")


def get_run(session: Session, territory_id: str, run_id: str) -> TerritoryRun:
    """The run of this territory, or the contract's 404."""
    service.get_territory(session, territory_id)
    run = session.get(TerritoryRun, run_id)
    if run is None or run.territory_id != territory_id:
        raise NotFound(f"No run with id {run_id!r} in territory {territory_id}")
    return run


def list_runs(session: Session, territory_id: str, limit: int = 50) -> list[TerritoryRun]:
    """The territory's newest runs first."""
    service.get_territory(session, territory_id)
    return list(
        session.scalars(
            select(TerritoryRun)
            .where(TerritoryRun.territory_id == territory_id)
            .order_by(TerritoryRun.created_at.desc(), TerritoryRun.id)
            .limit(limit)
        )
    )


def render_run(session: Session, settings: Settings, run: TerritoryRun) -> dict[str, Any]:
    """A run as answered: status, progress, and each rep's plan with its share link."""
    job = session.get(Job, run.job_id) if run.job_id else None
    result = (job.result if job else None) or {}
    entries = {e["rep_id"]: e for e in result.get("plans", [])}
    for row in run.plans:  # rows without an entry (written by an older result): link only
        entries.setdefault(
            row.rep_id,
            {
                "rep_id": row.rep_id,
                "plan_id": row.plan_id,
                "share_url": plans.share_url(session, settings, row.plan_id),
            },
        )
    return {
        "run_id": run.id,
        "territory_id": run.territory_id,
        "week_start": run.week_start,
        "trigger": run.trigger,
        "status": run.status,
        "progress": 1.0 if run.status == "succeeded" else (job.progress if job else 0.0),
        "job_id": run.job_id,
        "status_url": f"/territories/{run.territory_id}/runs/{run.id}",
        "reps": len(result.get("reps", [])),
        "plans": [entries[k] for k in sorted(entries)],
        "failed": result.get("failed", []),
        "error": run.error,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }
