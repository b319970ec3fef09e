"""A stored plan as an iCalendar file: one event per visit, importable by the usual calendars.

Built with the maintained ``icalendar`` package (line folding, escaping and UTC times are its
job, not ours). The drive to a visit goes in the description and, for Apple Calendar, in
``X-APPLE-TRAVEL-DURATION`` so the phone can warn when it is time to leave.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from icalendar import Calendar, Event, vGeo

from models import Plan, PlanDay


def _location(name: str, address: str | None, lat: float, lon: float) -> str:
    return f"{name}, {address}" if address else f"{name} ({lat:.6f}, {lon:.6f})"


def plan_calendar(
    plan: Plan, addresses: dict[str, str], page_url: str, only: date | None = None
) -> bytes:
    """The plan (or only the day ``only``) as ``text/calendar`` bytes."""
    calendar = Calendar()
    calendar.add("prodid", "-//visit-planner//share link//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Visit itinerary")
    calendar.add("x-wr-timezone", plan.timezone)
    days: list[PlanDay] = [d for d in plan.days if only is None or d.date == only]
    for day in days:
        for order, stop in enumerate(day.stops, start=1):
            event = Event()
            event.add("uid", f"{plan.id}-{day.position}-{order}-{stop.customer_id}@visit-planner")
            event.add("dtstamp", plan.created_at)
            event.add("dtstart", stop.start)
            event.add("dtend", stop.end)
            event.add("summary", f"{order}. {stop.name}")
            address = addresses.get(stop.customer_id)
            event.add("location", _location(stop.name, address, stop.lat, stop.lon))
            event.add("geo", vGeo((stop.lat, stop.lon)))
            drive = round(stop.travel_minutes)
            lines: list[Any] = [
                stop.purpose,
                f"Segment: {stop.segment}",
                f"Drive from previous stop: {drive} min ({stop.travel_km:.1f} km)",
                f"Arrive: {stop.arrival.isoformat()}",
                page_url,
            ]
            event.add("description", "\n".join(str(line) for line in lines))
            event.add("url", page_url)
            event.add(
                "x-apple-travel-duration",
                timedelta(minutes=drive),
                parameters={"VALUE": "DURATION"},
            )
            calendar.add_component(event)
    body: bytes = calendar.to_ical()
    return body
