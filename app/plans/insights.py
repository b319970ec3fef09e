"""What a stored plan says beyond its routes: KPIs and, per left-out customer, what would fit.

Both are computed once when the plan is built and kept in ``Plan.summary`` (JSON): the
KPIs as ``summary.kpis``, the hints as ``summary.hints`` (customer id -> suggestions), which
rendering moves onto the ``unassigned`` entries. So ``GET`` answers exactly what ``POST``
did without the solver, and no schema change was needed.
"""

from __future__ import annotations

from typing import Any

from app.plans.mapping import Mapped, Rejected
from app.plans.schemas import PlanRequest
from models import PlanDay
from solver.domain import Code, Hint, PlanOutcome
from solver.kpis import DayFigures, plan_kpis, stop_area
from solver.prechecks import hhmm
from solver.types import Point


def kpis(req: PlanRequest, mapped: Mapped, days: list[PlanDay]) -> dict[str, Any]:
    """``summary.kpis``: visits per day, drive share of the working span, area changes."""
    areas = {c.id: c.area for c in req.customers}
    starts = {r.id: r.start for r in mapped.planning.reps}
    figures = [
        DayFigures(
            visits=d.visits,
            drive_s=d.drive_minutes * 60,
            span_s=(d.return_at - d.depart).total_seconds(),
            areas=tuple(
                stop_area(starts[d.rep_id], Point(s.lat, s.lon), areas.get(s.customer_id))
                for s in d.stops
            ),
        )
        for d in days
    ]
    k = plan_kpis(figures)
    used = [d for d in days if d.visits]
    return {
        "rep_days": len(mapped.planning.reps) * len(mapped.planning.days),
        "days_with_visits": k.days,
        "visits_per_day": {"mean": k.visits_mean, "min": k.visits_min, "max": k.visits_max},
        "drive_share": k.drive_share,
        "area_changes_per_day": {
            "mean": k.area_changes_mean,
            "min": k.area_changes_min,
            "max": k.area_changes_max,
        },
        "days": [
            {
                "rep_id": d.rep_id,
                "date": d.date.isoformat(),
                "visits": d.visits,
                "drive_share": share,
                "area_changes": changes,
            }
            for d, share, changes in zip(used, k.day_drive_share, k.day_area_changes, strict=True)
        ],
    }


def _hint_json(mapped: Mapped, req: PlanRequest, hint: Hint) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": hint.kind, "text": hint.text}
    if hint.rep is not None:
        out["rep_id"] = req.reps[hint.rep].id
    if hint.day is not None:
        out["date"] = mapped.planning.days[hint.day].isoformat()
    if hint.kind == "visit_minutes":
        out["visit_minutes"] = hint.value
    elif hint.kind in ("work_end", "work_start") and hint.value is not None:
        out[hint.kind] = hhmm(hint.value * 60) if hint.value < 1440 else "24:00"
    elif hint.kind == "priority":
        out["priority"] = hint.value
        if hint.instead_of is not None:
            out["instead_of"] = mapped.planning.customers[hint.instead_of].id
    return out


def _rejected_hint(req: PlanRequest, mapped: Mapped, r: Rejected) -> dict[str, Any] | None:
    """Fixed advice for customers left out before solving (no time model involved)."""
    c = req.customers[r.index]
    days = mapped.planning.days
    span = f"{days[0]} to {days[-1]}" if days else "the horizon"
    if r.code is Code.NOT_PRECISE:
        text = (
            "would be planned with options.precise_only false, or once "
            + r.reason.split("missing ", 1)[-1]
            + " is recorded"
        )
        return {"kind": "precise", "text": text}
    if r.code is Code.GEOCODE_FAILED:
        return {
            "kind": "location",
            "text": "give lat/lon, or an address the geocoder can place at street level",
        }
    if r.code is Code.OUTSIDE_HORIZON:
        return {"kind": "date", "text": f"pin it to a working day from {span}, or drop the pin"}
    if r.code is Code.NO_TIME_WINDOW_FITS and c.opening_hours is not None:
        return {
            "kind": "never_meets",
            "text": "its opening hours never meet working hours on a working day from"
            f" {span}: only a horizon with its open days or other hours would help",
        }
    return None


def hints(req: PlanRequest, mapped: Mapped, outcome: PlanOutcome) -> dict[str, list[Any]]:
    """``summary.hints``: customer id -> suggestions, best first (absent: none found)."""
    out: dict[str, list[Any]] = {}
    for r in mapped.rejected:
        found = _rejected_hint(req, mapped, r)
        if found is not None:
            out[req.customers[r.index].id] = [found]
    for u in outcome.unassigned:
        if u.hints:
            cid = req.customers[mapped.customer_index[u.customer]].id
            out[cid] = [_hint_json(mapped, req, h) for h in u.hints]
    return out


def attach_hints(unassigned: list[dict[str, Any]], stored: dict[str, list[Any]]) -> None:
    """Put ``hint`` (the best suggestion's text) and ``suggestions`` on rendered entries."""
    for entry in unassigned:
        found = stored.get(entry["customer_id"])
        if found:
            entry["hint"] = found[0]["text"]
            entry["suggestions"] = found
