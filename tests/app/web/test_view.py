"""The share page's view model, built from stored rows only."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.web.view import build_page, map_data
from tests.models.test_plan_repository import make_plan


@pytest.mark.parametrize(
    ("now", "active", "is_today"),
    [
        (datetime(2026, 12, 8, 2, 0, tzinfo=UTC), date(2026, 12, 8), True),  # 10:00 Shanghai
        (datetime(2026, 12, 8, 17, 0, tzinfo=UTC), date(2026, 12, 9), True),  # the 9th there
        (datetime(2026, 11, 1, tzinfo=UTC), date(2026, 12, 7), False),  # before: first day
        (datetime(2027, 1, 1, tzinfo=UTC), date(2026, 12, 7), False),  # after: first day
    ],
)
def test_today_opens_first_in_the_plans_time_zone(
    now: datetime, active: date, is_today: bool
) -> None:
    """The active tab is today (in the plan's zone) or the next planned day, else the first."""
    page = build_page(make_plan(days=3, stops=2), "en", now)
    assert [d.date for d in page.days] == [date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)]
    chosen = next(d for d in page.days if d.key == page.active_key)
    assert chosen.date == active
    assert chosen.is_today is is_today
    assert sum(d.is_today for d in page.days) == int(is_today)


def test_stops_carry_address_local_times_and_map_points() -> None:
    """Stops show request addresses, local HH:MM times, and feed the map in visiting order."""
    plan = make_plan(days=1, stops=2)
    plan.request = {"customers": [{"id": "C-001", "address": "浦东 1 号"}], "reps": []}
    page = build_page(plan, "zh", datetime(2026, 12, 7, tzinfo=UTC))
    day = page.days[0]
    by_id = {s.customer_id: s for s in day.stops}
    assert by_id["C-001"].address == "浦东 1 号"
    assert by_id["C-000"].address is None
    assert (by_id["C-000"].start, by_id["C-001"].start) == ("09:00", "10:00")
    assert [p[2] for p in map_data(page)[day.key]["stops"]] == [1, 2]
    assert day.label == "12月7日 周一"


def test_road_geometry_feeds_the_map_when_stored() -> None:
    """A stored OSRM polyline reaches the map as points; without one (or damaged) it is None."""
    plan = make_plan(days=2, stops=2)
    good, damaged = plan.days
    good.geometry = "_p~iF~ps|U_ulLnnqC_mqNvxq`@"
    damaged.geometry = "_p~iF~ps|U_ulL"  # truncated: straight segments instead
    page = build_page(plan, "en", datetime(2026, 12, 7, tzinfo=UTC))
    data = map_data(page)
    routes = {d.date: data[d.key]["route"] for d in page.days}
    assert routes[good.date] == [[38.5, -120.2], [40.7, -120.95], [43.252, -126.453]]
    assert routes[damaged.date] is None
