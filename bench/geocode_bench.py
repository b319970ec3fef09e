"""Geocoding throughput for 10,000 addresses: cold (offline index) and cached (cache table).

Addresses come from the OSM extract itself (every street + house number, then each street
with other numbers), so they exercise the real matching code. The baseline, measured in the
same process, is a plain dict look-up of each address's normalised text: the floor any
geocoder sits above. Targets (issue #3): cached >= 20,000/s, cold offline >= 1,000/s.

    .venv/bin/python -m bench.geocode_bench [--pbf ../shared/geo/Helsinki.osm.pbf] [--n 10000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import osmium
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine
from app.geo.cache import CachingGeocoder
from app.geo.geocoding import geocode_many, normalise
from app.geo.offline import OfflineGeocoder
from app.geo.osm_index import build_index
from tests.conftest import migrate_to_head

DEFAULT_PBF = Path(__file__).resolve().parents[1].parent / "shared" / "geo" / "Helsinki.osm.pbf"
TARGET_CACHED, TARGET_COLD = 20_000, 1_000


def addresses_from(pbf: Path, n: int) -> list[str]:
    """n distinct addresses: the extract's own, then its streets with made-up numbers."""
    real: list[str] = []
    streets: set[str] = set()
    obj: Any
    for obj in osmium.FileProcessor(str(pbf)):
        tags = obj.tags
        if "addr:street" in tags and "addr:housenumber" in tags:
            real.append(f"{tags['addr:street']} {tags['addr:housenumber']}, Helsinki")
        if obj.is_way() and "highway" in tags and "name" in tags:
            streets.add(str(tags["name"]))
    out = list(dict.fromkeys(real))
    number = 1
    ordered = sorted(streets)
    while len(out) < n:
        out.extend(f"{street} {number}, Helsinki" for street in ordered)
        number += 1
    return out[:n]


def rate(count: int, run: Callable[[], object]) -> tuple[float, float]:
    """(seconds, items per second) of one run."""
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    return seconds, count / seconds


def main() -> None:
    """Print one row per mode with its throughput, ratio to baseline and target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pbf", type=Path, default=DEFAULT_PBF)
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pbf = tmp / args.pbf.name
        shutil.copyfile(args.pbf, pbf)
        build_s, _ = rate(1, lambda: build_index(pbf, tmp / "index.sqlite"))
        addresses = addresses_from(pbf, args.n)
        floor = {normalise(a): a for a in addresses}
        _, base = rate(len(addresses), lambda: [floor[normalise(a)] for a in addresses])
        geocoder = OfflineGeocoder(tmp / "index.sqlite")
        load_s, _ = rate(1, geocoder.index)
        cold_s, cold = rate(len(addresses), lambda: geocode_many(geocoder, addresses))
        url = f"sqlite:///{tmp / 'bench.db'}"
        migrate_to_head(url)
        engine = make_engine(Settings(database_url=url))
        with Session(engine) as session:
            fill_s, fill = rate(
                len(addresses), lambda: CachingGeocoder(geocoder, session).geocode_many(addresses)
            )
            session.commit()
            cached_s, cached = rate(
                len(addresses), lambda: CachingGeocoder(geocoder, session).geocode_many(addresses)
            )
        engine.dispose()
        found = geocode_many(geocoder, addresses)
        precisions: dict[str, int] = {}
        for outcome in found.values():
            key = getattr(outcome, "precision", "failed")
            precisions[key] = precisions.get(key, 0) + 1
    print(f"{len(addresses)} addresses from {args.pbf.name}; precision mix {precisions}")
    print(f"index build {build_s:.2f} s, index load {load_s:.3f} s")
    print(f"{'mode':<28}{'seconds':>9}{'per s':>11}{'x base':>9}{'target':>9}")
    print(
        f"{'baseline dict look-up':<28}{len(addresses) / base:>9.3f}{base:>11,.0f}{1:>9.2f}{'':>9}"
    )
    rows = [
        ("cold offline (no cache)", cold_s, cold, TARGET_COLD),
        ("offline + cache fill", fill_s, fill, None),
        ("cached (cache table)", cached_s, cached, TARGET_CACHED),
    ]
    for name, seconds, per_s, target in rows:
        verdict = "" if target is None else ("met" if per_s >= target else "MISSED")
        print(f"{name:<28}{seconds:>9.3f}{per_s:>11,.0f}{per_s / base:>9.4f}{verdict:>9}")


if __name__ == "__main__":
    main()
