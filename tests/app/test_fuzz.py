"""Property-based fuzzing of the whole API from its own OpenAPI document (bounded run)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
import schemathesis.specs.openapi.checks as checks
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from app.auth import create_api_key
from app.config import Settings
from app.db import make_engine, make_session_factory
from app.main import create_app

# Per operation; bench/fuzz_bench.py holds the long run (real ids, mutated bodies).
# derandomize keeps CI runs repeatable.
EXAMPLES = int(os.environ.get("VP_FUZZ_EXAMPLES", "40"))
# Conformance of what we answer. Not "positive data acceptance": the OpenAPI document cannot
# express cross-field rules (duplicate ids, unknown rep_id), which are rightly 422s.
CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def fuzz_client_setup(sqlite_url: str) -> tuple[Any, str]:
    """An app on a migrated SQLite file with short solves, and a valid API key for it."""
    app_settings = Settings(
        database_url=sqlite_url,
        max_time_limit_seconds=2,
        default_time_limit_seconds=0.3,
        solver_processes=0,
        rate_limit_per_minute=0,  # the fuzzer fires hundreds of requests a second
    )
    engine = make_engine(app_settings)
    with make_session_factory(engine)() as session:
        _, key = create_api_key(session, "fuzz", ["territory"])  # every scope: past 403
        session.commit()
    engine.dispose()
    return create_app(app_settings), key


def test_no_5xx_and_responses_match_the_schema(fuzz_client_setup: tuple[Any, str]) -> None:
    """Any generated request gets a documented, non-5xx answer in the contract's shape."""
    app, key = fuzz_client_setup
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # Each result is Ok(operation) or Err(schema problem); .ok() raises on the latter.
    results: list[Any] = list(schema.get_all_operations())
    operations = [result.ok() for result in results]
    assert len(operations) >= 4  # the fuzzing is not vacuous

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {key}"})
            assert response.status_code < 500, (case.method, case.path, response.text[:500])
            case.validate_response(response, checks=CHECKS)
            if response.status_code >= 400:
                assert set(response.json()["error"]) == {"code", "message", "details"}

        check()
