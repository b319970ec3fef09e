"""Solves in worker processes: same plans as inline, a cap on concurrent solves, 503 when busy."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from unittest import mock

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.errors import ServiceBusy
from app.main import create_app
from app.plans.mapping import to_planning_input
from app.plans.schemas import PlanRequest
from app.solving import InlineSolver, ProcessSolver, make_solver
from solver.distance import straight_line_matrix
from solver.types import SolveParams
from tests.app.factories import plan_body


def _problem() -> tuple[object, object]:
    req = PlanRequest.model_validate(plan_body())
    planning = to_planning_input(req, Settings()).planning
    return planning, straight_line_matrix(planning.locations())


@pytest.fixture
def process_solver() -> Iterator[ProcessSolver]:
    solver = ProcessSolver(processes=1, capacity=2)
    yield solver
    solver.shutdown()


def test_worker_process_gives_the_inline_plan(process_solver: ProcessSolver) -> None:
    """With a solution limit, a plan solved in a worker process equals the inline one."""
    planning, matrix = _problem()
    params = SolveParams(time_limit_s=5, solution_limit=40)
    inline = InlineSolver(capacity=1).plan(planning, matrix, params, wait=True)  # type: ignore[arg-type]
    remote = process_solver.plan(planning, matrix, params, wait=True)  # type: ignore[arg-type]
    assert [(d.rep, d.day, [s.customer for s in d.stops]) for d in remote.days] == [
        (d.rep, d.day, [s.customer for s in d.stops]) for d in inline.days
    ]
    assert remote.unassigned == inline.unassigned


def test_busy_solver_refuses_callers_that_cannot_wait() -> None:
    """With every slot taken, a request that cannot wait gets ServiceBusy with Retry-After."""
    solver = InlineSolver(capacity=1)
    planning, matrix = _problem()
    started, release = threading.Event(), threading.Event()
    original = solver._slots.acquire

    def hold() -> None:
        original(True)
        started.set()
        release.wait(10)
        solver._slots.release()

    thread = threading.Thread(target=hold)
    thread.start()
    started.wait(10)
    try:
        with pytest.raises(ServiceBusy) as caught:
            solver.plan(planning, matrix, SolveParams(time_limit_s=1), wait=False)  # type: ignore[arg-type]
        assert caught.value.headers == {"Retry-After": "5"}
    finally:
        release.set()
        thread.join()


def test_busy_service_answers_503_with_retry_after(app_settings: Settings, api_key: str) -> None:
    """Through HTTP: a full solver answers 503 in the error shape with a Retry-After header."""
    one_slot = app_settings.model_copy(update={"max_concurrent_solves": 1})
    with TestClient(create_app(one_slot)) as client:
        slots = client.app.state.planner.solver._slots  # type: ignore[attr-defined]
        slots.acquire(True)
        # A request that will be turned away is turned away before geocoding and routing.
        unused = mock.patch("app.plans.service.geocode", side_effect=AssertionError("geocoded"))
        try:
            with unused:
                response = client.post(
                    "/plan", json=plan_body(), headers={"Authorization": f"Bearer {api_key}"}
                )
        finally:
            slots.release()
        again = client.post(
            "/plan", json=plan_body(), headers={"Authorization": f"Bearer {api_key}"}
        )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "busy"
    assert again.status_code == 201  # the slot is free again


def test_make_solver_picks_inline_for_zero_processes() -> None:
    """solver_processes=0 solves inline; otherwise a process pool."""
    assert isinstance(make_solver(0, 1), InlineSolver)
    pooled = make_solver(2, 1)
    assert isinstance(pooled, ProcessSolver)
    pooled.shutdown()
