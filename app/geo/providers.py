"""geopy adapters: Nominatim, Photon, Pelias, BaiduV3, GoogleV3, ArcGIS behind ``Geocoder``.

Each adapter turns a provider answer into a WGS-84 ``GeocodeResult`` (datum converted here,
at the boundary) with a precision read from the provider's own classification, coarsest
when it says nothing, so a vague answer is never passed off as a precise one. geopy's errors
become ``GeocoderFailed``; "no result" is ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from geopy import exc as geopy_exc

from app.geo.datum import Datum, to_wgs84
from app.geo.geocoding import GeocodeResult, GeocoderFailed, Precision

if TYPE_CHECKING:
    from app.config import Settings

PUBLIC_NOMINATIM = "nominatim.openstreetmap.org"
_ROOFTOP = {"house", "building", "address", "rooftop", "门址", "point_address", "pointaddress"}
_STREET = {"street", "road", "highway", "道路", "streetaddress", "street_address", "route"}
_DISTRICT = {
    "district",
    "suburb",
    "quarter",
    "neighbourhood",
    "borough",
    "city_district",
    "neighborhood",
    "sublocality",
    "区县",
    "乡镇",
    "商圈",
    "postalcode",
    "postcode",
}


def precision_of(kind: str | None) -> Precision:
    """A provider's place type -> our precision; anything unknown counts as ``city``."""
    kind = (kind or "").casefold()
    if kind in _ROOFTOP:
        return "rooftop"
    if kind in _STREET:
        return "street"
    if kind in _DISTRICT:
        return "district"
    return "city"


def _nominatim_kind(raw: dict[str, Any]) -> str | None:
    # place_rank is Nominatim's own granularity: 30 a house or POI, 26-27 a street, 17-25
    # suburbs and neighbourhoods, 16 and below towns and larger.
    rank = raw.get("place_rank")
    if isinstance(rank, int | str) and str(rank).isdigit():
        value = int(rank)
        if value >= 28:
            return "house"
        if value >= 26:
            return "street"
        return "district" if value >= 17 else "city"
    if raw.get("type") in ("house", "building") or raw.get("class") == "building":
        return "house"
    if raw.get("class") == "highway":
        return "street"
    kind = raw.get("addresstype") or raw.get("type")
    return str(kind) if kind else None


def _photon_kind(raw: dict[str, Any]) -> str | None:
    props = raw.get("properties", {})
    if props.get("housenumber"):
        return "house"
    kind = props.get("type")
    return str(kind) if kind else None


def _pelias_kind(raw: dict[str, Any]) -> str | None:
    layer = str(raw.get("properties", {}).get("layer") or "")
    return {"address": "address", "venue": "address", "locality": "city"}.get(layer, layer)


def _google_kind(raw: dict[str, Any]) -> str | None:
    location_type = raw.get("geometry", {}).get("location_type")
    if location_type in ("ROOFTOP", "RANGE_INTERPOLATED"):
        return "rooftop"
    types = set(raw.get("types", []))
    if "route" in types:
        return "street"
    if types & {"sublocality", "neighborhood", "postal_code"}:
        return "district"
    return None


def _baidu_kind(raw: dict[str, Any]) -> str | None:
    level = raw.get("level")
    return str(level) if level else None


def _arcgis_kind(raw: dict[str, Any]) -> str | None:
    attributes = raw.get("attributes", {})
    kind = attributes.get("Addr_type") or attributes.get("Addr_Type")
    return str(kind).casefold() if kind else None


@dataclass(frozen=True)
class _Kind:
    factory: Callable[[Settings], Any]
    kind_of: Callable[[dict[str, Any]], str | None]
    datum: Datum = "wgs84"


def _common(settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {
        "scheme": settings.geocoder_scheme,
        "timeout": settings.geocoder_timeout_seconds,
    }
    return out


def _nominatim(settings: Settings) -> Any:
    from geopy.geocoders import Nominatim

    domain = settings.geocoder_domain or PUBLIC_NOMINATIM
    return Nominatim(user_agent=settings.geocoder_user_agent, domain=domain, **_common(settings))


def _photon(settings: Settings) -> Any:
    from geopy.geocoders import Photon

    domain = settings.geocoder_domain or "photon.komoot.io"
    return Photon(user_agent=settings.geocoder_user_agent, domain=domain, **_common(settings))


def _pelias(settings: Settings) -> Any:
    from geopy.geocoders import Pelias

    if not settings.geocoder_domain:
        raise ValueError("VP_GEOCODER_DOMAIN is required for pelias (it has no public server)")
    return Pelias(
        domain=settings.geocoder_domain,
        api_key=settings.geocoder_api_key,
        user_agent=settings.geocoder_user_agent,
        **_common(settings),
    )


def _keyed(settings: Settings, provider: str) -> str:
    if not settings.geocoder_api_key:
        raise ValueError(f"VP_GEOCODER_API_KEY is required for {provider}")
    return settings.geocoder_api_key


def _baidu(settings: Settings) -> Any:
    from geopy.geocoders import BaiduV3

    return BaiduV3(
        api_key=_keyed(settings, "baidu"),
        user_agent=settings.geocoder_user_agent,
        **_common(settings),
    )


def _google(settings: Settings) -> Any:
    from geopy.geocoders import GoogleV3

    extra = {"domain": settings.geocoder_domain} if settings.geocoder_domain else {}
    return GoogleV3(
        api_key=_keyed(settings, "google"),
        user_agent=settings.geocoder_user_agent,
        **extra,
        **_common(settings),
    )


def _arcgis(settings: Settings) -> Any:
    from geopy.geocoders import ArcGIS

    extra = {"domain": settings.geocoder_domain} if settings.geocoder_domain else {}
    return ArcGIS(user_agent=settings.geocoder_user_agent, **extra, **_common(settings))


KINDS: dict[str, _Kind] = {
    "nominatim": _Kind(_nominatim, _nominatim_kind),
    "photon": _Kind(_photon, _photon_kind),
    "pelias": _Kind(_pelias, _pelias_kind),
    "baidu": _Kind(_baidu, _baidu_kind, datum="bd09"),
    "google": _Kind(_google, _google_kind),
    "arcgis": _Kind(_arcgis, _arcgis_kind),
}


def _failure(error: geopy_exc.GeopyError) -> GeocoderFailed:
    if isinstance(error, geopy_exc.GeocoderTimedOut):
        return GeocoderFailed("the geocoding provider timed out")
    if isinstance(error, geopy_exc.GeocoderRateLimited | geopy_exc.GeocoderQuotaExceeded):
        return GeocoderFailed(f"the geocoding provider refused: rate limit or quota ({error})")
    if isinstance(
        error, geopy_exc.GeocoderAuthenticationFailure | geopy_exc.GeocoderInsufficientPrivileges
    ):
        return GeocoderFailed(f"the geocoding provider rejected our key ({error})")
    if isinstance(error, geopy_exc.GeocoderQueryError):
        # This address only: the provider could not parse it.
        return GeocoderFailed(
            f"the geocoding provider rejected the query ({error})", stop_batch=False
        )
    return GeocoderFailed(f"the geocoding provider is unavailable ({error})")


class GeopyGeocoder:
    """One geopy geocoder, rate limited, answering in WGS-84 with a precision."""

    def __init__(
        self,
        name: str,
        geocoder: Any,
        kind_of: Callable[[dict[str, Any]], str | None],
        *,
        datum: Datum = "wgs84",
        min_delay_seconds: float = 0.0,
    ) -> None:
        self.name = name
        self.kind_of = kind_of
        self.datum = datum
        self.call: Callable[..., Any] = geocoder.geocode
        if min_delay_seconds > 0:
            from geopy.extra.rate_limiter import RateLimiter

            # No retries and no swallowing: failures must reach geocode_many, which stops
            # the batch instead of hammering a provider that is already refusing.
            self.call = RateLimiter(
                geocoder.geocode,
                min_delay_seconds=min_delay_seconds,
                max_retries=0,
                swallow_exceptions=False,
            )

    def geocode(self, address: str) -> GeocodeResult | None:
        """The provider's best match for ``address`` in WGS-84; None when it has none."""
        try:
            location = self.call(address, exactly_one=True)
        except geopy_exc.GeopyError as error:
            raise _failure(error) from error
        if location is None:
            return None
        lat, lon = to_wgs84(self.datum, float(location.latitude), float(location.longitude))
        raw = location.raw if isinstance(location.raw, dict) else {}
        return GeocodeResult(lat, lon, precision_of(self.kind_of(raw)), self.name)


def make_provider_geocoder(settings: Settings) -> GeopyGeocoder:
    """The geopy adapter named by ``settings.geocoder``."""
    kind = KINDS[settings.geocoder]
    delay = settings.geocoder_min_delay_seconds
    if delay is None:
        public = settings.geocoder == "nominatim" and settings.geocoder_domain in (
            None,
            PUBLIC_NOMINATIM,
        )
        delay = 1.0 if public else 0.0
    return GeopyGeocoder(
        settings.geocoder,
        kind.factory(settings),
        kind.kind_of,
        datum=settings.geocoder_datum or kind.datum,
        min_delay_seconds=delay,
    )
