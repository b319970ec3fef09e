"""Geocoders: addresses to coordinates, behind one protocol.

Until a real adapter is configured the service uses ``NoGeocoder``, which finds nothing,
so address-only customers are reported as ``geocode_failed`` instead of failing the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from app.config import Settings

Precision = Literal["rooftop", "street", "district", "city"]


@dataclass(frozen=True)
class GeocodeResult:
    """A WGS-84 position with how precise it is and who said so."""

    lat: float
    lon: float
    precision: Precision
    source: str


class Geocoder(Protocol):
    """Resolve one address; None when it cannot be found (never raises for that)."""

    name: str

    def geocode(self, address: str) -> GeocodeResult | None: ...


class NoGeocoder:
    """The geocoder of a server with geocoding switched off."""

    name = "none"

    def geocode(self, address: str) -> GeocodeResult | None:
        return None


def make_geocoder(settings: Settings) -> Geocoder:
    """The geocoder the settings ask for; the app builds one at start-up."""
    return NoGeocoder()
