"""Record and read visit outcomes; keep a territory's pool in step with ``done`` visits.

Rules, in one place:

* An outcome belongs to the plan's lineage (its API ``plan_id``), so it survives re-plans. The
  customer must be a stop of some version of the lineage, the newest first: a visit the latest
  re-plan dropped can still be reported as it happened.
* Recording again for the same customer replaces the outcome (a correction), whatever the
  source.
* ``done`` on a plan made by a territory run moves the pool customer's ``last_visit`` forward
  to the visit's date: the local date of ``actual_start`` when given, else the planned day,
  never later than today in the plan's time zone (a visit reported done has happened). It
  never moves ``last_visit`` back: correcting ``done`` to another status leaves it as it is,
  because the previous value is not kept and an earlier real visit may have set it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.errors import ErrorDetail, NotFound, ValidationFailed
from app.outcomes import repository
from app.outcomes.schemas import OutcomeIn, OutcomeSource
from app.plans import repository as plans
from models import Plan, VisitOutcome, utcnow


def _plan(session: Session, plan_id: str) -> Plan:
    plan = plans.get_plan(session, plan_id)
    if plan is None:
        raise NotFound(f"No plan with id {plan_id!r}")
    return plan


def visit_date(
    outcome: VisitOutcome, timezone: str, now: dt.datetime | None = None
) -> dt.date | None:
    """The day a ``done`` visit counts for in the pool's cadence (see the module rules)."""
    tz = ZoneInfo(timezone)
    today = (now or utcnow()).astimezone(tz).date()
    if outcome.actual_start is not None:
        day: dt.date | None = outcome.actual_start.astimezone(tz).date()
    else:
        day = outcome.date
    return min(day, today) if day is not None else None


def record(
    session: Session,
    plan_id: str,
    body: OutcomeIn,
    source: OutcomeSource,
    now: dt.datetime | None = None,
) -> tuple[VisitOutcome, bool]:
    """Store ``body`` for the plan (replacing an earlier outcome); ``True`` if it is new."""
    now = now or utcnow()
    plan = _plan(session, plan_id)
    lineage = plan.lineage_id
    planned_day = repository.stop_date(session, lineage, body.customer_id)
    if planned_day is None:
        raise ValidationFailed(
            "The customer is not a stop of this plan",
            [ErrorDetail("customer_id", f"{body.customer_id!r} is not planned in this plan")],
        )
    fields = {
        "date": planned_day,
        "status": body.status,
        "actual_start": body.actual_start,
        "actual_end": body.actual_end,
        "note": body.note,
        "source": source,
        "recorded_at": now,
    }
    created = repository.get_outcome(session, lineage, body.customer_id) is None
    repository.upsert(session, lineage, body.customer_id, fields)
    outcome = repository.get_outcome(session, lineage, body.customer_id)
    if outcome is None:  # the upsert flushed it in this transaction
        raise RuntimeError("outcome vanished after upsert")
    if outcome.status == "done":
        territory_id = repository.lineage_territory(session, lineage)
        day = visit_date(outcome, plan.timezone, now)
        if territory_id is not None and day is not None:
            repository.raise_last_visit(session, territory_id, body.customer_id, day)
    return outcome, created


def list_for_plan(session: Session, plan_id: str) -> tuple[str, list[VisitOutcome]]:
    """The plan's (lineage) id and its outcomes; 404 for an unknown plan."""
    plan = _plan(session, plan_id)
    return plan.lineage_id, repository.list_outcomes(session, plan.lineage_id)


def by_customer(session: Session, lineage_id: str) -> dict[str, VisitOutcome]:
    """The lineage's outcomes keyed by customer id, for rendering stops."""
    return {o.customer_id: o for o in repository.list_outcomes(session, lineage_id)}


def _local(value: dt.datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def stop_outcome(outcome: VisitOutcome, timezone: str) -> dict[str, object]:
    """The ``outcome`` a plan response's stop carries: status and times, in the plan's zone."""
    tz = ZoneInfo(timezone)
    return {
        "status": outcome.status,
        "actual_start": _local(outcome.actual_start, tz),
        "actual_end": _local(outcome.actual_end, tz),
        "recorded_at": _local(outcome.recorded_at, tz),
    }


def attach(session: Session, rendered: dict[str, Any], timezone: str) -> dict[str, Any]:
    """Add each recorded outcome to its stop in a rendered plan (``render_plan``'s dict)."""
    outcomes = by_customer(session, str(rendered["plan_id"]))
    for day in rendered["days"] if outcomes else []:
        for stop in day["stops"]:
            found = outcomes.get(stop["customer_id"])
            if found is not None:
                stop["outcome"] = stop_outcome(found, timezone)
    return rendered
