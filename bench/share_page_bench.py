"""Share page under load: GET /s/{token} at a fixed request rate against a real server.

Starts ``visit-planner serve`` (uvicorn, one process) on a free loopback port with a
temporary SQLite database, stores one 5-working-day, 40-visit plan (1 rep, 8 visits a day)
through ``POST /plan``, then sends requests from this process (a second process, as a
phone's browser would be) on an open-loop schedule: request i is due at ``i / rate`` and its
latency is measured from that due time, so a stalled server cannot hide queueing delay
(no coordinated omission). The number of requests in flight is bounded.

Baseline of the same run: ``GET /health`` at the same rate, so the page's figures read as
ratios against the cheapest endpoint of the same server on the same machine.

Usage: ``python -m bench.share_page_bench [--rate 200] [--seconds 15] [--target-p99-ms 50]``
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.config import Settings
from app.db import make_engine, make_session_factory
from app.web import service
from app.web.router import render_template
from app.web.view import build_page, map_data
from bench.load_bench import free_port, percentile, start_server
from bench.plan_bench import make_request
from models import utcnow

MAX_IN_FLIGHT = 64


@dataclass
class Run:
    """Latencies (ms, from each request's due time) and status counts of one fixed-rate run."""

    latencies: list[float]
    statuses: Counter[int | str]
    seconds: float

    def line(self, label: str, baseline: Run | None = None) -> str:
        p50, p90, p99 = (percentile(self.latencies, q) for q in (0.5, 0.9, 0.99))
        rate = len(self.latencies) / self.seconds
        ratio = ""
        if baseline is not None:
            ratio = f"  p99/base {p99 / percentile(baseline.latencies, 0.99):5.2f}"
        return (
            f"{label:<14} {rate:7.1f} req/s  p50 {p50:6.2f}  p90 {p90:6.2f}  p99 {p99:6.2f}"
            f"  max {max(self.latencies):7.2f} ms{ratio}  statuses {dict(self.statuses)}"
        )


async def fixed_rate(base: str, path: str, rate: float, seconds: float) -> Run:
    """Send ``rate * seconds`` GETs to ``path`` on schedule; at most MAX_IN_FLIGHT at once."""
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: Counter[int | str] = Counter()
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def one(due: float) -> None:
            async with gate:
                try:
                    response = await client.get(path)
                    await response.aread()
                    statuses[response.status_code] += 1
                except httpx.HTTPError as error:
                    statuses[type(error).__name__] += 1
            latencies.append((loop.time() - due) * 1000)

        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due)))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
    return Run(latencies, statuses, elapsed)


def uncached_render_ms(database_url: str, path: str, repeat: int = 50) -> float:
    """Median time to build the page without the server's page cache: what a first view or a
    new day costs (the load below mostly hits the cache, as repeat views of one link do)."""
    settings = Settings(database_url=database_url)
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    token = path.rsplit("/", 1)[1]
    times: list[float] = []
    for _ in range(repeat):
        began = time.perf_counter()
        with factory() as session:
            plan = service.shared_plan(session, token)
            page = build_page(plan, "en", utcnow())
            config = {"tiles": "", "attribution": "", "days": map_data(page)}
            render_template(page, config, token)
        times.append((time.perf_counter() - began) * 1000)
    engine.dispose()
    return float(statistics.median(times))


def wrk(url: str, seconds: float) -> str | None:
    """Throughput ceiling from Debian's ``wrk`` (closed loop), if installed; else ``None``."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    out = subprocess.run(
        [binary, "-t1", "-c4", f"-d{max(1, int(seconds))}s", "--latency", url],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 30,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    return f"{rate.group(1) if rate else '?'} req/s, p99 {p99.group(1) if p99 else '?'}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--target-p99-ms", type=float, default=50.0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server, key = start_server(Path(tmp), port)
        try:
            base = f"http://127.0.0.1:{port}"
            body = make_request(40, 1, seed=7, time_limit=5)
            created = httpx.post(
                f"{base}/plan",
                json=body,
                headers={"Authorization": f"Bearer {key}"},
                timeout=120,
            )
            created.raise_for_status()
            plan = created.json()
            path = "/s/" + plan["share_url"].rsplit("/s/", 1)[1]
            page = httpx.get(base + path, timeout=10)
            print(
                f"plan: {len(plan['days'])} days, {plan['summary']['visits']} visits;"
                f" page {len(page.content) / 1024:.1f} KiB (status {page.status_code})"
            )
            asyncio.run(fixed_rate(base, path, args.rate, 2.0))  # warm-up, not reported
            render_ms = uncached_render_ms(f"sqlite:///{Path(tmp) / 'load.db'}", path)
            health = asyncio.run(fixed_rate(base, "/health", args.rate, args.seconds))
            share = asyncio.run(fixed_rate(base, path, args.rate, args.seconds))
            wrk_lines = [wrk(base + p, args.seconds) for p in ("/health", path)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"uncached render (link + plan load + view + template, in-process): {render_ms:.2f} ms")
    print(health.line("GET /health"))
    print(share.line("GET /s/{token}", health))
    for label, line in zip(("GET /health", "GET /s/{token}"), wrk_lines, strict=True):
        if line:
            print(f"wrk (closed loop, 4 connections) {label:<14} {line}")
    p99 = percentile(share.latencies, 0.99)
    verdict = "met" if p99 < args.target_p99_ms else "MISSED"
    print(f"target p99 < {args.target_p99_ms:.0f} ms at {args.rate:.0f} req/s: {verdict}")


if __name__ == "__main__":
    main()
