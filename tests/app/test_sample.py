"""The bundled demo data and the POST /plan request built from it."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.plans.schemas import PlanRequest
from app.sample import (
    build_sample_request,
    load_sample_customers,
    next_monday,
    parse_opening_hours,
)
from app.sample.__main__ import main

PEOPLES_SQUARE = (31.2304, 121.4737)
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _km_from_peoples_square(lat: float, lon: float) -> float:
    lat0, lon0 = map(math.radians, PEOPLES_SQUARE)
    lat1, lon1 = math.radians(lat), math.radians(lon)
    h = (
        math.sin((lat1 - lat0) / 2) ** 2
        + math.cos(lat0) * math.cos(lat1) * math.sin((lon1 - lon0) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def customers() -> list[dict[str, Any]]:
    """The customers as loaded from the packaged CSV."""
    return load_sample_customers()


def test_forty_customers_with_unique_ids(customers: list[dict[str, Any]]) -> None:
    """The CSV holds exactly 40 customers and no id repeats."""
    ids = [c["id"] for c in customers]
    assert len(ids) == 40
    assert len(set(ids)) == 40


def test_coordinates_within_30_km_of_peoples_square(customers: list[dict[str, Any]]) -> None:
    """Every customer lies in Shanghai, within 30 km of People's Square."""
    far = {
        c["id"]: round(_km_from_peoples_square(c["lat"], c["lon"]), 1)
        for c in customers
        if _km_from_peoples_square(c["lat"], c["lon"]) > 30
    }
    assert far == {}


def test_every_segment_present(customers: list[dict[str, Any]]) -> None:
    """Each segment appears several times, so segment defaults and purposes all show."""
    counts = Counter(c["segment"] for c in customers)
    assert set(counts) == {"prospect", "maintaining", "ordered"}
    assert min(counts.values()) >= 3


def test_areas_are_grouped(customers: list[dict[str, Any]]) -> None:
    """Customers cluster in a few areas of several customers each, so grouping is visible."""
    counts = Counter(c["area"] for c in customers)
    assert 4 <= len(counts) <= 10
    assert min(counts.values()) >= 3


def test_mix_of_flags_and_defaults(customers: list[dict[str, Any]]) -> None:
    """Some customers are must-visit, some rely on segment defaults, some have no hours."""
    assert 2 <= sum(c["must_visit"] for c in customers) <= 5
    assert any("visit_minutes" not in c for c in customers)
    assert any("priority" not in c for c in customers)
    assert any("opening_hours" not in c for c in customers)


def test_opening_hours_of_every_row_parse_to_valid_intervals(
    customers: list[dict[str, Any]],
) -> None:
    """Every parsed opening-hours entry is a sorted list of non-empty HH:MM intervals."""
    for customer in customers:
        for day, intervals in customer.get("opening_hours", {}).items():
            assert day in {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
            assert intervals == sorted(intervals)
            for opens, closes in intervals:
                assert len(opens) == len(closes) == 5
                assert opens < closes, customer["id"]


def test_morning_only_and_afternoon_only_hours_exist(customers: list[dict[str, Any]]) -> None:
    """The data has customers open only in the morning and only in the afternoon."""
    weekly = [c["opening_hours"] for c in customers if "opening_hours" in c]
    mondays = [w["mon"] for w in weekly if "mon" in w]
    assert any(all(closes <= "12:00" for _, closes in day) for day in mondays)
    assert any(all(opens >= "13:00" for opens, _ in day) for day in mondays)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        (
            "mon-fri 09:00-12:00,14:00-17:30",
            {day: [["09:00", "12:00"], ["14:00", "17:30"]] for day in WORKDAYS},
        ),
        (
            "tue 14:00-17:00; thu 14:00-17:00",
            {"tue": [["14:00", "17:00"]], "thu": [["14:00", "17:00"]]},
        ),
        (
            "sat 10:00-12:00; mon 08:00-09:00",
            {"mon": [["08:00", "09:00"]], "sat": [["10:00", "12:00"]]},
        ),
    ],
)
def test_parse_opening_hours(text: str, expected: dict[str, list[list[str]]]) -> None:
    """Day ranges expand to each day, several rules merge, days come out in week order."""
    result = parse_opening_hours(text)
    assert result == expected
    assert list(result) == list(expected)


@pytest.mark.parametrize(
    "text",
    [
        "mon-fri",
        "mon-fri 9:00-12:00",
        "fri-mon 09:00-12:00",
        "xyz 09:00-12:00",
        "mon 12:00-09:00",
        "mon 09:00-12:00,11:00-13:00",
        "mon 24:00-25:00",
    ],
)
def test_parse_opening_hours_rejects_bad_text(text: str) -> None:
    """Malformed days, times, reversed or overlapping intervals raise ValueError."""
    with pytest.raises(ValueError, match=r"."):
        parse_opening_hours(text)


@pytest.mark.parametrize("offset", range(14))
def test_next_monday_is_the_first_monday_strictly_after_today(offset: int) -> None:
    """next_monday gives a Monday 1 to 7 days ahead; on a Monday it is the following one."""
    today = date(2026, 11, 30) + timedelta(days=offset)  # 2026-11-30 is a Monday
    result = next_monday(today)
    assert result.weekday() == 0
    assert 1 <= (result - today).days <= 7


def test_build_sample_request_shape() -> None:
    """The request has the API's top-level shape, two reps, 40 customers and a 5 s limit."""
    request = build_sample_request(date(2026, 12, 7))
    assert request["timezone"] == "Asia/Shanghai"
    assert request["horizon"] == {
        "start_date": "2026-12-07",
        "days": 5,
        "weekdays": ["mon", "tue", "wed", "thu", "fri"],
    }
    assert [rep["id"] for rep in request["reps"]] == ["rep-1", "rep-2"]
    for rep in request["reps"]:
        assert (rep["work_start"], rep["work_end"]) == ("09:00", "18:00")
        assert rep["lunch"] == {"earliest": "11:30", "latest": "13:30", "minutes": 60}
        assert rep["max_visits_per_day"] == 8
        assert (rep["hourly_value"], rep["currency"]) == (300, "CNY")
    assert len(request["customers"]) == 40
    assert all(c["area"] for c in request["customers"])
    assert request["options"] == {"time_limit_seconds": 5}


def test_cli_writes_json_to_out(tmp_path: Path) -> None:
    """`python -m app.sample --start ... --out ...` writes the same request as UTF-8 JSON."""
    out = tmp_path / "nested" / "request.json"
    assert main(["--start", "2026-12-07", "--out", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == build_sample_request(date(2026, 12, 7))


def test_sample_request_is_a_valid_plan_request() -> None:
    """The API's own request model accepts the sample without changing a customer."""
    request = build_sample_request(date(2026, 12, 7))
    parsed = PlanRequest.model_validate(request)
    assert [c.id for c in parsed.customers] == [c["id"] for c in request["customers"]]
    assert parsed.options.time_limit_seconds == 5
