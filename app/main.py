"""The application factory: settings in, a configured FastAPI app out.

No module-level app or settings: tests and workers build apps with their own settings,
and nothing touches the database or the network at import time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import health
from app.config import Settings
from app.db import make_engine, make_session_factory
from app.errors import AppError
from app.geo.geocoding import make_geocoder
from app.geo.matrix import make_matrix_provider, make_matrix_providers
from app.geo.router import router as geo_router
from app.jobs import repository as job_repository
from app.jobs.executor import make_executor
from app.jobs.router import router as jobs_router
from app.middleware import BodySizeLimit, SecurityHeaders
from app.observability import JobQueueCollector, RequestContext
from app.outcomes.router import router as outcomes_router
from app.plans.router import router as plans_router
from app.plans.service import Planner
from app.ratelimit import RateLimiter
from app.solving import make_solver
from app.territories.router import router as territories_router
from app.territories.runs_router import router as territory_runs_router
from app.territories.schedules_router import router as schedules_router
from app.validation import install_validation_handler
from app.web.router import router as web_router

log = logging.getLogger("visit_planner")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.to_json(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        body = {"error": {"code": code, "message": str(exc.detail), "details": []}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(SQLAlchemyError)
    async def database_error(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.exception("database error", exc_info=exc)
        body = {
            "error": {
                "code": "database_unavailable",
                "message": "The database is unavailable or not migrated; try again later",
                "details": [],
            }
        }
        return JSONResponse(body, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(AppError("Internal server error").to_json(), status_code=500)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Resubmit jobs a previous process left queued or abandoned (lease run out); on shutdown
    let running ones finish."""
    try:
        with app.state.session_factory() as session:
            for job_id in job_repository.resumable_ids(session):
                app.state.executor.submit(job_id)
    except SQLAlchemyError:
        log.warning("could not read queued jobs; is the database migrated?", exc_info=True)
    yield
    app.state.executor.shutdown()
    app.state.planner.solver.shutdown()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; ``uvicorn --factory app.main:create_app`` calls it with env settings."""
    settings = settings or Settings()
    app = FastAPI(
        title="visit-planner",
        version="1",
        summary="Route-optimised, day-by-day visit itineraries for field sales reps.",
        lifespan=_lifespan,
    )
    engine = make_engine(settings)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.planner = Planner(
        geocoder=make_geocoder(settings),
        matrix=make_matrix_provider(settings),
        matrices=make_matrix_providers(settings),
        solver=make_solver(settings.solver_processes, settings.max_concurrent_solves),
    )
    app.state.executor = make_executor(settings, app.state.session_factory, app.state.planner)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.job_collector = JobQueueCollector(app.state.session_factory)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "Location"],
        )
    app.add_middleware(SecurityHeaders)
    # Outermost: every response, errors included, carries the request id and is measured.
    app.add_middleware(RequestContext)
    _install_error_handlers(app)
    install_validation_handler(app)
    app.include_router(plans_router)
    app.include_router(jobs_router)
    # -- further routers (one line each) --
    app.include_router(schedules_router)
    app.include_router(territory_runs_router)
    app.include_router(outcomes_router)
    app.include_router(territories_router)
    app.include_router(web_router)
    app.include_router(geo_router)
    app.include_router(health.router)
    return app
