"""POST /plan and GET /plans/{id} through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from models import Plan
from tests.app.factories import plan_body
from tests.app.feasibility import assert_plan_feasible, instant


def stored_plans(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Plan)) or 0
    engine.dispose()
    return count


def test_plan_is_created_feasible_and_stored(client: TestClient) -> None:
    """A valid request answers 201 with a feasible plan that GET returns unchanged."""
    request = plan_body()
    response = client.post("/plan", json=request)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] in ("complete", "partial")
    assert body["share_url"].startswith("https://plans.example.com/s/")
    assert_plan_feasible(body, request)
    again = client.get(f"/plans/{body['plan_id']}")
    assert again.status_code == 200
    assert again.json() == body


def test_summary_adds_up(client: TestClient) -> None:
    """Summary totals are sums over days; cost and savings use the hourly value."""
    body = client.post("/plan", json=plan_body()).json()
    s = body["summary"]
    assert s["visits"] == sum(d["visits"] for d in body["days"])
    assert s["unassigned"] == len(body["unassigned"])
    assert s["drive_minutes"] == pytest.approx(sum(d["drive_minutes"] for d in body["days"]), 0.01)
    assert s["drive_cost"] == pytest.approx(s["drive_minutes"] / 60 * 300, abs=0.05)
    assert s["saved_minutes"] == pytest.approx(
        s["baseline_drive_minutes"] - s["drive_minutes"], abs=0.02
    )
    assert s["saved_value"] == pytest.approx(s["saved_minutes"] / 60 * 300, abs=0.05)
    assert s["currency"] == "CNY"


def test_segment_defaults_and_purpose(client: TestClient, app_settings: Settings) -> None:
    """Visit length and purpose come from the segment table unless the request overrides."""
    request = plan_body(segments={"ordered": {"visit_minutes": 20, "purpose": "Say thanks"}})
    body = client.post("/plan", json=request).json()
    stops = [s for d in body["days"] for s in d["stops"]]
    for stop in stops:
        minutes = (instant(stop["end"]) - instant(stop["start"])).total_seconds() / 60
        if stop["segment"] == "ordered":
            assert minutes == 20
            assert stop["purpose"] == "Say thanks"
        else:
            expected = app_settings.segments[stop["segment"]]
            assert minutes == expected.visit_minutes
            assert stop["purpose"] == expected.purpose


def test_address_only_and_not_precise_customers_are_unassigned(client: TestClient) -> None:
    """Without coordinates -> geocode_failed; precise_only drops the unqualified; rest planned."""
    request = plan_body(precise_only=True)
    for c in request["customers"]:
        c.update(need="explicit", can_pay=True, decision_maker=True)
    request["customers"][0].update(lat=None, lon=None, address="1 Nowhere Lane, Xyzzy")
    request["customers"][1].update(decision_maker=False)
    body = client.post("/plan", json=request).json()
    codes = {u["customer_id"]: u["code"] for u in body["unassigned"]}
    assert codes["C-000"] == "geocode_failed"
    assert codes["C-001"] == "not_precise"
    assert body["status"] == "partial"
    assert body["summary"]["visits"] >= 8


def test_infeasible_request_is_a_partial_plan_not_an_error(client: TestClient) -> None:
    """All windows closed: 201, status partial, every customer unassigned with a reason."""
    request = plan_body()
    for c in request["customers"]:
        c.pop("time_windows", None)
        c["opening_hours"] = {"sat": [["09:00", "12:00"]]}
    response = client.post("/plan", json=request)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "partial"
    assert body["days"] == []
    assert {u["code"] for u in body["unassigned"]} <= {"no_time_window_fits", "outside_horizon"}
    assert all(u["reason"] for u in body["unassigned"])


def test_write_needs_a_valid_key(client: TestClient, app_settings: Settings) -> None:
    """No key -> 401, a wrong key -> 403, both in the contract's error shape; nothing stored."""
    missing = client.post("/plan", json=plan_body(), headers={"Authorization": ""})
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    wrong = client.post("/plan", json=plan_body(), headers={"Authorization": "Bearer vp_nope"})
    assert wrong.status_code == 403
    assert set(wrong.json()["error"]) == {"code", "message", "details"}
    assert stored_plans(app_settings) == 0


def test_unknown_plan_is_404(client: TestClient) -> None:
    """An unknown plan id answers 404 with the error JSON."""
    response = client.get("/plans/does-not-exist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda b: b["customers"][2].update(lat=123.0), "customers[2].lat"),
        (lambda b: b["customers"][2].update(lat="31.2"), "customers[2].lat"),
        (lambda b: b["customers"][3].update(id="C-000"), "customers[3].id"),
        (lambda b: b["customers"][4].update(rep_id="ghost"), "customers[4].rep_id"),
        (lambda b: b.update(reps=[]), "reps"),
        (lambda b: b["horizon"].update(weekdays=["mon", "funday"]), "horizon.weekdays[1]"),
        (lambda b: b["options"].update(time_limit_seconds=1000), "options.time_limit_seconds"),
    ],
)
def test_bad_input_is_422_with_path_and_stores_nothing(
    client: TestClient, app_settings: Settings, mutate: Any, path: str
) -> None:
    """Each kind of bad input answers 422 naming the field, and no plan is stored."""
    body = copy.deepcopy(plan_body())
    mutate(body)
    response = client.post("/plan", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert path in [d["path"] for d in error["details"]]
    assert stored_plans(app_settings) == 0


def test_request_limits_answer_413(app_settings: Settings, api_key: str) -> None:
    """Too many customers, or a body over the byte limit, answer 413 before solving."""
    small = app_settings.model_copy(update={"max_customers": 5})
    with TestClient(create_app(small)) as c:
        r = c.post("/plan", json=plan_body(), headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 413
    assert r.json()["error"]["details"][0]["path"] == "customers"
    tiny = app_settings.model_copy(update={"max_body_bytes": 1000})
    with TestClient(create_app(tiny)) as c:
        r = c.post("/plan", json=plan_body(), headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_health_and_ready(client: TestClient) -> None:
    """Liveness always answers; readiness reports the database."""
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["database"] is True
