"""Navigate deep links for a stop: Google Maps, Apple Maps, and AMap inside China.

Stored coordinates are WGS-84. Google and Apple take WGS-84 in their URL schemes; AMap (高德)
expects GCJ-02 inside mainland China, so its link converts with the maintained
``coordTransform`` package (the same formulas ``app.geo.datum`` uses the other way round).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from coordTransform import out_of_china, wgs84_to_gcj02


@dataclass(frozen=True)
class NavLink:
    """One 'Navigate' target: a label and its URL."""

    provider: str
    label: str
    url: str


def in_china(lat: float, lon: float) -> bool:
    """Whether GCJ-02 applies (the bounding box the transform itself uses)."""
    return not out_of_china(lon, lat)


def to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 as (lat, lon); unchanged outside China."""
    glon, glat = wgs84_to_gcj02(lon, lat)
    return float(glat), float(glon)


def nav_links(lat: float, lon: float, name: str) -> list[NavLink]:
    """Driving directions to (lat, lon) from the phone's position, one link per provider."""
    point = f"{lat:.6f},{lon:.6f}"
    links = [
        NavLink(
            "google",
            "Google Maps",
            "https://www.google.com/maps/dir/?"
            + urlencode({"api": "1", "destination": point, "travelmode": "driving"}),
        ),
        NavLink(
            "apple",
            "Apple Maps",
            "https://maps.apple.com/?" + urlencode({"daddr": point, "dirflg": "d"}),
        ),
    ]
    if in_china(lat, lon):
        glat, glon = to_gcj02(lat, lon)
        query = {
            "to": f"{glon:.6f},{glat:.6f},{name}",
            "mode": "car",
            "coordinate": "gaode",
            "callnative": "1",
        }
        links.append(
            NavLink("amap", "高德地图 AMap", "https://uri.amap.com/navigation?" + urlencode(query))
        )
    return links
