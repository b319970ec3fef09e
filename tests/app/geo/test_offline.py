"""The offline geocoder against real OSM data: addresses read from the extract, not invented."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import osmium
import pytest

from app.geo.geocoding import normalise
from app.geo.offline import OfflineGeocoder
from app.geo.osm_index import house_number

MAX_ERROR_M = 50.0
# Roads people give as an address; not rest areas, paths or platforms (areas with a centroid).
ROADS = {
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
    "pedestrian",
    "service",
    "road",
}


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


Point = tuple[float, float]


def to_street(point: Point, ways: list[list[Point]]) -> float:
    """Metres from ``point`` to the nearest segment of any of ``ways`` (local flat projection)."""
    scale = math.cos(math.radians(point[0])) * 111_320.0
    px, py = point[1] * scale, point[0] * 110_540.0
    best = math.inf
    for way in ways:
        xy = [(lon * scale, lat * 110_540.0) for lat, lon in way]
        for (ax, ay), (bx, by) in zip(xy, xy[1:] or xy, strict=False):
            dx, dy = bx - ax, by - ay
            length = dx * dx + dy * dy
            t = (
                0.0
                if length == 0
                else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length))
            )
            best = min(best, math.hypot(px - (ax + t * dx), py - (ay + t * dy)))
    return best


def osm_objects(pbf: Path) -> tuple[list[dict[str, Any]], dict[str, list[list[Point]]]]:
    """Addressed objects (tags + every known node position) and each named road's ways."""
    addressed: list[dict[str, Any]] = []
    streets: dict[str, list[list[Point]]] = defaultdict(list)
    obj: Any
    for obj in osmium.FileProcessor(str(pbf)).with_locations():
        if obj.is_node():
            points = [(obj.location.lat, obj.location.lon)] if obj.location.valid() else []
        elif obj.is_way():
            points = [(n.location.lat, n.location.lon) for n in obj.nodes if n.location.valid()]
        else:
            continue
        if not points:
            continue
        tags = dict(obj.tags)
        if "addr:housenumber" in tags and "addr:street" in tags:
            addressed.append({"tags": tags, "points": points})
        if obj.is_way() and tags.get("highway") in ROADS and "name" in tags:
            streets[tags["name"]].append(points)
    return addressed, streets


@pytest.fixture(scope="module")
def helsinki_osm(helsinki_pbf: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The Helsinki extract read independently of the index builder."""
    return osm_objects(helsinki_pbf)


def test_house_numbers_land_within_50_m_of_their_osm_object(
    helsinki_index: Path, helsinki_osm: tuple[list[dict[str, Any]], dict[str, Any]]
) -> None:
    """Every street + house number of the extract geocodes rooftop, within 50 m of an object
    carrying that address (a number on a shop and on its building are both right)."""
    geocoder = OfflineGeocoder(helsinki_index, gazetteers=False)
    addressed, _ = helsinki_osm
    objects: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for item in addressed:
        tags = item["tags"]
        objects[(normalise(tags["addr:street"]), house_number(tags["addr:housenumber"]))].extend(
            item["points"]
        )
    wrong = []
    for item in addressed:
        tags = item["tags"]
        address = f"{tags['addr:street']} {tags['addr:housenumber']}, Helsinki"
        found = geocoder.geocode(address)
        key = (normalise(tags["addr:street"]), house_number(tags["addr:housenumber"]))
        misplaced = found is not None and (
            min(metres((found.lat, found.lon), p) for p in objects[key]) > MAX_ERROR_M
        )
        if found is None or found.precision != "rooftop" or misplaced:
            wrong.append((address, found))
    assert len(addressed) > 1_000
    assert wrong == []


def test_written_house_number_first_and_with_other_spelling_still_matches(
    helsinki_index: Path, helsinki_osm: tuple[list[dict[str, Any]], dict[str, Any]]
) -> None:
    """Word order, case and punctuation do not matter: "5 MANNERHEIMINTIE." finds the same."""
    geocoder = OfflineGeocoder(helsinki_index, gazetteers=False)
    tags = next(i["tags"] for i in helsinki_osm[0] if i["tags"]["addr:housenumber"].isdigit())
    plain = geocoder.geocode(f"{tags['addr:street']} {tags['addr:housenumber']}")
    shuffled = geocoder.geocode(f"{tags['addr:housenumber']}, {tags['addr:street'].upper()}.")
    assert plain is not None
    assert plain == shuffled


def test_streets_without_a_known_number_geocode_on_the_street(
    helsinki_index: Path, helsinki_osm: tuple[list[dict[str, Any]], dict[str, Any]]
) -> None:
    """A named street of the extract, with a number it does not have, is placed on the street."""
    geocoder = OfflineGeocoder(helsinki_index, gazetteers=False)
    _, streets = helsinki_osm
    for name, ways in list(streets.items())[:40]:
        found = geocoder.geocode(f"{name} 99999")
        assert found is not None, name
        assert found.precision == "street"
        assert to_street((found.lat, found.lon), ways) <= MAX_ERROR_M


def test_accented_street_names_match_without_accents(monaco_index: Path) -> None:
    """Monaco's French names: "boulevard des moulins" and the accented spelling agree."""
    geocoder = OfflineGeocoder(monaco_index, gazetteers=False)
    accented = geocoder.geocode("Avenue de la Costa, Monaco")
    assert accented is not None
    assert accented.precision in ("rooftop", "street")
    assert geocoder.geocode("Avenue de la Costa") == geocoder.geocode("AVENUE DE LA COSTA")


def test_unknown_address_without_gazetteers_is_none(helsinki_index: Path) -> None:
    """Nothing is made up: an address the index does not know gives None."""
    assert OfflineGeocoder(helsinki_index, gazetteers=False).geocode("Xyzzy 12, Nowhere") is None


def test_chinese_district_falls_back_to_cpca_centre_in_wgs84() -> None:
    """A Shanghai address without an index is placed at Pudong's centre, district precision."""
    found = OfflineGeocoder(None).geocode("上海市浦东新区科苑路1278号")
    assert found is not None
    assert (found.precision, found.source) == ("district", "cpca")
    # Pudong New Area lies east of the Huangpu: inside its rough bounding box.
    assert 30.85 < found.lat < 31.40
    assert 121.45 < found.lon < 122.0


def test_world_city_fallback_names_the_whole_part_only() -> None:
    """ "75001 Paris" is Paris at city precision; a sentence with short words is not a city."""
    geocoder = OfflineGeocoder(None)
    paris = geocoder.geocode("1 Rue de Rivoli, 75001 Paris")
    assert paris is not None
    assert paris.precision == "city"
    assert metres((paris.lat, paris.lon), (48.8566, 2.3522)) < 5_000
    assert geocoder.geocode("nowhere at all") is None


def test_rebuilt_index_is_picked_up_without_restart(tmp_path: Path, helsinki_index: Path) -> None:
    """The geocoder reloads a changed index file, and its cache key changes with it."""
    target = tmp_path / "index.sqlite"
    geocoder = OfflineGeocoder(target, gazetteers=False)
    assert geocoder.geocode("Mannerheimintie 5") is None
    assert geocoder.cache_name == "offline"
    target.write_bytes(helsinki_index.read_bytes())
    assert geocoder.geocode("Mannerheimintie 5") is not None
    assert geocoder.cache_name.startswith("offline:Helsinki.osm.pbf@")
