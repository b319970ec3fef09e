"""Load test: POST /plan at rising concurrency against a real server, /health polled meanwhile.

Starts ``visit-planner serve`` (uvicorn, default settings: solves in worker processes) on a
free loopback port with a temporary SQLite database, then drives it from this process
(a second process, as a real client would be). Every loop is bounded in count and time.

For each concurrency level it reports throughput, p50/p99 latency of ``POST /plan`` (the
40-customer sample week, 2 s time limit), the answers by status (201, and the documented
503 when every solver slot is busy) and ``/health`` latency measured during the load,
relative to ``/health`` on the idle server (the baseline of the same run).

Usage: ``python -m bench.load_bench [--levels 1,2,4,8] [--requests 8] [--time-limit 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from app.sample import build_sample_request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class HealthProbe(threading.Thread):
    """Polls /health every 50 ms until stopped, recording latencies in milliseconds."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self.stop.is_set():
                began = time.perf_counter()
                client.get("/health")
                self.samples.append((time.perf_counter() - began) * 1000)
                self.stop.wait(0.05)


def start_server(tmp: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    env = dict(os.environ, VP_DATABASE_URL=f"sqlite:///{tmp / 'load.db'}")
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True)
    key = (
        subprocess.run(
            [*cli, "create-api-key", "--name", "load"], env=env, check=True, capture_output=True
        )
        .stdout.decode()
        .strip()
    )
    server = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, key
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("server did not start within 60 s")


def run_level(base: str, key: str, body: dict[str, Any], level: int, count: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    probe = HealthProbe(base)
    probe.start()

    def one(_: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            began = time.perf_counter()
            response = client.post("/plan", json=body, headers=headers)
            latencies.append(time.perf_counter() - began)
            statuses[response.status_code] += 1

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=level) as pool:
        list(pool.map(one, range(count)))
    wall = time.perf_counter() - began
    probe.stop.set()
    probe.join()
    ok = list(latencies)
    print(
        f"{level:>5} {count:>4} {count / wall:>7.2f} {percentile(ok, 0.5):>7.2f} "
        f"{percentile(ok, 0.99):>7.2f} {json.dumps(dict(sorted(statuses.items()))):>22} "
        f"{statistics.median(probe.samples):>8.1f} {percentile(probe.samples, 0.99):>8.1f} "
        f"{max(probe.samples):>8.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="POST /plan load test with /health probing")
    parser.add_argument("--levels", default="1,2,4,8")
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=2.0)
    args = parser.parse_args(argv)
    body = build_sample_request(date(2026, 12, 7))
    body["options"] = {"time_limit_seconds": args.time_limit}

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server, key = start_server(Path(tmp), port)
        base = f"http://127.0.0.1:{port}"
        try:
            idle = HealthProbe(base)
            idle.start()
            time.sleep(2)
            idle.stop.set()
            idle.join()
            print(
                f"idle /health: p50 {statistics.median(idle.samples):.1f} ms, "
                f"p99 {percentile(idle.samples, 0.99):.1f} ms ({len(idle.samples)} probes)"
            )
            print(
                "level reqs   req/s  p50 s   p99 s              statuses  hp50 ms  hp99 ms  hmax ms"
            )
            # Warm the worker processes so the first level does not pay for their start.
            httpx.post(
                f"{base}/plan", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=120
            )
            for level in (int(x) for x in args.levels.split(",")):
                run_level(base, key, body, level, max(args.requests, level))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
