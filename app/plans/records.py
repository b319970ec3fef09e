"""Turn a solver outcome into the rows of a stored plan.

Figures are stored unrounded (minutes and kilometres as floats derived from the solver's
integer seconds and metres) so that totals stay exact sums of their legs; rounding happens
only when a plan is rendered.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from statistics import fmean
from typing import Any

from app.plans import insights
from app.plans.mapping import Mapped
from app.plans.schemas import PlanRequest
from models import Plan, PlanDay, PlanStop, PlanUnassigned
from solver.domain import PlannedDay, PlanOutcome


def _stops(mapped: Mapped, req: PlanRequest, day: PlannedDay) -> list[PlanStop]:
    rows = []
    for position, stop in enumerate(day.stops):
        c = req.customers[mapped.customer_index[stop.customer]]
        planned = mapped.planning.customers[stop.customer]
        rows.append(
            PlanStop(
                position=position,
                customer_id=c.id,
                name=c.name or c.id,
                lat=planned.point.lat,
                lon=planned.point.lon,
                arrival=mapped.to_datetime(stop.arrival),
                start=mapped.to_datetime(stop.start),
                end=mapped.to_datetime(stop.end),
                travel_minutes=stop.travel_s / 60,
                travel_km=stop.travel_m / 1000,
                wait_minutes=stop.wait_s / 60,
                segment=c.segment,
                purpose=mapped.segments[c.segment].purpose,
                priority=planned.priority,
            )
        )
    return rows


def _day(mapped: Mapped, req: PlanRequest, position: int, day: PlannedDay) -> PlanDay:
    rep = req.reps[day.rep]
    return PlanDay(
        position=position,
        rep_id=rep.id,
        rep_name=rep.name,
        date=mapped.planning.days[day.day],
        area=day.area,
        depart=mapped.to_datetime(day.depart),
        return_at=mapped.to_datetime(day.return_at),
        lunch_start=mapped.to_datetime(day.lunch.start) if day.lunch else None,
        lunch_end=mapped.to_datetime(day.lunch.end) if day.lunch else None,
        drive_minutes=day.travel_s / 60,
        drive_km=day.travel_m / 1000,
        visit_minutes=sum(s.end - s.start for s in day.stops) / 60,
        visits=len(day.stops),
        stops=_stops(mapped, req, day),
    )


def summarise(
    req: PlanRequest, outcome: PlanOutcome, unassigned: int, days: list[PlanDay]
) -> dict[str, Any]:
    """Plan totals, the driving cost at each rep's hourly value, and what planning saved."""
    rates = {r.id: r.hourly_value for r in req.reps}
    drive_minutes = sum(d.drive_minutes for d in days)
    drive_cost = sum(d.drive_minutes / 60 * rates[d.rep_id] for d in days)
    baseline = outcome.baseline_travel_s / 60
    saved = baseline - drive_minutes
    # Savings are valued at the reps' mean rate: the baseline is not split by rep.
    rate = fmean(rates.values()) if rates else 0.0
    return {
        "visits": sum(d.visits for d in days),
        "unassigned": unassigned,
        "drive_minutes": drive_minutes,
        "drive_km": sum(d.drive_km for d in days),
        "visit_minutes": sum(d.visit_minutes for d in days),
        "drive_cost": drive_cost,
        "currency": req.reps[0].currency,
        "baseline_drive_minutes": baseline,
        "baseline_drive_km": outcome.baseline_travel_m / 1000,
        "saved_minutes": saved,
        "saved_value": saved / 60 * rate,
        "solve_seconds": outcome.wall_time_s,
        "solver_status": outcome.status,
    }


def build_plan(
    req: PlanRequest, raw_request: dict[str, Any], mapped: Mapped, outcome: PlanOutcome
) -> Plan:
    """A complete ``Plan`` row with its days, stops and unassigned customers, unsaved."""
    days = [_day(mapped, req, k, d) for k, d in enumerate(outcome.days)]
    unassigned: list[tuple[int, str, str]] = [
        (r.index, r.code.value, r.reason) for r in mapped.rejected
    ]
    unassigned += [
        (mapped.customer_index[u.customer], u.code.value, u.reason) for u in outcome.unassigned
    ]
    unassigned.sort()
    warnings = list(mapped.warnings)
    currencies = sorted({r.currency for r in req.reps})
    if len(currencies) > 1:
        warnings.append(
            f"reps use several currencies ({', '.join(currencies)}); summary figures are in"
            f" {req.reps[0].currency} and mix rates as given"
        )
    plan_id = secrets.token_hex(16)
    return Plan(
        id=plan_id,
        lineage_id=plan_id,
        version=1,
        created_at=datetime.now(UTC),
        status="partial" if unassigned else "complete",
        timezone=req.timezone,
        currency=req.reps[0].currency,
        request=raw_request,
        summary={
            **summarise(req, outcome, len(unassigned), days),
            "kpis": insights.kpis(req, mapped, days),
            "hints": insights.hints(req, mapped, outcome),
        },
        warnings=warnings,
        days=days,
        unassigned=[
            PlanUnassigned(
                position=k,
                customer_id=req.customers[i].id,
                name=req.customers[i].name,
                code=code,
                reason=reason,
            )
            for k, (i, code, reason) in enumerate(unassigned)
        ],
    )
