"""The sample territory of the README: "Shanghai sample", 3 reps, the bundled 40 customers.

The customers go through the same importer as an uploaded CSV, so the sample also shows the
import path working end to end. Running it again upserts: the same territory, nothing doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.sample.build import CSV_NAME, REPS, TIMEZONE
from app.territories import importer, service
from app.territories.schemas import TerritoryIn, UpsertReport
from models import Territory

NAME = "Shanghai sample"
_THIRD_REP: dict[str, Any] = {
    "id": "rep-3",
    "name": "Zhang Min",
    # Lives near Zhongshan Park, Changning.
    "start": {"lat": 31.2196, "lon": 121.4177},
}


@dataclass(frozen=True)
class SampleResult:
    territory: Territory
    reps: UpsertReport
    customers: UpsertReport


def sample_reps() -> list[dict[str, Any]]:
    """The sample request's two reps plus a third, with the sample's working day."""
    return [
        {
            **rep,
            "work_start": "09:00",
            "work_end": "18:00",
            "lunch": {"earliest": "11:30", "latest": "13:30", "minutes": 60},
            "max_visits_per_day": 8,
            "hourly_value": 300,
            "currency": "CNY",
        }
        for rep in (*REPS, _THIRD_REP)
    ]


def create_sample_territory(session: Session, settings: Settings | None = None) -> SampleResult:
    """Create (or bring up to date) the sample territory; flushes, the caller commits."""
    settings = settings or Settings()
    territory = service.find_territory(session, NAME)
    if territory is None:
        body = TerritoryIn(name=NAME, timezone=TIMEZONE, currency="CNY")
        territory = service.create_territory(session, settings, body)
    reps, _ = service.upsert(session, territory, "rep", sample_reps(), single=False)
    data = resources.files("app.sample").joinpath(CSV_NAME).read_bytes()
    customers = importer.import_file(
        session,
        territory,
        "customer",
        data,
        filename=CSV_NAME,
        max_rows=settings.territory_import_max_rows,
    )
    return SampleResult(territory, reps, customers)
