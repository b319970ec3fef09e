"""Fixtures for HTTP tests: an app on a migrated database (both backends) and an API key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.auth import create_api_key
from app.config import Settings
from app.main import create_app


@pytest.fixture
def app_settings(db_url: str) -> Settings:
    """Solves run inline here: spawning a process pool per test would dominate the suite
    (the process path has its own tests in tests/app/test_solving.py)."""
    return Settings(
        database_url=db_url, public_base_url="https://plans.example.com", solver_processes=0
    )


@pytest.fixture
def api_key(app_settings: Settings) -> str:
    engine = create_engine(app_settings.database_url)
    with Session(engine) as session:
        _, raw = create_api_key(session, "tests", ["plan"])
        session.commit()
    engine.dispose()
    return raw


@pytest.fixture
def client(app_settings: Settings, api_key: str) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings)) as c:
        c.headers["Authorization"] = f"Bearer {api_key}"
        yield c
