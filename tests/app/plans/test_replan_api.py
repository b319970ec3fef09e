"""POST /plans/{id}/replan, versions and diffs through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from app.plans.mapping import to_planning_input
from app.plans.schemas import PlanRequest
from app.solving import InlineSolver, ProcessSolver
from models import VisitOutcome, utcnow
from solver.distance import straight_line_matrix
from solver.replan import ReplanInput
from solver.types import SolveParams
from tests.app.factories import plan_body
from tests.app.feasibility import assert_plan_feasible, instant

BEFORE_WEEK = "2026-12-06T12:00:00+08:00"
OPTIONS = {"time_limit_seconds": 5, "solution_limit": 60}


def _plan(client: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    request = plan_body()
    response = client.post("/plan", json=request)
    assert response.status_code == 201, response.text
    return request, response.json()


def _slots(body: dict[str, Any]) -> dict[str, tuple[str, str, int, str]]:
    """Customer id -> (rep, date, position, start) in a plan body."""
    return {
        s["customer_id"]: (d["rep_id"], d["date"], k, s["start"])
        for d in body["days"]
        for k, s in enumerate(d["stops"])
    }


def _record(settings: Settings, plan_id: str, customer_id: str, status: str) -> None:
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        session.add(
            VisitOutcome(
                plan_id=plan_id,
                customer_id=customer_id,
                status=status,
                source="api",
                recorded_at=utcnow(),
                date=None,
            )
        )
        session.commit()
    engine.dispose()


def _without(request: dict[str, Any], *ids: str) -> dict[str, Any]:
    changed = copy.deepcopy(request)
    changed["customers"] = [c for c in changed["customers"] if c["id"] not in ids]
    return changed


def test_unchanged_replan_is_a_noop_new_version(client: TestClient) -> None:
    """Nothing changed: version 2 has an empty diff, and version 1 stays readable."""
    _, first = _plan(client)
    pid = first["plan_id"]
    response = client.post(f"/plans/{pid}/replan", json={"at": BEFORE_WEEK, "options": OPTIONS})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["plan_id"] == pid
    assert body["version"] == 2
    diff = body["diff"]
    assert (diff["added"], diff["removed"], diff["moved"]) == ([], [], [])
    assert diff["unchanged"] == first["summary"]["visits"]
    assert {k: v[:3] for k, v in _slots(body).items()} == {
        k: v[:3] for k, v in _slots(first).items()
    }
    assert client.get(f"/plans/{pid}").json()["version"] == 2
    old = client.get(f"/plans/{pid}", params={"version": 1}).json()
    assert old["version"] == 1
    assert old.get("diff") is None
    assert old["days"] == first["days"]
    listed = client.get(f"/plans/{pid}/versions").json()
    assert [v["version"] for v in listed["versions"]] == [1, 2]
    assert listed["versions"][1]["moved"] == 0
    assert listed["versions"][1]["visits"] == first["summary"]["visits"]


def test_cancellation_changes_only_the_affected_day(
    client: TestClient, app_settings: Settings
) -> None:
    """A recorded cancellation removes the visit; only its own day may change."""
    request, first = _plan(client)
    pid = first["plan_id"]
    day = next(d for d in first["days"] if len(d["stops"]) >= 3)
    gone = day["stops"][1]["customer_id"]
    _record(app_settings, pid, gone, "cancelled")
    body = client.post(f"/plans/{pid}/replan", json={"at": BEFORE_WEEK, "options": OPTIONS}).json()
    diff = body["diff"]
    assert [(r["customer_id"], r["reason"]) for r in diff["removed"]] == [(gone, "cancelled")]
    affected = (day["rep_id"], day["date"])
    for m in diff["moved"]:
        assert (m["from"]["rep_id"], m["from"]["date"]) == affected, m
        assert (m["to"]["rep_id"], m["to"]["date"]) == affected, m
    before, after = _slots(first), _slots(body)
    for cid, (rep, d, pos, _) in before.items():
        if (rep, d) != affected:
            assert after[cid][:3] == (rep, d, pos), cid
    assert gone not in after
    assert_plan_feasible(body, _without(request, gone))


def test_done_and_frozen_visits_never_move(client: TestClient, app_settings: Settings) -> None:
    """Mid-week: history, done visits and the frozen next visit keep day, order and time."""
    _, first = _plan(client)
    pid = first["plan_id"]
    second_day = sorted({d["date"] for d in first["days"]})[1]
    today = next(d for d in first["days"] if d["date"] == second_day and len(d["stops"]) >= 3)
    # The moment: just after today's first visit started; the second is the next one.
    at = today["stops"][0]["start"]
    nxt = today["stops"][1]["customer_id"]
    later = [s for d in first["days"] if d["date"] > second_day for s in d["stops"]]
    done_later = later[0]["customer_id"]
    _record(app_settings, pid, done_later, "done")
    # A disturbance that forces work: drop today's last visit by request.
    removed = today["stops"][-1]["customer_id"]
    response = client.post(
        f"/plans/{pid}/replan",
        json={
            "at": instant(at).isoformat(),
            "position": {"lat": 31.21, "lon": 121.46},
            "remove_customer_ids": [removed],
            "options": OPTIONS,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    before, after = _slots(first), _slots(body)
    for cid, slot in before.items():
        if slot[1] < second_day or slot[3] <= at:
            assert after[cid] == slot, f"history {cid} changed"
    assert after[done_later] == before[done_later], "a done visit moved"
    assert after[nxt][:3] == before[nxt][:3], "the frozen next visit moved"
    assert [r["customer_id"] for r in body["diff"]["removed"]] == [removed]
    assert body["diff"]["removed"][0]["reason"] == "removed by request"
    assert removed not in after


def test_urgent_customer_is_inserted(client: TestClient) -> None:
    """A new must-visit customer pinned to tomorrow is placed there and reported as added."""
    _, first = _plan(client)
    pid = first["plan_id"]
    urgent = {
        "id": "URGENT-1",
        "lat": 31.215,
        "lon": 121.47,
        "segment": "prospect",
        "must_visit": True,
        "date": "2026-12-08",
    }
    response = client.post(
        f"/plans/{pid}/replan",
        json={"at": "2026-12-07T10:30:00+08:00", "add_customers": [urgent], "options": OPTIONS},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    after = _slots(body)
    assert after["URGENT-1"][1] == "2026-12-08"
    added = body["diff"]["added"]
    assert [(a["customer_id"], a["reason"]) for a in added] == [("URGENT-1", "new customer")]
    # The next version builds on this one: the urgent customer is part of its request.
    again = client.post(f"/plans/{pid}/replan", json={"at": BEFORE_WEEK, "options": OPTIONS})
    assert "URGENT-1" in _slots(again.json())
    assert again.json()["version"] == 3


def test_errors_have_codes_and_paths(client: TestClient) -> None:
    """Unknown plan 404; bad ids and fields 422 with paths; stale base_version 409."""
    _, first = _plan(client)
    pid = first["plan_id"]
    assert client.post("/plans/nope/replan", json={}).status_code == 404
    assert client.get("/plans/nope/versions").status_code == 404
    assert client.get(f"/plans/{pid}", params={"version": 7}).status_code == 404
    cases: list[tuple[dict[str, Any], str]] = [
        ({"remove_customer_ids": ["C-000", "X-9"]}, "remove_customer_ids[1]"),
        ({"add_customers": [{"id": "C-001", "lat": 31.2, "lon": 121.4}]}, "add_customers[0].id"),
        (
            {"add_customers": [{"id": "N", "lat": 31.2, "lon": 121.4, "rep_id": "zz"}]},
            "add_customers[0].rep_id",
        ),
        ({"position": {"lat": 131.0, "lon": 121.4}}, "position.lat"),
        ({"at": "2026-12-07T10:30:00"}, "at"),
        # Found by bench/fuzz_bench.py: year 4 in Shanghai has an LMT offset with seconds,
        # which the diff could not be written back with (500).
        ({"at": "0004-01-02T00:00:00Z"}, "at"),
        ({"at": 1_800_000_000}, "at"),  # a Unix timestamp is not the documented ISO-8601
    ]
    for payload, path in cases:
        response = client.post(f"/plans/{pid}/replan", json=payload)
        assert response.status_code == 422, (payload, response.text)
        error = response.json()["error"]
        assert path in [d["path"] for d in error["details"]], error
    stale = client.post(f"/plans/{pid}/replan", json={"base_version": 2, "options": OPTIONS})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    assert [v["version"] for v in client.get(f"/plans/{pid}/versions").json()["versions"]] == [1]


def test_idempotent_replan_creates_one_version(client: TestClient) -> None:
    """The same Idempotency-Key and body replays the first answer instead of a version 3."""
    _, first = _plan(client)
    pid = first["plan_id"]
    payload = {"at": BEFORE_WEEK, "options": OPTIONS}
    headers = {"Idempotency-Key": "replan-1"}
    one = client.post(f"/plans/{pid}/replan", json=payload, headers=headers)
    two = client.post(f"/plans/{pid}/replan", json=payload, headers=headers)
    assert one.status_code == two.status_code == 201
    assert two.headers.get("Idempotent-Replayed") == "true"
    assert two.json() == one.json()
    assert len(client.get(f"/plans/{pid}/versions").json()["versions"]) == 2


@pytest.mark.parametrize("status", ["no_show", "rescheduled"])
def test_no_show_is_placed_again_later(
    client: TestClient, app_settings: Settings, status: str
) -> None:
    """A visit that did not happen on Monday is placed again after the replan moment."""
    _, first = _plan(client)
    pid = first["plan_id"]
    monday = next(d for d in first["days"] if d["date"] == "2026-12-07")
    missed = next(s["customer_id"] for s in monday["stops"] if s["customer_id"] != "C-003")
    _record(app_settings, pid, missed, status)
    at = "2026-12-07T18:30:00+08:00"
    body = client.post(f"/plans/{pid}/replan", json={"at": at, "options": OPTIONS}).json()
    after = _slots(body)
    assert missed in after, body["unassigned"]
    assert date.fromisoformat(after[missed][1]) > date(2026, 12, 7)
    moved = {m["customer_id"]: m["reason"] for m in body["diff"]["moved"]}
    assert moved[missed] == f"{status}: placed again"


def test_replan_unassigned_carry_hints_like_a_new_plan(client: TestClient) -> None:
    """An over-full week: the re-plan's left-out customers have ``hint`` and ``suggestions``
    as ``POST /plan`` gave them, and ``GET`` shows the same."""
    request = plan_body()
    for rep in request["reps"]:
        rep["max_visits_per_day"] = 1
    response = client.post("/plan", json=request)
    assert response.status_code == 201, response.text
    first = response.json()
    hinted = {u["customer_id"]: u for u in first["unassigned"] if u.get("suggestions")}
    assert hinted, first["unassigned"]
    pid = first["plan_id"]
    answer = client.post(f"/plans/{pid}/replan", json={"at": BEFORE_WEEK, "options": OPTIONS})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    left = {u["customer_id"]: u for u in body["unassigned"]}
    assert set(left) == {u["customer_id"] for u in first["unassigned"]}
    for cid, entry in hinted.items():
        assert entry["code"] == left[cid]["code"]
        assert left[cid]["suggestions"], cid
        assert left[cid]["hint"] == left[cid]["suggestions"][0]["text"]
        assert {s["kind"] for s in left[cid]["suggestions"]} == {
            s["kind"] for s in entry["suggestions"]
        }
    assert client.get(f"/plans/{pid}").json()["unassigned"] == body["unassigned"]


def test_replan_stops_carry_recorded_outcomes_like_get(
    client: TestClient, app_settings: Settings
) -> None:
    """A done visit kept by the re-plan shows its ``outcome`` in the 201, exactly as on GET."""
    _, first = _plan(client)
    pid = first["plan_id"]
    done = first["days"][-1]["stops"][0]["customer_id"]
    _record(app_settings, pid, done, "done")
    response = client.post(f"/plans/{pid}/replan", json={"at": BEFORE_WEEK, "options": OPTIONS})
    assert response.status_code == 201, response.text
    body = response.json()
    stops = {s["customer_id"]: s for d in body["days"] for s in d["stops"]}
    assert stops[done]["outcome"]["status"] == "done"
    assert all(s.get("outcome") is None for cid, s in stops.items() if cid != done)
    shown = client.get(f"/plans/{pid}").json()
    assert shown["days"] == body["days"]


def test_replan_respects_the_solver_cap(app_settings: Settings, api_key: str) -> None:
    """Every solver slot taken: the re-plan answers 503 with Retry-After, as ``POST /plan``
    does, and solves once a slot is free."""
    one_slot = app_settings.model_copy(update={"max_concurrent_solves": 1})
    with TestClient(create_app(one_slot)) as c:
        c.headers["Authorization"] = f"Bearer {api_key}"
        _, first = _plan(c)
        pid = first["plan_id"]
        payload = {"at": BEFORE_WEEK, "options": OPTIONS}
        slots = c.app.state.planner.solver._slots  # type: ignore[attr-defined]
        slots.acquire(True)
        # Turned away before geocoding and routing, which a 503 would waste.
        unused = mock.patch("app.plans.replan.geocode", side_effect=AssertionError("geocoded"))
        try:
            with unused:
                busy = c.post(f"/plans/{pid}/replan", json=payload)
        finally:
            slots.release()
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "5"
        assert busy.json()["error"]["code"] == "busy"
        assert c.get(f"/plans/{pid}").json()["version"] == 1  # nothing stored
        again = c.post(f"/plans/{pid}/replan", json=payload)
        assert again.status_code == 201, again.text
        assert again.json()["version"] == 2


def test_replan_in_a_worker_process_equals_the_inline_one() -> None:
    """The pool runs re-plans too: same routes as in the calling thread (solution limit)."""
    planning = to_planning_input(PlanRequest.model_validate(plan_body()), Settings()).planning
    matrix = straight_line_matrix(planning.locations())
    params = SolveParams(time_limit_s=5, solution_limit=40)
    first = InlineSolver(capacity=1).plan(planning, matrix, params, wait=True)
    inp = ReplanInput(planning, first.days, now=0)
    inline = InlineSolver(capacity=1).replan(inp, matrix, params, wait=True)
    pool = ProcessSolver(processes=1, capacity=1)
    try:
        remote = pool.replan(inp, matrix, params, wait=True)
    finally:
        pool.shutdown()
    assert remote.outcome.days == inline.outcome.days
    assert remote.outcome.unassigned == inline.outcome.unassigned
    assert (remote.frozen, remote.fixed) == (inline.frozen, inline.fixed)
