"""The local address index: built once from an ``.osm.pbf`` into SQLite, then read in memory.

``build_index`` reads the extract with pyosmium and keeps three things: objects with
``addr:street`` + ``addr:housenumber`` (rooftop: the node, or the mean of a building's nodes),
named highways (street: the way node nearest to the middle of all ways of that name, so the
point lies on the street), and named ``place`` nodes (district or city). Names are stored
normalised (``geocoding.normalise``), so matching an address is dictionary look-ups of its
word n-grams: no server, no network, thousands of addresses per second.

The data is OpenStreetMap's, under the ODbL: results carry the attribution.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.geo.geocoding import GeocodeResult, Precision, normalise

SOURCE = "osm"
_DISTRICT_PLACES = {"suburb", "quarter", "neighbourhood", "borough", "city_block", "hamlet"}
_CITY_PLACES = {"city", "town", "village", "municipality"}
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE addresses (street TEXT, number TEXT, city TEXT, lat REAL, lon REAL);
CREATE TABLE streets (street TEXT PRIMARY KEY, lat REAL, lon REAL);
CREATE TABLE places (name TEXT, kind TEXT, lat REAL, lon REAL);
"""
MAX_PHRASE_WORDS = 8


class IndexBuildError(Exception):
    """The pbf could not be read or the index could not be written."""


def house_number(text: str) -> str:
    """The number a tag or address starts with: ``"12 A"`` -> ``12a``, ``"6, 1. krs."`` -> ``6``.

    Mappers append floors and units to ``addr:housenumber``; addresses are matched on the
    number (with one letter suffix, or a range like ``1-5``), so the extras are dropped.
    """
    words = normalise(text).split()
    if not words or not words[0][0].isdigit():
        return "".join(words)
    if len(words) > 1 and len(words[1]) == 1 and words[1].isalpha():
        return words[0] + words[1]
    return words[0]


def _mean(points: list[tuple[float, float]]) -> tuple[float, float]:
    return (
        sum(p[0] for p in points) / len(points),
        sum(p[1] for p in points) / len(points),
    )


@dataclass
class _Collected:
    addresses: list[tuple[str, str, str, float, float]] = field(default_factory=list)
    street_nodes: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    places: list[tuple[str, str, float, float]] = field(default_factory=list)


def _collect(pbf: Path) -> _Collected:
    import osmium

    found = _Collected()
    keys = osmium.filter.KeyFilter("addr:housenumber", "highway", "place")
    obj: Any
    for obj in osmium.FileProcessor(str(pbf)).with_locations().with_filter(keys):
        tags = obj.tags
        if obj.is_node():
            points = [(obj.location.lat, obj.location.lon)]
        elif obj.is_way():
            # Extracts clip ways: nodes outside the extract have no location.
            points = [(n.location.lat, n.location.lon) for n in obj.nodes if n.location.valid()]
        else:
            continue
        if not points:
            continue
        if "addr:housenumber" in tags and "addr:street" in tags:
            lat, lon = _mean(points)
            city = normalise(tags.get("addr:city", ""))
            street = normalise(tags["addr:street"])
            found.addresses.append((street, house_number(tags["addr:housenumber"]), city, lat, lon))
        if obj.is_way() and "highway" in tags and "name" in tags:
            found.street_nodes[normalise(tags["name"])].extend(points)
        if (
            obj.is_node()
            and "name" in tags
            and tags.get("place") in (_DISTRICT_PLACES | _CITY_PLACES)
        ):
            kind = "city" if tags["place"] in _CITY_PLACES else "district"
            found.places.append((normalise(tags["name"]), kind, *points[0]))
    return found


def _on_street(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The street's node nearest the middle of all its nodes: a point on the street itself."""
    mid_lat, mid_lon = _mean(points)
    scale = math.cos(math.radians(mid_lat))
    return min(points, key=lambda p: (p[0] - mid_lat) ** 2 + ((p[1] - mid_lon) * scale) ** 2)


def build_index(pbf: Path, out: Path) -> dict[str, int]:
    """Read ``pbf`` and write the index to ``out`` (replaced atomically); returns counts."""
    try:
        found = _collect(pbf)
    except (RuntimeError, OSError) as error:
        raise IndexBuildError(f"cannot read {pbf}: {error}") from error
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(tmp) as db:
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO addresses VALUES (?, ?, ?, ?, ?)", found.addresses)
        db.executemany(
            "INSERT INTO streets VALUES (?, ?, ?)",
            [(name, *_on_street(points)) for name, points in found.street_nodes.items() if name],
        )
        db.executemany("INSERT INTO places VALUES (?, ?, ?, ?)", found.places)
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("source", pbf.name), ("format", "1"), ("built", f"{time.time():.6f}")],
        )
    db.close()
    tmp.replace(out)
    return {
        "addresses": len(found.addresses),
        "streets": len(found.street_nodes),
        "places": len(found.places),
    }


def _phrases(tokens: list[str]) -> list[tuple[int, int, str]]:
    """Every word n-gram (start, end, text), longest first."""
    out = []
    for n in range(min(MAX_PHRASE_WORDS, len(tokens)), 0, -1):
        for i in range(len(tokens) - n + 1):
            out.append((i, i + n, " ".join(tokens[i : i + n])))
    return out


class OsmIndex:
    """The index file loaded into dictionaries; ``find`` matches one address."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.numbers: dict[tuple[str, str], list[tuple[str, float, float]]] = defaultdict(list)
        self.streets: dict[str, tuple[float, float]] = {}
        self.places: dict[str, tuple[Precision, float, float]] = {}
        uri = f"file:{path}?mode=ro"
        with sqlite3.connect(uri, uri=True) as db:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            # Cache rows of one build must not answer for another: the stamp names the build.
            self.stamp = f"{meta.get('source', '')[:32]}@{meta.get('built', '')}"
            for street, number, city, lat, lon in db.execute("SELECT * FROM addresses"):
                self.numbers[(street, number)].append((city, lat, lon))
            for street, lat, lon in db.execute("SELECT * FROM streets"):
                self.streets[street] = (lat, lon)
        # A street known only from addr:street tags (no named highway in the extract).
        for (street, _number), found in self.numbers.items():
            self.streets.setdefault(street, found[0][1:])
        with sqlite3.connect(uri, uri=True) as db:
            # Cities before districts: a name that is both is more often meant as the town.
            rows: list[Any] = list(db.execute("SELECT * FROM places ORDER BY kind"))
            for name, kind, lat, lon in rows:
                self.places.setdefault(name, (kind, lat, lon))
        db.close()

    def find(self, address: str) -> GeocodeResult | None:
        """House number on a street, else the street, else a named place; None if nothing."""
        tokens = normalise(address).split()
        phrases = _phrases(tokens)
        on_street: GeocodeResult | None = None
        for start, end, text in phrases:
            if text in self.streets:
                # Try every street the address names: a mistagged "Street 33" must not hide
                # "Street" + number 33.
                found = self._on_street(tokens, start, end, text)
                if found.precision == "rooftop":
                    return found
                on_street = on_street or found
        if on_street is not None:
            return on_street
        for _start, _end, text in phrases:
            if text in self.places:
                kind, lat, lon = self.places[text]
                return GeocodeResult(lat, lon, kind, SOURCE)
        return None

    def _on_street(self, tokens: list[str], start: int, end: int, street: str) -> GeocodeResult:
        words = set(tokens)
        rest = tokens[:start] + tokens[end:]
        for k, token in enumerate(rest):
            if not token[0].isdigit():
                continue
            # "12 a" written apart is still house number 12a.
            after = rest[k + 1] if k + 1 < len(rest) else ""
            tries = [token + after, token] if len(after) == 1 and after.isalpha() else [token]
            for number in tries:
                candidates = self.numbers.get((street, number))
                if candidates:
                    in_town = [c for c in candidates if c[0] and set(c[0].split()) <= words]
                    _city, lat, lon = (in_town or candidates)[0]
                    return GeocodeResult(lat, lon, "rooftop", SOURCE)
        lat, lon = self.streets[street]
        return GeocodeResult(lat, lon, "street", SOURCE)
