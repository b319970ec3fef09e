"""Request -> solver input: wall-clock rules, windows, pins and pre-solve rejections."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.config import Settings
from app.plans.mapping import customer_windows, merge, seconds_of_day, to_planning_input
from app.plans.schemas import Customer, PlanRequest
from solver.domain import Code
from solver.types import DAY, Window
from tests.app.factories import plan_body

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYS = [date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 9)]


def _customer(**fields: Any) -> Customer:
    return Customer.model_validate({"id": "C", "lat": 31.2, "lon": 121.4, **fields})


def test_seconds_of_day_accepts_midnight_close() -> None:
    """'24:00' is the end of the day, so shops open until midnight can be expressed."""
    assert seconds_of_day("09:30") == 9 * 3600 + 30 * 60
    assert seconds_of_day("24:00") == DAY


def test_merge_joins_overlapping_and_touching_windows() -> None:
    """Overlapping or touching windows become one; the solver needs disjoint intervals."""
    merged = merge([Window(50, 60), Window(0, 10), Window(10, 20), Window(15, 30)])
    assert merged == (Window(0, 30), Window(50, 60))


def test_opening_hours_become_windows_on_matching_weekdays_only() -> None:
    """Weekly hours apply on horizon days of that weekday (Mon 2026-12-07 is day 0)."""
    c = _customer(opening_hours={"mon": [["09:00", "12:00"], ["14:00", "17:30"]]})
    windows = customer_windows(c, DAYS, DAYS[0], SHANGHAI)
    assert windows == (Window(9 * 3600, 12 * 3600), Window(14 * 3600, 17 * 3600 + 1800))


def test_time_windows_convert_from_any_offset_to_local_axis() -> None:
    """An instant given in UTC lands at the right local time on the right horizon day."""
    c = _customer(time_windows=[{"start": "2026-12-08T02:00:00Z", "end": "2026-12-08T03:30:00Z"}])
    windows = customer_windows(c, DAYS, DAYS[0], SHANGHAI)
    assert windows == (Window(DAY + 10 * 3600, DAY + 11 * 3600 + 1800),)


def test_both_kinds_of_window_intersect() -> None:
    """Opening hours AND time windows: the visit must fit where both allow it."""
    c = _customer(
        opening_hours={"tue": [["09:00", "12:00"]]},
        time_windows=[{"start": "2026-12-08T11:00:00+08:00", "end": "2026-12-08T15:00:00+08:00"}],
    )
    assert customer_windows(c, DAYS, DAYS[0], SHANGHAI) == (
        Window(DAY + 11 * 3600, DAY + 12 * 3600),
    )


def test_sub_second_window_does_not_collapse() -> None:
    """A window shorter than a second rounds outwards instead of crashing the mapping."""
    c = _customer(
        time_windows=[
            {"start": "2026-12-07T10:00:00.200+08:00", "end": "2026-12-07T10:00:00.700+08:00"}
        ]
    )
    (window,) = customer_windows(c, DAYS, DAYS[0], SHANGHAI) or ()
    assert window.length == 1


def _rejections(body: dict[str, Any]) -> dict[str, Code]:
    req = PlanRequest.model_validate(body)
    mapped = to_planning_input(req, Settings())
    return {req.customers[r.index].id: r.code for r in mapped.rejected}


def test_rejections_before_solving_carry_the_contract_codes() -> None:
    """Pinned to a non-working day, open only on Saturday, or never meeting its windows."""
    body = plan_body()
    body["customers"][0]["date"] = "2026-12-12"
    body["customers"][1]["opening_hours"] = {"sat": [["09:00", "12:00"]]}
    body["customers"][2]["opening_hours"] = {"mon": [["09:00", "10:00"]]}
    body["customers"][2]["time_windows"] = [
        {"start": "2026-12-08T09:00:00+08:00", "end": "2026-12-08T10:00:00+08:00"}
    ]
    codes = _rejections(body)
    assert codes == {
        "C-000": Code.OUTSIDE_HORIZON,
        "C-001": Code.NO_TIME_WINDOW_FITS,
        "C-002": Code.NO_TIME_WINDOW_FITS,
    }


def test_pins_and_segment_defaults_reach_the_solver() -> None:
    """Date and rep pins become indices; missing visit length comes from the segment."""
    body = plan_body()
    req = PlanRequest.model_validate(body)
    mapped = to_planning_input(req, Settings())
    by_id = {c.id: c for c in mapped.planning.customers}
    assert by_id["C-005"].day == 2
    assert by_id["C-006"].rep == 1
    assert by_id["C-000"].duration == 45 * 60  # prospect default


def test_to_datetime_keeps_local_wall_clock() -> None:
    """Horizon seconds map back to the plan's local time with the zone's offset."""
    req = PlanRequest.model_validate(plan_body())
    mapped = to_planning_input(req, Settings())
    assert mapped.to_datetime(DAY + 9 * 3600) == datetime(2026, 12, 8, 9, 0, tzinfo=SHANGHAI)
