"""SQLAlchemy models, one module per aggregate; importing this registers every table."""

from models.api_key import ApiKey
from models.base import Base, UTCDateTime, utcnow
from models.plan import PLAN_STATUSES, Plan, PlanDay, PlanStop, PlanUnassigned, ShareLink

__all__ = [
    "PLAN_STATUSES",
    "ApiKey",
    "Base",
    "Plan",
    "PlanDay",
    "PlanStop",
    "PlanUnassigned",
    "ShareLink",
    "UTCDateTime",
    "utcnow",
]
