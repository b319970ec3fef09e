"""HTTP routes for jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.deps import ReadKeyDep, SessionDep
from app.jobs import service
from app.plans.responses import ErrorOut, JobOut

router = APIRouter(tags=["jobs"])


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    dependencies=[ReadKeyDep],
    responses={code: {"model": ErrorOut} for code in (401, 403, 404, 429)},
)
def get_job(job_id: str, session: SessionDep) -> dict[str, Any]:
    """Status of a background plan: queued, running, succeeded (with plan_id) or failed."""
    return service.render_job(service.get_job(session, job_id))
