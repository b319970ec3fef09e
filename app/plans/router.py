"""HTTP routes for plans: parse, one service call, respond."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse

from app import idempotency
from app.deps import ApiKeyDep, PlannerDep, ReadKeyDep, SessionDep, SettingsDep
from app.jobs import service as jobs
from app.outcomes import service as outcomes
from app.plans import evaluate, replan, service
from app.plans.evaluate import EvaluateOut, EvaluateRequest
from app.plans.render import render_plan
from app.plans.replan import ReplanRequest
from app.plans.responses import ErrorOut, JobAccepted, PlanOut, VersionsOut
from app.plans.schemas import PlanRequest

router = APIRouter(tags=["plans"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 413, 422, 429, 503)
}


@router.post(
    "/plan",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    response_model_by_alias=True,
    dependencies=[ApiKeyDep],
    responses={**ERRORS, 202: {"model": JobAccepted}},
)
def create_plan(
    body: PlanRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    planner: PlannerDep,
) -> Any:
    """Plan visits for reps over working days (201), or queue the work as a job (202).

    With an ``Idempotency-Key`` header, a retry returns the first answer instead of
    planning again (also while the first is still running).
    """
    raw = body.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def work() -> JSONResponse:
        if jobs.should_run_async(body, settings):
            job = jobs.queue_plan(session, settings, body, raw)
            session.commit()
            request.app.state.executor.submit(job.id)
            url = f"{settings.public_base_url.rstrip('/')}/jobs/{job.id}"
            accepted = JobAccepted(job_id=job.id, status_url=url).model_dump()
            return JSONResponse(accepted, status_code=202, headers={"Location": url})
        plan = service.create_plan(session, settings, planner, body, raw)
        session.commit()
        rendered = render_plan(plan, service.share_url(session, settings, plan.id))
        checked = PlanOut.model_validate(rendered).model_dump(mode="json", by_alias=True)
        return JSONResponse(checked, status_code=201)

    key = request.headers.get("idempotency-key")
    if key is None:
        return work()
    return idempotency.run_once(
        request.app.state.session_factory,
        owner=str(getattr(request.state, "api_key_id", "anonymous")),
        key=key,
        endpoint="POST /plan",
        body_hash=idempotency.request_hash(raw),
        work=work,
        wait_seconds=settings.max_time_limit_seconds + 30,
    )


@router.get("/plans/{plan_id}", response_model=PlanOut, dependencies=[ReadKeyDep], responses=ERRORS)
def get_plan(
    plan_id: str,
    session: SessionDep,
    settings: SettingsDep,
    version: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="An older version; default newest")
    ] = None,
) -> dict[str, Any]:
    """Return a stored plan (its newest version unless ``version`` is given)."""
    plan = service.get_plan(session, plan_id, version)
    rendered = render_plan(plan, service.share_url(session, settings, plan.lineage_id))
    return outcomes.attach(session, rendered, plan.timezone)  # each stop's recorded outcome


# -- evaluating hand-made routes (reads only) --


@router.post(
    "/plans/{plan_id}/evaluate",
    response_model=EvaluateOut,
    dependencies=[ReadKeyDep],
    responses=ERRORS,
)
def evaluate_routes(
    plan_id: str,
    body: EvaluateRequest,
    session: SessionDep,
    settings: SettingsDep,
    planner: PlannerDep,
) -> dict[str, Any]:
    """Time the rep's own order of visits: violations per stop and cost against the plan."""
    return evaluate.evaluate_plan(session, settings, planner, plan_id, body)


# -- re-planning and versions --


@router.post(
    "/plans/{plan_id}/replan",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    dependencies=[ApiKeyDep],
    responses=ERRORS,
)
def replan_plan(
    plan_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    planner: PlannerDep,
    body: ReplanRequest | None = None,
) -> Any:
    """Re-plan the rest of the horizon from a moment; stores and returns the next version.

    The search runs in the solver pool under the same cap as ``POST /plan`` (503 with
    Retry-After when every slot is busy). The answer is the new version as ``GET`` shows
    it, each stop with its recorded ``outcome``: the outcomes belong to the plan's lineage,
    so the ones the re-plan acted on (done, no-show...) stay visible on the new version.
    """
    body = body or ReplanRequest()
    raw = body.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def work() -> JSONResponse:
        plan = replan.replan_plan(session, settings, planner, plan_id, body)
        session.commit()
        rendered = render_plan(plan, service.share_url(session, settings, plan.lineage_id))
        rendered = outcomes.attach(session, rendered, plan.timezone)
        checked = PlanOut.model_validate(rendered).model_dump(mode="json", by_alias=True)
        return JSONResponse(checked, status_code=201)

    key = request.headers.get("idempotency-key")
    if key is None:
        return work()
    return idempotency.run_once(
        request.app.state.session_factory,
        owner=str(getattr(request.state, "api_key_id", "anonymous")),
        key=key,
        endpoint=f"POST /plans/{plan_id}/replan",
        body_hash=idempotency.request_hash(raw),
        work=work,
        wait_seconds=settings.max_time_limit_seconds + 30,
    )


@router.get(
    "/plans/{plan_id}/versions",
    response_model=VersionsOut,
    dependencies=[ReadKeyDep],
    responses=ERRORS,
)
def list_versions(plan_id: str, session: SessionDep) -> dict[str, Any]:
    """List a plan's versions, oldest first, with their counts."""
    return replan.list_versions(session, plan_id)
