"""Idempotency-Key on POST /plan: retries, concurrent retries and misuse."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from models import Plan
from tests.app.factories import plan_body


def _plans(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Plan)) or 0
    engine.dispose()
    return count


def test_retry_returns_the_first_plan_and_creates_nothing(
    client: TestClient, app_settings: Settings
) -> None:
    """The same key and body twice: one plan stored, the retry replays the first answer."""
    headers = {"Idempotency-Key": "order-42"}
    first = client.post("/plan", json=plan_body(), headers=headers)
    again = client.post("/plan", json=plan_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert _plans(app_settings) == 1


def test_concurrent_retry_waits_for_the_first(client: TestClient, app_settings: Settings) -> None:
    """A retry arriving while the first still solves gets the same plan; one plan stored."""
    headers = {"Idempotency-Key": "burst-1"}
    body = plan_body(solution_limit=None, time_limit_seconds=1.5)
    results: list[Any] = []

    def send() -> None:
        results.append(client.post("/plan", json=body, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status_code for r in results] == [201, 201, 201]
    assert len({r.json()["plan_id"] for r in results}) == 1
    assert _plans(app_settings) == 1


def test_same_key_with_another_body_is_refused(client: TestClient) -> None:
    """Reusing a key for a different request is a 422 naming the header, not a replay."""
    headers = {"Idempotency-Key": "reuse"}
    assert client.post("/plan", json=plan_body(), headers=headers).status_code == 201
    other = plan_body()
    other["customers"] = other["customers"][:5]
    response = client.post("/plan", json=other, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "headers.Idempotency-Key"


def test_failed_first_attempt_frees_the_key(client: TestClient, app_settings: Settings) -> None:
    """An error answer is not stored: the same key works once the request is fixed."""
    headers = {"Idempotency-Key": "fix-and-retry"}
    bad = plan_body(time_limit_seconds=1000)  # over the server's bound: 422 from the service
    assert client.post("/plan", json=bad, headers=headers).status_code == 422
    good = client.post("/plan", json=bad | {"options": plan_body()["options"]}, headers=headers)
    assert good.status_code == 201
    assert _plans(app_settings) == 1


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_malformed_key_is_422(client: TestClient, key: str) -> None:
    """Empty or over-long keys are refused with the header's path."""
    response = client.post("/plan", json=plan_body(), headers={"Idempotency-Key": key})
    assert response.status_code == 422
