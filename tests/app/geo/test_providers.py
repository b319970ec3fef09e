"""geopy adapters through real HTTP on 127.0.0.1: answers, precision, failures, datums."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from geopy.location import Location

from app.config import Settings
from app.geo.geocoding import GeocodeFailure, GeocodeResult, GeocoderFailed, geocode_many
from app.geo.providers import GeopyGeocoder, make_provider_geocoder, precision_of
from tests.app.geo.fake_provider import Behaviour, fake_provider


@pytest.fixture
def provider() -> Iterator[tuple[str, Behaviour]]:
    """A fake provider for one test."""
    with fake_provider() as served:
        yield served


def nominatim(domain: str, **extra: Any) -> GeopyGeocoder:
    """The real Nominatim adapter as the settings build it, pointed at ``domain`` over HTTP."""
    settings = Settings(
        geocoder="nominatim",
        geocoder_domain=domain,
        geocoder_scheme="http",
        geocoder_timeout_seconds=0.3,
        **extra,
    )
    return make_provider_geocoder(settings)


def test_nominatim_answer_becomes_a_rooftop_result(provider: tuple[str, Behaviour]) -> None:
    """A house answer (class=place, type=house) is rooftop, in WGS-84, named by its source."""
    domain, behaviour = provider
    behaviour.body = [
        {
            "lat": "43.7311",
            "lon": "7.4197",
            "class": "place",
            "type": "house",
            "addresstype": "place",
            "display_name": "12, Rue Grimaldi, Monaco",
        }
    ]
    found = nominatim(domain).geocode("12 Rue Grimaldi, Monaco")
    assert found == GeocodeResult(43.7311, 7.4197, "rooftop", "nominatim")
    assert behaviour.paths[0].startswith("/search?")
    assert "Grimaldi" in behaviour.paths[0]


def test_nominatim_empty_answer_is_not_found(provider: tuple[str, Behaviour]) -> None:
    """An empty list is "not found" (None), not a failure."""
    domain, behaviour = provider
    behaviour.body = []
    assert nominatim(domain).geocode("Xyzzy") is None


@pytest.mark.parametrize(
    ("status", "words"), [(500, "unavailable"), (429, "rate limit"), (402, "quota")]
)
def test_server_errors_fail_the_batch_after_one_request(
    provider: tuple[str, Behaviour], status: int, words: str
) -> None:
    """5xx and 429 become transient failures with the reason; the batch stops asking."""
    domain, behaviour = provider
    behaviour.status = status
    behaviour.body = {"error": "nope"}
    outcomes = geocode_many(nominatim(domain), ["a 1", "b 2", "c 3"])
    assert len(behaviour.paths) == 1
    for outcome in outcomes.values():
        assert isinstance(outcome, GeocodeFailure)
        assert outcome.transient
        assert words in outcome.reason


def test_timeout_is_a_failure_not_a_hang(provider: tuple[str, Behaviour]) -> None:
    """A provider slower than the timeout fails fast with "timed out"."""
    domain, behaviour = provider
    behaviour.slow = True
    with pytest.raises(GeocoderFailed, match="timed out"):
        nominatim(domain).geocode("Somewhere 1")


def test_rate_limiter_spaces_requests(provider: tuple[str, Behaviour]) -> None:
    """With a minimum delay (1 s on the public server) requests are at least that far apart."""
    import time

    domain, behaviour = provider
    geocoder = nominatim(domain, geocoder_min_delay_seconds=0.3)
    start = time.monotonic()
    for address in ("a", "b", "c"):
        geocoder.geocode(address)
    assert time.monotonic() - start >= 0.6
    assert len(behaviour.paths) == 3


def test_public_nominatim_defaults_to_one_request_per_second() -> None:
    """The public server's usage policy: 1 request/s, and our own user agent is sent."""
    geocoder = make_provider_geocoder(Settings(geocoder="nominatim"))
    assert getattr(geocoder.call, "min_delay_seconds", None) == 1.0
    assert "visit-planner" in Settings().geocoder_user_agent


class _StubGeopy:
    """A geopy-shaped geocoder returning a fixed Location (Baidu has no domain setting)."""

    def __init__(self, lat: float, lon: float, raw: dict[str, Any]) -> None:
        self.location = Location("x", (lat, lon), raw)

    def geocode(self, query: str, exactly_one: bool = True) -> Location:
        return self.location


def test_baidu_bd09_answer_is_converted_to_wgs84() -> None:
    """BaiduV3's BD-09 Tiananmen (39.915, 116.404) comes out ~1 km away, at the WGS-84 gate."""
    stub = _StubGeopy(39.915, 116.404, {"level": "门址", "precise": 1})
    found = GeopyGeocoder("baidu", stub, lambda raw: raw.get("level"), datum="bd09").geocode("x")
    assert found is not None
    assert found.precision == "rooftop"
    assert abs(found.lat - 39.9072) < 0.0015
    assert abs(found.lon - 116.3914) < 0.0015


@pytest.mark.parametrize(
    ("kind", "precision"),
    [("house", "rooftop"), ("street", "street"), ("suburb", "district"), ("town", "city")],
)
def test_precision_of_provider_kinds(kind: str, precision: str) -> None:
    """Provider place types map onto our four levels; unknown kinds count as city."""
    assert precision_of(kind) == precision
    assert precision_of("something-new") == "city"


def test_key_required_providers_refuse_to_start_without_a_key() -> None:
    """baidu and google without VP_GEOCODER_API_KEY fail at start-up, naming the setting."""
    for name in ("baidu", "google"):
        with pytest.raises(ValueError, match="VP_GEOCODER_API_KEY"):
            make_provider_geocoder(Settings(geocoder=name))
