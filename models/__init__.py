"""SQLAlchemy models, one module per aggregate; importing this registers every table."""

from models.api_key import ApiKey
from models.base import Base, UTCDateTime, utcnow
from models.job import JOB_STATUSES, Job
from models.plan import PLAN_STATUSES, Plan, PlanDay, PlanStop, PlanUnassigned, ShareLink

__all__ = [
    "JOB_STATUSES",
    "PLAN_STATUSES",
    "ApiKey",
    "Base",
    "Job",
    "Plan",
    "PlanDay",
    "PlanStop",
    "PlanUnassigned",
    "ShareLink",
    "UTCDateTime",
    "utcnow",
]
