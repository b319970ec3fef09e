"""Request ids, structured JSON logs and Prometheus metrics.

Operators need to follow one request through the logs (``X-Request-ID``, accepted from the
caller or made here, echoed back and written on every log line) and to see latency, solve
outcomes and the job backlog on a dashboard (``GET /metrics``).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models import Job

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
log = logging.getLogger("visit_planner.http")

REQUESTS = Histogram(
    "vp_http_request_duration_seconds",
    "HTTP request latency by route template, method and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
SOLVES = Histogram(
    "vp_solve_duration_seconds",
    "Wall time of plan solves by outcome (complete, partial)",
    ["outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
SOLVE_ERRORS = Counter("vp_solve_errors_total", "Solves that raised instead of planning")
GEOCODE_LOOKUPS = Counter(
    "vp_geocode_lookups_total", "Geocoding lookups by cache result (hit, miss)", ["result"]
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: easy to ship, grep and query."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    """Root logging for the server process (tests keep pytest's own handlers)."""
    handler = logging.StreamHandler()
    if json_logs:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _route_template(scope: Scope) -> str:
    """The matched route's path template, so metrics do not explode per plan id.

    Starlette's router records the matched route in the (shared) scope.
    """
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class RequestContext:
    """Assigns the request id, times the request, logs one line and records the metric."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 500
        began = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - began
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).observe(elapsed)
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "fields": {
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                    }
                },
            )
            request_id_var.reset(token)


class JobQueueCollector(Collector):
    """Queue depth and the age of the oldest queued job, read from the jobs table."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def collect(self) -> list[GaugeMetricFamily]:
        depth = GaugeMetricFamily("vp_jobs_queued", "Jobs waiting to run")
        age = GaugeMetricFamily("vp_jobs_oldest_queued_seconds", "Age of the oldest queued job")
        try:
            with self.session_factory() as session:
                count, oldest = session.execute(
                    select(func.count(), func.min(Job.created_at)).where(Job.status == "queued")
                ).one()
        except SQLAlchemyError:
            return []
        depth.add_metric([], float(count))
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            age.add_metric([], (datetime.now(UTC) - oldest).total_seconds())
        else:
            age.add_metric([], 0.0)
        return [depth, age]


def metrics_response(request: Request) -> Response:
    """The Prometheus exposition of the default registry plus this app's job gauges."""
    collector: JobQueueCollector = request.app.state.job_collector
    body = generate_latest(REGISTRY)
    body += generate_latest(_SingleCollector(collector))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class _SingleCollector:
    """Adapts one collector to ``generate_latest``'s registry interface."""

    def __init__(self, collector: JobQueueCollector) -> None:
        self.collector = collector

    def collect(self) -> list[GaugeMetricFamily]:
        return self.collector.collect()
