"""SQLAlchemy models, one module per aggregate; importing this registers every table."""

from models.api_key import ApiKey
from models.base import Base, UTCDateTime, utcnow
from models.geocode import GEOCODE_PRECISIONS, GeocodeCacheEntry
from models.idempotency import IdempotencyRecord
from models.job import JOB_STATUSES, Job
from models.outcome import OUTCOME_STATUSES, VisitOutcome
from models.plan import PLAN_STATUSES, Plan, PlanDay, PlanStop, PlanUnassigned, ShareLink
from models.territory import (
    RUN_STATUSES,
    Schedule,
    Territory,
    TerritoryCustomer,
    TerritoryRep,
    TerritoryRun,
    TerritoryRunPlan,
    WebhookDelivery,
)

__all__ = [
    "GEOCODE_PRECISIONS",
    "JOB_STATUSES",
    "OUTCOME_STATUSES",
    "PLAN_STATUSES",
    "RUN_STATUSES",
    "ApiKey",
    "Base",
    "GeocodeCacheEntry",
    "IdempotencyRecord",
    "Job",
    "Plan",
    "PlanDay",
    "PlanStop",
    "PlanUnassigned",
    "Schedule",
    "ShareLink",
    "Territory",
    "TerritoryCustomer",
    "TerritoryRep",
    "TerritoryRun",
    "TerritoryRunPlan",
    "UTCDateTime",
    "VisitOutcome",
    "WebhookDelivery",
    "utcnow",
]
