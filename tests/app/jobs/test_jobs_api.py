"""POST /plan with async -> 202 and a job that ends in a stored plan (or a recorded failure)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.app.factories import plan_body


def wait_for(client: TestClient, url: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Poll a job until it ends; bounded so a stuck job fails the test instead of hanging."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(url).json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job at {url} did not finish in {timeout_s} s")


def test_async_plan_returns_202_and_the_job_yields_the_plan(client: TestClient) -> None:
    """async=true answers 202 with job_id/status_url; the job ends succeeded with a plan."""
    response = client.post("/plan", json=plan_body(**{"async": True}))
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert set(accepted) == {"job_id", "status_url"}
    assert response.headers["location"] == accepted["status_url"]
    job = wait_for(client, f"/jobs/{accepted['job_id']}")
    assert job["status"] == "succeeded"
    assert job["progress"] == 1.0
    assert job["error"] is None
    plan = client.get(f"/plans/{job['plan_id']}")
    assert plan.status_code == 200
    assert plan.json()["summary"]["visits"] > 0


def test_large_requests_are_queued_without_asking(app_settings: Settings, api_key: str) -> None:
    """More customers than inline_max_customers go to a job even without async."""
    small_inline = app_settings.model_copy(update={"inline_max_customers": 3})
    with TestClient(create_app(small_inline)) as c:
        c.headers["Authorization"] = f"Bearer {api_key}"
        response = c.post("/plan", json=plan_body())
        assert response.status_code == 202
        assert wait_for(c, f"/jobs/{response.json()['job_id']}")["status"] == "succeeded"


def test_a_failing_job_records_its_error(client: TestClient) -> None:
    """A job whose solve raises ends failed with the contract's error shape, not lost."""

    class Broken:
        name = "straight_line"

        def matrix(self, *_: object) -> object:
            raise RuntimeError("matrix service exploded")

    planner = client.app.state.planner  # type: ignore[attr-defined]
    object.__setattr__(planner, "matrix", Broken())
    response = client.post("/plan", json=plan_body(**{"async": True}))
    job = wait_for(client, f"/jobs/{response.json()['job_id']}")
    assert job["status"] == "failed"
    assert job["plan_id"] is None
    assert job["error"]["code"] == "internal_error"
    assert "exploded" not in job["error"]["message"]


def test_async_request_is_still_validated_first(client: TestClient) -> None:
    """Bad input with async is a 422 at once, not a failed job later."""
    body = plan_body(**{"async": True})
    body["customers"][0]["lat"] = 99.0
    response = client.post("/plan", json=body)
    assert response.status_code == 422


def test_unknown_job_is_404(client: TestClient) -> None:
    """An unknown job id answers 404 with the error JSON."""
    response = client.get("/jobs/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
