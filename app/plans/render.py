"""Render a stored plan as the contract's JSON; the share page renders the same rows.

Neither this module nor the page calls the solver: a plan is solved once, stored, and
every view reads the stored rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.plans.insights import attach_hints
from models import Plan, PlanDay, PlanStop


def _r(value: float, digits: int = 2) -> float:
    return round(value, digits)


def _local(dt: datetime | None, tz: ZoneInfo) -> str | None:
    return dt.astimezone(tz).isoformat() if dt is not None else None


def _stop(stop: PlanStop, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "customer_id": stop.customer_id,
        "name": stop.name,
        "lat": stop.lat,
        "lon": stop.lon,
        "arrival": _local(stop.arrival, tz),
        "start": _local(stop.start, tz),
        "end": _local(stop.end, tz),
        "travel_minutes": _r(stop.travel_minutes),
        "travel_km": _r(stop.travel_km, 3),
        "wait_minutes": _r(stop.wait_minutes),
        "segment": stop.segment,
        "purpose": stop.purpose,
        "priority": stop.priority,
    }


def _day(day: PlanDay, tz: ZoneInfo) -> dict[str, Any]:
    legs_minutes = sum(s.travel_minutes for s in day.stops)
    legs_km = sum(s.travel_km for s in day.stops)
    lunch = None
    if day.lunch_start is not None and day.lunch_end is not None:
        lunch = {"start": _local(day.lunch_start, tz), "end": _local(day.lunch_end, tz)}
    return {
        "rep_id": day.rep_id,
        "rep_name": day.rep_name,
        "date": day.date.isoformat(),
        "area": day.area,
        "depart": _local(day.depart, tz),
        "return": _local(day.return_at, tz),
        "stops": [_stop(s, tz) for s in day.stops],
        "lunch": lunch,
        "drive_minutes": _r(day.drive_minutes),
        "drive_km": _r(day.drive_km, 3),
        "return_travel_minutes": _r(day.drive_minutes - legs_minutes),
        "return_travel_km": _r(day.drive_km - legs_km, 3),
        "visit_minutes": _r(day.visit_minutes),
        "visits": day.visits,
        "geometry": day.geometry,
    }


def _unassigned(plan: Plan, hints: dict[str, list[Any]]) -> list[dict[str, Any]]:
    out = [
        {"customer_id": u.customer_id, "name": u.name, "code": u.code, "reason": u.reason}
        for u in plan.unassigned
    ]
    attach_hints(out, hints)
    return out


def render_plan(plan: Plan, share_url: str | None) -> dict[str, Any]:
    """The plan body of ``POST /plan`` (201) and ``GET /plans/{plan_id}``."""
    tz = ZoneInfo(plan.timezone)
    summary = dict(plan.summary)
    hints = summary.pop("hints", {})  # shown on the unassigned entries (app/plans/insights.py)
    for key in ("drive_minutes", "visit_minutes", "drive_cost", "baseline_drive_minutes"):
        summary[key] = _r(summary[key])
    for key in ("saved_minutes", "saved_value", "solve_seconds"):
        summary[key] = _r(summary[key])
    for key in ("drive_km", "baseline_drive_km"):
        summary[key] = _r(summary[key], 3)
    return {
        # The API's plan id is the lineage's: it stays the same across re-plans.
        "plan_id": plan.lineage_id,
        "version": plan.version,
        "status": plan.status,
        "share_url": share_url,
        "created_at": plan.created_at.isoformat(),
        "timezone": plan.timezone,
        "days": [_day(d, tz) for d in plan.days],
        "unassigned": _unassigned(plan, hints),
        "summary": summary,
        "warnings": list(plan.warnings),
        **({"diff": plan.diff} if plan.diff else {}),
    }
