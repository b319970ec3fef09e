"""Straight-line travel: great-circle distance times a detour factor, at a constant speed.

It is the embedded default because it needs no server and no data, and it is a sane
ranking of "near" and "far" inside one town; road networks plug in behind the app's
``MatrixProvider`` protocol and produce the same ``TravelMatrix``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from solver.errors import InvalidProblemError
from solver.types import Point, TravelMatrix

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG), the usual choice for haversine

FloatMatrix = npt.NDArray[np.float64]


# Rows computed per block: the float temporaries of a block stay a few MiB, so a 3,000-point
# matrix peaks at its two int64 arrays (~150 MiB) instead of ~5 float copies on top (~500 MiB).
_BLOCK_ROWS = 256


def _radians(points: Sequence[Point]) -> tuple[FloatMatrix, FloatMatrix]:
    lat = np.radians(np.fromiter((p.lat for p in points), dtype=np.float64, count=len(points)))
    lon = np.radians(np.fromiter((p.lon for p in points), dtype=np.float64, count=len(points)))
    return lat, lon


def _haversine_rows(lat: FloatMatrix, lon: FloatMatrix, rows: slice) -> FloatMatrix:
    """Great-circle metres from the points ``rows`` to every point."""
    dlat = lat[rows, None] - lat[None, :]
    dlon = lon[rows, None] - lon[None, :]
    a = (
        np.sin(dlat / 2) ** 2
        + np.cos(lat[rows])[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    )
    # clip: rounding can push a just above 1 for antipodal points, and arcsin would be NaN.
    result: FloatMatrix = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return result


def great_circle_m(points: Sequence[Point]) -> FloatMatrix:
    """All-pairs haversine distances in metres, vectorised (O(n^2) memory, n up to ~10^4)."""
    if not points:
        return np.zeros((0, 0), dtype=np.float64)
    lat, lon = _radians(points)
    return _haversine_rows(lat, lon, slice(None))


def straight_line_matrix(
    points: Sequence[Point], *, speed_kmh: float = 30.0, detour_factor: float = 1.3
) -> TravelMatrix:
    """Travel matrix for straight-line travel; durations rounded to whole seconds.

    Built block by block straight into the integer arrays (same arithmetic per element as
    ``great_circle_m``), so no full-size float matrix ever exists.
    """
    if not (speed_kmh > 0 and np.isfinite(speed_kmh)):
        raise InvalidProblemError(f"speed_kmh must be positive, got {speed_kmh}")
    if not (detour_factor >= 1.0 and np.isfinite(detour_factor)):
        raise InvalidProblemError(f"detour_factor must be >= 1, got {detour_factor}")
    n = len(points)
    durations = np.zeros((n, n), dtype=np.int64)
    distances = np.zeros((n, n), dtype=np.int64)
    if n:
        lat, lon = _radians(points)
        for lo in range(0, n, _BLOCK_ROWS):
            rows = slice(lo, min(n, lo + _BLOCK_ROWS))
            metres = _haversine_rows(lat, lon, rows) * detour_factor
            distances[rows] = np.rint(metres)
            durations[rows] = np.rint(metres / (speed_kmh / 3.6))
    return TravelMatrix(durations=durations, distances=distances)
