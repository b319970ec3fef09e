"""Long fuzzing run: every operation of the service's own OpenAPI document, many examples each.

The test suite runs the same property (``tests/app/test_fuzz.py``) with a few dozen
derandomized examples per operation so that it stays fast and repeatable; this run goes wider
(more examples, a fresh seed each run unless ``--seed`` is given) and does not stop at the first
failure: it records every failing case (5xx, an answer outside the documented schema, an error
body not in the contract's ``{"error": {code, message, details}}`` shape) and prints them, with a
table of answers by status per operation. The key has every scope, so the territory endpoints
are exercised past authorisation; the database is a temporary, migrated SQLite file.

Random ids only reach the handlers' 404 branch, and schema-generated plan bodies almost never
pass the cross-field rules, so the run has three phases per operation:

1. ``schema``: schemathesis cases as generated (random ids and bodies);
2. ``real ids``: the same, with every path parameter set to an object that exists (a stored
   plan, its share token, the sample territory, one of its reps and customers, a schedule,
   a run and its job); ``DELETE`` operations are left out of this phase so that later
   operations still find their objects;
3. ``mutated``: for operations with a known valid body (plans, replan, evaluate, outcomes,
   territories, reps, customers, schedules, share), that body with one random part replaced
   (wrong type, empty, huge, negative, malformed time), removed or duplicated. Schema
   conformance is checked in phases 1-2; phase 3 checks no 5xx and the error shape.

Usage: ``python -m bench.fuzz_bench [--examples 300] [--seed N] [--only /plan]``.
Exit status 1 when any case failed, so it can gate a release.
"""

from __future__ import annotations

import argparse
import copy
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
import schemathesis.specs.openapi.checks as checks
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import not_a_server_error

from app.auth import create_api_key
from app.config import Settings
from app.db import alembic_config, make_engine, make_session_factory

# The same conformance checks as the test suite (see tests/app/test_fuzz.py for why not
# "positive data acceptance").
CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@dataclass
class OperationReport:
    """What one operation answered over its examples."""

    label: str
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _app(db: Path) -> tuple[Any, str]:
    """A migrated SQLite app with short solves and no rate limit, and a key with every scope."""
    from alembic import command

    from app.main import create_app

    url = f"sqlite:///{db}"
    command.upgrade(alembic_config(url), "head")
    app_settings = Settings(
        database_url=url,
        max_time_limit_seconds=2,
        default_time_limit_seconds=0.3,
        solver_processes=0,
        rate_limit_per_minute=0,  # the fuzzer fires hundreds of requests a second
    )
    engine = make_engine(app_settings)
    with make_session_factory(engine)() as session:
        _, key = create_api_key(session, "fuzz-bench", ["territory"])
        session.commit()
    engine.dispose()
    return create_app(app_settings), key


def _fuzz(
    operation: Any,
    key: str,
    examples: int,
    run_seed: int,
    label: str,
    ids: dict[str, str] | None = None,
) -> OperationReport:
    report = OperationReport(label)

    @seed(run_seed)
    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def explore(case: Any) -> None:
        if ids is not None:
            case.path_parameters = {**(case.path_parameters or {}), **ids}
        try:
            response = case.call(headers={"Authorization": f"Bearer {key}"})
        except Exception as exc:  # the app raised: what a real server answers with a 500
            report.statuses[500] += 1
            report.failures.append(
                f"{case.method} {case.formatted_path} {case.query or ''} -> raised "
                f"{type(exc).__name__}: {str(exc)[:200]}"
            )
            return
        report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
            if response.status_code >= 400:
                body = response.json()
                if set(body.get("error", {})) != {"code", "message", "details"}:
                    raise AssertionError(f"error body not in the contract's shape: {body}")
        except Exception as exc:  # every failure is a finding to report
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            report.failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: {first_line}"
            )

    began = time.perf_counter()
    explore()
    report.seconds = time.perf_counter() - began
    return report


# What a mutation puts in place of a part of a valid body.
_ODD_VALUES: tuple[Any, ...] = (
    None,
    -1,
    0,
    10**30,
    1e308,
    float("nan"),
    "",
    "x" * 5000,
    "2026-13-45T25:61:00",
    "\u0000\ud7ff<script>",
    [],
    {},
    True,
)


def _parts(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``value`` (dict keys and list indexes), the root excluded."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict | list):
        items: Any = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            found.append((*path, k))
            found.extend(_parts(v, (*path, k)))
    return found


def mutate(body: Any, rng: random.Random) -> Any:
    """``body`` with one random part replaced by an odd value, removed or duplicated."""
    out = copy.deepcopy(body)
    parts = _parts(out)
    if not parts:
        return rng.choice(_ODD_VALUES)
    path = rng.choice(parts)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = rng.random()
    if action < 0.7:
        parent[last] = rng.choice(_ODD_VALUES)
    elif action < 0.85 or not isinstance(parent, list):
        del parent[last]
    else:
        parent.insert(last, copy.deepcopy(parent[last]))
    return out


@dataclass
class Fixtures:
    """Objects that exist, for path parameters and valid bodies."""

    ids: dict[str, str]
    rep_id: str
    customer_id: str
    bodies: dict[tuple[str, str], Any]


def _fixtures(client: TestClient, app: Any) -> Fixtures:
    """A stored plan with a share token, the sample territory with a schedule and a run."""
    from datetime import date, timedelta

    from app.sample.build import build_sample_request
    from app.territories.sample import create_sample_territory

    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())
    request = build_sample_request(monday)
    request.setdefault("options", {})["time_limit_seconds"] = 0.5
    plan = client.post("/plan", json=request)
    plan.raise_for_status()
    plan_id = plan.json()["plan_id"]
    token = plan.json()["share_url"].rsplit("/", 1)[-1]
    first_day = next(d for d in plan.json()["days"] if d["stops"])
    customer = first_day["stops"][0]["customer_id"]
    with app.state.session_factory() as session:
        territory = create_sample_territory(session, app.state.settings).territory
        session.commit()
        territory_id = territory.id
    reps = client.get(f"/territories/{territory_id}/reps").json()["items"]
    pool = client.get(f"/territories/{territory_id}/customers").json()["items"]
    schedule = client.post(f"/territories/{territory_id}/schedules", json={"cron": "0 20 * * sun"})
    schedule.raise_for_status()
    run = client.post(f"/territories/{territory_id}/runs", json={})
    run.raise_for_status()
    ids = {
        "plan_id": plan_id,
        "token": token,
        "territory_id": territory_id,
        "schedule_id": schedule.json()["id"],
        "run_id": run.json()["run_id"],
        "job_id": run.json()["job_id"],
    }
    evaluate = {
        "days": [
            {
                "rep_id": first_day["rep_id"],
                "date": first_day["date"],
                "customer_ids": [s["customer_id"] for s in first_day["stops"]][::-1],
            }
        ]
    }
    outcome = {"customer_id": customer, "status": "no_show", "note": "closed"}
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/plan"): request,
        ("POST", "/plans/{plan_id}/evaluate"): evaluate,
        ("POST", "/plans/{plan_id}/replan"): {"remove_customer_ids": [customer]},
        ("POST", "/plans/{plan_id}/outcomes"): outcome,
        ("POST", "/s/{token}/outcomes"): outcome,
        ("POST", "/plans/{plan_id}/share"): {"expires_in_days": 3},
        ("POST", "/territories"): {"name": "Fuzz", "timezone": "Asia/Shanghai"},
        ("PATCH", "/territories/{territory_id}"): {"name": "Fuzzed", "currency": "CNY"},
        ("POST", "/territories/{territory_id}/schedules"): {"cron": "0 20 * * sun"},
        ("POST", "/territories/{territory_id}/reps"): [reps[0]],
        ("POST", "/territories/{territory_id}/customers"): [pool[0]],
        ("POST", "/territories/{territory_id}/runs"): {"week_start": monday.isoformat()},
    }
    return Fixtures(ids, reps[0]["id"], pool[0]["id"], bodies)


def _path_ids(path: str, fixtures: Fixtures) -> dict[str, str] | None:
    """Real values for every parameter of ``path``, or None when one is unknown."""
    names = re.findall(r"{(\w+)}", path)
    ids: dict[str, str] = {}
    for name in names:
        if name == "external_id":
            ids[name] = fixtures.rep_id if "/reps/" in path else fixtures.customer_id
        elif name in fixtures.ids:
            ids[name] = fixtures.ids[name]
        else:
            return None
    return ids


def _mutations(
    client: TestClient, method: str, path: str, ids: dict[str, str], body: Any, n: int, rng: Any
) -> OperationReport:
    """``n`` mutated copies of a valid ``body``: no 5xx, errors in the contract's shape."""
    report = OperationReport(f"{method} {path}")
    url = path.format(**ids)
    began = time.perf_counter()
    for _ in range(n):
        sent = mutate(body, rng)
        try:
            response = client.request(method, url, json=sent)
        except ValueError:  # NaN is not JSON: the client refuses to send it
            continue
        report.statuses[response.status_code] += 1
        problem = ""
        if response.status_code >= 500:
            problem = response.text[:200]
        elif response.status_code >= 400:
            error = response.json().get("error", {})
            if set(error) != {"code", "message", "details"}:
                problem = f"error body not in the contract's shape: {response.text[:200]}"
        if problem:
            report.failures.append(f"{method} {url} -> {response.status_code}: {problem}")
    report.seconds = time.perf_counter() - began
    return report


def _print(phase: str, report: OperationReport) -> None:
    calls = sum(report.statuses.values())
    rate = calls / report.seconds if report.seconds else 0.0
    statuses = " ".join(f"{s}:{n}" for s, n in sorted(report.statuses.items()))
    print(
        f"{phase:<9}{report.label[:51]:<52}{calls:>6}{len(report.failures):>6}{rate:>7.0f}  "
        f"{statuses}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=300, help="examples per operation")
    parser.add_argument("--seed", type=int, default=None, help="default: a fresh one")
    parser.add_argument("--only", default="", help="operations whose path contains this")
    args = parser.parse_args(argv)
    run_seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(run_seed)

    reports: list[OperationReport] = []
    with tempfile.TemporaryDirectory(prefix="vp-fuzz-") as tmp:
        app, key = _app(Path(tmp) / "fuzz.db")
        headers = {"Authorization": f"Bearer {key}"}
        with TestClient(app, headers=headers, raise_server_exceptions=False) as client:
            fixtures = _fixtures(client, app)
            schema = schemathesis.openapi.from_asgi("/openapi.json", app)
            # Each result is Ok(operation) or Err(schema problem); .ok() raises on the latter.
            results: list[Any] = list(schema.get_all_operations())
            operations = [result.ok() for result in results]
            operations = [op for op in operations if args.only in op.path]
            print(f"seed {run_seed}, {args.examples} examples per operation and phase")
            print(f"{'phase':<9}{'operation':<52}{'calls':>6}{'fail':>6}{'req/s':>7}  statuses")
            for op in operations:
                report = _fuzz(op, key, args.examples, run_seed, op.label)
                _print("schema", report)
                reports.append(report)
                ids = _path_ids(op.path, fixtures)
                if ids and op.method.upper() != "DELETE":
                    report = _fuzz(op, key, args.examples, run_seed, op.label, ids)
                    _print("real ids", report)
                    reports.append(report)
                body = fixtures.bodies.get((op.method.upper(), op.path))
                if body is not None and ids is not None:
                    report = _mutations(
                        client, op.method.upper(), op.path, ids, body, args.examples, rng
                    )
                    _print("mutated", report)
                    reports.append(report)

    calls = sum(sum(r.statuses.values()) for r in reports)
    server_errors = sum(n for r in reports for s, n in r.statuses.items() if s >= 500)
    failures = [f for r in reports for f in r.failures]
    seconds = sum(r.seconds for r in reports)
    print(
        f"total: {calls} requests in {seconds:.1f} s ({calls / seconds:.0f}/s), "
        f"{server_errors} with 5xx, {len(failures)} failing cases"
    )
    for failure in failures[:50]:
        print("  FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
