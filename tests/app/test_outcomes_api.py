"""Visit outcomes through HTTP on SQLite and PostgreSQL: the API, the share-token POST, the
plan response's ``outcome`` per stop, the share page, and a territory pool's ``last_visit``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session, selectinload

from app.auth import create_api_key
from app.config import Settings
from app.outcomes import repository
from models import Plan, PlanDay, PlanStop, Territory, TerritoryCustomer, VisitOutcome
from tests.app.factories import plan_body
from tests.app.web.shared import token_of

BROWSER = {"Accept": "text/html"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def db(app_settings: Settings) -> Iterator[Session]:
    """A session of the test's own beside the app's, for arranging and checking rows."""
    engine = create_engine(app_settings.database_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _plan(client: TestClient) -> dict[str, Any]:
    response = client.post("/plan", json=plan_body())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _stops(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for d in plan["days"] for s in d["stops"]]


def _day_of(plan: dict[str, Any], customer_id: str) -> str:
    days = [d for d in plan["days"] if any(s["customer_id"] == customer_id for s in d["stops"])]
    return str(days[0]["date"])


def _paths(response: Any) -> list[str]:
    return [d["path"] for d in response.json()["error"]["details"]]


def test_record_list_and_replace(client: TestClient) -> None:
    """A first outcome is 201, a correction 200 replacing it; the list and the plan show it."""
    plan = _plan(client)
    first, second = _stops(plan)[:2]
    url = f"/plans/{plan['plan_id']}/outcomes"
    done = {
        "customer_id": first["customer_id"],
        "status": "done",
        "actual_start": "2026-12-07T10:05:00+08:00",
        "actual_end": "2026-12-07T10:40:00+08:00",
        "note": "ordered 3 boxes",
    }
    created = client.post(url, json=done)
    assert created.status_code == 201, created.text
    assert created.json()["source"] == "api"
    assert created.json()["date"] == _day_of(plan, first["customer_id"])
    assert (
        client.post(
            url, json={"customer_id": second["customer_id"], "status": "no_show"}
        ).status_code
        == 201
    )

    listed = client.get(url).json()
    assert listed["plan_id"] == plan["plan_id"]
    by_customer = {o["customer_id"]: o for o in listed["outcomes"]}
    assert by_customer[first["customer_id"]]["status"] == "done"
    assert by_customer[first["customer_id"]]["note"] == "ordered 3 boxes"
    assert datetime.fromisoformat(by_customer[first["customer_id"]]["actual_end"]) == datetime(
        2026, 12, 7, 2, 40, tzinfo=UTC
    )

    replaced = client.post(url, json={"customer_id": first["customer_id"], "status": "cancelled"})
    assert replaced.status_code == 200
    listed = client.get(url).json()["outcomes"]
    assert len(listed) == 2
    again = next(o for o in listed if o["customer_id"] == first["customer_id"])
    assert again["status"] == "cancelled"
    assert again["actual_start"] is None
    assert again["note"] is None

    stops = _stops(client.get(f"/plans/{plan['plan_id']}").json())
    outcomes: dict[str, Any] = {s["customer_id"]: s["outcome"] for s in stops}
    assert outcomes[first["customer_id"]]["status"] == "cancelled"
    assert outcomes[second["customer_id"]]["status"] == "no_show"
    assert sum(1 for o in outcomes.values() if o is not None) == 2


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"customer_id": "nobody", "status": "done"}, "customer_id"),
        ({"status": "done"}, "customer_id"),
        ({"customer_id": "C-000", "status": "visited"}, "status"),
        (
            {"customer_id": "C-000", "status": "done", "actual_start": "2026-12-07T10:00:00"},
            "actual_start",
        ),
        (
            {
                "customer_id": "C-000",
                "status": "done",
                "actual_start": "2026-12-07T11:00:00+08:00",
                "actual_end": "2026-12-07T10:00:00+08:00",
            },
            "actual_end",
        ),
        (
            {
                "customer_id": "C-000",
                "status": "no_show",
                "actual_start": "2026-12-07T10:00:00+08:00",
            },
            "actual_start",
        ),
        ({"customer_id": "C-000", "status": "done", "colour": "red"}, "colour"),
    ],
)
def test_invalid_outcomes_are_422_at_the_field(
    client: TestClient, body: dict[str, Any], path: str
) -> None:
    """Each bad outcome names its field; nothing is stored."""
    plan = _plan(client)
    assert "C-000" in {s["customer_id"] for s in _stops(plan)}
    response = client.post(f"/plans/{plan['plan_id']}/outcomes", json=body)
    assert response.status_code == 422, response.text
    assert path in _paths(response)
    assert client.get(f"/plans/{plan['plan_id']}/outcomes").json()["outcomes"] == []


def test_unknown_plan_is_404(client: TestClient) -> None:
    """Recording or listing for a plan id that does not exist answers 404."""
    body = {"customer_id": "C-000", "status": "done"}
    assert client.post("/plans/nope/outcomes", json=body).status_code == 404
    assert client.get("/plans/nope/outcomes").status_code == 404


def test_keys_are_required_and_scoped(client: TestClient, db: Session) -> None:
    """No key 401, an unknown key 403, a read key may list but not record."""
    plan = _plan(client)
    url = f"/plans/{plan['plan_id']}/outcomes"
    body = {"customer_id": _stops(plan)[0]["customer_id"], "status": "done"}
    _, read_key = create_api_key(db, "reader", ["read"])
    db.commit()
    anonymous = {"Authorization": ""}
    assert client.post(url, json=body, headers=anonymous).status_code == 401
    assert client.get(url, headers=anonymous).status_code == 401
    assert client.post(url, json=body, headers={"Authorization": "Bearer wrong"}).status_code == 403
    reader = {"Authorization": f"Bearer {read_key}"}
    assert client.post(url, json=body, headers=reader).status_code == 403
    assert client.get(url, headers=reader).status_code == 200
    assert client.get(url).json()["outcomes"] == []


def test_share_token_records_and_the_page_shows_it(client: TestClient) -> None:
    """A JSON POST to /s/{token}/outcomes records with source 'share'; the (cached) page
    then renders the stop as done."""
    plan = _plan(client)
    token = token_of(plan["share_url"])
    stop = _stops(plan)[0]
    before = client.get(f"/s/{token}", headers=BROWSER)
    assert before.status_code == 200
    assert 'class="stop outcome-done"' not in before.text
    assert "connect-src 'self'" in before.headers["content-security-policy"]

    response = client.post(
        f"/s/{token}/outcomes",
        json={"customer_id": stop["customer_id"], "status": "done"},
        headers={"Authorization": ""},
    )
    assert response.status_code == 201, response.text
    assert response.json()["source"] == "share"
    listed = client.get(f"/plans/{plan['plan_id']}/outcomes").json()["outcomes"]
    assert [(o["customer_id"], o["status"], o["source"]) for o in listed] == [
        (stop["customer_id"], "done", "share")
    ]
    after = client.get(f"/s/{token}", headers=BROWSER).text
    assert f'<li class="stop outcome-done" data-customer="{stop["customer_id"]}">' in after
    zh = client.get(f"/s/{token}?lang=zh", headers=BROWSER).text
    assert "已完成" in zh


def test_share_post_refusals(client: TestClient) -> None:
    """Unknown token 404, wrong customer 422, a form body 415, a revoked link 410."""
    plan = _plan(client)
    token = token_of(plan["share_url"])
    body = {"customer_id": _stops(plan)[0]["customer_id"], "status": "no_show"}
    assert client.post("/s/not-a-token/outcomes", json=body).status_code == 404
    wrong = client.post(f"/s/{token}/outcomes", json={"customer_id": "C-999", "status": "done"})
    assert wrong.status_code == 422
    assert _paths(wrong) == ["customer_id"]
    form = client.post(f"/s/{token}/outcomes", data=body)
    assert form.status_code == 415
    assert form.json()["error"]["code"] == "unsupported_media_type"
    assert client.delete(f"/shares/{token}").status_code == 204
    gone = client.post(f"/s/{token}/outcomes", json=body)
    assert gone.status_code == 410
    assert client.get(f"/plans/{plan['plan_id']}/outcomes").json()["outcomes"] == []


def _territory_plan(
    client: TestClient, db: Session, last_visits: dict[str, date | None]
) -> dict[str, Any]:
    """A plan marked as made by a territory run, with pool rows for ``last_visits``' customers."""
    plan = _plan(client)
    db.add(Territory(id="t-east", name="East", timezone="Asia/Shanghai"))
    db.flush()
    for customer_id, last in last_visits.items():
        db.add(
            TerritoryCustomer(
                territory_id="t-east",
                external_id=customer_id,
                name=customer_id,
                segment="ordered",
                last_visit=last,
            )
        )
    db.execute(update(Plan).where(Plan.id == plan["plan_id"]).values(territory_id="t-east"))
    db.commit()
    return plan


def _last_visit(db: Session, customer_id: str) -> date | None:
    db.expire_all()
    return db.scalars(
        select(TerritoryCustomer.last_visit).where(TerritoryCustomer.external_id == customer_id)
    ).one()


def test_done_moves_the_pool_last_visit_forward_only(client: TestClient, db: Session) -> None:
    """done sets last_visit to the visit's day (actual start, else the planned day capped at
    today); an earlier done or a correction to no_show never moves it back."""
    probe = _plan(client)
    a, b, c = (s["customer_id"] for s in _stops(probe)[:3])
    plan = _territory_plan(client, db, {a: date(2026, 1, 5), b: None, c: date(2030, 1, 1)})
    url = f"/plans/{plan['plan_id']}/outcomes"

    def record(customer: str, status: str, start: str | None = None) -> None:
        body: dict[str, Any] = {"customer_id": customer, "status": status}
        if start:
            body["actual_start"] = start
        assert client.post(url, json=body).status_code in (200, 201)

    record(a, "done", "2026-11-20T23:30:00+08:00")  # 15:30 UTC: Shanghai's day counts
    assert _last_visit(db, a) == date(2026, 11, 20)
    record(a, "done", "2026-11-10T10:00:00+08:00")
    assert _last_visit(db, a) == date(2026, 11, 20)
    record(a, "no_show")
    assert _last_visit(db, a) == date(2026, 11, 20)

    record(b, "no_show")
    assert _last_visit(db, b) is None
    record(b, "done")
    today = datetime.now(SHANGHAI).date()
    assert _last_visit(db, b) == min(date.fromisoformat(_day_of(plan, b)), today)

    record(c, "done")
    assert _last_visit(db, c) == date(2030, 1, 1)


def test_plan_without_territory_touches_no_pool(client: TestClient, db: Session) -> None:
    """A pool customer with the same external id is untouched by a plan not made by its run."""
    plan = _plan(client)
    customer = _stops(plan)[0]["customer_id"]
    db.add(Territory(id="t-west", name="West", timezone="Asia/Shanghai"))
    db.flush()
    db.add(
        TerritoryCustomer(territory_id="t-west", external_id=customer, name="x", segment="ordered")
    )
    db.commit()
    body = {"customer_id": customer, "status": "done", "actual_start": "2026-11-20T10:00:00+08:00"}
    assert client.post(f"/plans/{plan['plan_id']}/outcomes", json=body).status_code == 201
    assert _last_visit(db, customer) is None


def _add_version(db: Session, lineage_id: str, dropped: str) -> None:
    """Store version 2 of the plan as a re-plan would: the same days without ``dropped``."""
    first = db.scalars(
        select(Plan)
        .where(Plan.id == lineage_id)
        .options(selectinload(Plan.days).selectinload(PlanDay.stops))
    ).one()
    columns = (
        "customer_id",
        "name",
        "lat",
        "lon",
        "arrival",
        "start",
        "end",
        "travel_minutes",
        "travel_km",
        "wait_minutes",
        "segment",
        "purpose",
        "priority",
    )
    days = []
    for day in first.days:
        kept = [s for s in day.stops if s.customer_id != dropped]
        days.append(
            PlanDay(
                position=day.position,
                rep_id=day.rep_id,
                rep_name=day.rep_name,
                date=day.date,
                area=day.area,
                depart=day.depart,
                return_at=day.return_at,
                drive_minutes=day.drive_minutes,
                drive_km=day.drive_km,
                visit_minutes=day.visit_minutes,
                visits=len(kept),
                stops=[
                    PlanStop(position=i, **{c: getattr(s, c) for c in columns})
                    for i, s in enumerate(kept)
                ],
            )
        )
    db.add(
        Plan(
            id="v2" + lineage_id[2:],
            lineage_id=lineage_id,
            version=2,
            status=first.status,
            timezone=first.timezone,
            currency=first.currency,
            request=first.request,
            summary=first.summary,
            warnings=[],
            days=days,
        )
    )
    db.commit()


def test_outcomes_follow_the_lineage_across_versions(client: TestClient, db: Session) -> None:
    """After a re-plan the page shows version 2 with the outcome recorded before it, and a
    visit dropped by version 2 can still be reported."""
    plan = _plan(client)
    token = token_of(plan["share_url"])
    kept, dropped = (s["customer_id"] for s in _stops(plan)[:2])
    url = f"/plans/{plan['plan_id']}/outcomes"
    assert client.post(url, json={"customer_id": kept, "status": "done"}).status_code == 201
    page = client.get(f"/s/{token}", headers=BROWSER).text
    assert 'id="plan-version"' not in page
    _add_version(db, plan["plan_id"], dropped)

    page = client.get(f"/s/{token}", headers=BROWSER).text
    assert "Version 2" in page
    assert f'data-customer="{dropped}"' not in page
    assert f'<li class="stop outcome-done" data-customer="{kept}">' in page
    late = client.post(url, json={"customer_id": dropped, "status": "skipped"})
    assert late.status_code == 201, late.text
    rows = db.scalars(select(VisitOutcome).order_by(VisitOutcome.customer_id)).all()
    assert {r.plan_id for r in rows} == {plan["plan_id"]}
    stops = _stops(client.get(f"/plans/{plan['plan_id']}").json())
    assert next(s for s in stops if s["customer_id"] == kept)["outcome"]["status"] == "done"


def test_two_reports_of_one_visit_leave_one_row(client: TestClient, db: Session) -> None:
    """Two writers that both saw no outcome end with one row holding the last report (the
    upsert does not trip over the unique constraint)."""
    plan = _plan(client)
    customer = _stops(plan)[0]["customer_id"]
    fields: dict[str, Any] = {
        "date": date(2026, 12, 7),
        "actual_start": None,
        "actual_end": None,
        "note": None,
        "source": "share",
        "recorded_at": datetime.now(UTC),
    }
    with Session(db.get_bind()) as other:
        assert repository.get_outcome(other, plan["plan_id"], customer) is None
        assert repository.get_outcome(db, plan["plan_id"], customer) is None
        repository.upsert(other, plan["plan_id"], customer, {**fields, "status": "no_show"})
        other.commit()
    repository.upsert(db, plan["plan_id"], customer, {**fields, "status": "done"})
    db.commit()
    rows = client.get(f"/plans/{plan['plan_id']}/outcomes").json()["outcomes"]
    assert [(r["customer_id"], r["status"]) for r in rows] == [(customer, "done")]
