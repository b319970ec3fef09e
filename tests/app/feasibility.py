"""Feasibility of a rendered plan against the request that made it, as properties.

Shared by the API tests: every check reads only the JSON a client sees.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def instant(value: str) -> datetime:
    """An ISO-8601 string with offset as an aware datetime."""
    return datetime.fromisoformat(value)


def assert_plan_feasible(body: dict[str, Any], request: dict[str, Any]) -> None:
    """The plan's own figures are consistent and respect the request's hours and pins."""
    zone = ZoneInfo(request["timezone"])
    reps = {r["id"]: r for r in request["reps"]}
    customers = {c["id"]: c for c in request["customers"]}
    seen: set[str] = set()
    for day in body["days"]:
        rep = reps[day["rep_id"]]
        depart, ret = instant(day["depart"]), instant(day["return"])
        local = depart.replace(tzinfo=None)
        assert depart.utcoffset() == zone.utcoffset(local)
        assert depart.strftime("%H:%M") >= rep.get("work_start", "09:00")
        assert ret.strftime("%H:%M") <= rep.get("work_end", "18:00")
        assert ret.date() == depart.date() == date.fromisoformat(day["date"])
        assert len(day["stops"]) == day["visits"]
        if rep.get("max_visits_per_day"):
            assert day["visits"] <= rep["max_visits_per_day"]
        previous_end = depart
        for stop in day["stops"]:
            cid = stop["customer_id"]
            assert cid not in seen, f"{cid} visited twice"
            seen.add(cid)
            arrival, start, end = (
                instant(stop["arrival"]),
                instant(stop["start"]),
                instant(stop["end"]),
            )
            leg = timedelta(minutes=stop["travel_minutes"])
            assert arrival >= previous_end + leg - timedelta(seconds=1)
            assert start >= arrival
            assert end > start
            c = customers[cid]
            if c.get("date"):
                assert day["date"] == c["date"]
            if c.get("rep_id"):
                assert day["rep_id"] == c["rep_id"]
            if c.get("opening_hours") is not None:
                hours = c["opening_hours"].get(WEEKDAYS[start.weekday()], [])
                a, b = start.strftime("%H:%M"), end.strftime("%H:%M")
                b = "24:00" if b == "00:00" and end.date() > start.date() else b
                assert any(o <= a and b <= c_ for o, c_ in hours), (cid, a, b, hours)
            if c.get("time_windows"):
                assert any(
                    instant(w["start"]) <= start and end <= instant(w["end"])
                    for w in c["time_windows"]
                )
            previous_end = end
        if day["lunch"]:
            lunch_start, lunch_end = instant(day["lunch"]["start"]), instant(day["lunch"]["end"])
            assert lunch_start.strftime("%H:%M") >= rep["lunch"]["earliest"]
            assert lunch_end.strftime("%H:%M") <= rep["lunch"]["latest"]
            for stop in day["stops"]:
                assert instant(stop["end"]) <= lunch_start or instant(stop["start"]) >= lunch_end
        legs = sum(s["travel_minutes"] for s in day["stops"]) + day["return_travel_minutes"]
        assert legs == pytest.approx(day["drive_minutes"], abs=0.02 * (len(day["stops"]) + 1))
    unassigned = {u["customer_id"] for u in body["unassigned"]}
    assert not seen & unassigned
    assert seen | unassigned == set(customers)
