"""Wire shapes of visit outcomes.

One outcome per request (not a batch): a rep's tap and a CRM hook both report one visit, and a
single object keeps a 422 path (``customer_id``, ``actual_end``) unambiguous.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.plans.schemas import Instant

OutcomeStatus = Literal["done", "no_show", "cancelled", "rescheduled", "skipped"]
OutcomeSource = Literal["api", "share"]


class OutcomeIn(BaseModel):
    """What happened at one customer's visit; recording it again replaces the earlier one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: str = Field(min_length=1, max_length=128)
    status: OutcomeStatus
    actual_start: Instant | None = Field(
        default=None, description="When the visit began (time zone required); `done` only."
    )
    actual_end: Instant | None = Field(
        default=None, description="When the visit ended, after `actual_start`; `done` only."
    )
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("actual_start", "actual_end")
    @classmethod
    def _times_only_when_done(
        cls, value: dt.datetime | None, info: ValidationInfo
    ) -> dt.datetime | None:
        # Only a visit that took place has actual times; a no-show with times is a client bug.
        if value is not None and info.data.get("status", "done") != "done":
            raise ValueError("actual times are only recorded for status 'done'")
        return value

    @field_validator("actual_end")
    @classmethod
    def _end_after_start(
        cls, value: dt.datetime | None, info: ValidationInfo
    ) -> dt.datetime | None:
        start = info.data.get("actual_start")
        if value is not None and start is not None and value <= start:
            raise ValueError("must be after actual_start")
        return value


class OutcomeOut(BaseModel):
    """A recorded outcome; ``plan_id`` is the plan's (lineage) id, ``date`` the planned day."""

    plan_id: str
    customer_id: str
    date: dt.date | None
    status: OutcomeStatus
    actual_start: AwareDatetime | None
    actual_end: AwareDatetime | None
    note: str | None
    source: OutcomeSource
    recorded_at: AwareDatetime


class OutcomesOut(BaseModel):
    """Every outcome recorded for a plan, by planned day then customer id."""

    plan_id: str
    outcomes: list[OutcomeOut]
