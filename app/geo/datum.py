"""Chinese map datums to WGS-84, at the adapter boundary and nowhere else.

Chinese providers publish GCJ-02 ("Mars coordinates", AMap, Tencent, Google inside mainland
China) or Baidu's BD-09 (GCJ-02 shifted again). The formulas come from the maintained
``coordTransform`` package; its inverses are one-step approximations (up to metres off),
so each is refined by fixed-point iteration against the package's forward transform until
the round trip matches to about a millimetre.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from coordTransform import bd09_to_gcj02, gcj02_to_bd09, wgs84_to_gcj02
from coordTransform import gcj02_to_wgs84 as _gcj02_to_wgs84

Datum = Literal["wgs84", "gcj02", "bd09"]
_TOLERANCE_DEG = 1e-8  # about 1 mm


def _refine(
    inverse: tuple[float, float],
    forward: Callable[[float, float], list[float]],
    target: tuple[float, float],
) -> tuple[float, float]:
    """Fixed-point iteration: nudge ``inverse`` (lon, lat) until ``forward`` hits ``target``."""
    x, y = inverse
    for _ in range(10):
        fx, fy = forward(x, y)
        dx, dy = fx - target[0], fy - target[1]
        if abs(dx) < _TOLERANCE_DEG and abs(dy) < _TOLERANCE_DEG:
            break
        x, y = x - dx, y - dy
    return float(x), float(y)


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 -> WGS-84 (outside China both are the same)."""
    x, y = _refine(tuple(_gcj02_to_wgs84(lon, lat)), wgs84_to_gcj02, (lon, lat))
    return y, x


def bd09_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """Baidu BD-09 -> WGS-84 (via GCJ-02, each step refined)."""
    x, y = _refine(tuple(bd09_to_gcj02(lon, lat)), gcj02_to_bd09, (lon, lat))
    return gcj02_to_wgs84(y, x)


def to_wgs84(datum: Datum, lat: float, lon: float) -> tuple[float, float]:
    """A provider's (lat, lon) in ``datum`` as WGS-84."""
    if datum == "gcj02":
        return gcj02_to_wgs84(lat, lon)
    if datum == "bd09":
        return bd09_to_wgs84(lat, lon)
    return lat, lon
