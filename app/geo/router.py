"""HTTP route for batch geocoding: parse, one service call, respond."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.deps import ApiKeyDep, PlannerDep, SessionDep, SettingsDep
from app.geo import service
from app.geo.schemas import GeocodeRequest, GeocodeResponse
from app.plans.responses import ErrorOut

router = APIRouter(tags=["geocoding"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 413, 422)
}


@router.post("/geocode", response_model=GeocodeResponse, dependencies=[ApiKeyDep], responses=ERRORS)
def geocode(
    body: GeocodeRequest, session: SessionDep, settings: SettingsDep, planner: PlannerDep
) -> GeocodeResponse:
    """Geocode up to the customer limit of addresses: position, precision and source each."""
    results = service.geocode_batch(session, settings, planner.geocoder, body.addresses)
    session.commit()
    return GeocodeResponse(results=results, provider=planner.geocoder.name)
