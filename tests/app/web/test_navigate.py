"""Navigate links and the WGS-84 -> GCJ-02 conversion behind the AMap one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.web.navigate import in_china, nav_links, to_gcj02

# Published reference pairs (wgs lat, wgs lon, gcj lat, gcj lon) from the eviltransform
# project's test suite (github.com/googollee/eviltransform), independent of coordTransform.
REFERENCE = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize(("lat", "lon", "glat", "glon"), REFERENCE)
def test_gcj02_matches_published_reference_points(
    lat: float, lon: float, glat: float, glon: float
) -> None:
    """WGS-84 -> GCJ-02 agrees with published pairs to 1e-6 degrees (about 10 cm)."""
    assert to_gcj02(lat, lon) == pytest.approx((glat, glon), abs=1e-6)


def test_outside_china_coordinates_are_unchanged_and_get_no_amap_link() -> None:
    """GCJ-02 applies only inside China: Paris keeps its coordinates and has no AMap link."""
    assert not in_china(48.8566, 2.3522)
    assert to_gcj02(48.8566, 2.3522) == (48.8566, 2.3522)
    providers = [link.provider for link in nav_links(48.8566, 2.3522, "Louvre")]
    assert providers == ["google", "apple"]


def test_links_point_at_the_stop() -> None:
    """Google and Apple get WGS-84; AMap gets GCJ-02 (lon,lat,name) for a Shanghai stop."""
    lat, lon, glat, glon = REFERENCE[0]
    links = {link.provider: urlsplit(link.url) for link in nav_links(lat, lon, "A&B 公司")}
    google = parse_qs(links["google"].query)
    assert links["google"].netloc == "www.google.com"
    assert google["destination"] == [f"{lat:.6f},{lon:.6f}"]
    assert google["travelmode"] == ["driving"]
    assert parse_qs(links["apple"].query)["daddr"] == [f"{lat:.6f},{lon:.6f}"]
    amap = parse_qs(links["amap"].query)
    to_lon, to_lat, name = amap["to"][0].split(",", 2)
    assert (float(to_lat), float(to_lon)) == pytest.approx((glat, glon), abs=1e-6)
    assert name == "A&B 公司"
    assert amap["coordinate"] == ["gaode"]
