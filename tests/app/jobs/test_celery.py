"""Celery on Redis with real worker processes: jobs run there, and survive a SIGKILLed worker.

Each test runs its workers (``visit-planner worker``) on its own queue of a Redis database
kept for these tests, against the test's own database (SQLite file or PostgreSQL).
Redis comes from ``VP_TEST_REDIS_URL``; when it is unreachable the tests skip locally and
fail on CI.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.config import Settings
from app.db import make_engine, make_session_factory
from app.main import create_app
from models import Job, Plan
from tests.app.factories import plan_body

pytestmark = pytest.mark.redis

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
WORKER = Path(sys.executable).parent / "visit-planner"
Worker = subprocess.Popen[bytes]


@pytest.fixture
def redis_url() -> str:
    """The Redis database for these tests, or skip (fail on CI) when Redis does not answer."""
    url = os.environ.get("VP_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        reason = f"Redis unreachable at {url}: {error}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason + " (set VP_TEST_REDIS_URL; on CI this fails)")
    finally:
        client.close()
    return url


@pytest.fixture
def settings(db_url: str, redis_url: str) -> Iterator[Settings]:
    """Celery settings with a queue of this test's own; the queue is removed afterwards."""
    queue = f"vp-test-{secrets.token_hex(4)}"
    yield Settings(
        database_url=db_url,
        solver_processes=0,
        job_executor="celery",
        redis_url=redis_url,
        celery_queue=queue,
        rate_limit_per_minute=0,  # the tests poll faster than a client would
        # Short, so a killed worker's job comes back within seconds.
        celery_visibility_timeout=3,
        job_lease_seconds=4.0,
        job_max_attempts=3,
    )
    client = redis.Redis.from_url(redis_url)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    client.close()


@pytest.fixture
def start_worker(settings: Settings, tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    """Starts ``visit-planner worker`` processes (own process group); kills what is left."""
    started: list[Worker] = []
    env = {
        **os.environ,
        "VP_DATABASE_URL": settings.database_url,
        "VP_REDIS_URL": str(settings.redis_url),
        "VP_CELERY_QUEUE": settings.celery_queue,
        "VP_CELERY_VISIBILITY_TIMEOUT": str(settings.celery_visibility_timeout),
        "VP_JOB_LEASE_SECONDS": str(settings.job_lease_seconds),
        "VP_JOB_MAX_ATTEMPTS": str(settings.job_max_attempts),
        # Solve for the whole time limit: the kill must land while a solve is running.
        "VP_MIN_STALL_SECONDS": "60",
        "VP_STALL_FRACTION": "1",
    }

    def start() -> Worker:
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [str(WORKER), "worker", "--concurrency", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for(
    client: TestClient, url: str, done: Callable[[dict[str, Any]], bool], timeout_s: float = 45
) -> dict[str, Any]:
    """Poll a job until ``done`` holds; bounded so a lost job fails the test, never hangs it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(url).json()
        if done(body):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job at {url} not done in {timeout_s} s; last: {body}")


def load_job(settings: Settings, job_id: str) -> tuple[Job, int]:
    """The job row and how many plans the database holds."""
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            plans = session.scalar(select(func.count()).select_from(Plan))
            return session.get_one(Job, job_id), int(plans or 0)
    finally:
        engine.dispose()


def post_job(client: TestClient, **options: Any) -> str:
    response = client.post("/plan", json=plan_body(**{"async": True, **options}))
    assert response.status_code == 202, response.text
    job_id: str = response.json()["job_id"]
    return job_id


def test_a_worker_process_runs_the_queued_plan(
    settings: Settings,
    api_key: str,
    start_worker: Callable[[], Worker],
) -> None:
    """POST /plan async on a Celery-configured API: a real worker process makes the plan."""
    start_worker()
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {api_key}"
        job_id = post_job(client)
        job = wait_for(client, f"/jobs/{job_id}", lambda b: b["status"] in {"succeeded", "failed"})
        assert job["status"] == "succeeded", job
        assert job["progress"] == 1.0
        plan = client.get(f"/plans/{job['plan_id']}")
        assert plan.status_code == 200
        assert plan.json()["summary"]["visits"] > 0
        ready = client.get("/ready")
        assert (ready.status_code, ready.json()["redis"]) == (200, True)
    row, plans = load_job(settings, job_id)
    assert (row.attempts, row.lease_expires_at, plans) == (1, None, 1)


def test_a_job_survives_its_worker_being_killed(
    settings: Settings,
    api_key: str,
    start_worker: Callable[[], Worker],
) -> None:
    """SIGKILL the worker mid-solve; a second worker redoes the job: one plan, attempt 2."""
    first = start_worker()
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {api_key}"
        job_id = post_job(client, time_limit_seconds=4, solution_limit=None)
        url = f"/jobs/{job_id}"
        wait_for(client, url, lambda b: b["status"] == "running", timeout_s=30)
        time.sleep(1.0)  # inside the 4 s solve
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        row, plans = load_job(settings, job_id)
        assert (row.status, row.attempts, plans) == ("running", 1, 0)

        start_worker()
        job = wait_for(client, url, lambda b: b["status"] in {"succeeded", "failed"}, 60)
        assert job["status"] == "succeeded", job
        assert client.get(f"/plans/{job['plan_id']}").status_code == 200
        time.sleep(settings.job_lease_seconds + 1)  # any duplicate delivery has had its turn
    row, plans = load_job(settings, job_id)
    assert (row.status, row.attempts, plans) == ("succeeded", 2, 1)


def test_ready_reports_unreachable_redis(db_url: str) -> None:
    """With a Redis URL nobody answers on, /ready says redis false and answers 503."""
    settings = Settings(database_url=db_url, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": True, "redis": False}


def test_worker_command_needs_redis(tmp_path: Path) -> None:
    """`visit-planner worker` without VP_REDIS_URL stops with exit 2 and says why."""
    env = {k: v for k, v in os.environ.items() if k != "VP_REDIS_URL"}
    done = subprocess.run(
        [str(WORKER), "worker"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "VP_REDIS_URL" in done.stderr


def test_celery_app_delivers_at_least_once_one_job_at_a_time() -> None:
    """The built app acks late, prefetches one job and restores unacked ones quickly."""
    from app.jobs.celery_app import TASK_NAME, make_celery

    celery = make_celery(
        Settings(redis_url="redis://127.0.0.1:6379/13", celery_visibility_timeout=8)
    )
    conf = celery.conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost) == (True, True)
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == 8
    assert conf.broker_transport_options["unacked_restore_interval"] == 2
    task = celery.tasks[TASK_NAME]
    assert (task.acks_late, task.reject_on_worker_lost) == (True, True)
    with pytest.raises(ValueError, match="VP_REDIS_URL"):
        make_celery(Settings(redis_url=None))
