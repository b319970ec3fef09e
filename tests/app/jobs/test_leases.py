"""Job claims with leases: atomic claims, heartbeats, reclaiming abandoned jobs, giving up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import make_session_factory
from app.jobs import handlers, repository, service
from app.jobs.context import JobContext, JobDone
from app.jobs.service import RunOutcome, run_job
from app.plans.service import Planner
from models import Job, utcnow

HERE = "tests.app.jobs.test_leases"


# Handlers registered under test kinds; they are imported by name like real ones, so they
# take what they need from the job's payload, not from module state.
def sleepy(ctx: JobContext, job_id: str) -> JobDone:
    with ctx.session_factory() as session:
        seconds = float(session.get_one(Job, job_id).payload["sleep"])
    time.sleep(seconds)
    return JobDone(result={"slept": seconds, "attempt": ctx.attempt})


def waits_on_children(_ctx: JobContext, _job_id: str) -> None:
    return None


def taken_over(ctx: JobContext, job_id: str) -> JobDone:
    """Another runner reclaims the job while this one works; then this one tries to finish."""
    with ctx.session_factory() as session:
        session.execute(update(Job).where(Job.id == job_id).values(attempts=Job.attempts + 1))
        session.commit()
    with ctx.session_factory() as session:
        service.complete(session, ctx, job_id, JobDone(result={"by": "stale runner"}))
        session.commit()
    return JobDone(result={"by": "stale runner"})


def broken(_ctx: JobContext, _job_id: str) -> JobDone:
    raise RuntimeError("secret internals")


def told_when_lost(session: Session, job_id: str, fail: Callable[[Session], bool]) -> bool:
    """A lost hook: records, in the failing transaction, that the job ended as lost."""
    if not fail(session):
        return False
    job = session.get_one(Job, job_id, populate_existing=True)
    repository.add_job(session, "sleepy", {"told_of": job_id, "error": job.error})
    return True


@pytest.fixture(autouse=True)
def test_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("sleepy", "waits_on_children", "taken_over", "broken"):
        monkeypatch.setitem(handlers.HANDLERS, name, f"{HERE}:{name}")
    # A kind whose lost jobs someone waits on.
    monkeypatch.setitem(handlers.HANDLERS, "watched", f"{HERE}:sleepy")
    monkeypatch.setitem(handlers.LOST_HOOKS, "watched", f"{HERE}:told_when_lost")


@pytest.fixture
def factory(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)


@pytest.fixture
def ctx(db_url: str, factory: sessionmaker[Session]) -> JobContext:
    settings = Settings(
        database_url=db_url, solver_processes=0, job_lease_seconds=30, job_max_attempts=2
    )
    submitted: list[str] = []
    planner = Planner(geocoder=None, matrix=None, solver=None)  # type: ignore[arg-type]
    return JobContext(factory, settings, planner, submitted.append)


def add(factory: sessionmaker[Session], kind: str, **payload: object) -> str:
    with factory() as session:
        job_id = repository.add_job(session, kind, dict(payload)).id
        session.commit()
    return job_id


def load(factory: sessionmaker[Session], job_id: str) -> Job:
    with factory() as session:
        return session.get_one(Job, job_id)


def expire_lease(factory: sessionmaker[Session], job_id: str) -> None:
    """What a dead worker leaves behind: running, lease in the past."""
    with factory() as session:
        past = utcnow() - timedelta(seconds=1)
        session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=past))
        session.commit()


def claim(factory: sessionmaker[Session], job_id: str, lease: float = 30) -> int | None:
    with factory() as session:
        attempt = repository.claim(session, job_id, lease_seconds=lease, max_attempts=2)
        session.commit()
    return attempt


def test_claim_sets_running_attempt_and_lease(factory: sessionmaker[Session]) -> None:
    """A claim moves queued -> running, counts the attempt and leases it for lease seconds."""
    job_id = add(factory, "sleepy", sleep=0)
    before = utcnow()
    assert claim(factory, job_id, lease=30) == 1
    job = load(factory, job_id)
    assert (job.status, job.attempts) == ("running", 1)
    assert job.lease_expires_at is not None
    assert timedelta(seconds=29) < job.lease_expires_at - before < timedelta(seconds=31)


def test_a_live_lease_is_not_claimed_again(factory: sessionmaker[Session]) -> None:
    """While the lease holds, a second claim gets nothing and changes nothing."""
    job_id = add(factory, "sleepy", sleep=0)
    assert claim(factory, job_id) == 1
    assert claim(factory, job_id) is None
    assert load(factory, job_id).attempts == 1


def test_an_expired_lease_is_claimed_again(factory: sessionmaker[Session]) -> None:
    """A running job whose lease ran out (its worker died) is claimed as attempt 2."""
    job_id = add(factory, "sleepy", sleep=0)
    assert claim(factory, job_id) == 1
    expire_lease(factory, job_id)
    assert claim(factory, job_id) == 2
    assert load(factory, job_id).status == "running"


def test_concurrent_claims_give_the_job_to_exactly_one(factory: sessionmaker[Session]) -> None:
    """Eight runners racing for one queued job: exactly one claim succeeds."""
    job_id = add(factory, "sleepy", sleep=0)
    start = threading.Barrier(8)
    won: list[int | None] = []

    def race() -> None:
        start.wait()
        for _ in range(20):
            try:
                won.append(claim(factory, job_id))
                return
            except Exception:  # SQLite may answer "database is locked"; try again
                time.sleep(0.05)

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 8
    assert [a for a in won if a is not None] == [1]
    assert load(factory, job_id).attempts == 1


def test_run_job_runs_the_kind_handler_and_records_success(
    ctx: JobContext, factory: sessionmaker[Session]
) -> None:
    """run_job dispatches by kind; the handler's JobDone lands in the row, lease cleared."""
    job_id = add(factory, "sleepy", sleep=0)
    assert run_job(ctx, job_id) is RunOutcome.RAN
    job = load(factory, job_id)
    assert (job.status, job.progress, job.attempts) == ("succeeded", 1.0, 1)
    assert job.result == {"slept": 0.0, "attempt": 1}
    assert job.lease_expires_at is None
    assert job.finished_at is not None
    assert run_job(ctx, job_id) is RunOutcome.SKIPPED  # a duplicate delivery does nothing


def test_run_job_on_a_held_job_is_busy(ctx: JobContext, factory: sessionmaker[Session]) -> None:
    """A job another runner holds under a live lease is left alone (BUSY, attempts same)."""
    job_id = add(factory, "sleepy", sleep=0)
    assert claim(factory, job_id) == 1
    assert run_job(ctx, job_id) is RunOutcome.BUSY
    assert load(factory, job_id).attempts == 1


def test_an_abandoned_job_is_rerun_by_the_next_runner(
    ctx: JobContext, factory: sessionmaker[Session]
) -> None:
    """Attempt 1 died (lease expired): run_job claims attempt 2 and finishes it once."""
    job_id = add(factory, "sleepy", sleep=0)
    assert claim(factory, job_id) == 1
    expire_lease(factory, job_id)
    assert run_job(ctx, job_id) is RunOutcome.RAN
    job = load(factory, job_id)
    assert (job.status, job.attempts) == ("succeeded", 2)
    assert job.result == {"slept": 0.0, "attempt": 2}


def test_too_many_lost_attempts_fail_with_worker_lost(
    ctx: JobContext, factory: sessionmaker[Session]
) -> None:
    """Once job_max_attempts runners died on it, the job fails with code worker_lost."""
    job_id = add(factory, "sleepy", sleep=0)
    for attempt in (1, 2):
        assert claim(factory, job_id) == attempt
        expire_lease(factory, job_id)
    assert run_job(ctx, job_id) is RunOutcome.SKIPPED
    job = load(factory, job_id)
    assert job.status == "failed"
    assert job.error is not None
    assert job.error["code"] == "worker_lost"
    assert job.attempts == 2
    assert job.lease_expires_at is None


def test_a_lost_job_is_reported_to_its_kinds_hook_exactly_once(
    ctx: JobContext, factory: sessionmaker[Session]
) -> None:
    """A kind with a lost hook hears of its job failing as worker_lost, in the same
    transaction and once, however many runners find it; claims that merely lose a race
    (a live lease) never call the hook."""
    job_id = add(factory, "watched", sleep=0)
    assert claim(factory, job_id) == 1
    assert run_job(ctx, job_id) is RunOutcome.BUSY  # held: not lost, the hook is not called
    expire_lease(factory, job_id)
    assert claim(factory, job_id) == 2
    expire_lease(factory, job_id)
    assert [run_job(ctx, job_id) for _ in range(3)] == [RunOutcome.SKIPPED] * 3
    assert load(factory, job_id).status == "failed"
    with factory() as session:
        told = [
            j.payload
            for j in session.scalars(select(Job).where(Job.kind == "sleepy"))
            if "told_of" in j.payload
        ]
    assert len(told) == 1
    assert told[0]["told_of"] == job_id
    assert told[0]["error"]["code"] == "worker_lost"


def test_heartbeat_keeps_a_long_job_leased(ctx: JobContext, factory: sessionmaker[Session]) -> None:
    """A handler running 3 leases long keeps its claim: nobody can take it meanwhile."""
    short = JobContext(
        ctx.session_factory,
        ctx.settings.model_copy(update={"job_lease_seconds": 0.4}),
        ctx.planner,
        ctx.submit,
    )
    job_id = add(factory, "sleepy", sleep=1.2)
    runner = threading.Thread(target=run_job, args=(short, job_id))
    runner.start()
    stolen: list[int | None] = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if load(factory, job_id).status == "running":
            stolen.append(claim(factory, job_id, lease=0.4))
    runner.join()
    assert stolen, "the job was never seen running"
    assert all(a is None for a in stolen)
    job = load(factory, job_id)
    assert (job.status, job.attempts) == ("succeeded", 1)


def test_a_handler_returning_none_waits_without_a_lease(
    ctx: JobContext, factory: sessionmaker[Session]
) -> None:
    """None: the job stays running, lease cleared, and is never reclaimed as lost."""
    job_id = add(factory, "waits_on_children")
    assert run_job(ctx, job_id) is RunOutcome.RAN
    job = load(factory, job_id)
    assert (job.status, job.lease_expires_at) == ("running", None)
    assert run_job(ctx, job_id) is RunOutcome.SKIPPED
    with factory() as session:
        assert repository.resumable_ids(session, utcnow() + timedelta(days=1)) == []
        # Its last sub-job finishes it (no fencing attempt: any running parent).
        assert service.finish_parent(session, job_id, JobDone(result={"plans": ["a", "b"]}))
        assert not service.finish_parent(session, job_id, JobDone())  # a second child: no-op
        session.commit()
    job = load(factory, job_id)
    assert (job.status, job.progress, job.result) == ("succeeded", 1.0, {"plans": ["a", "b"]})


def test_a_taken_over_runner_stores_nothing(
    ctx: JobContext, factory: sessionmaker[Session]
) -> None:
    """A runner whose claim was reclaimed meanwhile cannot mark the job succeeded."""
    job_id = add(factory, "taken_over")
    assert run_job(ctx, job_id) is RunOutcome.RAN
    job = load(factory, job_id)
    assert (job.status, job.attempts, job.result) == ("running", 2, None)


def test_a_failing_handler_records_the_contract_error(
    ctx: JobContext, factory: sessionmaker[Session]
) -> None:
    """An exception ends the job failed with internal_error JSON, internals not shown."""
    job_id = add(factory, "broken")
    assert run_job(ctx, job_id) is RunOutcome.RAN
    job = load(factory, job_id)
    assert job.status == "failed"
    assert job.error is not None
    assert job.error["code"] == "internal_error"
    assert set(job.error) == {"code", "message", "details"}
    assert "secret" not in job.error["message"]
    assert job.lease_expires_at is None


def test_unknown_kind_fails_the_job(ctx: JobContext, factory: sessionmaker[Session]) -> None:
    """A kind without a handler is a failed job, not a crashed runner."""
    job_id = add(factory, "no_such_kind")
    assert run_job(ctx, job_id) is RunOutcome.RAN
    assert load(factory, job_id).status == "failed"


def test_set_progress_only_moves_running_jobs(
    ctx: JobContext, factory: sessionmaker[Session]
) -> None:
    """Progress is clamped below 1 (1 means succeeded) and ignored for queued jobs."""
    job_id = add(factory, "sleepy", sleep=0)
    service.set_progress(factory, job_id, 0.5)
    assert load(factory, job_id).progress == 0.0
    claim(factory, job_id)
    service.set_progress(factory, job_id, 0.5)
    assert load(factory, job_id).progress == 0.5
    service.set_progress(factory, job_id, 7)
    assert load(factory, job_id).progress == 0.99


def test_restart_resubmits_queued_and_abandoned_jobs(factory: sessionmaker[Session]) -> None:
    """resumable_ids: queued and expired-lease jobs, not live, waiting or finished ones."""
    queued = add(factory, "sleepy", sleep=0)
    abandoned = add(factory, "sleepy", sleep=0)
    live = add(factory, "sleepy", sleep=0)
    claim(factory, abandoned)
    expire_lease(factory, abandoned)
    claim(factory, live)
    with factory() as session:
        assert set(repository.resumable_ids(session)) == {queued, abandoned}
