"""The geocode cache on both databases: one provider call per distinct address, ever."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.geo.cache import CachingGeocoder
from app.geo.geocoding import GeocodeFailure, GeocodeResult, GeocoderFailed, normalise
from models import GeocodeCacheEntry


class CountingGeocoder:
    """Knows a few addresses, counts every call, fails on demand."""

    name = "counting"

    def __init__(self, known: dict[str, GeocodeResult], failing: bool = False) -> None:
        self.known = known
        self.failing = failing
        self.calls: list[str] = []

    def geocode(self, address: str) -> GeocodeResult | None:
        self.calls.append(address)
        if self.failing:
            raise GeocoderFailed("the geocoding provider timed out")
        return self.known.get(normalise(address))


HOME = GeocodeResult(60.1694, 24.9398, "rooftop", "counting")


def test_repeated_address_calls_the_provider_once(session: Session) -> None:
    """A second batch (any spelling) is answered from the table; so is "not found"."""
    provider = CountingGeocoder({"mannerheimintie 5 helsinki": HOME})
    first = CachingGeocoder(provider, session).geocode_many(
        ["Mannerheimintie 5, Helsinki", "mannerheimintie 5 HELSINKI", "Nowhere 1"]
    )
    assert first["Mannerheimintie 5, Helsinki"] == HOME
    assert first["mannerheimintie 5 HELSINKI"] == HOME
    assert isinstance(first["Nowhere 1"], GeocodeFailure)
    assert len(provider.calls) == 2  # deduplicated within the batch
    again = CachingGeocoder(provider, session).geocode_many(
        ["MANNERHEIMINTIE 5 - HELSINKI", "nowhere, 1"]
    )
    assert again["MANNERHEIMINTIE 5 - HELSINKI"] == HOME
    missing = again["nowhere, 1"]
    assert isinstance(missing, GeocodeFailure)
    assert not missing.transient
    assert len(provider.calls) == 2
    assert session.scalar(select(func.count()).select_from(GeocodeCacheEntry)) == 2


def test_provider_failures_are_not_cached(session: Session) -> None:
    """A timeout is reported as transient and asked again next time, when it may work."""
    provider = CountingGeocoder({"a 1": HOME}, failing=True)
    outcome = CachingGeocoder(provider, session).geocode_many(["A 1"])["A 1"]
    assert isinstance(outcome, GeocodeFailure)
    assert outcome.transient
    assert session.scalar(select(func.count()).select_from(GeocodeCacheEntry)) == 0
    provider.failing = False
    assert CachingGeocoder(provider, session).geocode_many(["A 1"])["A 1"] == HOME
    assert len(provider.calls) == 2


def test_cache_is_per_provider(session: Session) -> None:
    """Another provider's answer for the same address is not reused."""
    first = CountingGeocoder({"a 1": HOME})
    CachingGeocoder(first, session).geocode_many(["a 1"])
    other = CountingGeocoder({})
    other.name = "other"
    outcome = CachingGeocoder(other, session).geocode_many(["a 1"])["a 1"]
    assert isinstance(outcome, GeocodeFailure)
    assert other.calls == ["a 1"]


def test_concurrent_insert_of_the_same_key_is_quiet(session: Session) -> None:
    """Two caches storing the same answer (two requests racing) keep one row, no error."""
    provider = CountingGeocoder({"a 1": HOME})
    one, two = CachingGeocoder(provider, session), CachingGeocoder(provider, session)
    from app.geo import cache

    answer = {"k" * 64: ("a 1", HOME)}
    cache.store(session, one.cache_name, answer)
    cache.store(session, two.cache_name, answer)
    assert session.scalar(select(func.count()).select_from(GeocodeCacheEntry)) == 1
