"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.db import ping
from app.errors import NotFound
from app.observability import metrics_response

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers (async, so it never waits behind a solve)."""
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    """Readiness: the database is reachable."""
    ok = ping(request.app.state.engine)
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "database": ok}, status_code=200 if ok else 503
    )


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics: request latency, solve durations and outcomes, job backlog."""
    if not request.app.state.settings.metrics_enabled:
        raise NotFound("Metrics are disabled on this server")
    return metrics_response(request)
