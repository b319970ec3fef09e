"""What a run asks the planner for: one ``POST /plan`` request per active rep.

The pool's due customers (see ``cadence``) become the rep's customers with their overdue
priority, not-yet-due neighbours become optional fill; the horizon is the territory's
working days from the week's start in its time zone, the options are the territory's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import AppError, ErrorDetail
from app.plans.schemas import Options
from app.territories import cadence
from models import Territory, TerritoryCustomer, TerritoryRep


class NoActiveReps(AppError):
    status_code = 409
    code = "no_active_reps"


def _rep_json(rep: TerritoryRep, territory: Territory) -> dict[str, Any]:
    start: dict[str, Any] = (
        {"lat": rep.start_lat, "lon": rep.start_lon}
        if rep.start_lat is not None and rep.start_lon is not None
        else {"address": rep.start_address}
    )
    found = {
        "id": rep.external_id,
        "name": rep.name,
        "start": start,
        "end": rep.end,
        "work_start": rep.work_start,
        "work_end": rep.work_end,
        "lunch": rep.lunch,
        "max_visits_per_day": rep.max_visits_per_day,
        "hourly_value": rep.hourly_value,
        "currency": rep.currency or territory.currency,
    }
    return {k: v for k, v in found.items() if v is not None}


def _customer_json(c: TerritoryCustomer, visit: cadence.Visit) -> dict[str, Any]:
    found = {
        "id": c.external_id,
        "name": c.name,
        "address": c.address,
        "lat": c.lat,
        "lon": c.lon,
        "segment": c.segment,
        "need": c.need,
        "can_pay": c.can_pay,
        "decision_maker": c.decision_maker,
        "visit_minutes": c.visit_minutes,
        "priority": visit.priority,
        "must_visit": visit.must_visit,
        "area": (c.attributes or {}).get("area"),
        "opening_hours": c.opening_hours,
    }
    return {k: v for k, v in found.items() if v is not None}


def rules(settings: Settings, territory: Territory) -> cadence.CadenceRules:
    """The cadence in force for ``territory``: its intervals over the server's."""
    return cadence.CadenceRules(
        defaults=settings.cadence_days.model_dump(),
        territory={k: int(v) for k, v in (territory.cadence_days or {}).items()},
        overdue_points=settings.cadence_overdue_points,
        fill_priority=settings.cadence_fill_priority,
        fill_radius_km=settings.cadence_fill_radius_km,
        fill_max_per_rep=settings.cadence_fill_max_per_rep,
    )


def rep_requests(
    session: Session, settings: Settings, territory: Territory, week_start: date
) -> list[dict[str, Any]]:
    """One child payload per active rep: its request as ``POST /plan`` takes it, due and fill."""
    reps = list(
        session.scalars(select(TerritoryRep).where(TerritoryRep.territory_id == territory.id))
    )
    customers = list(
        session.scalars(
            select(TerritoryCustomer).where(
                TerritoryCustomer.territory_id == territory.id, TerritoryCustomer.active.is_(True)
            )
        )
    )
    if not any(r.active for r in reps):
        raise NoActiveReps(
            f"Territory {territory.id} has no active rep to plan for",
            [ErrorDetail("reps", "add a rep or set one active")],
        )
    options = Options.model_validate(territory.options or {})
    table = options.segment_table(settings.segments)
    week = cadence.plan_week(
        customers,
        reps,
        week_start,
        rules(settings, territory),
        {name: row.priority for name, row in table.items()},
    )
    pool = {c.external_id: c for c in customers}
    by_id = {r.external_id: r for r in reps}
    horizon = {
        "start_date": week_start.isoformat(),
        "days": territory.horizon_days,
        "weekdays": list(territory.weekdays),
    }
    out = []
    for rep_id, visits in week.visits.items():
        request = {
            "timezone": territory.timezone,
            "horizon": horizon,
            "reps": [_rep_json(by_id[rep_id], territory)],
            "customers": [_customer_json(pool[v.customer_id], v) for v in visits],
            "options": {**(territory.options or {}), "async": False},
        }
        out.append(
            {
                "rep_id": rep_id,
                "request": request,
                "due": [v.customer_id for v in visits if not v.fill],
                "fill": [v.customer_id for v in visits if v.fill],
            }
        )
    return out
