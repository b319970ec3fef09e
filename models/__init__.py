"""SQLAlchemy models, one module per aggregate; importing this registers every table."""

from models.api_key import ApiKey
from models.base import Base, UTCDateTime, utcnow
from models.geocode import GEOCODE_PRECISIONS, GeocodeCacheEntry
from models.idempotency import IdempotencyRecord
from models.job import JOB_STATUSES, Job
from models.plan import PLAN_STATUSES, Plan, PlanDay, PlanStop, PlanUnassigned, ShareLink

__all__ = [
    "GEOCODE_PRECISIONS",
    "JOB_STATUSES",
    "PLAN_STATUSES",
    "ApiKey",
    "Base",
    "GeocodeCacheEntry",
    "IdempotencyRecord",
    "Job",
    "Plan",
    "PlanDay",
    "PlanStop",
    "PlanUnassigned",
    "ShareLink",
    "UTCDateTime",
    "utcnow",
]
