"""The OSRM adapter against a fake server (httpx.MockTransport): blocks, cache, retries, snaps."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.geo.matrix import (
    MatrixProvider,
    MatrixUnavailable,
    OsrmMatrix,
    StraightLineMatrix,
    TravelOptions,
    make_matrix_providers,
    make_osrm_matrix,
    parse_traffic_bands,
    resolve_travel,
    straight_line_rows,
    working_day_factor,
)
from app.geo.osrm import OsrmClient, TableCache
from solver.distance import straight_line_matrix
from solver.types import Point
from tests.app.factories import plan_body

OPTIONS = TravelOptions(speed_kmh=30.0, detour_factor=1.3)


def road_s(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The fake network's duration: Manhattan degrees, 0.1 s resolution, asymmetric."""
    return round(abs(a[0] - b[0]) * 1e5 + abs(a[1] - b[1]) * 2e5 + (3 if a < b else 0), 1)


@dataclass
class FakeOsrm:
    """Answers /table and /route like OSRM; counts requests; can fail or snap far."""

    snap_m: dict[tuple[float, float], float] = field(default_factory=dict)
    no_route: set[tuple[tuple[float, float], tuple[float, float]]] = field(default_factory=set)
    fail_first: int = 0
    fail_with: Callable[[], httpx.Response] = lambda: httpx.Response(503)
    table_calls: int = 0
    route_calls: int = 0
    max_cells: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.fail_first > 0:
            self.fail_first -= 1
            return self.fail_with()
        service, _, _profile, coords = request.url.path.split("/")[1:5]
        points = [(float(c.split(",")[0]), float(c.split(",")[1])) for c in coords.split(";")]
        waypoints = [{"location": list(p), "distance": self.snap_m.get(p, 3.0)} for p in points]
        if service == "route":
            self.route_calls += 1
            return httpx.Response(200, json={"code": "Ok", "routes": [{"geometry": "abc"}]})
        self.table_calls += 1
        params = request.url.params
        every = ";".join(str(i) for i in range(len(points)))
        src = [int(i) for i in params.get("sources", every).split(";")]
        dst = [int(i) for i in params.get("destinations", every).split(";")]
        if self.max_cells is not None and len(src) * len(dst) > self.max_cells:
            return httpx.Response(400, json={"code": "TooBig", "message": "Too many cells"})
        durations = [
            [
                None if (points[i], points[j]) in self.no_route else road_s(points[i], points[j])
                for j in dst
            ]
            for i in src
        ]
        distances = [[None if d is None else d * 10 for d in row] for row in durations]
        return httpx.Response(
            200,
            json={
                "code": "Ok",
                "durations": durations,
                "distances": distances,
                "sources": [waypoints[i] for i in src],
                "destinations": [waypoints[j] for j in dst],
            },
        )


def points(n: int) -> list[Point]:
    return [Point(43.72 + 0.0013 * (i % 7), 7.41 + 0.0011 * (i // 7)) for i in range(n)]


def provider(fake: FakeOsrm, **kw: object) -> OsrmMatrix:
    client = OsrmClient(
        "http://osrm.test",
        max_table_size=int(kw.pop("max_table_size", 100)),  # type: ignore[call-overload]
        concurrency=3,
        retries=int(kw.pop("retries", 2)),  # type: ignore[call-overload]
        retry_backoff_s=0,
        transport=httpx.MockTransport(fake),
    )
    return OsrmMatrix(client, max_snap_m=500, cache=TableCache(int(kw.pop("cache", 4))))  # type: ignore[call-overload]


def expected_s(pts: list[Point]) -> np.ndarray:
    keys = [(round(p.lon, 5), round(p.lat, 5)) for p in pts]
    return np.array([[0 if a == b else math.floor(road_s(a, b) + 0.5) for b in keys] for a in keys])


def test_table_is_the_servers_answer_rounded_to_seconds_and_metres() -> None:
    """Durations are OSRM's seconds rounded; distances its metres; the diagonal is zero."""
    pts = points(9)
    result = provider(FakeOsrm()).travel(pts, OPTIONS)
    assert (result.matrix.durations == expected_s(pts)).all()
    keys = [(round(p.lon, 5), round(p.lat, 5)) for p in pts]
    metres = [[0 if a == b else math.floor(road_s(a, b) * 10 + 0.5) for b in keys] for a in keys]
    assert (result.matrix.distances == np.array(metres)).all()
    assert result.provider == "osrm"
    assert result.warnings == ()


def test_blocks_respect_the_table_size_and_assemble_the_same_matrix() -> None:
    """A 23-point matrix in 5 x 5 blocks = 25 requests, each within size^2, same as one call."""
    pts = points(23)
    small = FakeOsrm(max_cells=25)
    split = provider(small, max_table_size=5).travel(pts, OPTIONS).matrix
    one = FakeOsrm()
    whole = provider(one).travel(pts, OPTIONS).matrix
    assert small.table_calls == 25
    assert one.table_calls == 1
    assert (split.durations == whole.durations).all()
    assert (split.distances == whole.distances).all()


def test_a_table_larger_than_the_server_allows_is_unavailable() -> None:
    """A TooBig answer (settings disagree with the server) is an outage, not a crash."""
    with pytest.raises(MatrixUnavailable, match="TooBig"):
        provider(FakeOsrm(max_cells=25), max_table_size=10).travel(points(12), OPTIONS)


def test_the_same_points_again_are_served_from_the_cache() -> None:
    """Re-planning the same territory sends no second request; a subset is sliced from it."""
    fake = FakeOsrm()
    osrm = provider(fake)
    pts = points(15)
    first = osrm.travel(pts, OPTIONS).matrix
    again = osrm.travel(pts, OPTIONS).matrix
    subset = [pts[9], pts[2], pts[14]]
    sliced = osrm.travel(subset, OPTIONS).matrix
    assert fake.table_calls == 1
    assert (again.durations == first.durations).all()
    assert (sliced.durations == expected_s(subset)).all()
    osrm.travel([*pts[:3], Point(43.70, 7.40)], OPTIONS)
    assert fake.table_calls == 2


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    """With room for two matrices, a third evicts the one used longest ago."""
    fake = FakeOsrm()
    osrm = provider(fake, cache=2)
    a, b, c = points(4), points(5)[1:], points(8)[4:]
    for pts in (a, b, a, c, a):  # c evicts b, not the recently used a
        osrm.travel(pts, OPTIONS)
    assert fake.table_calls == 3
    osrm.travel(b, OPTIONS)
    assert fake.table_calls == 4


def test_transient_errors_are_retried_a_bounded_number_of_times() -> None:
    """Two 503s then an answer succeed; persistent 503s give up after retries + 1 requests."""
    flaky = FakeOsrm(fail_first=2)
    assert provider(flaky, retries=2).travel(points(4), OPTIONS).provider == "osrm"
    down = FakeOsrm(fail_first=10**6)
    osrm = provider(down, retries=2)
    with pytest.raises(MatrixUnavailable, match="3 attempt"):
        osrm.travel(points(4), OPTIONS)
    assert osrm.client.requests == 3


def test_connection_errors_and_garbage_fall_back_to_straight_line_with_a_warning() -> None:
    """Refused connections or non-JSON answers plan on straight-line times and say so."""

    def refuse() -> httpx.Response:
        raise httpx.ConnectError("refused")

    pts = points(6)
    for fake in (
        FakeOsrm(fail_first=10**6, fail_with=refuse),
        FakeOsrm(fail_first=10**6, fail_with=lambda: httpx.Response(200, text="<html>")),
        FakeOsrm(fail_first=10**6, fail_with=lambda: httpx.Response(400, json={"code": "x"})),
    ):
        providers: dict[str, MatrixProvider] = {
            "straight_line": StraightLineMatrix(),
            "osrm": provider(fake, retries=1),
        }
        result = resolve_travel(providers, "osrm", pts, OPTIONS)
        line = straight_line_matrix(pts, speed_kmh=30.0, detour_factor=1.3)
        assert result.provider == "straight_line"
        assert result.geometry is None
        assert (result.matrix.durations == line.durations).all()
        assert "'osrm' failed" in result.warnings[0]


def test_an_unconfigured_provider_keeps_the_not_available_warning() -> None:
    """Without osrm_url, options.travel = osrm plans straight-line with the old warning."""
    providers = make_matrix_providers(Settings())
    result = resolve_travel(providers, "osrm", points(3), OPTIONS)
    assert result.provider == "straight_line"
    assert result.warnings == (
        "travel model 'osrm' is not available on this server;"
        " planned with 'straight_line' travel times",
    )


def test_points_snapped_far_from_a_road_are_timed_straight_line_and_named() -> None:
    """A point OSRM moves > max_snap_m gets straight-line legs both ways and a warning."""
    pts = points(6)
    far = (round(pts[4].lon, 5), round(pts[4].lat, 5))
    result = provider(FakeOsrm(snap_m={far: 2_500.0})).travel(
        pts, OPTIONS, labels=[f"C-{i}" for i in range(6)]
    )
    line = straight_line_matrix(pts, speed_kmh=30.0, detour_factor=1.3)
    road = expected_s(pts)
    d = result.matrix.durations
    assert (d[4, :] == line.durations[4, :]).all()
    assert (d[:, 4] == line.durations[:, 4]).all()
    others = [0, 1, 2, 3, 5]
    assert (d[np.ix_(others, others)] == road[np.ix_(others, others)]).all()
    assert len(result.warnings) == 1
    assert "C-4" in result.warnings[0]
    assert "C-1" not in result.warnings[0]


def test_pairs_without_a_road_route_are_timed_straight_line() -> None:
    """OSRM's null (no route between two points) becomes the straight-line leg, with a warning."""
    pts = points(4)
    a, b = ((round(p.lon, 5), round(p.lat, 5)) for p in (pts[0], pts[2]))
    result = provider(FakeOsrm(no_route={(a, b)})).travel(pts, OPTIONS)
    line = straight_line_matrix(pts, speed_kmh=30.0, detour_factor=1.3)
    assert result.matrix.durations[0, 2] == line.durations[0, 2]
    assert result.matrix.durations[2, 0] == expected_s(pts)[2, 0]
    assert "1 pair(s)" in result.warnings[0]


def test_traffic_factor_scales_road_durations_not_distances() -> None:
    """Durations are free-flow x traffic_factor (rounded); distances are unchanged."""
    pts = points(5)
    osrm = provider(FakeOsrm())
    free = osrm.travel(pts, OPTIONS).matrix
    slow = osrm.travel(pts, TravelOptions(30.0, 1.3, traffic_factor=1.4)).matrix
    assert (np.abs(slow.durations - free.durations * 1.4) <= 1).all()
    assert (slow.durations > free.durations).sum() == 20
    assert (slow.distances == free.distances).all()


def test_working_day_factor_is_the_time_weighted_mean_over_working_hours() -> None:
    """09:00-18:00 with 07:00-09:30 and 16:30-19:00 at x1.4: (2 h x 1.4 + 7 h) / 9 h."""
    bands = parse_traffic_bands({"16:30-19:00": 1.4, "07:00-09:30": 1.4})
    factor = working_day_factor(bands, [(9 * 3600, 18 * 3600)])
    assert factor == pytest.approx((2 * 1.4 + 7) / 9)
    assert working_day_factor(bands, [(7 * 3600, 9 * 3600)]) == pytest.approx(1.4)
    assert working_day_factor([], [(9 * 3600, 18 * 3600)]) == 1.0


@pytest.mark.parametrize(
    "bands",
    [
        {"9-10": 1.2},
        {"10:00-09:00": 1.2},
        {"07:00-09:00": 0},
        {"07:00-09:00": 1.2, "08:00-10:00": 1.1},
    ],
)
def test_bad_traffic_bands_are_refused_at_start_up(bands: dict[str, float]) -> None:
    """Malformed, reversed, zero-factor or overlapping bands fail when providers are built."""
    with pytest.raises(ValueError, match="traffic band"):
        make_matrix_providers(Settings(osrm_traffic_bands=bands))


def test_settings_build_the_client_the_way_they_say() -> None:
    """osrm_url set: an 'osrm' provider with the profile, table size and snap limit given."""
    settings = Settings(
        osrm_url="http://osrm.test/",
        osrm_profile="car",
        osrm_max_table_size=7,
        osrm_max_snap_metres=123,
    )
    osrm = make_osrm_matrix(settings, transport=httpx.MockTransport(FakeOsrm()))
    assert osrm is not None
    assert (osrm.client.profile, osrm.client.max_table_size, osrm.max_snap_m) == ("car", 7, 123)
    assert set(make_matrix_providers(settings)) == {"straight_line", "osrm"}
    assert make_osrm_matrix(Settings()) is None


def test_route_geometry_comes_from_route_and_failures_are_unavailable() -> None:
    """route_polyline returns /route's polyline; an outage raises MatrixUnavailable."""
    fake = FakeOsrm()
    osrm = provider(fake)
    assert osrm.route_polyline(points(3)) == "abc"
    assert fake.route_calls == 1
    with pytest.raises(MatrixUnavailable):
        provider(FakeOsrm(fail_first=10**6), retries=0).route_polyline(points(3))


@pytest.mark.parametrize(("speed", "detour"), [(30.0, 1.3), (47.5, 1.0), (12.0, 2.2)])
def test_straight_line_rows_equal_the_full_matrix(speed: float, detour: float) -> None:
    """The row-only patch computes exactly the values straight_line_matrix would."""
    rng = np.random.default_rng(7)
    pts = [Point(float(a), float(b)) for a, b in rng.uniform([43.0, 7.0], [44.0, 8.0], (40, 2))]
    rows = np.array([0, 5, 17, 39])
    options = TravelOptions(speed_kmh=speed, detour_factor=detour)
    d, m = straight_line_rows(pts, rows, options)
    full = straight_line_matrix(pts, speed_kmh=speed, detour_factor=detour)
    assert np.array_equal(d, full.durations[rows])
    assert np.array_equal(m, full.distances[rows])
    assert np.array_equal(d.T, full.durations[:, rows])


def test_plan_api_stores_road_geometry_and_names_far_customers(client: TestClient) -> None:
    """POST /plan with travel=osrm (fake server): days carry /route's geometry, stored and read
    back; a far-snapped customer is planned and named in warnings by its id."""
    far = FakeOsrm()
    osrm = provider(far)
    planner = client.app.state.planner  # type: ignore[attr-defined]
    object.__setattr__(planner, "matrices", {"osrm": osrm})
    body = plan_body(travel="osrm")
    sea = body["customers"][2]
    far.snap_m[(round(sea["lon"], 5), round(sea["lat"], 5))] = 9_000.0
    response = client.post("/plan", json=body)
    assert response.status_code == 201, response.text
    plan = response.json()
    assert len(plan["warnings"]) == 1
    assert sea["id"] in plan["warnings"][0]
    assert sea["id"] in {s["customer_id"] for d in plan["days"] for s in d["stops"]}
    assert plan["days"]
    assert all(day["geometry"] == "abc" for day in plan["days"])
    assert far.route_calls == len(plan["days"])
    stored = client.get(f"/plans/{plan['plan_id']}").json()
    assert [d["geometry"] for d in stored["days"]] == ["abc"] * len(plan["days"])
