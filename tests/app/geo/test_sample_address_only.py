"""The address-only sample: every customer is placed offline at its district and planned."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from app.sample import build_sample_request
from app.sample.__main__ import main
from app.sample.address_only import address_only, chinese_address


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def test_chinese_address_names_city_district_and_street() -> None:
    """The English district prefix becomes its Chinese name before the street part."""
    assert chinese_address("Pudong, 1278 Keyuan Rd (科苑路1278号)") == "上海市浦东新区科苑路1278号"


def test_address_only_sample_plans_at_district_precision(client: TestClient) -> None:
    """No customer is geocode_failed; the plan warns they are district-precise, and each
    planned stop lies within 20 km of the customer's true position (its district)."""
    full = build_sample_request(date(2026, 12, 7))
    truth = {c["id"]: (c["lat"], c["lon"]) for c in full["customers"]}
    request = address_only(full)
    request["options"] = {**request.get("options", {}), "solution_limit": 50}
    assert all("lat" not in c for c in request["customers"])
    body = client.post("/plan", json=request).json()
    assert not [u for u in body["unassigned"] if u["code"] == "geocode_failed"]
    assert any("district precision" in w for w in body["warnings"])
    stops = [s for d in body["days"] for s in d["stops"]]
    assert stops
    for stop in stops:
        assert km((stop["lat"], stop["lon"]), truth[stop["customer_id"]]) < 20


def test_cli_flag_writes_the_address_only_request(tmp_path: Path) -> None:
    """`python -m app.sample --address-only` writes customers without coordinates."""
    out = tmp_path / "req.json"
    assert main(["--address-only", "--start", "2026-12-07", "--out", str(out)]) == 0
    customers = json.loads(out.read_text(encoding="utf-8"))["customers"]
    assert all("lat" not in c and c["address"].startswith("上海市") for c in customers)
