"""Plans on a real osrm-routed (Monaco): road legs, blocks, geometry, snapping and fallback."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.geo.osrm import OsrmClient
from app.geo.polyline import decode
from app.main import create_app
from solver.distance import great_circle_m
from solver.types import Point
from tests.app.geo.osrm_server import OsrmServer, osrm_server

pytestmark = pytest.mark.osrm

START = Point(43.7310, 7.4200)  # Monaco-Ville
SEA = Point(43.7250, 7.4450)  # 1.6 km off Larvotto beach


def customers(n: int = 16) -> list[dict[str, Any]]:
    """A 4 x 4 grid over Monaco's streets (every point within a few metres of a road)."""
    return [
        {
            "id": f"C-{i:02d}",
            "name": f"Customer {i}",
            "lat": round(43.7300 + 0.0050 * (i % 4), 5),
            "lon": round(7.4140 + 0.0045 * (i // 4), 5),
        }
        for i in range(n)
    ]


def body(travel: str, custs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "timezone": "Europe/Monaco",
        "horizon": {"start_date": "2026-12-07", "days": 2},
        "reps": [
            {
                "id": "rep-1",
                "start": {"lat": START.lat, "lon": START.lon},
                "work_start": "09:00",
                "work_end": "17:00",
                "max_visits_per_day": 9,
            }
        ],
        "customers": custs,
        "options": {"travel": travel, "time_limit_seconds": 5, "solution_limit": 40},
    }


@pytest.fixture(scope="module")
def server() -> Iterator[OsrmServer]:
    with osrm_server() as running:
        yield running


def plan_client(tmp_path: Path, sqlite_url: str, url: str, **extra: Any) -> TestClient:
    settings = Settings(
        database_url=sqlite_url,
        require_api_key=False,
        solver_processes=0,
        osrm_url=url,
        osrm_max_table_size=5,  # the plans below need 4 x 4 blocks
        osrm_retries=1,
        **extra,
    )
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path: Path, sqlite_url: str, server: OsrmServer) -> Iterator[TestClient]:
    with plan_client(tmp_path, sqlite_url, server.url) as c:
        yield c


def road_table(url: str, points: list[Point]) -> tuple[np.ndarray, np.ndarray]:
    """OSRM's own /table answer in one call (durations s, distances m)."""
    coords = ";".join(f"{p.lon:.5f},{p.lat:.5f}" for p in points)
    answer = httpx.get(
        f"{url}/table/v1/driving/{coords}", params={"annotations": "duration,distance"}
    ).json()
    return np.array(answer["durations"]), np.array(answer["distances"])


def half_up(x: float) -> int:
    """The service's rounding of metres and seconds (not Python's banker's rounding)."""
    return math.floor(x + 0.5)


def stop_points(plan: dict[str, Any]) -> dict[str, Point]:
    return {s["customer_id"]: Point(s["lat"], s["lon"]) for d in plan["days"] for s in d["stops"]}


def test_osrm_legs_equal_the_servers_table_entries(client: TestClient, server: OsrmServer) -> None:
    """Every leg (and each day's return) is OSRM's duration and distance for that pair."""
    custs = customers()
    response = client.post("/plan", json=body("osrm", custs))
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["warnings"] == []
    assert plan["summary"]["visits"] == len(custs)
    points = [START] + [Point(c["lat"], c["lon"]) for c in custs]
    index = {c["id"]: k + 1 for k, c in enumerate(custs)}
    durations, distances = road_table(server.url, points)
    for day in plan["days"]:
        prev = 0
        for stop in day["stops"]:
            here = index[stop["customer_id"]]
            assert round(stop["travel_km"] * 1000) == half_up(distances[prev, here])
            assert abs(stop["travel_minutes"] * 60 - durations[prev, here]) <= 0.81
            prev = here
        assert round(day["return_travel_km"] * 1000) == half_up(distances[prev, 0])


def test_osrm_plan_differs_from_the_straight_line_plan_on_the_same_customers(
    client: TestClient,
) -> None:
    """Same customers: OSRM legs follow roads (never shorter than the crow flies), with a
    route geometry per day; the straight-line plan has neither."""
    custs = customers()
    road = client.post("/plan", json=body("osrm", custs)).json()
    line = client.post("/plan", json=body("straight_line", custs)).json()
    assert road["summary"]["visits"] == line["summary"]["visits"] == len(custs)
    assert road["summary"]["drive_km"] != line["summary"]["drive_km"]
    points = stop_points(road) | {"start": START}
    for day in road["days"]:
        prev = "start"
        for stop in day["stops"]:
            crow = great_circle_m([points[prev], points[stop["customer_id"]]])[0, 1]
            assert stop["travel_km"] * 1000 >= crow - 50  # snapping moves ends a few metres
            prev = stop["customer_id"]
        path = decode(day["geometry"])
        assert math.dist(path[0], (START.lat, START.lon)) < 0.005
        assert all(43.72 < lat < 43.76 and 7.40 < lon < 7.45 for lat, lon in path)
    assert all(day["geometry"] is None for day in line["days"])


def test_blocks_on_the_real_server_assemble_the_one_call_matrix(server: OsrmServer) -> None:
    """A 30-point table in 4 x 4 blocks equals the same table fetched in one request."""
    points = [Point(c["lat"], c["lon"]) for c in customers(30)]
    small = OsrmClient(server.url, max_table_size=4, concurrency=3)
    whole = OsrmClient(server.url, max_table_size=1000)
    a, b = small.table(points), whole.table(points)
    assert small.requests == 64
    assert whole.requests == 1
    assert np.array_equal(a.durations, b.durations)
    assert np.array_equal(a.distances, b.distances)
    assert np.array_equal(a.snap_m, b.snap_m)


def test_a_customer_far_from_any_road_is_planned_straight_line_with_a_warning(
    client: TestClient,
) -> None:
    """A customer 1.6 km out at sea stays planned; its legs are straight-line, and it is named."""
    custs = [*customers(6), {"id": "SEA", "name": "Yacht", "lat": SEA.lat, "lon": SEA.lon}]
    plan = client.post("/plan", json=body("osrm", custs)).json()
    assert len(plan["warnings"]) == 1
    assert "SEA" in plan["warnings"][0]
    assert "500 m" in plan["warnings"][0]
    assert "SEA" in stop_points(plan)
    points = stop_points(plan) | {"start": START}
    for day in plan["days"]:
        prev = "start"
        for stop in day["stops"]:
            if "SEA" in (prev, stop["customer_id"]):
                crow = great_circle_m([points[prev], points[stop["customer_id"]]])[0, 1]
                assert round(stop["travel_km"] * 1000) == round(crow * 1.3)
            prev = stop["customer_id"]


def test_killing_the_server_mid_test_falls_back_to_straight_line_with_warnings(
    tmp_path: Path, sqlite_url: str
) -> None:
    """Server gone: cached matrices still plan (geometry missing, warned); new ones use
    straight-line times with a warning; no request fails."""
    custs = customers(8)
    with osrm_server() as own, plan_client(tmp_path, sqlite_url, own.url) as client:
        first = client.post("/plan", json=body("osrm", custs)).json()
        assert first["warnings"] == []
        assert all(day["geometry"] for day in first["days"])
        own.stop()
        cached = client.post("/plan", json=body("osrm", custs))
        assert cached.status_code == 201
        assert cached.json()["summary"]["drive_km"] == first["summary"]["drive_km"]
        assert len(cached.json()["warnings"]) == 1
        assert "route geometry could not be fetched" in cached.json()["warnings"][0]
        assert all(day["geometry"] is None for day in cached.json()["days"])
        fresh = client.post("/plan", json=body("osrm", customers(9)))
        assert fresh.status_code == 201
        warnings = fresh.json()["warnings"]
        assert len(warnings) == 1
        assert "'osrm' failed" in warnings[0]
        assert "'straight_line'" in warnings[0]
        line = client.post("/plan", json=body("straight_line", customers(9))).json()
        assert fresh.json()["summary"]["drive_km"] == line["summary"]["drive_km"]


def test_traffic_bands_scale_every_road_leg_by_the_working_day_factor(
    tmp_path: Path, sqlite_url: str, server: OsrmServer
) -> None:
    """09:00-17:00 inside a x1.5 band and a x1.2 band: legs are OSRM's times x 1.35."""
    bands = {"09:00-13:00": 1.5, "13:00-17:00": 1.2}
    custs = customers(8)
    with plan_client(tmp_path, sqlite_url, server.url, osrm_traffic_bands=bands) as client:
        plan = client.post("/plan", json=body("osrm", custs)).json()
    points = [START] + [Point(c["lat"], c["lon"]) for c in custs]
    index = {c["id"]: k + 1 for k, c in enumerate(custs)}
    durations, distances = road_table(server.url, points)
    legs = 0
    for day in plan["days"]:
        prev = 0
        for stop in day["stops"]:
            here = index[stop["customer_id"]]
            assert abs(stop["travel_minutes"] * 60 - 1.35 * durations[prev, here]) <= 0.81
            assert round(stop["travel_km"] * 1000) == half_up(distances[prev, here])
            prev, legs = here, legs + 1
    assert legs == len(custs)
