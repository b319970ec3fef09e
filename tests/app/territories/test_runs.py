"""Territory runs end to end with the in-process executor, on both database backends."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.cli import main as cli_main
from app.config import Settings
from app.db import make_session_factory
from app.jobs import repository as jobs_repository
from app.jobs.context import JobContext, JobDone
from app.jobs.service import RunOutcome, run_job
from app.plans import service as plans_service
from app.plans.service import Planner
from app.territories import runs
from models import Job, Plan, TerritoryRun, TerritoryRunPlan, WebhookDelivery, utcnow
from tests.app.territories.conftest import territory_body

WEEK = "2026-12-07"  # a Monday
REPS = [
    {"id": "rep-a", "start": {"lat": 31.23, "lon": 121.47}, "max_visits_per_day": 4},
    {"id": "rep-b", "start": {"lat": 31.20, "lon": 121.55}, "max_visits_per_day": 4},
    {"id": "rep-c", "start": {"lat": 31.26, "lon": 121.42}, "max_visits_per_day": 4},
]


@pytest.fixture
def territory_settings(app_settings: Settings) -> Settings:
    """Three job threads, so the reps' solves finish concurrently and race to finish the run."""
    return app_settings.model_copy(update={"rate_limit_per_minute": 0, "job_workers": 3})


def pool(n: int = 20) -> list[dict[str, Any]]:
    """``n`` customers around the reps: a few pinned, a few recently visited, one inactive."""
    week = date.fromisoformat(WEEK)
    out = []
    for i in range(n):
        c: dict[str, Any] = {
            "id": f"C-{i:02d}",
            "lat": 31.19 + 0.004 * (i % 5) + 0.02 * (i // 10),
            "lon": 121.41 + 0.008 * (i % 7) + 0.01 * (i // 5),
            "segment": ("ordered", "maintaining", "prospect")[i % 3],
        }
        if i % 6 == 0:
            c["rep_id"] = REPS[i % 3]["id"]
        if i % 4 == 1:
            c["last_visit"] = (week - timedelta(days=2)).isoformat()  # not due: fill at most
        if i % 5 == 2:
            c["last_visit"] = (week - timedelta(days=60)).isoformat()  # overdue
        out.append(c)
    out[-1]["active"] = False
    return out


def make_territory(admin: TestClient, **changes: Any) -> str:
    body = territory_body(options={"solution_limit": 10, "time_limit_seconds": 5}, **changes)
    response = admin.post("/territories", json=body)
    assert response.status_code == 201, response.text
    tid: str = response.json()["id"]
    assert admin.post(f"/territories/{tid}/reps", json=REPS).status_code in (200, 201)
    answer = admin.post(f"/territories/{tid}/customers", json=pool())
    assert answer.status_code in (200, 201), answer.text
    return tid


def wait_for(admin: TestClient, url: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        body: dict[str, Any] = admin.get(url).json()
        if body["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_run_plans_every_rep_once_with_share_links(
    admin: TestClient, territory_settings: Settings
) -> None:
    """3 reps, 20 customers: one plan per rep with a share link, no customer twice, progress 1."""
    tid = make_territory(admin)
    started = admin.post(f"/territories/{tid}/runs", json={"week_start": WEEK})
    assert started.status_code == 202, started.text
    accepted = started.json()
    run = wait_for(admin, accepted["status_url"])
    assert run["status"] == "succeeded", run
    assert run["progress"] == 1.0
    assert run["failed"] == []
    assert sorted(p["rep_id"] for p in run["plans"]) == ["rep-a", "rep-b", "rep-c"]
    job = admin.get(f"/jobs/{accepted['job_id']}").json()
    assert job["status"] == "succeeded"
    assert job["progress"] == 1.0

    seen: list[str] = []
    for entry in run["plans"]:
        assert entry["share_url"].startswith("https://plans.example.com/s/")
        page = admin.get(entry["share_url"].removeprefix("https://plans.example.com"))
        assert page.status_code == 200
        plan = admin.get(f"/plans/{entry['plan_id']}").json()
        ids = [s["customer_id"] for d in plan["days"] for s in d["stops"]]
        assert all(d["rep_id"] == entry["rep_id"] for d in plan["days"])
        assert entry["visits"] == len(ids)
        seen += ids + [u["customer_id"] for u in plan["unassigned"]]
    assert len(seen) == len(set(seen)), "a customer was offered to two reps"
    assert "C-19" not in seen  # inactive
    assert sum(e["visits"] for e in run["plans"]) > 0

    engine = create_engine(territory_settings.database_url, poolclass=NullPool)
    with Session(engine) as session:
        plan_ids = [p["plan_id"] for p in run["plans"]]
        territories = session.scalars(select(Plan.territory_id).where(Plan.id.in_(plan_ids)))
        assert set(territories) == {tid}
    engine.dispose()
    listed = admin.get(f"/territories/{tid}/runs").json()["items"]
    assert [r["run_id"] for r in listed] == [accepted["run_id"]]


def test_run_defaults_to_next_monday_and_404s(admin: TestClient) -> None:
    """No body: next Monday in the territory's zone; unknown ids answer 404, bad dates 422."""
    tid = make_territory(admin)
    started = admin.post(f"/territories/{tid}/runs")
    assert started.status_code == 202, started.text
    week = date.fromisoformat(started.json()["week_start"])
    assert week.weekday() == 0
    assert week > date.today() - timedelta(days=1)
    wait_for(admin, started.json()["status_url"])
    assert admin.post("/territories/nope/runs").status_code == 404
    assert admin.get(f"/territories/{tid}/runs/nope").status_code == 404
    bad = admin.post(f"/territories/{tid}/runs", json={"week_start": "next week"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["path"] == "week_start"


def test_run_without_active_reps_fails_with_reason(admin: TestClient) -> None:
    """A territory whose reps are all inactive: the run fails with ``no_active_reps``."""
    response = admin.post("/territories", json=territory_body(name="Empty"))
    tid = response.json()["id"]
    rep = {**REPS[0], "active": False}
    assert admin.post(f"/territories/{tid}/reps", json=rep).status_code == 201
    started = admin.post(f"/territories/{tid}/runs", json={"week_start": WEEK}).json()
    run = wait_for(admin, started["status_url"])
    assert run["status"] == "failed"
    assert run["error"]["code"] == "no_active_reps"
    assert admin.get(f"/jobs/{started['job_id']}").json()["status"] == "failed"


def test_retried_rep_plan_child_does_not_duplicate(
    admin: TestClient, territory_settings: Settings
) -> None:
    """Running a finished child again (a redelivery) returns its plan and stores nothing new."""
    tid = make_territory(admin, webhook_url="https://hooks.example.com/x", webhook_secret="s" * 32)
    started = admin.post(f"/territories/{tid}/runs", json={"week_start": WEEK}).json()
    run = wait_for(admin, started["status_url"])
    assert run["status"] == "succeeded"

    engine = create_engine(territory_settings.database_url, poolclass=NullPool)
    factory = make_session_factory(engine)
    app_state: Any = admin.app.state  # type: ignore[attr-defined]
    planner: Planner = app_state.planner
    ctx = JobContext(factory, territory_settings, planner, lambda _id: None)
    with factory() as session:
        child = session.scalars(select(Job).where(Job.parent_id == started["job_id"])).first()
        assert child is not None
        before = session.scalar(select(func.count()).select_from(Plan))
        expected = session.scalar(
            select(TerritoryRunPlan.plan_id).where(
                TerritoryRunPlan.run_id == run["run_id"],
                TerritoryRunPlan.rep_id == child.payload["rep_id"],
            )
        )
        # A redelivery of a job whose first run stored its plan (as after a lost ack).
        session.execute(update(Job).where(Job.id == child.id).values(status="queued"))
        session.commit()
    assert run_job(ctx, child.id) == RunOutcome.RAN
    with factory() as session:
        assert session.get_one(Job, child.id).plan_id == expected
        assert session.get_one(Job, child.id).status == "succeeded"
    done = runs.plan_rep(ctx, child.id)  # the handler itself, called again directly
    assert done.plan_id == expected
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == before
        rows = session.scalar(
            select(func.count())
            .select_from(TerritoryRunPlan)
            .where(TerritoryRunPlan.run_id == run["run_id"])
        )
        assert rows == 3
        hooks = list(session.scalars(select(WebhookDelivery)))
        assert len(hooks) == 1  # the run completed once
        assert hooks[0].event == "run.completed"
        assert hooks[0].status == "pending"
        assert hooks[0].payload["run"]["id"] == run["run_id"]
        sent = {p["rep_id"]: p["share_url"] for p in hooks[0].payload["plans"]}
        assert sent == {p["rep_id"]: p["share_url"] for p in run["plans"]}
    engine.dispose()


def test_failed_child_fails_only_its_rep(
    admin: TestClient, territory_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rep's solve raising: the run still succeeds, that rep is listed under ``failed``."""
    real = plans_service.create_plan

    def flaky(
        session: Session, settings: Settings, planner: Planner, req: Any, raw: Any, **kw: Any
    ) -> Plan:
        if req.reps[0].id == "rep-b":
            raise RuntimeError("solver exploded")
        return real(session, settings, planner, req, raw, **kw)

    monkeypatch.setattr(plans_service, "create_plan", flaky)
    tid = make_territory(admin)
    started = admin.post(f"/territories/{tid}/runs", json={"week_start": WEEK}).json()
    run = wait_for(admin, started["status_url"])
    assert run["status"] == "succeeded"
    assert sorted(p["rep_id"] for p in run["plans"]) == ["rep-a", "rep-c"]
    assert [f["rep_id"] for f in run["failed"]] == ["rep-b"]
    assert run["failed"][0]["error"]["code"] == "internal_error"

    def broken(*_args: Any, **_kw: Any) -> Plan:
        raise RuntimeError("all down")

    monkeypatch.setattr(plans_service, "create_plan", broken)
    again = admin.post(f"/territories/{tid}/runs", json={"week_start": WEEK}).json()
    run = wait_for(admin, again["status_url"])
    assert run["status"] == "failed"
    assert run["error"]["code"] == "all_reps_failed"
    engine = create_engine(territory_settings.database_url, poolclass=NullPool)
    with Session(engine) as session:
        stored = session.get_one(TerritoryRun, again["run_id"])
        assert stored.finished_at is not None
    engine.dispose()


def test_cli_run_territory_prints_each_reps_plan(
    admin: TestClient,
    territory_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``visit-planner run-territory NAME --week``: runs in-process, one line per rep, exit 0."""
    make_territory(admin)
    monkeypatch.setenv("VP_DATABASE_URL", territory_settings.database_url)
    monkeypatch.setenv("VP_SOLVER_PROCESSES", "0")
    monkeypatch.setenv("VP_PUBLIC_BASE_URL", "https://cli.example.com")
    assert cli_main(["run-territory", "Shanghai East", "--week", WEEK, "--wait"]) == 0
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.startswith("rep-")]
    assert [line.split()[0] for line in lines] == ["rep-a", "rep-b", "rep-c"]
    assert all("https://cli.example.com/s/" in line for line in lines)
    assert "succeeded, 3 plans" in err
    assert cli_main(["run-territory", "nowhere"]) == 2


def test_job_and_run_show_progress_while_reps_are_solving(
    admin: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two of three reps done, one held back: GET /jobs and the run both report 0.1 + 0.9 x 2/3."""
    real = plans_service.create_plan
    gate = threading.Event()

    def held(
        session: Session, settings: Settings, planner: Planner, req: Any, raw: Any, **kw: Any
    ) -> Plan:
        if req.reps[0].id == "rep-c":
            assert gate.wait(30)
        return real(session, settings, planner, req, raw, **kw)

    monkeypatch.setattr(plans_service, "create_plan", held)
    tid = make_territory(admin)
    started = admin.post(f"/territories/{tid}/runs", json={"week_start": WEEK}).json()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            job = admin.get(f"/jobs/{started['job_id']}").json()
            if job["progress"] > 0.5:
                break
            time.sleep(0.05)
        assert job["status"] == "running"
        assert job["progress"] == pytest.approx(0.1 + 0.9 * 2 / 3)
        run = admin.get(started["status_url"]).json()
        assert run["status"] == "running"
        assert run["progress"] == pytest.approx(0.7)
        assert sorted(p["rep_id"] for p in run["plans"]) == ["rep-a", "rep-b"]
    finally:
        gate.set()
    assert wait_for(admin, started["status_url"])["status"] == "succeeded"


class WorkerDied(BaseException):
    """What a killed worker leaves in the job row: nothing recorded, its lease left to run out."""


def _dies_for(monkeypatch: pytest.MonkeyPatch, *lost: str) -> None:
    """Make the ``rep_plan`` worker of each rep in ``lost`` die mid-job, every time."""
    real = runs.plan_rep

    def dying(ctx: JobContext, job_id: str) -> JobDone:
        with ctx.session_factory() as session:
            rep_id = session.get_one(Job, job_id).payload["rep_id"]
        if rep_id in lost:
            raise WorkerDied(rep_id)
        return real(ctx, job_id)

    monkeypatch.setattr(runs, "plan_rep", dying)


def _settled(admin: TestClient, url: str, entries: int, seconds: float = 60) -> dict[str, Any]:
    """The run once ``entries`` reps have a plan (the others' workers died: it keeps running)."""
    deadline = time.monotonic() + seconds
    while True:
        body: dict[str, Any] = admin.get(url).json()
        if len(body["plans"]) >= entries or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def _give_up_on(ctx: JobContext, job_id: str) -> None:
    """The child after its last attempt's worker died too: all attempts used, lease expired."""
    with ctx.session_factory() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                attempts=ctx.settings.job_max_attempts,
                lease_expires_at=utcnow() - timedelta(seconds=1),
            )
        )
        session.commit()


def _lost_children(
    admin: TestClient, settings: Settings, parent_id: str
) -> tuple[JobContext, list[str]]:
    app_state: Any = admin.app.state  # type: ignore[attr-defined]
    factory = app_state.session_factory
    ctx = JobContext(factory, settings, app_state.planner, lambda _id: None)
    with factory() as session:
        children = session.scalars(
            select(Job).where(Job.parent_id == parent_id, Job.status == "running")
        )
        return ctx, [child.id for child in children]


def test_child_failed_as_worker_lost_finishes_the_run_once(
    admin: TestClient, territory_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rep-b's worker dies on every attempt: when the job system gives up on it, its rep is
    reported failed (``worker_lost``), the run and its job finish, and ``run.completed`` is
    queued once, however often and by however many runners the lost child is looked at."""
    _dies_for(monkeypatch, "rep-b")
    tid = make_territory(admin, webhook_url="https://hooks.example.com/x", webhook_secret="s" * 32)
    started = admin.post(f"/territories/{tid}/runs", json={"week_start": WEEK}).json()
    run = _settled(admin, started["status_url"], entries=2)
    assert run["status"] == "running", run
    ctx, lost = _lost_children(admin, territory_settings, started["job_id"])
    assert len(lost) == 1
    _give_up_on(ctx, lost[0])

    # Two runners (a restart and a broker redelivery) find the lost child at once.
    barrier = threading.Barrier(2)
    outcomes: list[RunOutcome] = []

    def look() -> None:
        barrier.wait()
        outcomes.append(run_job(ctx, lost[0]))

    threads = [threading.Thread(target=look) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [RunOutcome.SKIPPED, RunOutcome.SKIPPED]
    assert run_job(ctx, lost[0]) == RunOutcome.SKIPPED

    run = admin.get(started["status_url"]).json()
    assert run["status"] == "succeeded"
    assert run["progress"] == 1.0
    assert run["finished_at"] is not None
    assert sorted(p["rep_id"] for p in run["plans"]) == ["rep-a", "rep-c"]
    assert [f["rep_id"] for f in run["failed"]] == ["rep-b"]
    assert run["failed"][0]["error"]["code"] == jobs_repository.WORKER_LOST
    job = admin.get(f"/jobs/{started['job_id']}").json()
    assert (job["status"], job["progress"]) == ("succeeded", 1.0)
    assert admin.get(f"/jobs/{lost[0]}").json()["status"] == "failed"
    with ctx.session_factory() as session:
        hooks = list(session.scalars(select(WebhookDelivery)))
    assert len(hooks) == 1
    assert hooks[0].payload["run"]["status"] == "succeeded"
    assert [f["rep_id"] for f in hooks[0].payload["failed"]] == ["rep-b"]
    assert sorted(p["rep_id"] for p in hooks[0].payload["plans"]) == ["rep-a", "rep-c"]


def test_every_child_lost_fails_the_run(
    admin: TestClient, territory_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every rep's worker dies: once the last lost child is given up on, the run fails with
    ``all_reps_failed`` naming each rep, and its webhook says so."""
    _dies_for(monkeypatch, "rep-a", "rep-b", "rep-c")
    tid = make_territory(admin, webhook_url="https://hooks.example.com/x", webhook_secret="s" * 32)
    started = admin.post(f"/territories/{tid}/runs", json={"week_start": WEEK}).json()
    deadline = time.monotonic() + 30
    while True:
        ctx, lost = _lost_children(admin, territory_settings, started["job_id"])
        if len(lost) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(lost) == 3
    for k, child in enumerate(lost):
        _give_up_on(ctx, child)
        assert run_job(ctx, child) == RunOutcome.SKIPPED
        still = admin.get(started["status_url"]).json()["status"]
        assert still == ("failed" if k == 2 else "running")
    run = admin.get(started["status_url"]).json()
    assert run["error"]["code"] == "all_reps_failed"
    assert [f["rep_id"] for f in run["failed"]] == ["rep-a", "rep-b", "rep-c"]
    assert admin.get(f"/jobs/{started['job_id']}").json()["status"] == "failed"
    with ctx.session_factory() as session:
        hooks = list(session.scalars(select(WebhookDelivery)))
    assert len(hooks) == 1
    assert hooks[0].payload["run"]["status"] == "failed"


def test_parent_lost_before_fanning_out_fails_the_run_once(
    admin: TestClient, territory_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``territory_run`` worker dies on every attempt before storing any child: once the
    job system gives up, the run fails with ``worker_lost`` and ``run.completed`` says so."""

    def dying(_ctx: JobContext, _job_id: str) -> None:
        raise WorkerDied("territory_run")

    monkeypatch.setattr(runs, "run_territory", dying)
    tid = make_territory(admin, webhook_url="https://hooks.example.com/x", webhook_secret="s" * 32)
    started = admin.post(f"/territories/{tid}/runs", json={"week_start": WEEK}).json()
    app_state: Any = admin.app.state  # type: ignore[attr-defined]
    ctx = JobContext(
        app_state.session_factory, territory_settings, app_state.planner, lambda _id: None
    )
    deadline = time.monotonic() + 30
    while admin.get(f"/jobs/{started['job_id']}").json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    _give_up_on(ctx, started["job_id"])
    assert run_job(ctx, started["job_id"]) == RunOutcome.SKIPPED
    assert run_job(ctx, started["job_id"]) == RunOutcome.SKIPPED
    run = admin.get(started["status_url"]).json()
    assert run["status"] == "failed"
    assert run["error"]["code"] == jobs_repository.WORKER_LOST
    assert run["finished_at"] is not None
    assert admin.get(f"/jobs/{started['job_id']}").json()["status"] == "failed"
    with ctx.session_factory() as session:
        hooks = list(session.scalars(select(WebhookDelivery)))
    assert len(hooks) == 1
    assert hooks[0].payload["run"]["status"] == "failed"


def test_lost_child_of_a_deleted_territory_still_fails(
    admin: TestClient, territory_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The territory (and with it the run) was deleted while a child's worker kept dying:
    the child is failed as ``worker_lost`` all the same, nothing else to finish."""
    _dies_for(monkeypatch, "rep-b")
    tid = make_territory(admin)
    started = admin.post(f"/territories/{tid}/runs", json={"week_start": WEEK}).json()
    _settled(admin, started["status_url"], entries=2)
    ctx, lost = _lost_children(admin, territory_settings, started["job_id"])
    assert len(lost) == 1
    assert admin.delete(f"/territories/{tid}").status_code == 204
    _give_up_on(ctx, lost[0])
    assert run_job(ctx, lost[0]) == RunOutcome.SKIPPED
    with ctx.session_factory() as session:
        job = session.get_one(Job, lost[0])
        assert job.status == "failed"
        assert job.error is not None
        assert job.error["code"] == jobs_repository.WORKER_LOST
