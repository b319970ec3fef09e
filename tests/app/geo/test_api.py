"""POST /geocode and geocoding inside POST /plan, through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from models import GeocodeCacheEntry
from tests.app.factories import plan_body
from tests.app.geo.fake_provider import fake_provider

PUDONG = "上海市浦东新区科苑路1278号"


def cache_rows(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(GeocodeCacheEntry)) or 0
    engine.dispose()
    return count


@contextmanager
def client_with(settings: Settings, api_key: str, **changes: Any) -> Iterator[TestClient]:
    """A client on an app built with ``changes`` applied to the test settings."""
    with TestClient(create_app(settings.model_copy(update=changes))) as c:
        c.headers["Authorization"] = f"Bearer {api_key}"
        yield c


def test_geocode_batch_answers_in_order_with_precision_and_source(
    client: TestClient, app_settings: Settings
) -> None:
    """Found, not found and repeats come back in request order; repeats are looked up once."""
    addresses = [PUDONG, "75001 Paris", "Xyzzy Nowhere", PUDONG]
    response = client.post("/geocode", json={"addresses": addresses})
    assert response.status_code == 200
    body = response.json()
    assert [r["address"] for r in body["results"]] == addresses
    assert [r["status"] for r in body["results"]] == ["found", "found", "not_found", "found"]
    assert (body["results"][0]["precision"], body["results"][0]["source"]) == ("district", "cpca")
    assert (body["results"][1]["precision"], body["results"][1]["source"]) == ("city", "geonames")
    assert body["results"][2]["lat"] is None
    assert body["results"][2]["reason"]
    assert body["results"][3] == body["results"][0]
    assert body["attribution"] == "(c) OpenStreetMap contributors"
    assert cache_rows(app_settings) == 3


def test_geocode_needs_a_key_and_respects_limits(
    client: TestClient, app_settings: Settings, api_key: str
) -> None:
    """401 without a key, 413 over the customer limit, 422 for an empty list, with paths."""
    anonymous = client.post("/geocode", json={"addresses": ["x"]}, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    with client_with(app_settings, api_key, max_customers=2) as small:
        too_many = small.post("/geocode", json={"addresses": ["a", "b", "c"]})
    assert too_many.status_code == 413
    assert too_many.json()["error"]["details"][0]["path"] == "addresses"
    empty = client.post("/geocode", json={"addresses": []})
    assert empty.status_code == 422
    assert "addresses" in empty.json()["error"]["details"][0]["path"]
    long = client.post("/geocode", json={"addresses": ["x" * 501]})
    assert long.status_code == 422


def _address_only(request: dict[str, Any], index: int, address: str) -> None:
    request["customers"][index].update(lat=None, lon=None, address=address)


def test_plan_geocodes_addresses_and_warns_about_district_precision(client: TestClient) -> None:
    """A customer placed at its district centre is planned, and the plan warns about it."""
    request = plan_body()
    _address_only(request, 0, PUDONG)
    body = client.post("/plan", json=request).json()
    codes = {u["customer_id"]: u["code"] for u in body["unassigned"]}
    assert codes.get("C-000") != "geocode_failed"
    assert any("district precision" in w and "C-000" in w for w in body["warnings"])


def test_min_precision_turns_coarse_results_into_geocode_failed(client: TestClient) -> None:
    """options.min_precision=street: the district-level customer is unassigned, saying why."""
    request = plan_body(min_precision="street")
    _address_only(request, 0, PUDONG)
    body = client.post("/plan", json=request).json()
    failed = {u["customer_id"]: u for u in body["unassigned"]}
    assert failed["C-000"]["code"] == "geocode_failed"
    assert "district precision" in failed["C-000"]["reason"]
    assert "min_precision" in failed["C-000"]["reason"]
    assert body["days"]


def test_provider_outage_never_fails_the_plan(app_settings: Settings, api_key: str) -> None:
    """A provider answering 500: address-only customers are geocode_failed with the reason,
    every other customer is planned (201), and nothing is cached."""
    request = plan_body()
    _address_only(request, 0, "1 Century Ave, Shanghai")
    _address_only(request, 1, "2 Century Ave, Shanghai")
    with fake_provider() as (domain, behaviour):
        behaviour.status = 500
        with client_with(
            app_settings,
            api_key,
            geocoder="nominatim",
            geocoder_domain=domain,
            geocoder_scheme="http",
            geocoder_timeout_seconds=0.5,
        ) as c:
            response = c.post("/plan", json=request)
    assert response.status_code == 201
    body = response.json()
    failed = {u["customer_id"]: u for u in body["unassigned"] if u["code"] == "geocode_failed"}
    assert set(failed) == {"C-000", "C-001"}
    assert "unavailable" in failed["C-000"]["reason"]
    assert sum(len(d["stops"]) for d in body["days"]) > 0
    assert len(behaviour.paths) == 1
    assert cache_rows(app_settings) == 0


def test_rep_that_cannot_be_geocoded_is_422_with_reason(client: TestClient) -> None:
    """A rep start the geocoder cannot place is the caller's to fix: 422 at its path."""
    request = plan_body()
    request["reps"][0]["start"] = {"address": "Xyzzy Nowhere"}
    response = client.post("/plan", json=request)
    assert response.status_code == 422
    detail = response.json()["error"]["details"][0]
    assert detail["path"] == "reps[0].start"
    assert "not found" in detail["message"]
