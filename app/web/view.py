"""The share page's view model: a stored plan turned into what the template prints.

Reads only stored rows (and the stored request, for addresses); never the solver. Times are
shown in the plan's time zone, durations rounded to whole minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.geo.polyline import decode
from app.web.i18n import Lang, day_label
from app.web.navigate import NavLink, nav_links
from models import Plan, PlanDay, PlanStop


@dataclass(frozen=True)
class StopView:
    """One stop as printed: order, times, who, where, why, and how to get there."""

    order: int
    customer_id: str
    name: str
    address: str | None
    lat: float
    lon: float
    arrival: str
    start: str
    end: str
    segment: str
    purpose: str
    drive_minutes: int
    drive_km: float
    wait_minutes: int
    nav: list[NavLink]
    # The recorded outcome's status (done, no_show, ...), None until the rep reports one.
    outcome: str | None = None


@dataclass(frozen=True)
class DayView:
    """One rep's day: its tab, its stops and its totals."""

    key: str
    date: date
    label: str
    is_today: bool
    rep_name: str
    area: str
    depart: str
    return_at: str
    lunch: tuple[str, str] | None
    stops: list[StopView]
    drive_minutes: int
    drive_km: float
    visit_minutes: int
    visits: int
    start: tuple[float, float] | None
    # The road geometry (OSRM plans); None draws straight segments between the stops.
    route: list[tuple[float, float]] | None = None


@dataclass(frozen=True)
class PageView:
    """Everything the itinerary template needs."""

    plan_id: str
    timezone: str
    reps: list[str]
    days: list[DayView]
    active_key: str | None
    summary: dict[str, Any]
    unassigned: list[dict[str, str | None]] = field(default_factory=list)
    # The plan's version (re-plans add one); the page names it when above 1.
    version: int = 1


def _hhmm(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%H:%M")


def customer_addresses(request: dict[str, Any]) -> dict[str, str]:
    """Customer addresses as sent in the request, by customer id."""
    found: dict[str, str] = {}
    for customer in request.get("customers") or []:
        if isinstance(customer, dict) and isinstance(customer.get("address"), str):
            found[str(customer.get("id"))] = customer["address"]
    return found


def _rep_starts(request: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Where each rep's day begins (when the request gave coordinates), for the map's line."""
    starts: dict[str, tuple[float, float]] = {}
    for rep in request.get("reps") or []:
        start = rep.get("start") if isinstance(rep, dict) else None
        if (
            isinstance(start, dict)
            and start.get("lat") is not None
            and start.get("lon") is not None
        ):
            starts[str(rep.get("id"))] = (float(start["lat"]), float(start["lon"]))
    return starts


def _stop(
    stop: PlanStop,
    order: int,
    tz: ZoneInfo,
    addresses: dict[str, str],
    outcomes: Mapping[str, str],
) -> StopView:
    return StopView(
        order=order,
        customer_id=stop.customer_id,
        name=stop.name,
        address=addresses.get(stop.customer_id),
        lat=stop.lat,
        lon=stop.lon,
        arrival=_hhmm(stop.arrival, tz),
        start=_hhmm(stop.start, tz),
        end=_hhmm(stop.end, tz),
        segment=stop.segment,
        purpose=stop.purpose,
        drive_minutes=round(stop.travel_minutes),
        drive_km=round(stop.travel_km, 1),
        wait_minutes=round(stop.wait_minutes),
        nav=nav_links(stop.lat, stop.lon, stop.name),
        outcome=outcomes.get(stop.customer_id),
    )


def _day(
    day: PlanDay,
    tz: ZoneInfo,
    lang: Lang,
    today: date,
    addresses: dict[str, str],
    starts: dict[str, tuple[float, float]],
    outcomes: Mapping[str, str],
) -> DayView:
    lunch = None
    if day.lunch_start is not None and day.lunch_end is not None:
        lunch = (_hhmm(day.lunch_start, tz), _hhmm(day.lunch_end, tz))
    return DayView(
        key=f"{day.date.isoformat()}-{day.position}",
        date=day.date,
        label=day_label(day.date, lang),
        is_today=day.date == today,
        rep_name=day.rep_name or day.rep_id,
        area=day.area,
        depart=_hhmm(day.depart, tz),
        return_at=_hhmm(day.return_at, tz),
        lunch=lunch,
        stops=[_stop(s, i + 1, tz, addresses, outcomes) for i, s in enumerate(day.stops)],
        drive_minutes=round(day.drive_minutes),
        drive_km=round(day.drive_km, 1),
        visit_minutes=round(day.visit_minutes),
        visits=day.visits,
        start=starts.get(day.rep_id),
        route=_route(day.geometry),
    )


def _route(geometry: str | None) -> list[tuple[float, float]] | None:
    if not geometry:
        return None
    try:
        return decode(geometry) or None
    except ValueError:
        return None  # a damaged geometry must not cost the rep the page


def build_page(
    plan: Plan, lang: Lang, now: datetime, outcomes: Mapping[str, str] | None = None
) -> PageView:
    """The page for ``plan`` as seen at ``now``: today's tab is opened first when there is one,
    else the next planned day, else the first. ``outcomes`` maps customer ids to the status
    recorded for their visit."""
    tz = ZoneInfo(plan.timezone)
    today = now.astimezone(tz).date()
    addresses = customer_addresses(plan.request)
    starts = _rep_starts(plan.request)
    outcomes = outcomes or {}
    days = [_day(d, tz, lang, today, addresses, starts, outcomes) for d in plan.days]
    days.sort(key=lambda d: (d.date, d.rep_name))
    upcoming = [d for d in days if d.date >= today]
    active = upcoming[0].key if upcoming else (days[0].key if days else None)
    reps = list(dict.fromkeys(d.rep_name for d in days))
    return PageView(
        plan_id=plan.lineage_id,
        timezone=plan.timezone,
        reps=reps,
        days=days,
        active_key=active,
        summary=dict(plan.summary),
        unassigned=[{"name": u.name or u.customer_id, "reason": u.reason} for u in plan.unassigned],
        version=plan.version,
    )


def map_data(page: PageView) -> dict[str, Any]:
    """What the page script draws: per day, the start and the numbered stops, in order."""
    return {
        day.key: {
            "start": list(day.start) if day.start else None,
            "stops": [[s.lat, s.lon, s.order, s.name] for s in day.stops],
            "route": [list(p) for p in day.route] if day.route else None,
        }
        for day in page.days
    }
