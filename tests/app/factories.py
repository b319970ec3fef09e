"""Request bodies shared by the API tests."""

from __future__ import annotations

from typing import Any

START = "2026-12-07"  # a Monday


def _customer(i: int, lat: float, lon: float, **extra: Any) -> dict[str, Any]:
    return {"id": f"C-{i:03d}", "name": f"Customer {i}", "lat": lat, "lon": lon, **extra}


def plan_body(**options: Any) -> dict[str, Any]:
    """A small week for two reps in Shanghai; solution_limit keeps it fast and repeatable."""
    customers = []
    for i in range(12):
        lat = 31.20 + 0.01 * (i % 4) + (0.08 if i >= 6 else 0.0)
        lon = 121.45 + 0.012 * (i // 4)
        customers.append(_customer(i, lat, lon, segment=("prospect", "ordered")[i % 2]))
    customers[3]["opening_hours"] = {"mon": [["09:00", "12:00"], ["14:00", "17:30"]]}
    customers[4]["time_windows"] = [
        {"start": "2026-12-08T10:00:00+08:00", "end": "2026-12-08T11:30:00+08:00"}
    ]
    customers[5]["date"] = "2026-12-09"
    customers[6]["rep_id"] = "rep-2"
    return {
        "timezone": "Asia/Shanghai",
        "horizon": {"start_date": START, "days": 3},
        "reps": [
            {
                "id": "rep-1",
                "name": "Wang Fang",
                "start": {"lat": 31.2304, "lon": 121.4737},
                "work_start": "09:00",
                "work_end": "18:00",
                "lunch": {"earliest": "11:30", "latest": "13:30", "minutes": 60},
                "max_visits_per_day": 4,
                "hourly_value": 300,
                "currency": "CNY",
            },
            {
                "id": "rep-2",
                "start": {"lat": 31.25, "lon": 121.50},
                "end": {"lat": 31.22, "lon": 121.44},
                "hourly_value": 300,
            },
        ],
        "customers": customers,
        "options": {"time_limit_seconds": 5, "solution_limit": 60, **options},
    }
