"""Travel-matrix providers: every routing engine sits behind one ``matrix()`` call.

The embedded default is straight-line travel computed in-process by ``solver.distance``;
road-network engines (OSRM, ``app/geo/osrm.py``) are further adapters with the same signature.
``resolve_travel`` picks the provider a request names and owns the degradation rules: an
unknown or unconfigured provider, or one that fails, yields straight-line times and a warning,
never an error.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import httpx
import numpy as np
import numpy.typing as npt

from app.geo.osrm import OsrmClient, OsrmUnavailable, RoadTable, TableCache, coord_key
from solver.distance import EARTH_RADIUS_M, straight_line_matrix
from solver.types import Point, TravelMatrix

if TYPE_CHECKING:
    from app.config import Settings

STRAIGHT_LINE = "straight_line"


class MatrixUnavailable(Exception):
    """The provider could not produce a matrix now (server down, timeouts, errors)."""


@dataclass(frozen=True)
class TravelOptions:
    """Per-request travel settings, already resolved against the service defaults.

    ``traffic_factor`` scales road-network (free-flow) durations; see ``working_day_factor``.
    """

    speed_kmh: float
    detour_factor: float
    traffic_factor: float = 1.0


@runtime_checkable
class RouteGeometry(Protocol):
    """Draws the road path through points in order, as an encoded polyline (precision 5)."""

    def route_polyline(self, points: Sequence[Point]) -> str: ...


@dataclass(frozen=True)
class MatrixResult:
    """A matrix plus what the plan should say about it and who can draw its routes."""

    matrix: TravelMatrix
    provider: str
    warnings: tuple[str, ...] = ()
    geometry: RouteGeometry | None = None


class MatrixProvider(Protocol):
    """Durations (s) and distances (m) between all pairs of ``points``, in their order."""

    name: str

    def matrix(self, points: Sequence[Point], options: TravelOptions) -> TravelMatrix:
        """The matrix; raises ``MatrixUnavailable`` when the provider cannot answer now."""
        ...


class StraightLineMatrix:
    """Great-circle distance x detour factor at a constant speed; needs nothing external."""

    name = STRAIGHT_LINE

    def matrix(self, points: Sequence[Point], options: TravelOptions) -> TravelMatrix:
        return straight_line_matrix(
            points, speed_kmh=options.speed_kmh, detour_factor=options.detour_factor
        )


def _ids(labels: Sequence[str], index: Sequence[int], limit: int = 10) -> str:
    names = [labels[i] for i in index[:limit]]
    return ", ".join(names) + (" ..." if len(index) > limit else "")


class OsrmMatrix:
    """Road durations and distances from an OSRM server, cached, with straight-line patches.

    A point OSRM had to move more than ``max_snap_m`` to reach a road (off the map, in the
    sea, a wrong coordinate) keeps its coordinates but travels to and from it are timed
    straight-line (speed and detour of the request), with a warning naming it; pairs OSRM
    finds no route between get the same treatment. Durations are multiplied by the request's
    ``traffic_factor``; the cache keeps free-flow values.
    """

    name = "osrm"

    def __init__(self, client: OsrmClient, *, max_snap_m: float, cache: TableCache) -> None:
        self.client = client
        self.max_snap_m = max_snap_m
        self.cache = cache

    def table(self, points: Sequence[Point]) -> RoadTable:
        """The free-flow road table, from the cache when it covers every point."""
        keys = [coord_key(p) for p in points]
        cached = self.cache.get(self.client.profile, keys)
        if cached is not None:
            return cached
        try:
            table = self.client.table(points)
        except OsrmUnavailable as exc:
            raise MatrixUnavailable(f"OSRM: {exc}") from exc
        self.cache.put(self.client.profile, keys, table)
        return table

    def matrix(self, points: Sequence[Point], options: TravelOptions) -> TravelMatrix:
        """``travel()`` without its warnings, for callers of the plain protocol."""
        return self.travel(points, options).matrix

    def travel(
        self,
        points: Sequence[Point],
        options: TravelOptions,
        labels: Sequence[str] | None = None,
    ) -> MatrixResult:
        """Road times x traffic factor, far or unroutable points patched; ``labels`` name them."""
        table = self.table(points)
        durations = np.floor(table.durations * options.traffic_factor + 0.5).astype(np.int64)
        distances = np.floor(table.distances + 0.5).astype(np.int64)
        far = np.flatnonzero(table.snap_m > self.max_snap_m)
        unroutable = ~table.routable
        np.fill_diagonal(unroutable, False)
        rows = np.union1d(far, np.flatnonzero(unroutable.any(axis=1)))
        warnings: list[str] = []
        if len(rows):
            # Only the rows (and, by symmetry, columns) that need it: a full straight-line
            # matrix of 2,000 points costs seconds, more than the cached road table itself.
            line_d, line_m = straight_line_rows(points, rows, options)
            patch = unroutable[rows, :]
            patch[np.isin(rows, far), :] = True
            durations[rows, :] = np.where(patch, line_d, durations[rows, :])
            distances[rows, :] = np.where(patch, line_m, distances[rows, :])
            at = np.searchsorted(rows, far)
            durations[:, far] = line_d[at, :].T
            distances[:, far] = line_m[at, :].T
            names = list(labels or [f"point {i}" for i in range(len(points))])
            if len(far):
                warnings.append(
                    f"{len(far)} location(s) lie more than {self.max_snap_m:g} m from any road"
                    " on the OSRM map; their travel is timed straight-line: "
                    + _ids(names, far.tolist())
                )
            near = np.setdiff1d(np.arange(len(points)), far)
            missing = int(unroutable[np.ix_(near, near)].sum())
            if missing:
                warnings.append(
                    f"OSRM found no road route for {missing} pair(s) of locations;"
                    " those legs are timed straight-line"
                )
        np.fill_diagonal(durations, 0)
        np.fill_diagonal(distances, 0)
        return MatrixResult(
            TravelMatrix(durations=durations, distances=distances),
            self.name,
            tuple(warnings),
            geometry=self,
        )

    def route_polyline(self, points: Sequence[Point]) -> str:
        """The road path through ``points`` (one day's sequence) as an encoded polyline."""
        try:
            return self.client.route_polyline(points)
        except OsrmUnavailable as exc:
            raise MatrixUnavailable(f"OSRM /route: {exc}") from exc


def straight_line_rows(
    points: Sequence[Point], rows: npt.NDArray[np.intp], options: TravelOptions
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Rows ``rows`` of ``straight_line_matrix(points)``, same arithmetic, without the rest."""
    lat = np.radians(np.fromiter((p.lat for p in points), dtype=np.float64, count=len(points)))
    lon = np.radians(np.fromiter((p.lon for p in points), dtype=np.float64, count=len(points)))
    dlat = lat[rows, None] - lat[None, :]
    dlon = lon[rows, None] - lon[None, :]
    a = (
        np.sin(dlat / 2) ** 2
        + np.cos(lat[rows])[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    )
    metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))) * options.detour_factor
    seconds = metres / (options.speed_kmh / 3.6)
    return np.rint(seconds).astype(np.int64), np.rint(metres).astype(np.int64)


def _plain(
    provider: MatrixProvider, points: Sequence[Point], options: TravelOptions
) -> MatrixResult:
    return MatrixResult(provider.matrix(points, options), provider.name)


def resolve_travel(
    providers: Mapping[str, MatrixProvider],
    requested: str,
    points: Sequence[Point],
    options: TravelOptions,
    labels: Sequence[str] | None = None,
) -> MatrixResult:
    """The matrix for ``requested``; straight-line (with a warning) when it is missing or fails.

    ``labels`` name the points in warnings (customer ids, "rep X start").
    """
    fallback = providers.get(STRAIGHT_LINE) or StraightLineMatrix()
    provider = providers.get(requested)
    if provider is None:
        result = _plain(fallback, points, options)
        warning = (
            f"travel model {requested!r} is not available on this server;"
            f" planned with {fallback.name!r} travel times"
        )
        return MatrixResult(result.matrix, result.provider, (warning,))
    try:
        if isinstance(provider, OsrmMatrix):
            return provider.travel(points, options, labels)
        return _plain(provider, points, options)
    except MatrixUnavailable as exc:
        result = _plain(fallback, points, options)
        warning = (
            f"travel model {requested!r} failed ({exc}); planned with {fallback.name!r}"
            " travel times instead"
        )
        return MatrixResult(result.matrix, result.provider, (warning,))


def parse_traffic_bands(bands: Mapping[str, float]) -> list[tuple[int, int, float]]:
    """``{"07:00-09:30": 1.4}`` -> ``[(25200, 34200, 1.4)]``; bad entries raise ValueError."""
    parsed = []
    for span, factor in bands.items():
        try:
            start, end = (
                int(h) * 3600 + int(m) * 60
                for h, m in (part.strip().split(":") for part in span.split("-"))
            )
        except ValueError as exc:
            raise ValueError(f"traffic band {span!r}: expected 'HH:MM-HH:MM'") from exc
        if not 0 <= start < end <= 86400 or not 0 < factor <= 10:
            raise ValueError(f"traffic band {span!r}: out of order or factor not in (0, 10]")
        parsed.append((start, end, float(factor)))
    parsed.sort()
    for (_, end, _), (start, _, _) in itertools.pairwise(parsed):
        if start < end:
            raise ValueError("traffic bands overlap each other")
    return parsed


def working_day_factor(
    bands: Sequence[tuple[int, int, float]], working_hours: Sequence[tuple[int, int]]
) -> float:
    """The mean traffic factor over the reps' working hours (1.0 outside every band).

    The solver takes one matrix, so a leg cannot be slower at 08:00 than at 11:00; the honest
    single number is the expected factor for a drive at a uniformly random time of the working
    day. Days inside one band get that band's factor exactly.
    """
    total = weighted = 0.0
    for lo, hi in working_hours:
        length = max(0, hi - lo)
        total += length
        covered = 0.0
        for start, end, factor in bands:
            overlap = max(0, min(hi, end) - max(lo, start))
            weighted += overlap * factor
            covered += overlap
        weighted += length - covered
    return weighted / total if total > 0 else 1.0


def make_osrm_matrix(
    settings: Settings, transport: httpx.BaseTransport | None = None
) -> OsrmMatrix | None:
    """The OSRM provider the settings describe, or None when ``osrm_url`` is unset."""
    if settings.osrm_url is None:
        return None
    client = OsrmClient(
        settings.osrm_url,
        settings.osrm_profile,
        max_table_size=settings.osrm_max_table_size,
        timeout_s=settings.osrm_timeout_seconds,
        concurrency=settings.osrm_concurrency,
        retries=settings.osrm_retries,
        transport=transport,
    )
    return OsrmMatrix(
        client,
        max_snap_m=settings.osrm_max_snap_metres,
        cache=TableCache(settings.osrm_matrix_cache_entries),
    )


def make_matrix_provider(settings: Settings) -> MatrixProvider:
    """The default travel-matrix provider (straight-line); built once at start-up."""
    return StraightLineMatrix()


def make_matrix_providers(settings: Settings) -> dict[str, MatrixProvider]:
    """Every provider this server offers, by the name ``options.travel`` uses."""
    providers: dict[str, MatrixProvider] = {STRAIGHT_LINE: StraightLineMatrix()}
    osrm = make_osrm_matrix(settings)
    if osrm is not None:
        providers[osrm.name] = osrm
    parse_traffic_bands(settings.osrm_traffic_bands)  # fail at start-up, not per request
    return providers
