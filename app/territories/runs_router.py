"""HTTP routes for territory runs: start one now, list them, follow one to its plans.

Starting needs a key with the ``territory`` scope; reads accept any live key. A run is always
a background job: the answer is ``202`` with where to poll.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Body, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict

from app import idempotency
from app.deps import ReadKeyDep, SessionDep, SettingsDep, TerritoryKeyDep
from app.plans.responses import ErrorOut
from app.plans.schemas import RequestModel
from app.territories import runs

router = APIRouter(prefix="/territories", tags=["territory runs"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 422, 429)
}


class RunIn(RequestModel):
    """``week_start``: the first day planned (default: next Monday in the territory's zone)."""

    week_start: dt.date | None = None


class RunAccepted(BaseModel):
    """The 202 body: the run and where to poll it (or its job)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    job_id: str
    week_start: dt.date
    status: str
    status_url: str


class RepPlanOut(BaseModel):
    """One rep's plan of a run: its id, share link and visit counts."""

    model_config = ConfigDict(extra="allow")

    rep_id: str
    plan_id: str
    share_url: str | None


class RunOut(BaseModel):
    """A run: status and progress, then each rep's plan (and failed reps with the error)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    territory_id: str
    week_start: dt.date
    trigger: str
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: float
    job_id: str | None
    status_url: str
    reps: int
    plans: list[RepPlanOut]
    failed: list[dict[str, Any]]
    error: dict[str, Any] | None
    created_at: AwareDatetime
    finished_at: AwareDatetime | None


class RunList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[RunOut]


@router.post(
    "/{territory_id}/runs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunAccepted,
    dependencies=[TerritoryKeyDep],
    responses=ERRORS,
)
def start_run(
    territory_id: str,
    request: Request,
    session: SessionDep,
    body: RunIn | None = Body(default=None),  # noqa: B008 - FastAPI's way to take an optional body
) -> Any:
    """Plan the territory's week now: one plan per active rep, made in the background.

    With an ``Idempotency-Key`` header, a retry returns the first answer instead of
    starting another run (also while the first request is still running).
    """

    def work() -> Any:
        run = runs.start_run(session, territory_id, body.week_start if body else None)
        session.commit()
        assert run.job_id is not None
        request.app.state.executor.submit(run.job_id)
        return {
            "run_id": run.id,
            "job_id": run.job_id,
            "week_start": run.week_start,
            "status": run.status,
            "status_url": f"/territories/{territory_id}/runs/{run.id}",
        }

    return idempotency.idempotent(
        request,
        endpoint=f"POST /territories/{territory_id}/runs",
        body=body.model_dump(mode="json", by_alias=True, exclude_unset=True) if body else {},
        response_model=RunAccepted,
        status_code=status.HTTP_202_ACCEPTED,
        work=work,
    )


@router.get(
    "/{territory_id}/runs", response_model=RunList, dependencies=[ReadKeyDep], responses=ERRORS
)
def list_runs(territory_id: str, session: SessionDep, settings: SettingsDep) -> Any:
    """The territory's runs, newest first (at most 50)."""
    found = runs.list_runs(session, territory_id)
    return {"items": [runs.render_run(session, settings, run) for run in found]}


@router.get(
    "/{territory_id}/runs/{run_id}",
    response_model=RunOut,
    dependencies=[ReadKeyDep],
    responses=ERRORS,
)
def get_run(territory_id: str, run_id: str, session: SessionDep, settings: SettingsDep) -> Any:
    """A run's status and progress, and each rep's plan id and share link once made."""
    return runs.render_run(session, settings, runs.get_run(session, territory_id, run_id))
