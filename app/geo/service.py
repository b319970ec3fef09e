"""Batch geocoding for ``POST /geocode`` and the ``geocode-csv`` command.

Both go through the cache, so a CSV geocoded twice costs the provider nothing the second
time; like the plan service this flushes and leaves the commit to the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import ErrorDetail, TooLarge
from app.geo.cache import CachingGeocoder
from app.geo.geocoding import GeocodeFailure, Geocoder, Outcome
from app.geo.schemas import GeocodeOut


def check_batch_size(count: int, settings: Settings) -> None:
    """A batch may be as large as a plan's customer list, no larger (413)."""
    if count > settings.max_customers:
        raise TooLarge(
            "The request is larger than this server accepts",
            [
                ErrorDetail(
                    "addresses", f"{count} exceeds this server's limit of {settings.max_customers}"
                )
            ],
        )


def to_out(address: str, outcome: Outcome) -> GeocodeOut:
    """One outcome in wire shape."""
    if isinstance(outcome, GeocodeFailure):
        status = "failed" if outcome.transient else "not_found"
        return GeocodeOut(address=address, status=status, reason=outcome.reason)
    return GeocodeOut(
        address=address,
        status="found",
        lat=outcome.lat,
        lon=outcome.lon,
        precision=outcome.precision,
        source=outcome.source,
    )


def geocode_batch(
    session: Session, settings: Settings, geocoder: Geocoder, addresses: Sequence[str]
) -> list[GeocodeOut]:
    """Every address in order, each distinct one looked up once (cache first)."""
    check_batch_size(len(addresses), settings)
    outcomes = CachingGeocoder(geocoder, session).geocode_many(addresses)
    return [to_out(address, outcomes[address]) for address in addresses]
