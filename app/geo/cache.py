"""The geocode cache in front of any geocoder: a repeated address never reaches a provider.

Rows live in ``geocode_cache`` (``models.GeocodeCacheEntry``), keyed by provider and the
SHA-256 of the normalised address. Lookups and inserts are set-based (one query per 500
addresses), so a cached batch of thousands costs a few queries. Like every service here it
flushes and never commits: the request or the CLI command owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.geo.geocoding import (
    GeocodeFailure,
    Geocoder,
    GeocodeResult,
    Outcome,
    Precision,
    address_key,
    geocode_many,
    normalise,
)
from app.observability import GEOCODE_LOOKUPS
from models import GeocodeCacheEntry, utcnow

_CHUNK = 500


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _outcome(row: Any, provider: str) -> Outcome:
    found, lat, lon, precision, source = row
    if not found:
        return GeocodeFailure(f"address not found by {provider}")
    return GeocodeResult(lat, lon, cast(Precision, precision), source or provider)


def lookup(session: Session, provider: str, keys: Sequence[str]) -> dict[str, Outcome]:
    """Cached answers of ``provider`` for these address keys (absent keys: never asked)."""
    table = GeocodeCacheEntry.__table__
    out: dict[str, Outcome] = {}
    for chunk in _chunks(keys):
        rows = session.execute(
            select(
                table.c.key,
                table.c.found,
                table.c.lat,
                table.c.lon,
                table.c.precision,
                table.c.source,
            ).where(table.c.provider == provider, table.c.key.in_(chunk))
        )
        for key, *rest in rows:
            out[key] = _outcome(rest, provider)
    return out


def store(session: Session, provider: str, answers: Mapping[str, tuple[str, Outcome]]) -> None:
    """Remember answers (key -> (address, outcome)); transient failures are never stored.

    A concurrent request may have stored the same key a moment ago: that row wins quietly.
    """
    rows = [
        _row(provider, key, address, outcome)
        for key, (address, outcome) in answers.items()
        if not (isinstance(outcome, GeocodeFailure) and outcome.transient)
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        if dialect == "postgresql":
            session.execute(postgresql.insert(GeocodeCacheEntry).on_conflict_do_nothing(), chunk)
        elif dialect == "sqlite":
            session.execute(sqlite.insert(GeocodeCacheEntry).on_conflict_do_nothing(), chunk)
        else:  # pragma: no cover - only the two supported backends are tested
            session.add_all(GeocodeCacheEntry(**row) for row in chunk)
    session.flush()


def _row(provider: str, key: str, address: str, outcome: Outcome) -> dict[str, Any]:
    row: dict[str, Any] = {
        "provider": provider,
        "key": key,
        "address": address,
        "found": isinstance(outcome, GeocodeResult),
        "lat": None,
        "lon": None,
        "precision": None,
        "source": None,
        "created_at": utcnow(),
    }
    if isinstance(outcome, GeocodeResult):
        row.update(
            lat=outcome.lat, lon=outcome.lon, precision=outcome.precision, source=outcome.source
        )
    return row


class CachingGeocoder:
    """``geocoder`` behind the cache table of ``session``; batches deduplicate first."""

    def __init__(self, geocoder: Geocoder, session: Session) -> None:
        self.inner = geocoder
        self.session = session
        self.name = geocoder.name
        # An adapter whose answers depend on local data (the offline index) names that data.
        self.cache_name: str = getattr(geocoder, "cache_name", geocoder.name)

    def geocode(self, address: str) -> GeocodeResult | None:
        """One address through the cache (provider failures still raise nothing here)."""
        outcome = self.geocode_many([address])[address]
        return outcome if isinstance(outcome, GeocodeResult) else None

    def geocode_many(self, addresses: Iterable[str]) -> dict[str, Outcome]:
        """Each distinct address: from the cache, else from the provider (then cached)."""
        wanted = list(dict.fromkeys(addresses))
        keys = {address: address_key(address) for address in wanted}
        cached = lookup(self.session, self.cache_name, list(dict.fromkeys(keys.values())))
        missing = [a for a in wanted if keys[a] not in cached]
        GEOCODE_LOOKUPS.labels("hit").inc(len(wanted) - len(missing))
        GEOCODE_LOOKUPS.labels("miss").inc(len(missing))
        fresh = geocode_many(self.inner, missing)
        answers: dict[str, tuple[str, Outcome]] = {}
        for address, outcome in fresh.items():
            answers.setdefault(keys[address], (normalise(address), outcome))
        store(self.session, self.cache_name, answers)
        return {a: cached.get(keys[a]) or fresh[a] for a in wanted}
