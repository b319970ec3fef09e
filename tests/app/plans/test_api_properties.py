"""POST /plan on varied generated requests: every answer is a feasible plan or a clear 422."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.main import create_app
from tests.app.feasibility import WEEKDAYS, assert_plan_feasible

MONDAY = date(2026, 12, 7)
ZONES = ("Asia/Shanghai", "Europe/Helsinki", "America/New_York")
CENTRES = {"Asia/Shanghai": (31.23, 121.47), "Europe/Helsinki": (60.17, 24.94)}
CENTRES["America/New_York"] = (40.71, -74.0)


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A plan request with the features that interact: hours, lunch, caps, windows, pins."""
    zone = draw(st.sampled_from(ZONES))
    lat0, lon0 = CENTRES[zone]
    days = draw(st.integers(1, 4))
    dates = [MONDAY + timedelta(days=k) for k in range(days)]
    reps = []
    for k in range(draw(st.integers(1, 2))):
        rep: dict[str, Any] = {
            "id": f"rep-{k}",
            "start": {"lat": lat0 + draw(st.floats(-0.05, 0.05)), "lon": lon0},
            "work_start": hhmm(draw(st.integers(7 * 60, 10 * 60))),
            "work_end": hhmm(draw(st.integers(16 * 60, 19 * 60))),
            "hourly_value": 100,
        }
        if draw(st.booleans()):
            rep["lunch"] = {"earliest": "11:30", "latest": "13:30", "minutes": 45}
        if draw(st.booleans()):
            rep["max_visits_per_day"] = draw(st.integers(1, 6))
        if draw(st.booleans()):
            rep["end"] = {"lat": lat0, "lon": lon0 + draw(st.floats(-0.05, 0.05))}
        reps.append(rep)
    customers = []
    for i in range(draw(st.integers(1, 12))):
        c: dict[str, Any] = {
            "id": f"C{i}",
            "lat": lat0 + draw(st.floats(-0.08, 0.08)),
            "lon": lon0 + draw(st.floats(-0.08, 0.08)),
            "segment": draw(st.sampled_from(["prospect", "maintaining", "ordered"])),
            "must_visit": draw(st.booleans()),
        }
        kind = draw(st.sampled_from(["none", "hours", "window"]))
        if kind == "hours":
            open_at = draw(st.integers(8 * 60, 14 * 60))
            c["opening_hours"] = {
                WEEKDAYS[d.weekday()]: [[hhmm(open_at), hhmm(open_at + 120)]] for d in dates
            }
        elif kind == "window":
            day = draw(st.sampled_from(dates))
            start = datetime.combine(day, datetime.min.time()).replace(tzinfo=ZoneInfo(zone))
            start += timedelta(minutes=draw(st.integers(8 * 60, 16 * 60)))
            end = start + timedelta(minutes=draw(st.integers(30, 180)))
            c["time_windows"] = [{"start": start.isoformat(), "end": end.isoformat()}]
        if draw(st.integers(0, 4)) == 0:
            c["date"] = draw(st.sampled_from(dates)).isoformat()
        if draw(st.integers(0, 4)) == 0:
            c["rep_id"] = draw(st.sampled_from(reps))["id"]
        customers.append(c)
    return {
        "timezone": zone,
        "horizon": {"start_date": MONDAY.isoformat(), "days": days},
        "reps": reps,
        "customers": customers,
        "options": {"time_limit_seconds": 2, "solution_limit": 20},
    }


@pytest.fixture
def open_client(sqlite_url: str) -> Iterator[TestClient]:
    """An app without API keys (auth has its own tests), solving inline."""
    app_settings = Settings(database_url=sqlite_url, require_api_key=False, solver_processes=0)
    with TestClient(create_app(app_settings)) as client:
        yield client


@given(request=requests())
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_requests_give_feasible_plans(
    open_client: TestClient, request: dict[str, Any]
) -> None:
    """Any such request is planned: visits once, inside hours, windows, lunch and pins."""
    response = open_client.post("/plan", json=request)
    assert response.status_code == 201, response.text
    body = response.json()
    assert_plan_feasible(body, request)
    assert body["status"] == ("partial" if body["unassigned"] else "complete")
    for u in body["unassigned"]:
        assert u["reason"]
