"""/territories: territories, reps and customer pools over HTTP, on both database backends."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.app.territories.conftest import KeyMaker, territory_body


def paths(response: Any) -> list[str]:
    return [d["path"] for d in response.json()["error"]["details"]]


def test_territory_crud_never_shows_the_webhook_secret(admin: TestClient) -> None:
    """Create, read, list, patch and delete; the secret is write-only, counts follow the pool."""
    body = territory_body(
        weekdays=["fri", "MON"],
        currency="CNY",
        options={"travel": "osrm", "time_limit_seconds": 5, "async": True},
        cadence_days={"ordered": 28},
        webhook_url="https://hooks.example.com/vp",
        webhook_secret="s" * 32,
    )
    created = admin.post("/territories", json=body)
    assert created.status_code == 201, created.text
    t = created.json()
    assert "webhook_secret" not in t
    assert "s" * 32 not in created.text
    assert t["webhook_secret_set"] is True
    assert t["weekdays"] == ["mon", "fri"]
    assert t["options"] == {"travel": "osrm", "time_limit_seconds": 5.0}  # async dropped
    assert (t["rep_count"], t["customer_count"]) == (0, 0)

    tid = t["id"]
    admin.post(f"/territories/{tid}/customers", json=[{"id": "C-1"}, {"id": "C-2"}])
    got = admin.get(f"/territories/{tid}").json()
    assert got["customer_count"] == 2
    assert [x["id"] for x in admin.get("/territories").json()["items"]] == [tid]

    patched = admin.patch(f"/territories/{tid}", json={"horizon_days": 3, "webhook_secret": None})
    assert patched.status_code == 422  # the webhook would go unsigned
    assert paths(patched) == ["webhook_secret"]
    removed = {"horizon_days": 3, "webhook_url": None, "webhook_secret": None}
    patched = admin.patch(f"/territories/{tid}", json=removed)
    assert patched.status_code == 200, patched.text
    assert patched.json()["horizon_days"] == 3
    assert patched.json()["webhook_url"] is None
    assert patched.json()["webhook_secret_set"] is False
    assert patched.json()["cadence_days"] == {"ordered": 28}  # untouched by the patch

    assert admin.delete(f"/territories/{tid}").status_code == 204
    assert admin.get(f"/territories/{tid}").status_code == 404
    assert admin.get(f"/territories/{tid}/customers").status_code == 404


def test_webhook_url_without_secret_is_refused(admin: TestClient) -> None:
    """Webhooks are always signed: a URL without a secret is a 422 at ``webhook_secret``,
    on create and on a patch that would leave the stored URL unsigned; with one it is fine."""
    url = "https://hooks.example.com/vp"
    refused = admin.post("/territories", json=territory_body(webhook_url=url))
    assert refused.status_code == 422
    assert paths(refused) == ["webhook_secret"]
    assert "required" in refused.json()["error"]["details"][0]["message"]
    tid = admin.post("/territories", json=territory_body()).json()["id"]
    unsigned = admin.patch(f"/territories/{tid}", json={"webhook_url": url})
    assert unsigned.status_code == 422
    assert paths(unsigned) == ["webhook_secret"]
    assert admin.get(f"/territories/{tid}").json()["webhook_url"] is None
    signed = admin.patch(
        f"/territories/{tid}", json={"webhook_url": url, "webhook_secret": "k" * 16}
    )
    assert signed.status_code == 200, signed.text
    assert (signed.json()["webhook_url"], signed.json()["webhook_secret_set"]) == (url, True)


def test_duplicate_territory_name_is_409_conflict(admin: TestClient) -> None:
    """A second territory with a taken name, or a rename onto one, answers 409 ``conflict``."""
    assert admin.post("/territories", json=territory_body()).status_code == 201
    again = admin.post("/territories", json=territory_body())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    other = admin.post("/territories", json=territory_body(name="West")).json()["id"]
    rename = admin.patch(f"/territories/{other}", json={"name": "Shanghai East"})
    assert rename.status_code == 409
    assert paths(rename) == ["name"]


def test_invalid_territory_lists_every_problem_at_its_path(admin: TestClient) -> None:
    """Unknown zone, bad weekday, unknown segment, short secret: one 422 with all four paths."""
    response = admin.post(
        "/territories",
        json=territory_body(
            timezone="Mars/Olympus",
            weekdays=["mon", "funday"],
            cadence_days={"vip": 3},
            webhook_secret="short",
        ),
    )
    assert response.status_code == 422
    found = paths(response)
    assert "timezone" in found
    assert "weekdays[1]" in found
    assert any(p.startswith("cadence_days") for p in found)
    assert "webhook_secret" in found
    patched = admin.post("/territories", json=territory_body()).json()["id"]
    bad = admin.patch(f"/territories/{patched}", json={"horizon_days": 0})
    assert bad.status_code == 422
    assert paths(bad) == ["horizon_days"]


def test_writes_need_the_territory_scope(
    territory_settings: Settings, make_key: KeyMaker, admin: TestClient, territory_id: str
) -> None:
    """A plan key may read territories but not write them (403); no key at all is 401."""
    with TestClient(create_app(territory_settings)) as client:
        assert client.get("/territories").status_code == 401
        client.headers["Authorization"] = f"Bearer {make_key('plan')}"
        assert client.get(f"/territories/{territory_id}").status_code == 200
        refused = client.post("/territories", json=territory_body(name="Other"))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
        url = f"/territories/{territory_id}/customers"
        assert client.post(url, json={"id": "C-1"}).status_code == 403
        assert client.delete(f"/territories/{territory_id}").status_code == 403
    assert admin.get(f"/territories/{territory_id}/customers").json()["total"] == 0


def test_unknown_ids_are_404(admin: TestClient, territory_id: str) -> None:
    """Unknown territory, rep or customer: 404 in the contract's shape."""
    for url in (
        "/territories/nope",
        "/territories/nope/reps",
        f"/territories/{territory_id}/reps/nobody",
        f"/territories/{territory_id}/customers/C-404",
    ):
        response = admin.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    assert admin.patch(f"/territories/{territory_id}/customers/C-404", json={}).status_code == 404
    assert admin.delete(f"/territories/{territory_id}/reps/nobody").status_code == 404


def test_rep_upsert_put_and_patch(admin: TestClient, territory_id: str) -> None:
    """POST upserts by id (201 then 200), PUT replaces whole, PATCH merges then validates."""
    url = f"/territories/{territory_id}/reps"
    rep = {
        "id": "rep-2",
        "start": {"address": "Xujiahui"},
        "work_start": "8:30",
        "lunch": {"earliest": "11:30", "latest": "13:30", "minutes": 45},
        "hourly_value": 250,
    }
    assert admin.post(url, json=rep).status_code == 201
    again = admin.post(url, json={"id": "rep-2", "max_visits_per_day": 6})
    assert again.status_code == 200
    merged = again.json()
    assert merged["work_start"] == "08:30"  # kept, and in the request's HH:MM form
    assert merged["max_visits_per_day"] == 6
    assert merged["lunch"]["minutes"] == 45

    report = admin.post(url, json=[rep, {"id": "rep-3", "start": {"lat": 31.0, "lon": 121}}])
    assert report.json() == {"created": 1, "updated": 0, "unchanged": 1, "errors": []}

    bad = admin.patch(f"{url}/rep-2", json={"work_end": "08:00"})
    assert bad.status_code == 422
    assert paths(bad) == ["work_end"]
    assert admin.patch(f"{url}/rep-2", json={"id": "rep-9"}).status_code == 422

    replaced = admin.put(f"{url}/rep-2", json={"start": {"lat": 31.2, "lon": 121.4}})
    assert replaced.status_code == 200
    assert replaced.json()["lunch"] is None
    assert replaced.json()["work_start"] == "09:00"
    assert admin.put(f"{url}/rep-4", json={"start": {"address": "x"}}).status_code == 201
    ids = [r["id"] for r in admin.get(url).json()["items"]]
    assert ids == ["rep-1", "rep-2", "rep-3", "rep-4"]


def test_customer_batch_is_all_or_nothing_with_paths(admin: TestClient, territory_id: str) -> None:
    """One bad customer in a list refuses the list: 422 with [i].field paths, nothing saved."""
    url = f"/territories/{territory_id}/customers"
    batch = [
        {"id": "C-1", "lat": 31.2, "lon": 121.5},
        {"id": "C-2", "lat": 31.2},
        {"id": "C-3", "segment": "vip", "rep_id": "rep-1"},
        {"id": "C-4", "rep_id": "ghost"},
        {"id": "C-1"},
        {"id": "C-5", "opening_hours": {"mon": [["12:00", "09:00"]]}},
    ]
    response = admin.post(url, json=batch)
    assert response.status_code == 422
    found = paths(response)
    assert {"[1].lon", "[2].segment", "[3].rep_id", "[4].id"} <= set(found)
    assert any(p.startswith("[5].opening_hours") for p in found)
    assert admin.get(url).json()["total"] == 0
    single = admin.post(url, json={"id": "C-1", "lat": "31.2", "lon": 121})
    assert single.status_code == 422
    assert paths(single) == ["lat"]  # strings are not coordinates, as in POST /plan


def test_customer_merge_null_resets_and_filters(admin: TestClient, territory_id: str) -> None:
    """Upserts merge, null resets a field, and the list filters and pages by id."""
    url = f"/territories/{territory_id}/customers"
    customers = [
        {"id": f"C-{i:02d}", "segment": "ordered" if i % 2 else "prospect", "lat": 31.0, "lon": 121}
        for i in range(1, 8)
    ]
    customers[0].update(rep_id="rep-1", must_visit=True, area="Pudong", cadence_days=14)
    assert admin.post(url, json=customers).json()["created"] == 7

    patched = admin.patch(f"{url}/C-01", json={"lat": 31.5, "lon": 121.6, "must_visit": None})
    body = patched.json()
    assert (body["lat"], body["must_visit"], body["area"], body["cadence_days"]) == (
        31.5,
        False,
        "Pudong",
        14,
    )
    page = admin.get(url, params={"segment": "ordered", "limit": 2, "offset": 1}).json()
    assert page["total"] == 4
    assert [c["id"] for c in page["items"]] == ["C-03", "C-05"]
    mine = admin.get(url, params={"rep_id": "rep-1"}).json()
    assert [c["id"] for c in mine["items"]] == ["C-01"]
    assert admin.get(url, params={"limit": 0}).status_code == 422
    # Found by bench/fuzz_bench.py: an offset past 64 bits was a 500 (OverflowError in SQLite).
    huge = admin.get(url, params={"offset": 2**63})
    assert huge.status_code == 422
    assert [d["path"] for d in huge.json()["error"]["details"]] == ["offset"]
    assert admin.get(url, params={"offset": 2**31 - 1}).json()["items"] == []

    # Deleting the owning rep leaves the customer to the run (unassigned), not deleted.
    assert admin.delete(f"/territories/{territory_id}/reps/rep-1").status_code == 204
    assert admin.get(f"{url}/C-01").json()["rep_id"] is None
    assert admin.delete(f"{url}/C-01").status_code == 204
    assert admin.get(url).json()["total"] == 6


def test_openapi_documents_the_territory_routes(admin: TestClient) -> None:
    """The routes are in the OpenAPI document with their bodies (upserts, import form)."""
    spec = admin.get("/openapi.json").json()
    customers = spec["paths"]["/territories/{territory_id}/customers"]["post"]
    schema = customers["requestBody"]["content"]["application/json"]["schema"]
    assert "segment" in schema["oneOf"][0]["properties"]
    upload = spec["paths"]["/territories/{territory_id}/customers/import"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
