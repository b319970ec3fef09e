"""Wire shapes of ``POST /geocode``: addresses in, one result per address out, in order."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.geo.geocoding import OSM_ATTRIBUTION, Precision

Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class GeocodeRequest(BaseModel):
    """The addresses to place; repeats are answered from one lookup."""

    model_config = ConfigDict(extra="ignore")

    addresses: list[Address] = Field(min_length=1)


class GeocodeOut(BaseModel):
    """One address: ``found`` with a WGS-84 position, ``not_found``, or ``failed`` (retry)."""

    address: str
    status: Literal["found", "not_found", "failed"]
    lat: float | None = None
    lon: float | None = None
    precision: Precision | None = None
    source: str | None = None
    reason: str | None = None


class GeocodeResponse(BaseModel):
    """Results in request order; data may be OpenStreetMap's, hence the attribution."""

    results: list[GeocodeOut]
    provider: str
    attribution: str = OSM_ATTRIBUTION
