"""``visit-planner geocode-index`` and ``geocode-csv``: the offline index and CSV batches.

``geocode-csv`` uses the geocode cache when the database is migrated (so re-running a file
costs the provider nothing) and geocodes without it otherwise, saying so on stderr.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy.orm import Session

from app import db
from app.config import Settings
from app.geo.cache import CachingGeocoder
from app.geo.geocoding import OSM_ATTRIBUTION, Outcome, geocode_many, make_geocoder
from app.geo.osm_index import IndexBuildError, build_index
from app.geo.service import to_out

OUT_COLUMNS = ("lat", "lon", "precision", "source", "geocode_status", "geocode_reason")


def _error(message: str) -> Exception:
    """The CLI's operator error (imported late: ``app.cli`` imports this module)."""
    from app.cli import CommandError

    return CommandError(message)


def index_arguments(parser: argparse.ArgumentParser) -> None:
    """``--pbf PATH [--out PATH]``."""
    parser.add_argument("--pbf", type=Path, required=True, help="an OpenStreetMap .osm.pbf extract")
    parser.add_argument(
        "--out", type=Path, default=None, help="index file (default: VP_GEOCODE_INDEX_PATH)"
    )


def build(args: argparse.Namespace, settings: Settings) -> int:
    """Build the offline address index from a .osm.pbf file."""
    pbf: Path = args.pbf
    if not pbf.is_file():
        raise _error(f"no such file: {pbf}")
    out: Path = args.out or settings.geocode_index_path
    try:
        counts = build_index(pbf, out)
    except IndexBuildError as error:
        raise _error(str(error)) from error
    summary = ", ".join(f"{n} {what}" for what, n in counts.items())
    print(f"wrote {out}: {summary}. Data {OSM_ATTRIBUTION} (ODbL)", file=sys.stderr)
    return 0


def csv_arguments(parser: argparse.ArgumentParser) -> None:
    """``IN.csv OUT.csv [--column address]``."""
    parser.add_argument("input", type=Path, help="CSV with a header row")
    parser.add_argument("output", type=Path, help="the same rows with position columns added")
    parser.add_argument("--column", default="address", help="address column (default: address)")


def _geocode(settings: Settings, addresses: list[str]) -> dict[str, Outcome]:
    geocoder = make_geocoder(settings)
    engine = db.make_engine(settings)
    try:
        if not db.is_up_to_date(engine):
            print("database not migrated: geocoding without the cache", file=sys.stderr)
            return geocode_many(geocoder, addresses)
        with Session(engine) as session, session.begin():
            return CachingGeocoder(geocoder, session).geocode_many(addresses)
    finally:
        engine.dispose()


def geocode_csv(args: argparse.Namespace, settings: Settings) -> int:
    """Geocode the address column of a CSV into lat/lon/precision/source columns."""
    try:
        with args.input.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = list(reader.fieldnames or [])
            rows = list(reader)
    except OSError as error:
        raise _error(f"cannot read {args.input}: {error}") from error
    if args.column not in fields:
        raise _error(f"{args.input} has no column {args.column!r} (has: {fields})")
    addresses = [(row.get(args.column) or "").strip() for row in rows]
    outcomes = _geocode(settings, [a for a in addresses if a])
    out_fields = fields + [c for c in OUT_COLUMNS if c not in fields]
    statuses: Counter[str] = Counter()
    with args.output.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=out_fields)
        writer.writeheader()
        for row, address in zip(rows, addresses, strict=True):
            if not address:
                row.update(geocode_status="not_found", geocode_reason="empty address")
            else:
                result = to_out(address, outcomes[address])
                row.update(
                    lat=result.lat,
                    lon=result.lon,
                    precision=result.precision,
                    source=result.source,
                    geocode_status=result.status,
                    geocode_reason=result.reason,
                )
            statuses[row["geocode_status"]] += 1
            writer.writerow(row)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    print(f"wrote {args.output}: {summary}", file=sys.stderr)
    return 0
