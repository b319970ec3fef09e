"""OSRM adapter: road-network travel times behind the ``MatrixProvider`` interface.

Everything that knows OSRM's URLs and JSON lives here; callers get ``TravelMatrix`` arrays,
snapping distances and encoded polylines, or an ``OsrmUnavailable`` error.

Why the shape:
- ``/table`` answers at most ``max_table_size`` x ``max_table_size`` cells per request
  (``osrm-routed --max-table-size``), so an n x n matrix is cut into square blocks sent with
  ``sources``/``destinations``, fetched by a bounded thread pool (the plan handler is
  synchronous) and written into one array.
- ``radiuses`` is not sent: one point without a road inside its radius fails the whole request
  (``NoSegment``). Instead every answer's ``sources[].distance`` (how far OSRM moved the point to
  reach a road) is kept, and the caller decides what a far snap means (README: OSRM).
- Retries are bounded and only for what may pass (connection errors, timeouts, 5xx, 429); the
  first block that still fails cancels the rest, so a dead server costs one timeout, not n.
- A small in-process LRU of whole matrices keyed by rounded coordinates and profile; a request
  whose points are all inside a cached matrix is answered by slicing it (re-planning a territory
  with a customer or two fewer needs no call). Per-pair entries were rejected: a 2,000-point
  matrix would be 4 million Python objects.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

from solver.types import Point

FloatArray = npt.NDArray[np.float64]

# Coordinates are rounded to 5 decimals (about 1 m) for cache keys and URLs.
COORD_DECIMALS = 5
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class OsrmUnavailable(Exception):
    """OSRM could not answer: connection refused, timeout, HTTP error or an error code."""


@dataclass(frozen=True)
class RoadTable:
    """Free-flow road durations (s) and distances (m) between all points, as OSRM gave them.

    ``routable[i, j]`` is False where OSRM found no route (its ``null``); ``snap_m[i]`` is how
    far OSRM moved point ``i`` to put it on a road.
    """

    durations: FloatArray
    distances: FloatArray
    routable: npt.NDArray[np.bool_]
    snap_m: FloatArray

    def take(self, index: Sequence[int]) -> RoadTable:
        """The sub-table of the points at ``index``, in that order."""
        ix = np.asarray(index, dtype=np.intp)
        grid = np.ix_(ix, ix)
        return RoadTable(
            self.durations[grid], self.distances[grid], self.routable[grid], self.snap_m[ix]
        )


def coord_key(point: Point) -> tuple[float, float]:
    """The rounded (lon, lat) a point is cached and sent under."""
    return (round(point.lon, COORD_DECIMALS), round(point.lat, COORD_DECIMALS))


class TableCache:
    """LRU of whole road tables per profile; thread-safe, bounded by entry count."""

    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, tuple[tuple[float, float], ...]], RoadTable] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, profile: str, keys: Sequence[tuple[float, float]]) -> RoadTable | None:
        """A table covering every key (sliced to their order), most recent entries first."""
        with self._lock:
            for cache_key in reversed(self._entries):
                cached_profile, cached_keys = cache_key
                if cached_profile != profile or len(cached_keys) < len(keys):
                    continue
                where = {k: i for i, k in enumerate(cached_keys)}
                index = [where.get(k, -1) for k in keys]
                if -1 in index:
                    continue
                self._entries.move_to_end(cache_key)
                self.hits += 1
                table = self._entries[cache_key]
                return table if index == list(range(len(cached_keys))) else table.take(index)
            self.misses += 1
            return None

    def put(self, profile: str, keys: Sequence[tuple[float, float]], table: RoadTable) -> None:
        if self._max <= 0:
            return
        with self._lock:
            self._entries[(profile, tuple(keys))] = table
            self._entries.move_to_end((profile, tuple(keys)))
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _blocks(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


class OsrmClient:
    """Blocking OSRM HTTP client: ``/table`` in bounded concurrent blocks, ``/route``."""

    def __init__(
        self,
        base_url: str,
        profile: str = "driving",
        *,
        max_table_size: int = 100,
        timeout_s: float = 10.0,
        concurrency: int = 4,
        retries: int = 2,
        retry_backoff_s: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_table_size < 1 or concurrency < 1 or retries < 0:
            raise ValueError("max_table_size and concurrency must be >= 1, retries >= 0")
        self.profile = profile
        self.max_table_size = max_table_size
        self.concurrency = concurrency
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            limits=httpx.Limits(max_connections=concurrency),
        )
        self.requests = 0  # HTTP requests sent, retries included (for tests and benchmarks)
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.retry_backoff_s * 2 ** (attempt - 1))
            with self._count_lock:
                self.requests += 1
            try:
                response = self._http.get(path, params=params)
            except httpx.HTTPError as exc:  # connect errors, timeouts, protocol errors
                last = exc
                continue
            if response.status_code in _RETRY_STATUS:
                last = OsrmUnavailable(f"HTTP {response.status_code}")
                continue
            try:
                body = response.json()
            except ValueError as exc:
                raise OsrmUnavailable(f"HTTP {response.status_code}: not JSON") from exc
            if not isinstance(body, dict) or body.get("code") != "Ok":
                code = body.get("code") if isinstance(body, dict) else None
                message = body.get("message") if isinstance(body, dict) else None
                raise OsrmUnavailable(f"HTTP {response.status_code}: {code}: {message}")
            return body
        raise OsrmUnavailable(f"no answer after {self.retries + 1} attempt(s): {last}") from last

    @staticmethod
    def _coords(points: Sequence[Point]) -> str:
        return ";".join(
            f"{lon:.{COORD_DECIMALS}f},{lat:.{COORD_DECIMALS}f}"
            for lon, lat in (coord_key(p) for p in points)
        )

    def _table_block(
        self, points: Sequence[Point], rows: range, cols: range
    ) -> tuple[range, range, dict[str, Any]]:
        if rows == cols:
            coords, params = [points[i] for i in rows], {}
        else:
            coords = [points[i] for i in rows] + [points[j] for j in cols]
            params = {
                "sources": ";".join(str(k) for k in range(len(rows))),
                "destinations": ";".join(str(len(rows) + k) for k in range(len(cols))),
            }
        params["annotations"] = "duration,distance"
        body = self._get(f"/table/v1/{self.profile}/{self._coords(coords)}", params)
        return rows, cols, body

    def table(self, points: Sequence[Point]) -> RoadTable:
        """The full road table between ``points``, assembled from square blocks."""
        n = len(points)
        durations = np.zeros((n, n), dtype=np.float64)
        distances = np.zeros((n, n), dtype=np.float64)
        routable = np.ones((n, n), dtype=np.bool_)
        snap = np.zeros(n, dtype=np.float64)
        if n < 2:
            return RoadTable(durations, distances, routable, snap)
        jobs = [
            (r, c) for r in _blocks(n, self.max_table_size) for c in _blocks(n, self.max_table_size)
        ]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(jobs))) as pool:
            futures: list[Future[tuple[range, range, dict[str, Any]]]] = [
                pool.submit(self._table_block, points, r, c) for r, c in jobs
            ]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for f in pending:
                f.cancel()
            for f in done:
                if f.exception() is not None:
                    raise OsrmUnavailable(str(f.exception())) from f.exception()
            for f in futures:
                rows, cols, body = f.result()
                self._fill(body, rows, cols, durations, distances, routable, snap)
        return RoadTable(durations, distances, routable, snap)

    @staticmethod
    def _fill(
        body: dict[str, Any],
        rows: range,
        cols: range,
        durations: FloatArray,
        distances: FloatArray,
        routable: npt.NDArray[np.bool_],
        snap: FloatArray,
    ) -> None:
        try:
            d = np.array(body["durations"], dtype=np.float64)  # null -> nan
            m = np.array(body["distances"], dtype=np.float64)
            src = [float(w.get("distance") or 0.0) for w in body["sources"]]
            dst = [float(w.get("distance") or 0.0) for w in body["destinations"]]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise OsrmUnavailable(f"malformed /table answer: {exc!r}") from exc
        if d.shape != (len(rows), len(cols)) or m.shape != d.shape:
            raise OsrmUnavailable(f"/table answered {d.shape}, asked {(len(rows), len(cols))}")
        ok = ~(np.isnan(d) | np.isnan(m))
        block = np.ix_(np.asarray(rows), np.asarray(cols))
        # Two points snapped onto one edge can come back as -1 m (an OSRM quirk): clamp.
        durations[block] = np.where(ok, np.maximum(d, 0.0), 0.0)
        distances[block] = np.where(ok, np.maximum(m, 0.0), 0.0)
        routable[block] = ok
        snap[np.asarray(rows)] = src
        snap[np.asarray(cols)] = dst

    def route_polyline(self, points: Sequence[Point]) -> str:
        """The road route through ``points`` in order, as an encoded polyline (precision 5)."""
        body = self._get(
            f"/route/v1/{self.profile}/{self._coords(points)}",
            {"overview": "full", "geometries": "polyline", "steps": "false"},
        )
        try:
            geometry = body["routes"][0]["geometry"]
        except (KeyError, IndexError, TypeError) as exc:
            raise OsrmUnavailable(f"malformed /route answer: {exc!r}") from exc
        if not isinstance(geometry, str):
            raise OsrmUnavailable("malformed /route answer: geometry is not a polyline")
        return geometry
