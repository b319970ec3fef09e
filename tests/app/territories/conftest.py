"""Fixtures for territory tests: an app without rate limits and keys of each scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app.auth import create_api_key
from app.config import Settings
from app.main import create_app

KeyMaker = Callable[[str], str]


@pytest.fixture
def territory_settings(app_settings: Settings) -> Settings:
    """Tests fire many requests in a burst; the rate limiter has its own tests."""
    return app_settings.model_copy(update={"rate_limit_per_minute": 0})


@pytest.fixture
def make_key(territory_settings: Settings) -> KeyMaker:
    """A function making a live key with one scope."""

    def make(scope: str) -> str:
        engine = create_engine(territory_settings.database_url, poolclass=NullPool)
        with Session(engine) as session:
            _, raw = create_api_key(session, f"tests-{scope}", [scope])
            session.commit()
        engine.dispose()
        return raw

    return make


@pytest.fixture
def admin(territory_settings: Settings, make_key: KeyMaker) -> Iterator[TestClient]:
    """A client holding a key with the territory scope."""
    with TestClient(create_app(territory_settings)) as client:
        client.headers["Authorization"] = f"Bearer {make_key('territory')}"
        yield client


def territory_body(**changes: Any) -> dict[str, Any]:
    """A valid POST /territories body."""
    return {"name": "Shanghai East", "timezone": "Asia/Shanghai", **changes}


@pytest.fixture
def territory_id(admin: TestClient) -> str:
    """A fresh territory with one rep, ``rep-1``."""
    response = admin.post("/territories", json=territory_body())
    assert response.status_code == 201, response.text
    tid: str = response.json()["id"]
    rep = {"id": "rep-1", "name": "Wang Fang", "start": {"lat": 31.2155, "lon": 121.548}}
    assert admin.post(f"/territories/{tid}/reps", json=rep).status_code == 201
    return tid
