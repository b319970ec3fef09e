"""The ``POST /plan`` schemas: what they accept, and the exact path of everything they refuse."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.config import default_segments
from app.plans.responses import DayOut, PlanOut, SummaryOut, UnassignedOut
from app.plans.schemas import WEEKDAYS, Horizon, Options, PlanRequest
from app.validation import install_validation_handler

Body = dict[str, Any]

# The API.md example, with real addresses in place of "...".
EXAMPLE: Body = {
    "timezone": "Asia/Shanghai",
    "horizon": {
        "start_date": "2026-12-07",
        "days": 5,
        "weekdays": ["mon", "tue", "wed", "thu", "fri"],
    },
    "reps": [
        {
            "id": "rep-1",
            "name": "Wang Fang",
            "start": {"lat": 31.2304, "lon": 121.4737},
            "end": {"address": "1000 Century Avenue, Pudong, Shanghai"},
            "work_start": "09:00",
            "work_end": "18:00",
            "lunch": {"earliest": "11:30", "latest": "13:30", "minutes": 60},
            "max_visits_per_day": 8,
            "hourly_value": 300,
            "currency": "CNY",
        }
    ],
    "customers": [
        {
            "id": "C-001",
            "name": "Acme Trading",
            "address": "88 Cailun Road, Zhangjiang, Pudong, Shanghai",
            "lat": None,
            "lon": None,
            "segment": "prospect",
            "need": "explicit",
            "can_pay": True,
            "decision_maker": True,
            "visit_minutes": 45,
            "priority": 70,
            "must_visit": False,
            "date": None,
            "rep_id": None,
            "opening_hours": {"mon": [["09:00", "12:00"], ["14:00", "17:30"]]},
            "time_windows": [
                {"start": "2026-12-08T10:00:00+08:00", "end": "2026-12-08T11:30:00+08:00"}
            ],
        }
    ],
    "options": {
        "time_limit_seconds": 10,
        "precise_only": False,
        "travel": "straight_line",
        "speed_kmh": 30,
        "detour_factor": 1.3,
        "seed": 0,
        "async": False,
    },
}
SECOND_CUSTOMER: Body = {"id": "C-002", "name": "Beta Ltd", "lat": 31.21, "lon": 121.59}
UNICODE_NAME = "上海贸易有限公司 – Ünïcødé"


def echo_app() -> FastAPI:
    """A throwaway app: one route taking ``PlanRequest``, plus the real 422 handler."""
    app = FastAPI()
    install_validation_handler(app)

    @app.post("/echo")
    def echo(body: PlanRequest) -> dict[str, list[str]]:
        return {"dates": [day.isoformat() for day in body.horizon.dates()]}

    return app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(echo_app()) as test_client:
        yield test_client


def example(**top: Any) -> Body:
    """A deep copy of the example with two customers, top-level keys replaced by ``top``."""
    body = copy.deepcopy(EXAMPLE)
    body["customers"].append(copy.deepcopy(SECOND_CUSTOMER))
    body.update(top)
    return body


def paths(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return [detail["path"] for detail in error["details"]]


def customer(**changes: Any) -> Callable[[Body], None]:
    return lambda body: body["customers"][0].update(changes)


def rep(**changes: Any) -> Callable[[Body], None]:
    return lambda body: body["reps"][0].update(changes)


def section(name: str, **changes: Any) -> Callable[[Body], None]:
    return lambda body: body[name].update(changes)


def explicit_dates(dates: list[str]) -> Callable[[Body], None]:
    return lambda body: body.update(horizon={"dates": dates})


def duplicate_customer(body: Body) -> None:
    body["customers"][1]["id"] = body["customers"][0]["id"]


OPENING = "customers[0].opening_hours"
WINDOW = "customers[0].time_windows[0]"
BAD_INPUTS: list[tuple[str, Callable[[Body], None], str]] = [
    ("lat out of range", customer(lat=91.0, lon=121.0), "customers[0].lat"),
    ("lon out of range", customer(lat=31.0, lon=-180.5), "customers[0].lon"),
    ("lat 'NaN' string", customer(lat="NaN", lon=121.0), "customers[0].lat"),
    ("lat as a string", customer(lat="31.2", lon=121.0), "customers[0].lat"),
    ("lat as a bool", customer(lat=True, lon=121.0), "customers[0].lat"),
    ("lat without lon", customer(lat=31.2), "customers[0].lon"),
    ("lon without lat", customer(lon=121.2), "customers[0].lat"),
    ("rep start lat without lon", rep(start={"lat": 31.2}), "reps[0].start.lon"),
    ("rep location empty", rep(end={}), "reps[0].end"),
    (
        "reversed opening hours",
        customer(opening_hours={"mon": [["12:00", "09:00"]]}),
        f"{OPENING}.mon[0]",
    ),
    (
        "overlapping opening hours",
        customer(opening_hours={"tue": [["09:00", "12:00"], ["11:00", "13:00"]]}),
        f"{OPENING}.tue[1]",
    ),
    (
        "opening time not HH:MM",
        customer(opening_hours={"mon": [["9h", "12:00"]]}),
        f"{OPENING}.mon[0][0]",
    ),
    (
        "unknown weekday in opening hours",
        customer(opening_hours={"funday": [["09:00", "12:00"]]}),
        f"{OPENING}.funday",
    ),
    (
        "reversed time window",
        customer(
            time_windows=[
                {"start": "2026-12-08T11:00:00+08:00", "end": "2026-12-08T10:00:00+08:00"}
            ]
        ),
        f"{WINDOW}.end",
    ),
    (
        "naive time window",
        customer(
            time_windows=[{"start": "2026-12-08T10:00:00", "end": "2026-12-08T11:00:00+08:00"}]
        ),
        f"{WINDOW}.start",
    ),
    (
        "time window as a number",
        customer(time_windows=[{"start": 1796000000, "end": "2026-12-08T11:00:00+08:00"}]),
        f"{WINDOW}.start",
    ),
    (
        "unknown weekday in horizon",
        section("horizon", weekdays=["mon", "tue", "funday"]),
        "horizon.weekdays[2]",
    ),
    ("both horizon forms", section("horizon", dates=["2026-12-07"]), "horizon"),
    ("horizon without days", lambda b: b["horizon"].pop("days"), "horizon.days"),
    ("empty horizon", explicit_dates([]), "horizon"),
    ("duplicate customer ids", duplicate_customer, "customers[1].id"),
    ("unknown rep_id", customer(rep_id="ghost"), "customers[0].rep_id"),
    ("zero reps", lambda b: b.update(reps=[]), "reps"),
    (
        "time_limit_seconds 0",
        section("options", time_limit_seconds=0),
        "options.time_limit_seconds",
    ),
    (
        "time_limit_seconds 99999",
        section("options", time_limit_seconds=99999),
        "options.time_limit_seconds",
    ),
    ("unknown travel model", section("options", travel="teleport"), "options.travel"),
    ("async not a bool", section("options", **{"async": "maybe"}), "options.async"),
    (
        "unknown segment override",
        section("options", segments={"vip": {"priority": 1}}),
        "options.segments.vip",
    ),
    ("10,000-character name", customer(name="x" * 10_000), "customers[0].name"),
    ("unknown timezone", lambda b: b.update(timezone="Mars/Olympus_Mons"), "timezone"),
    ("work_end before work_start", rep(work_start="18:00", work_end="09:00"), "reps[0].work_end"),
    (
        "lunch latest before earliest",
        rep(lunch={"earliest": "13:00", "latest": "12:00", "minutes": 30}),
        "reps[0].lunch.latest",
    ),
    (
        "lunch longer than its window",
        rep(lunch={"earliest": "12:00", "latest": "12:30", "minutes": 45}),
        "reps[0].lunch.minutes",
    ),
    ("currency not ISO", rep(currency="yuan"), "reps[0].currency"),
]


@pytest.mark.parametrize(
    ("mutate", "path"),
    [pytest.param(mutate, path, id=name) for name, mutate, path in BAD_INPUTS],
)
def test_bad_input_is_422_at_its_path(
    client: TestClient, mutate: Callable[[Body], None], path: str
) -> None:
    """Each bad input answers 422 with a detail at exactly the offending field's path."""
    body = example()
    mutate(body)
    assert path in paths(client.post("/echo", json=body))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_lat_is_422(client: TestClient, literal: str) -> None:
    """NaN and infinities (1e999 parses as inf) in a raw JSON body are refused at the field."""
    text = json.dumps(example()).replace('"lat": 31.21', f'"lat": {literal}', 1)
    assert literal in text
    response = client.post("/echo", content=text, headers={"Content-Type": "application/json"})
    assert paths(response) == ["customers[1].lat"]


def test_field_errors_are_all_reported_at_once(client: TestClient) -> None:
    """Independent field errors all come back in one 422, each at its own path."""
    body = example(timezone="Nowhere/Special")
    body["customers"][0].update(lat="31.2", lon=121.0)
    body["customers"][1].update(priority=101)
    body["options"]["time_limit_seconds"] = 0
    response = client.post("/echo", json=body)
    assert set(paths(response)) == {
        "timezone",
        "customers[0].lat",
        "customers[1].priority",
        "options.time_limit_seconds",
    }
    assert response.json()["error"]["message"] == "Request validation failed: 4 problems"


def test_cross_field_errors_are_all_reported_at_once(client: TestClient) -> None:
    """Duplicate ids, unknown rep pins and an empty horizon are reported together."""
    body = example(horizon={"dates": []})
    body["reps"].append(copy.deepcopy(body["reps"][0]))
    body["customers"].append(copy.deepcopy(body["customers"][0]))
    body["customers"][1]["rep_id"] = "ghost"
    assert paths(client.post("/echo", json=body)) == [
        "horizon",
        "reps[1].id",
        "customers[2].id",
        "customers[1].rep_id",
    ]


def test_messages_are_readable(client: TestClient) -> None:
    """Details say what is wrong in plain words and repeat a short bad value."""
    body = example()
    body["customers"][0].update(lat="31.2", lon=121.0)
    duplicate_customer(body)
    details = client.post("/echo", json=body).json()["error"]["details"]
    messages = {detail["path"]: detail["message"] for detail in details}
    assert messages["customers[0].lat"] == 'Input should be a valid number, got "31.2"'
    duplicate = copy.deepcopy(example())
    duplicate_customer(duplicate)
    details = client.post("/echo", json=duplicate).json()["error"]["details"]
    assert details[0]["message"] == "Duplicate customer id 'C-001', first at customers[0]"


def test_api_example_is_accepted(client: TestClient) -> None:
    """The API.md example body is valid and plans Monday to Friday of its week."""
    response = client.post("/echo", json=EXAMPLE)
    assert response.status_code == 200, response.text
    assert response.json() == {"dates": [f"2026-12-{day:02d}" for day in range(7, 12)]}


def test_example_values_are_parsed() -> None:
    """Defaults and parsed values of the example: end, aliases, times and qualification."""
    request = PlanRequest.model_validate(example())
    rep, first, second = request.reps[0], request.customers[0], request.customers[1]
    assert rep.end is not None
    assert rep.end.address is not None
    assert rep.lunch is not None
    assert rep.lunch.earliest == "11:30"
    assert first.opening_hours == {"mon": [("09:00", "12:00"), ("14:00", "17:30")]}
    assert first.time_windows is not None
    assert first.time_windows[0].start.utcoffset() == dt.timedelta(hours=8)
    assert first.precise
    assert not second.precise
    assert second.name == "Beta Ltd"
    assert second.segment == "prospect"
    assert request.options.async_ is False
    assert request.zone.key == "Asia/Shanghai"


def test_unicode_name_is_accepted(client: TestClient) -> None:
    """Names keep any Unicode text unchanged."""
    body = example()
    body["customers"][0]["name"] = UNICODE_NAME
    assert client.post("/echo", json=body).status_code == 200
    assert PlanRequest.model_validate(body).customers[0].name == UNICODE_NAME


def test_defaults_fill_in() -> None:
    """A rep's end defaults to its start, a customer's name to its id, work hours to 9-18."""
    body = example()
    body["reps"][0] = {"id": "r", "start": {"address": "People's Square, Shanghai"}}
    body["customers"][1] = {"id": "C-9", "address": "Somewhere"}
    request = PlanRequest.model_validate(body)
    rep = request.reps[0]
    assert rep.end == rep.start
    assert rep.end_location == rep.start
    assert (rep.work_start, rep.work_end, rep.currency, rep.hourly_value) == (
        "09:00",
        "18:00",
        "CNY",
        0,
    )
    assert request.customers[1].name == "C-9"
    assert request.customers[1].must_visit is False


def test_extra_fields_are_ignored_and_names_lowercased() -> None:
    """Unknown CRM fields are dropped; weekday names are case-insensitive; 24:00 closes a day."""
    body = example()
    body["customers"][0].update(crm_owner="Li Lei", opening_hours={"SAT": [["9:00", "24:00"]]})
    body["horizon"]["weekdays"] = ["Mon", "WED", "mon"]
    request = PlanRequest.model_validate(body)
    assert request.customers[0].opening_hours == {"sat": [("09:00", "24:00")]}
    assert request.horizon.weekdays == ["mon", "wed"]
    assert "crm_owner" not in request.customers[0].model_dump()


def test_weekday_horizon_skips_weekend() -> None:
    """Five working days from Monday 2026-12-07 are Mon..Fri; seven skip Sat and Sun."""
    five = Horizon.model_validate({"start_date": "2026-12-07", "days": 5})
    assert five.dates() == [dt.date(2026, 12, d) for d in (7, 8, 9, 10, 11)]
    seven = Horizon.model_validate({"start_date": "2026-12-07", "days": 7})
    assert seven.dates() == [dt.date(2026, 12, d) for d in (7, 8, 9, 10, 11, 14, 15)]


def test_explicit_dates_are_unique_and_sorted() -> None:
    """An explicit dates list is deduplicated and sorted, whatever the weekdays."""
    horizon = Horizon.model_validate({"dates": ["2026-12-13", "2026-12-07", "2026-12-13"]})
    assert horizon.dates() == [dt.date(2026, 12, 7), dt.date(2026, 12, 13)]


@given(
    start=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
    days=st.integers(min_value=1, max_value=366),
    weekdays=st.sets(st.sampled_from(WEEKDAYS), min_size=1),
)
def test_counted_horizon_properties(start: dt.date, days: int, weekdays: set[str]) -> None:
    """A counted horizon has exactly ``days`` increasing dates from start, all on its weekdays."""
    horizon = Horizon.model_validate(
        {"start_date": start.isoformat(), "days": days, "weekdays": sorted(weekdays)}
    )
    dates = horizon.dates()
    assert len(dates) == days
    assert dates[0] >= start
    assert dates == sorted(set(dates))
    assert all(WEEKDAYS[day.weekday()] in weekdays for day in dates)
    assert (dates[-1] - dates[0]).days < days * 7


def test_segment_overrides_apply_on_top_of_defaults() -> None:
    """Per-request segment overrides change only the fields they name."""
    options = Options.model_validate({"segments": {"ordered": {"visit_minutes": 20}}})
    table = options.segment_table(default_segments())
    assert table["ordered"].visit_minutes == 20
    assert table["ordered"].priority == default_segments()["ordered"].priority
    assert table["prospect"] == default_segments()["prospect"]


def test_async_alias_round_trips() -> None:
    """``async`` is read from and written to the wire under its contract name."""
    options = Options.model_validate({"async": True, "solution_limit": 3})
    assert options.async_ is True
    assert options.model_dump()["async"] is True


TZ = dt.timezone(dt.timedelta(hours=8))


def test_day_out_serialises_return_with_offset() -> None:
    """A day serialises ``return`` under its contract name, times ISO-8601 with offset."""
    day = DayOut(
        rep_id="rep-1",
        date=dt.date(2026, 12, 7),
        depart=dt.datetime(2026, 12, 7, 9, tzinfo=TZ),
        return_=dt.datetime(2026, 12, 7, 17, 40, tzinfo=TZ),
        stops=[],
        drive_minutes=0,
        drive_km=0,
        visit_minutes=0,
        visits=0,
    )
    wire = day.model_dump(mode="json")
    assert wire["return"] == "2026-12-07T17:40:00+08:00"
    assert wire["depart"] == "2026-12-07T09:00:00+08:00"
    assert "return_" not in wire


def test_plan_out_rejects_what_the_contract_does_not_allow() -> None:
    """Response models refuse unknown unassigned codes, naive times and NaN totals."""
    with pytest.raises(ValidationError):
        UnassignedOut(customer_id="C-1", code="bored", reason="?")
    with pytest.raises(ValidationError):
        DayOut.model_validate(
            {
                "rep_id": "r",
                "date": "2026-12-07",
                "depart": "2026-12-07T09:00:00",
                "return": "2026-12-07T17:00:00+08:00",
                "stops": [],
                "drive_minutes": 0,
                "drive_km": 0,
                "visit_minutes": 0,
                "visits": 0,
            }
        )
    required = [name for name, f in SummaryOut.model_fields.items() if f.is_required()]
    summary: dict[str, Any] = dict.fromkeys(required, 0.0) | {"currency": "CNY"}
    summary |= {"visits": 0, "unassigned": 0, "drive_km": float("nan")}
    with pytest.raises(ValidationError):
        SummaryOut.model_validate(summary)
    plan = PlanOut.model_validate(
        {
            "plan_id": "p",
            "status": "complete",
            "share_url": "https://host/s/t",
            "days": [],
            "unassigned": [],
            "summary": summary | {"drive_km": 0.0},
        }
    )
    assert plan.model_dump(mode="json")["warnings"] == []
