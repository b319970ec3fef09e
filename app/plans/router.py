"""HTTP routes for plans: parse, one service call, respond."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from app.deps import ApiKeyDep, PlannerDep, SessionDep, SettingsDep
from app.plans import service
from app.plans.render import render_plan
from app.plans.schemas import ErrorOut, PlanOut, PlanRequest

router = APIRouter(tags=["plans"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 413, 422)
}


@router.post(
    "/plan",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    response_model_by_alias=True,
    dependencies=[ApiKeyDep],
    responses=ERRORS,
)
def create_plan(
    body: PlanRequest, session: SessionDep, settings: SettingsDep, planner: PlannerDep
) -> dict[str, Any]:
    """Plan visits for reps over working days and store the plan."""
    raw = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    plan = service.create_plan(session, settings, planner, body, raw)
    session.commit()
    return render_plan(plan, service.share_url(session, settings, plan.id))


@router.get("/plans/{plan_id}", response_model=PlanOut, dependencies=[ApiKeyDep], responses=ERRORS)
def get_plan(plan_id: str, session: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Return a stored plan."""
    plan = service.get_plan(session, plan_id)
    return render_plan(plan, service.share_url(session, settings, plan.id))
