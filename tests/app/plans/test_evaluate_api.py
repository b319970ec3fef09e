"""POST /plans/{id}/evaluate, KPIs and hints through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import itertools
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.auth import create_api_key
from app.config import Settings
from models import Plan
from tests.app.factories import plan_body

MON, TUE = "2026-12-07", "2026-12-08"
KM_LON = 1 / (111.195 * 0.8549)  # degrees of longitude per km at 31.23 N


def _customer(cid: str, east_km: float, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "lat": 31.2304, "lon": 121.4737 + east_km * KM_LON, "visit_minutes": 30}


def small_body() -> dict[str, Any]:
    """One rep on Mon and Tue, customers on a line east of the start; F is too long a visit."""
    customers = [_customer(c, km) for c, km in zip("ABCDEF", (2, 4, 6, 8, 10, 12), strict=True)]
    customers[0]["time_windows"] = [
        {"start": f"{MON}T09:00:00+08:00", "end": f"{MON}T10:00:00+08:00"}
    ]
    customers[3]["opening_hours"] = {"mon": [["09:00", "17:00"]]}
    customers[5]["visit_minutes"] = 500
    return {
        "timezone": "Asia/Shanghai",
        "horizon": {"start_date": MON, "days": 2},
        "reps": [
            {
                "id": "r1",
                "start": {"lat": 31.2304, "lon": 121.4737},
                "work_start": "09:00",
                "work_end": "18:00",
                "hourly_value": 300,
            }
        ],
        "customers": customers,
        "options": {"time_limit_seconds": 2, "solution_limit": 60},
    }


def _plan(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/plan", json=body)
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()
    return plan


def _evaluate(client: TestClient, plan_id: str, days: list[dict[str, Any]]) -> Any:
    return client.post(f"/plans/{plan_id}/evaluate", json={"days": days})


def _day(date: str, *ids: str) -> dict[str, Any]:
    return {"rep_id": "r1", "date": date, "customer_ids": list(ids)}


def _monday(plan: dict[str, Any]) -> list[str]:
    (day,) = [d for d in plan["days"] if d["date"] == MON]
    return [s["customer_id"] for s in day["stops"]]


def test_optimised_order_evaluates_clean_and_reorders_cost_no_less(client: TestClient) -> None:
    """The plan's own order has no violation and zero delta; feasible reorders cost >= 0."""
    plan = _plan(client, small_body())
    order = _monday(plan)
    assert order[0] == "A"
    assert set(order) == set("ABCDE")
    same = _evaluate(client, plan["plan_id"], [_day(MON, *order)])
    assert same.status_code == 200, same.text
    body = same.json()
    assert body["feasible"] is True
    assert body["violations"] == []
    assert body["delta"] == {"visits": 0, "drive_minutes": 0, "drive_km": 0, "drive_cost": 0}
    assert body["optimised"]["drive_minutes"] == pytest.approx(
        plan["summary"]["drive_minutes"], abs=0.01
    )
    checked = 0
    for rest in itertools.permutations(order[1:]):
        answer = _evaluate(client, plan["plan_id"], [_day(MON, "A", *rest)]).json()
        assert answer["violations"] == []
        assert answer["delta"]["drive_minutes"] >= 0
        assert answer["delta"]["drive_cost"] >= 0
        checked += 1
    assert checked == 24
    stops = body["days"][0]["stops"]
    for a, b in itertools.pairwise(stops):
        assert datetime.fromisoformat(b["arrival"]) >= datetime.fromisoformat(a["end"])


def test_late_visit_is_reported_at_its_stop(client: TestClient) -> None:
    """A (window 09:00-10:00) driven last is late, named at days[0].customer_ids[4]."""
    plan = _plan(client, small_body())
    answer = _evaluate(client, plan["plan_id"], [_day(MON, "B", "C", "D", "E", "A")])
    assert answer.status_code == 200
    body = answer.json()
    assert body["feasible"] is False
    assert [
        (v["type"], v["customer_id"], v["day"], v["stop_index"], v["path"])
        for v in body["violations"]
    ] == [("late", "A", 0, 4, "days[0].customer_ids[4]")]
    late = body["days"][0]["stops"][4]
    assert late["start"] > f"{MON}T09:30:00+08:00"  # a 30-min visit ending after 10:00


def test_closed_and_over_hours_are_reported(client: TestClient) -> None:
    """D (open Mondays) moved to Tuesday is closed; F on a full Monday runs over hours."""
    plan = _plan(client, small_body())
    answer = _evaluate(
        client, plan["plan_id"], [_day(MON, "A", "B", "C", "E", "F"), _day(TUE, "D")]
    ).json()
    found = {(v["type"], v["customer_id"], v["path"]) for v in answer["violations"]}
    assert found == {
        ("over_hours", "F", "days[0].customer_ids[4]"),
        ("closed", "D", "days[1].customer_ids[0]"),
    }
    monday = answer["days"][0]
    assert monday["return"] > f"{MON}T18:00:00+08:00"
    assert answer["cost"]["visits"] == 6
    assert answer["delta"]["visits"] == 1


def test_unlisted_days_keep_the_plan_and_moved_visits_leave_them(client: TestClient) -> None:
    """Only Tuesday is sent, with B moved there: Monday stays as planned without B."""
    plan = _plan(client, small_body())
    body = _evaluate(client, plan["plan_id"], [_day(TUE, "B")]).json()
    by_source = {d["source"]: d for d in body["days"]}
    assert [s["customer_id"] for s in by_source["plan"]["stops"]] == [
        c for c in _monday(plan) if c != "B"
    ]
    assert body["unplanned"] == []
    assert body["cost"]["visits"] == body["optimised"]["visits"]


@pytest.mark.parametrize(
    ("days", "path"),
    [
        ([_day(MON, "A"), _day(TUE, "B", "C", "D", "ghost")], "days[1].customer_ids[3]"),
        ([_day(MON, "A"), _day(TUE, "A")], "days[1].customer_ids[0]"),
        ([{"rep_id": "nobody", "date": MON, "customer_ids": []}], "days[0].rep_id"),
        ([_day("2026-12-12", "A")], "days[0].date"),
        ([_day(MON, "A"), _day(MON, "B")], "days[1].date"),
        ([{"rep_id": "r1", "date": MON, "customer_ids": "A"}], "days[0].customer_ids"),
        ([{"rep_id": "r1", "date": "monday", "customer_ids": []}], "days[0].date"),
    ],
)
def test_bad_routes_are_422_with_paths(
    client: TestClient, days: list[dict[str, Any]], path: str
) -> None:
    """Unknown or repeated ids, reps, dates answer 422 naming the exact field."""
    plan = _plan(client, small_body())
    answer = _evaluate(client, plan["plan_id"], days)
    assert answer.status_code == 422, answer.text
    assert path in [d["path"] for d in answer.json()["error"]["details"]]


def test_unknown_plan_is_404_and_read_scope_suffices(
    client: TestClient, app_settings: Settings
) -> None:
    """404 for an unknown plan; a read-only key may evaluate; nothing is stored."""
    assert _evaluate(client, "nope", [_day(MON, "A")]).status_code == 404
    plan = _plan(client, small_body())
    engine = create_engine(app_settings.database_url)
    with Session(engine) as session:
        _, raw = create_api_key(session, "reader", ["read"])
        session.commit()
        before = session.scalar(select(func.count()).select_from(Plan))
    answer = client.post(
        f"/plans/{plan['plan_id']}/evaluate",
        json={"days": [_day(MON, "E", "A")]},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 200, answer.text
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == before
    engine.dispose()
    assert client.get(f"/plans/{plan['plan_id']}").json() == {
        **plan,
        "share_url": client.get(f"/plans/{plan['plan_id']}").json()["share_url"],
    }


def test_hint_is_stored_and_verified_by_planning_again(client: TestClient) -> None:
    """F's hint (a later day end) is on POST and GET alike, and planning with it places F;
    G, pinned to a day off the horizon, is told to move the pin and cannot be evaluated."""
    request = small_body()
    request["customers"].append({**_customer("G", 3), "date": "2026-12-09"})
    plan = _plan(client, request)
    (g,) = [u for u in plan["unassigned"] if u["customer_id"] == "G"]
    assert (g["code"], g["suggestions"][0]["kind"]) == ("outside_horizon", "date")
    answer = _evaluate(client, plan["plan_id"], [_day(MON, "G")])
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["path"] == "days[0].customer_ids[0]"
    (f,) = [u for u in plan["unassigned"] if u["customer_id"] == "F"]
    assert f["code"] == "too_far"
    kinds = {s["kind"]: s for s in f["suggestions"]}
    assert f["hint"] == f["suggestions"][0]["text"]
    end = kinds["work_end"]["work_end"]
    assert "would fit" in kinds["work_end"]["text"]
    assert client.get(f"/plans/{plan['plan_id']}").json()["unassigned"] == plan["unassigned"]
    longer = copy.deepcopy(request)
    longer["reps"][0]["work_end"] = end
    again = _plan(client, longer)
    assert "F" in {s["customer_id"] for d in again["days"] for s in d["stops"]}


def _minutes(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 60


def test_kpis_match_the_plan_body(client: TestClient) -> None:
    """summary.kpis equals what the days say: visits, drive share, area changes."""
    request = plan_body()
    for k, c in enumerate(request["customers"]):
        c["area"] = ("West", "East", "North")[k % 3]
    areas = {c["id"]: c["area"] for c in request["customers"]}
    plan = _plan(client, request)
    kpis = plan["summary"]["kpis"]
    visits = [d["visits"] for d in plan["days"]]
    assert kpis["visits_per_day"] == {
        "mean": pytest.approx(sum(visits) / len(visits)),
        "min": min(visits),
        "max": max(visits),
    }
    spans = [_minutes(d["depart"], d["return"]) for d in plan["days"]]
    drives = [d["drive_minutes"] for d in plan["days"]]
    assert kpis["drive_share"] == pytest.approx(sum(drives) / sum(spans), abs=1e-4)
    changes = [
        sum(
            areas[a["customer_id"]] != areas[b["customer_id"]]
            for a, b in itertools.pairwise(d["stops"])
        )
        for d in plan["days"]
    ]
    assert [d["area_changes"] for d in kpis["days"]] == changes
    assert kpis["area_changes_per_day"]["mean"] == pytest.approx(sum(changes) / len(changes))
    assert kpis["area_changes_per_day"]["min"] == min(changes)
    assert kpis["area_changes_per_day"]["max"] == max(changes)
    for day, drive, span in zip(kpis["days"], drives, spans, strict=True):
        assert day["drive_share"] == pytest.approx(drive / span, abs=1e-4)
        assert 0 < day["drive_share"] < 1
    assert client.get(f"/plans/{plan['plan_id']}").json()["summary"]["kpis"] == kpis
