"""Where solves run: worker processes by default, so the API stays responsive.

OR-Tools holds the GIL for the whole search (its Python binding does not release it), so a
solve in a thread freezes every other request of the process, ``/health`` included, and two
solves in threads share one core. Worker processes avoid both; ``solver_processes = 0`` keeps
solves in the calling thread for tests and tiny deployments.

Re-plans (``solver.replan.replan``) share the same processes and the same slots: a re-plan
is a search like any other, so it counts against ``max_concurrent_solves`` too.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from app.errors import ServiceBusy, ServiceUnavailable
from app.observability import SOLVE_ERRORS, SOLVES
from solver.domain import PlanningInput, PlanOutcome
from solver.pipeline import plan
from solver.replan import ReplanInput, ReplanOutcome, replan
from solver.types import SolveParams, TravelMatrix

T = TypeVar("T")


class SolverRunner(Protocol):
    """Runs ``solver.pipeline.plan`` and ``solver.replan.replan`` somewhere, at most
    ``capacity`` searches (of either kind) at a time."""

    def plan(
        self, inp: PlanningInput, matrix: TravelMatrix, params: SolveParams, *, wait: bool
    ) -> PlanOutcome: ...

    def replan(
        self, inp: ReplanInput, matrix: TravelMatrix, params: SolveParams, *, wait: bool
    ) -> ReplanOutcome: ...

    def ensure_free(self) -> None:
        """Raise ``ServiceBusy`` now if every slot is taken (a peek, not a reservation)."""
        ...

    def shutdown(self) -> None: ...


class _Slots:
    """A cap on concurrent solves: callers that cannot wait get 503 instead of a queue.

    One counter under a condition, so that taking a slot and peeking at whether one is free
    (``ensure_free``) read the same state.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._used = 0
        self._changed = threading.Condition()

    def acquire(self, wait: bool) -> None:
        with self._changed:
            if not wait and self._used >= self._capacity:
                raise _busy()
            self._changed.wait_for(lambda: self._used < self._capacity)
            self._used += 1

    def release(self) -> None:
        with self._changed:
            if self._used == 0:
                raise RuntimeError("solver slot released more often than taken")
            self._used -= 1
            self._changed.notify()

    def ensure_free(self) -> None:
        with self._changed:
            if self._used >= self._capacity:
                raise _busy()


def _busy() -> ServiceBusy:
    return ServiceBusy(
        "All solver slots are busy; retry shortly or send the request with async",
        retry_after=5,
    )


class _SlotRunner:
    """``plan`` and ``replan`` under a solver slot; subclasses say where ``_run`` runs them."""

    def plan(
        self, inp: PlanningInput, matrix: TravelMatrix, params: SolveParams, *, wait: bool
    ) -> PlanOutcome:
        return self._run(plan, inp, matrix, params, wait=wait)

    def replan(
        self, inp: ReplanInput, matrix: TravelMatrix, params: SolveParams, *, wait: bool
    ) -> ReplanOutcome:
        return self._run(replan, inp, matrix, params, wait=wait)

    _slots: _Slots

    def ensure_free(self) -> None:
        """Turn a request away before its geocoding and matrix when no slot is free.

        Under a burst, twenty requests that would all get 503 at the slot otherwise first
        parse, geocode and build matrices in the server's threads, holding the GIL the event
        loop needs for ``/health`` (bench/load_bench.py: p99 152 ms at a burst of 20).
        """
        self._slots.ensure_free()

    def _run(self, fn: Callable[..., T], *args: Any, wait: bool) -> T:
        raise NotImplementedError


class InlineSolver(_SlotRunner):
    """Solves in the calling thread: simplest, but blocks the process while it runs."""

    def __init__(self, capacity: int) -> None:
        self._slots = _Slots(capacity)

    def _run(self, fn: Callable[..., T], *args: Any, wait: bool) -> T:
        self._slots.acquire(wait)
        try:
            return fn(*args)
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        return None


def _warm_up() -> None:
    """Import OR-Tools once per worker, not on its first request."""
    import solver.routing  # noqa: F401


class ProcessSolver(_SlotRunner):
    """A lazily started pool of worker processes (spawned: safe in a threaded server)."""

    def __init__(self, processes: int, capacity: int) -> None:
        self._processes = processes
        self._slots = _Slots(capacity)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_warm_up,
                )
            return self._pool

    def _run(self, fn: Callable[..., T], *args: Any, wait: bool) -> T:
        """``fn(*args)`` in a worker process (``fn`` must be importable there) under a slot."""
        self._slots.acquire(wait)
        try:
            return self._ensure_pool().submit(fn, *args).result()
        except BrokenProcessPool as exc:
            # A worker died (killed, out of memory): start a fresh pool for the next request.
            with self._lock:
                self._pool = None
            raise ServiceUnavailable("A solver process stopped; retry the request") from exc
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


def make_solver(processes: int | None, capacity: int) -> SolverRunner:
    """Worker processes (default: one per core), or inline when ``processes`` is 0."""
    count = processes if processes is not None else (os.cpu_count() or 1)
    if count == 0:
        return InlineSolver(capacity)
    return ProcessSolver(count, capacity)


def observed_solve(
    runner: SolverRunner,
    inp: PlanningInput,
    matrix: TravelMatrix,
    params: SolveParams,
    wait: bool,
) -> PlanOutcome:
    """Run a solve and record its duration and outcome for ``/metrics``."""
    return _observed(lambda: runner.plan(inp, matrix, params, wait=wait), lambda out: out)


def observed_replan(
    runner: SolverRunner,
    inp: ReplanInput,
    matrix: TravelMatrix,
    params: SolveParams,
    wait: bool,
) -> ReplanOutcome:
    """Run a re-plan under the runner's slots and record it for ``/metrics`` as a solve."""
    return _observed(lambda: runner.replan(inp, matrix, params, wait=wait), lambda out: out.outcome)


def _observed(run: Callable[[], T], outcome_of: Callable[[T], PlanOutcome]) -> T:
    """Time ``run`` as one solve; a busy refusal is neither a solve nor an error."""
    began = time.perf_counter()
    try:
        result = run()
    except ServiceBusy:
        raise
    except Exception:
        SOLVE_ERRORS.inc()
        raise
    label = "partial" if outcome_of(result).unassigned else "complete"
    SOLVES.labels(label).observe(time.perf_counter() - began)
    return result
