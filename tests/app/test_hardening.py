"""Scopes, rate limits, request ids, security headers and metrics, through HTTP."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.auth import create_api_key, revoke_api_key
from app.config import Settings
from app.main import create_app
from app.observability import JsonFormatter, request_id_var
from app.ratelimit import RateLimited, RateLimiter
from tests.app.factories import plan_body


def _key(settings: Settings, scopes: list[str]) -> tuple[int, str]:
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        key, raw = create_api_key(session, "scoped", scopes)
        session.commit()
        key_id = key.id
    engine.dispose()
    return key_id, raw


def test_read_only_key_reads_but_cannot_plan(app_settings: Settings, api_key: str) -> None:
    """A 'read' key may GET a plan but POST /plan answers 403 naming the missing scope."""
    _, reader = _key(app_settings, ["read"])
    with TestClient(create_app(app_settings)) as client:
        created = client.post(
            "/plan", json=plan_body(), headers={"Authorization": f"Bearer {api_key}"}
        )
        assert created.status_code == 201
        plan_id = created.json()["plan_id"]
        read = client.get(f"/plans/{plan_id}", headers={"Authorization": f"Bearer {reader}"})
        assert read.status_code == 200
        write = client.post(
            "/plan", json=plan_body(), headers={"Authorization": f"Bearer {reader}"}
        )
    assert write.status_code == 403
    assert "'plan' scope" in write.json()["error"]["message"]


def test_revoked_key_is_refused(app_settings: Settings) -> None:
    """A key that worked stops working once revoked: 403."""
    key_id, raw = _key(app_settings, ["plan"])
    engine = create_engine(app_settings.database_url)
    with Session(engine) as session:
        revoke_api_key(session, key_id)
        session.commit()
    engine.dispose()
    with TestClient(create_app(app_settings)) as client:
        response = client.get("/plans/x", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 403


def test_rate_limit_answers_429_with_retry_after(app_settings: Settings, api_key: str) -> None:
    """Past the burst, a key gets 429 with Retry-After in the error shape; others are unaffected."""
    limited = app_settings.model_copy(update={"rate_limit_per_minute": 6, "rate_limit_burst": 2})
    _, other = _key(app_settings, ["read"])
    with TestClient(create_app(limited)) as client:
        auth = {"Authorization": f"Bearer {api_key}"}
        codes = [client.get("/plans/nope", headers=auth).status_code for _ in range(3)]
        assert codes == [404, 404, 429]
        refused = client.get("/plans/nope", headers=auth)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["code"] == "rate_limited"
        assert (
            client.get("/plans/nope", headers={"Authorization": f"Bearer {other}"}).status_code
            == 404
        )


def test_token_bucket_refills_over_time() -> None:
    """The bucket refills at the configured rate, so a client that waits gets through."""
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=1, clock=lambda: now[0])
    limiter.check("k")
    with pytest.raises(RateLimited) as caught:
        limiter.check("k")
    assert caught.value.retry_after == 1
    now[0] += 1.0
    limiter.check("k")


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    """A safe X-Request-ID is echoed back; a missing or unsafe one is replaced by a fresh id."""
    given = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/health", headers={"X-Request-ID": "bad id\nwith newline"})
    assert made.headers["x-request-id"] != "bad id\nwith newline"
    assert len(made.headers["x-request-id"]) == 32


def test_security_headers_on_every_response(client: TestClient) -> None:
    """Responses, errors included, say nosniff, no-referrer and deny framing."""
    for response in (client.get("/health"), client.get("/plans/missing")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"


def test_cors_only_for_configured_origins(app_settings: Settings) -> None:
    """A configured origin gets CORS headers on preflight; others get none."""
    cors = app_settings.model_copy(update={"cors_origins": ["https://crm.example.com"]})
    with TestClient(create_app(cors)) as client:
        preflight = {"Access-Control-Request-Method": "POST"}
        ok = client.options("/plan", headers={"Origin": "https://crm.example.com", **preflight})
        bad = client.options("/plan", headers={"Origin": "https://evil.example", **preflight})
    assert ok.headers["access-control-allow-origin"] == "https://crm.example.com"
    assert "access-control-allow-origin" not in bad.headers


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    """/metrics exposes request latency by route template (not raw path) and the job gauges."""
    client.get("/plans/one-id")
    client.get("/plans/another-id")
    text = client.get("/metrics").text
    assert 'route="/plans/{plan_id}"' in text
    assert "one-id" not in text
    assert "vp_jobs_queued" in text


def test_json_log_lines_carry_the_request_id() -> None:
    """The JSON formatter writes one parseable object with the current request id."""
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "hello world"
    assert entry["request_id"] == "req-42"


def test_metrics_record_solves_by_outcome(client: TestClient) -> None:
    """A plan made through the API shows up in the solve-duration histogram by outcome."""
    before = client.get("/metrics").text
    body = client.post("/plan", json=plan_body()).json()
    after = client.get("/metrics").text
    outcome = "partial" if body["unassigned"] else "complete"
    line = f'vp_solve_duration_seconds_count{{outcome="{outcome}"}}'

    def count(text: str) -> float:
        rows = [r for r in text.splitlines() if r.startswith(line)]
        return float(rows[0].split()[-1]) if rows else 0.0

    assert count(after) == count(before) + 1


def test_ready_reports_an_unreachable_osrm_without_failing(app_settings: Settings) -> None:
    """With OSRM configured but down, /ready stays 200 (plans fall back) and says osrm false."""
    with_osrm = app_settings.model_copy(update={"osrm_url": "http://127.0.0.1:9"})
    with TestClient(create_app(with_osrm)) as client:
        ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["osrm"] is False


def test_geocode_lookups_are_counted_as_hits_and_misses(client: TestClient) -> None:
    """The second geocoding of an address is a cache hit in /metrics."""

    def value(result: str) -> float:
        line = f'vp_geocode_lookups_total{{result="{result}"}}'
        rows = [r for r in client.get("/metrics").text.splitlines() if r.startswith(line)]
        return float(rows[0].split()[-1]) if rows else 0.0

    hits = value("hit")
    client.post("/geocode", json={"addresses": ["Shanghai"]})
    misses = value("miss")
    client.post("/geocode", json={"addresses": ["Shanghai"]})
    assert value("hit") == hits + 1
    assert value("miss") == misses
