"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

import httpx
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


def _redis_reachable(url: str) -> bool:
    """PING with a short timeout: an unreachable broker must not hang the probe."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def _osrm_reachable(url: str) -> bool:
    """Any HTTP answer counts: OSRM has no health route, and 400 still means it is up."""
    try:
        httpx.get(url, timeout=1.0)
    except httpx.HTTPError:
        return False
    return True


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    """Readiness: the database (and Redis, when configured) reachable; OSRM only reported."""
    ok = ping(request.app.state.engine)
    body: dict[str, object] = {"status": "ok" if ok else "unavailable", "database": ok}
    # Plans fall back to straight lines without OSRM, so it degrades, never blocks, a server.
    osrm_url = request.app.state.settings.osrm_url
    if osrm_url:
        body["osrm"] = _osrm_reachable(str(osrm_url))
    # Redis is the job broker when configured: without it no background job can start.
    redis_url = request.app.state.settings.redis_url
    if redis_url:
        body["redis"] = _redis_reachable(redis_url)
        ok = ok and body["redis"] is True
        body["status"] = "ok" if ok else "unavailable"
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics: request latency, solve durations and outcomes, job backlog."""
    if not request.app.state.settings.metrics_enabled:
        raise NotFound("Metrics are disabled on this server")
    return metrics_response(request)
