"""Routes for visit outcomes: the API (keys) and the share page's buttons (the share token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response, status

from app.deps import ApiKeyDep, ReadKeyDep, SessionDep
from app.errors import AppError
from app.outcomes import service
from app.outcomes.schemas import OutcomeIn, OutcomeOut, OutcomesOut
from app.plans.responses import ErrorOut
from app.web import service as shares
from app.web.cache import app_page_cache
from models import VisitOutcome

router = APIRouter(tags=["outcomes"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 422, 429)
}
SHARE_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (404, 410, 415, 422, 429)
}
_RECORD_DOC = """Record what happened at one visit of the plan: one outcome per request.

The body is a single object `{customer_id, status, actual_start?, actual_end?, note?}`; send
one request per visit. Recording again for the same customer replaces the earlier outcome
(201 when new, 200 when replaced). The customer must be a stop of the plan (its newest version,
or an earlier version of the same plan), else 422 at `customer_id`. Actual times carry a time
zone, are accepted for `done` only, and `actual_end` must be after `actual_start`. On a plan
made by a territory run, `done` moves the pool customer's `last_visit` forward to the visit's
day (never back, also not when the outcome is later corrected).
"""


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"


def _out(outcome: VisitOutcome) -> OutcomeOut:
    return OutcomeOut.model_validate(outcome, from_attributes=True)


def _forget_pages(request: Request, plan_id: str) -> None:
    """This process's rendered pages of the plan show old outcomes; other processes notice
    through the page cache's stamp."""
    app_page_cache(request.app.state).invalidate_plan(plan_id)


@router.post(
    "/plans/{plan_id}/outcomes",
    status_code=status.HTTP_201_CREATED,
    response_model=OutcomeOut,
    dependencies=[ApiKeyDep],
    responses={**ERRORS, 200: {"model": OutcomeOut, "description": "Replaced"}},
    description=_RECORD_DOC,
)
def record_outcome(
    plan_id: str, body: OutcomeIn, request: Request, response: Response, session: SessionDep
) -> OutcomeOut:
    """Record a visit outcome (done, no_show, cancelled, rescheduled, skipped)."""
    outcome, created = service.record(session, plan_id, body, "api")
    session.commit()
    _forget_pages(request, outcome.plan_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _out(outcome)


@router.get(
    "/plans/{plan_id}/outcomes",
    response_model=OutcomesOut,
    dependencies=[ReadKeyDep],
    responses=ERRORS,
)
def list_outcomes(plan_id: str, session: SessionDep) -> OutcomesOut:
    """List the plan's recorded visit outcomes."""
    lineage, outcomes = service.list_for_plan(session, plan_id)
    return OutcomesOut(plan_id=lineage, outcomes=[_out(o) for o in outcomes])


def require_json(request: Request) -> None:
    """The share page's CSRF guard: only ``application/json`` bodies are accepted.

    The token in the path is the only credential (no cookie rides along), so a forged
    cross-site request would already need the secret token. As a second line, a JSON body
    cannot be sent cross-site without a CORS preflight, which this service only answers for
    configured origins, while an HTML form (``form-action`` is ``'none'`` on the page anyway)
    can only send form encodings. That needs no per-page nonce, and so no state and no
    page-cache entanglement.
    """
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("Send the outcome as application/json")


@router.post(
    "/s/{token}/outcomes",
    status_code=status.HTTP_201_CREATED,
    response_model=OutcomeOut,
    dependencies=[Depends(require_json)],
    responses={**SHARE_ERRORS, 200: {"model": OutcomeOut, "description": "Replaced"}},
)
def record_shared_outcome(
    token: str, body: OutcomeIn, request: Request, response: Response, session: SessionDep
) -> OutcomeOut:
    """Record a visit outcome from the share page; the live share token is the authority."""
    link = shares.live_link(session, token)
    request.app.state.rate_limiter.check(f"share:{link.token_hash}")
    outcome, created = service.record(session, link.plan_id, body, "share")
    session.commit()
    _forget_pages(request, outcome.plan_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _out(outcome)
