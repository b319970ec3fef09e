"""Chinese datums to WGS-84, checked against published reference points."""

from __future__ import annotations

import math

import pytest
from coordTransform import wgs84_to_bd09, wgs84_to_gcj02

from app.geo.datum import bd09_to_wgs84, gcj02_to_wgs84, to_wgs84


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance, plenty for points a few hundred metres apart."""
    dlat = math.radians(b[0] - a[0])
    dlon = math.radians(b[1] - a[1]) * math.cos(math.radians(a[0]))
    return 6_371_000 * math.hypot(dlat, dlon)


def test_gcj02_inverse_of_published_beijing_point() -> None:
    """coordTransform's README: WGS-84 (39.915, 116.404) is GCJ-02 (39.91640428150164,
    116.41024449916938); our inverse returns the WGS-84 point to within a centimetre."""
    lat, lon = gcj02_to_wgs84(39.91640428150164, 116.41024449916938)
    assert metres((lat, lon), (39.915, 116.404)) < 0.01


def test_baidu_tiananmen_lands_on_tiananmen() -> None:
    """Baidu's API examples centre Tiananmen at BD-09 (39.915, 116.404); in WGS-84 that is
    within 150 m of the gate's published position (39.90722, 116.39139), ~1 km from raw."""
    wgs = bd09_to_wgs84(39.915, 116.404)
    assert metres(wgs, (39.90722, 116.39139)) < 150
    assert metres((39.915, 116.404), (39.90722, 116.39139)) > 1_000


@pytest.mark.parametrize(("lat", "lon"), [(31.2304, 121.4737), (22.5431, 114.0579), (45.75, 126.6)])
def test_round_trips_through_the_forward_transforms(lat: float, lon: float) -> None:
    """WGS-84 -> GCJ-02 / BD-09 (the package's exact forward formulas) -> back: under 5 cm."""
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert metres(gcj02_to_wgs84(glat, glon), (lat, lon)) < 0.05
    blon, blat = wgs84_to_bd09(lon, lat)
    assert metres(bd09_to_wgs84(blat, blon), (lat, lon)) < 0.05


def test_outside_china_and_wgs84_are_unchanged() -> None:
    """Helsinki is not shifted, and a WGS-84 provider's answer passes through as is."""
    assert gcj02_to_wgs84(60.1699, 24.9384) == (60.1699, 24.9384)
    assert to_wgs84("wgs84", 31.2, 121.4) == (31.2, 121.4)
