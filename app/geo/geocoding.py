"""Geocoders: addresses to coordinates, behind one protocol.

Every adapter answers one address with a WGS-84 ``GeocodeResult`` (carrying how precise it is
and which source said so) or ``None`` when the address is unknown, and raises
``GeocoderFailed`` when the provider could not answer (timeout, 5xx, 429, quota): an unknown
address is an answer worth caching, a failure is not. ``geocode_many`` turns both into
per-address outcomes so that no provider trouble can ever fail a plan.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, get_args

if TYPE_CHECKING:
    from app.config import Settings

Precision = Literal["rooftop", "street", "district", "city"]
# Finest first: a result is "at least as precise as" p when its rank is <= p's.
PRECISIONS: tuple[Precision, ...] = get_args(Precision)
OSM_ATTRIBUTION = "(c) OpenStreetMap contributors"


def precision_rank(precision: Precision) -> int:
    """0 for rooftop up to 3 for city; larger is coarser."""
    return PRECISIONS.index(precision)


@dataclass(frozen=True)
class GeocodeResult:
    """A WGS-84 position with how precise it is and who said so."""

    lat: float
    lon: float
    precision: Precision
    source: str

    def __post_init__(self) -> None:
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError(f"not a WGS-84 position: {self.lat}, {self.lon}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}")


@dataclass(frozen=True)
class GeocodeFailure:
    """Why an address has no position: not found (an answer) or the provider failed."""

    reason: str
    transient: bool = False  # provider trouble: do not cache, a later request may succeed


Outcome = GeocodeResult | GeocodeFailure


class GeocoderFailed(Exception):
    """The provider could not answer (timeout, 5xx, rate limit, quota, bad key)."""

    def __init__(self, reason: str, *, stop_batch: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        # Timeouts and outages repeat: later addresses of the batch fail fast instead of
        # each waiting for its own timeout.
        self.stop_batch = stop_batch


class Geocoder(Protocol):
    """Resolve one address; None when it cannot be found, ``GeocoderFailed`` on trouble."""

    name: str

    def geocode(self, address: str) -> GeocodeResult | None: ...


class NoGeocoder:
    """The geocoder of a server with geocoding switched off."""

    name = "none"

    def geocode(self, address: str) -> GeocodeResult | None:
        return None


# Words, with number ranges ("1-5", "12/3") kept whole: they are house numbers, not two.
_RANGE_GAPS = re.compile(r"(\d)\s*([-/])\s*(?=\d)")
_WORDS = re.compile(r"\d+(?:[-/]\d+)+|\w+")


def normalise(address: str) -> str:
    """Case, width, accents and punctuation folded away: the cache and index key text.

    ``"Rue Grimaldi, 12"`` and ``"rue  grimaldi 12"`` are one address; CJK text survives
    (NFKC folds full-width digits, and ``\\w`` matches Han characters).
    """
    if address.isascii():  # the common case, and 10x faster: nothing to fold but case
        text = address.lower()
    else:
        text = unicodedata.normalize("NFKD", address.casefold())
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        text = unicodedata.normalize("NFKC", text)
    text = _RANGE_GAPS.sub(r"\1\2", text)
    return " ".join(_WORDS.findall(text))


def address_key(address: str) -> str:
    """SHA-256 of the normalised address: a fixed-width, indexable cache key."""
    return hashlib.sha256(normalise(address).encode()).hexdigest()


def geocode_many(geocoder: Geocoder, addresses: Iterable[str]) -> dict[str, Outcome]:
    """Each distinct address once, in order; provider trouble becomes a transient failure.

    After a failure that will repeat (timeout, outage, quota) the remaining addresses are not
    sent: they fail with the same reason, so a dead provider costs one timeout, not one each.
    """
    out: dict[str, Outcome] = {}
    by_key: dict[str, Outcome] = {}
    broken: GeocoderFailed | None = None
    for address in addresses:
        if address in out:
            continue
        key = normalise(address)
        if key in by_key:
            out[address] = by_key[key]
            continue
        if broken is not None:
            outcome: Outcome = GeocodeFailure(broken.reason, transient=True)
        else:
            try:
                found = geocoder.geocode(address)
            except GeocoderFailed as error:
                outcome = GeocodeFailure(error.reason, transient=True)
                if error.stop_batch:
                    broken = error
            else:
                outcome = found or GeocodeFailure(f"address not found by {geocoder.name}")
        out[address] = by_key[key] = outcome
    return out


def make_geocoder(settings: Settings) -> Geocoder:
    """The geocoder the settings ask for; the app builds one at start-up.

    Adapters import their libraries lazily, so an unused provider costs nothing.
    """
    kind = settings.geocoder
    if kind == "none":
        return NoGeocoder()
    if kind == "offline":
        from app.geo.offline import make_offline_geocoder

        return make_offline_geocoder(settings)
    from app.geo.providers import make_provider_geocoder

    return make_provider_geocoder(settings)
