"""Idempotency-Key on the creating endpoints besides POST /plan (territories, runs, ...)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.auth import create_api_key
from app.config import Settings
from app.main import create_app
from models import ShareLink
from tests.app.factories import plan_body


@pytest.fixture
def settings(app_settings: Settings) -> Settings:
    return app_settings.model_copy(update={"rate_limit_per_minute": 0})


@pytest.fixture
def admin(settings: Settings) -> Iterator[TestClient]:
    """A client whose key has the territory scope (which may also plan and share)."""
    engine = create_engine(settings.database_url, poolclass=NullPool)
    with Session(engine) as session:
        _, raw = create_api_key(session, "tests-idempotency", ["territory"])
        session.commit()
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {raw}"
        yield client


def _territory(client: TestClient, name: str = "Shanghai East") -> str:
    created = client.post("/territories", json={"name": name, "timezone": "Asia/Shanghai"})
    assert created.status_code == 201, created.text
    tid: str = created.json()["id"]
    rep = {"id": "rep-1", "name": "Wang Fang", "start": {"lat": 31.2155, "lon": 121.548}}
    assert client.post(f"/territories/{tid}/reps", json=rep).status_code == 201
    return tid


def _plan(client: TestClient) -> str:
    created = client.post("/plan", json=plan_body())
    assert created.status_code == 201, created.text
    pid: str = created.json()["plan_id"]
    return pid


def _listed(client: TestClient, url: str) -> int:
    listed = client.get(url)
    assert listed.status_code == 200, listed.text
    return len(listed.json()["items"])


def _share_links(client: TestClient, url: str) -> int:
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    plan_id = url.split("/")[2]
    engine = create_engine(settings.database_url, poolclass=NullPool)
    with Session(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(ShareLink).where(ShareLink.plan_id == plan_id)
        )
    engine.dispose()
    return count or 0


@dataclass(frozen=True)
class Endpoint:
    """A creating route: how to get its URL, a body, another body, its status, its rows."""

    url: Callable[[TestClient], str]
    body: dict[str, Any] | None
    other: dict[str, Any]
    status: int
    count: Callable[[TestClient, str], int]


ENDPOINTS = {
    "territories": Endpoint(
        url=lambda c: "/territories",
        body={"name": "North", "timezone": "Asia/Shanghai"},
        other={"name": "South", "timezone": "Asia/Shanghai"},
        status=201,
        count=_listed,
    ),
    "runs": Endpoint(
        url=lambda c: f"/territories/{_territory(c)}/runs",
        body={"week_start": "2026-12-07"},
        other={"week_start": "2026-12-14"},
        status=202,
        count=_listed,
    ),
    "runs-no-body": Endpoint(
        url=lambda c: f"/territories/{_territory(c)}/runs",
        body=None,
        other={"week_start": "2026-12-14"},
        status=202,
        count=_listed,
    ),
    "schedules": Endpoint(
        url=lambda c: f"/territories/{_territory(c)}/schedules",
        body={"cron": "0 20 * * sun"},
        other={"cron": "0 21 * * sun"},
        status=201,
        count=_listed,
    ),
    "share": Endpoint(
        url=lambda c: f"/plans/{_plan(c)}/share",
        body={"expires_in_days": 7},
        other={"expires_in_days": 8},
        status=201,
        count=_share_links,
    ),
    "share-no-body": Endpoint(
        url=lambda c: f"/plans/{_plan(c)}/share",
        body=None,
        other={"expires_in_days": 8},
        status=201,
        count=_share_links,
    ),
}


@pytest.fixture(params=list(ENDPOINTS))
def endpoint(request: pytest.FixtureRequest) -> Endpoint:
    return ENDPOINTS[request.param]


def _post(client: TestClient, url: str, body: dict[str, Any] | None, key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(url, json=body, headers=headers)


def test_retry_replays_the_first_answer_and_creates_nothing(
    admin: TestClient, endpoint: Endpoint
) -> None:
    """Same key, same body: one row made, the retry answers the same body and status."""
    url = endpoint.url(admin)
    before = endpoint.count(admin, url)
    first = _post(admin, url, endpoint.body, "retry-1")
    assert first.status_code == endpoint.status, first.text
    assert "idempotent-replayed" not in first.headers
    again = _post(admin, url, endpoint.body, "retry-1")
    assert again.status_code == endpoint.status, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert endpoint.count(admin, url) == before + 1


def test_concurrent_retries_create_one(admin: TestClient, endpoint: Endpoint) -> None:
    """Three requests at once with one key: all get the same answer, one row is made."""
    url = endpoint.url(admin)
    before = endpoint.count(admin, url)
    results: list[Any] = []

    def send() -> None:
        results.append(_post(admin, url, endpoint.body, "burst-1"))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status_code for r in results] == [endpoint.status] * 3, [r.text for r in results]
    assert len({repr(r.json()) for r in results}) == 1
    assert endpoint.count(admin, url) == before + 1


def test_same_key_with_another_body_is_422(admin: TestClient, endpoint: Endpoint) -> None:
    """Reusing a key for a different body is refused at the header; nothing more is made."""
    url = endpoint.url(admin)
    before = endpoint.count(admin, url)
    assert _post(admin, url, endpoint.body, "reuse").status_code == endpoint.status
    refused = _post(admin, url, endpoint.other, "reuse")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["path"] == "headers.Idempotency-Key"
    assert endpoint.count(admin, url) == before + 1


def test_without_a_key_each_call_creates(admin: TestClient, endpoint: Endpoint) -> None:
    """No header: as before, every call creates (a second territory needs another name)."""
    url = endpoint.url(admin)
    before = endpoint.count(admin, url)
    first = _post(admin, url, endpoint.body, None)
    second = _post(admin, url, endpoint.other, None)
    assert first.status_code == second.status_code == endpoint.status, second.text
    assert "idempotent-replayed" not in second.headers
    assert first.json() != second.json()
    assert endpoint.count(admin, url) == before + 2


def test_keys_belong_to_their_api_key(admin: TestClient, settings: Settings) -> None:
    """Another API key using the same Idempotency-Key gets its own territory."""
    engine = create_engine(settings.database_url, poolclass=NullPool)
    with Session(engine) as session:
        _, other_key = create_api_key(session, "tests-other", ["territory"])
        session.commit()
    engine.dispose()
    body = {"name": "Shared key", "timezone": "Asia/Shanghai"}
    first = _post(admin, "/territories", body, "same")
    assert first.status_code == 201
    headers = {"Idempotency-Key": "same", "Authorization": f"Bearer {other_key}"}
    second = admin.post("/territories", json=body | {"name": "Other"}, headers=headers)
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]


def test_failed_first_attempt_frees_the_key(admin: TestClient) -> None:
    """An error (409: name taken) is not stored: the fixed request may reuse the key."""
    _territory(admin, "Taken")
    taken = {"name": "Taken", "timezone": "Asia/Shanghai"}
    assert _post(admin, "/territories", taken, "fix-me").status_code == 409
    fixed = _post(admin, "/territories", taken | {"name": "Free"}, "fix-me")
    assert fixed.status_code == 201, fixed.text
