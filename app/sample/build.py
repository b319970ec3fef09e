"""Build the demo POST /plan request from the bundled Shanghai customer list.

The CSV is a flat, human-editable table; this module turns it into the API's JSON shape
(``opening_hours`` text into the weekly dict form, blank numbers left to segment defaults).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import date, timedelta
from importlib import resources
from typing import Any

CSV_NAME = "customers.csv"
TIMEZONE = "Asia/Shanghai"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEGMENTS = ("prospect", "maintaining", "ordered")
NEEDS = ("explicit", "latent", "none")

_INTERVAL = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_BOOLEANS = {"true": True, "false": False}

REPS: tuple[dict[str, Any], ...] = (
    {
        "id": "rep-1",
        "name": "Wang Fang",
        # Lives near Century Park, Pudong.
        "start": {"lat": 31.2155, "lon": 121.5480},
    },
    {
        "id": "rep-2",
        "name": "Li Wei",
        # Lives near Xujiahui, Xuhui.
        "start": {"lat": 31.2005, "lon": 121.4300},
    },
)


def next_monday(today: date) -> date:
    """The first Monday strictly after ``today`` (a Monday gives the one a week later)."""
    return today + timedelta(days=7 - today.weekday())


def parse_opening_hours(text: str) -> dict[str, list[list[str]]]:
    """Parse ``"mon-fri 09:00-12:00,14:00-17:30; sat 09:00-12:00"`` into the API's weekly form.

    Rules are separated by ``;``; each is a day or a day range, a space, then comma-separated
    ``HH:MM-HH:MM`` intervals. Blank text means no restriction and gives ``{}``.
    Raises ``ValueError`` on anything else, naming the offending part.
    """
    week: dict[str, list[list[str]]] = {}
    for raw_rule in text.split(";"):
        rule = raw_rule.strip()
        if not rule:
            continue
        days_part, _, intervals_part = rule.partition(" ")
        intervals = [_parse_interval(part.strip()) for part in intervals_part.split(",")]
        for day in _parse_days(days_part):
            merged = sorted(week.get(day, []) + intervals)
            for earlier, later in itertools.pairwise(merged):
                if later[0] < earlier[1]:
                    raise ValueError(f"overlapping intervals on {day} in {text!r}")
            week[day] = merged
    return {day: week[day] for day in WEEKDAYS if day in week}


def _parse_days(text: str) -> list[str]:
    first, sep, last = text.lower().partition("-")
    if first not in WEEKDAYS or (sep and last not in WEEKDAYS):
        raise ValueError(f"bad day or day range {text!r}")
    if not sep:
        return [first]
    start, end = WEEKDAYS.index(first), WEEKDAYS.index(last)
    if end < start:
        raise ValueError(f"day range runs backwards: {text!r}")
    return list(WEEKDAYS[start : end + 1])


def _parse_interval(text: str) -> list[str]:
    match = _INTERVAL.match(text)
    if match is None:
        raise ValueError(f"bad interval {text!r}, expected HH:MM-HH:MM")
    opens, closes = text.split("-")
    if closes <= opens:
        raise ValueError(f"interval {text!r} closes before it opens")
    return [opens, closes]


def _parse_bool(text: str, column: str, row_id: str) -> bool:
    try:
        return _BOOLEANS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{row_id}: {column} must be true or false, not {text!r}") from None


def _parse_choice(text: str, choices: tuple[str, ...], column: str, row_id: str) -> str:
    if text not in choices:
        raise ValueError(f"{row_id}: {column} must be one of {choices}, not {text!r}")
    return text


def _customer_from_row(row: dict[str, str]) -> dict[str, Any]:
    row_id = row["id"]
    customer: dict[str, Any] = {
        "id": row_id,
        "name": row["name"],
        "address": row["address"],
        "lat": float(row["lat"]),
        "lon": float(row["lon"]),
        "area": row["area"],
        "segment": _parse_choice(row["segment"], SEGMENTS, "segment", row_id),
        "need": _parse_choice(row["need"], NEEDS, "need", row_id),
        "can_pay": _parse_bool(row["can_pay"], "can_pay", row_id),
        "decision_maker": _parse_bool(row["decision_maker"], "decision_maker", row_id),
        "must_visit": _parse_bool(row["must_visit"], "must_visit", row_id),
    }
    # Blank cells are left out so the segment defaults of the service apply.
    if row["visit_minutes"].strip():
        customer["visit_minutes"] = int(row["visit_minutes"])
    if row["priority"].strip():
        customer["priority"] = int(row["priority"])
    hours = parse_opening_hours(row["opening_hours"])
    if hours:
        customer["opening_hours"] = hours
    return customer


def load_sample_customers() -> list[dict[str, Any]]:
    """The 40 bundled Shanghai customers, as dicts in the API's customer shape.

    ``area`` is the CRM's district name: the plan labels each day with it, and tests and
    benchmarks use it to check that days stay inside one area.
    """
    text = resources.files(__package__).joinpath(CSV_NAME).read_text(encoding="utf-8")
    return [_customer_from_row(row) for row in csv.DictReader(io.StringIO(text))]


def build_sample_request(start: date) -> dict[str, Any]:
    """A complete POST /plan body: two reps, five working days from ``start``, 40 customers."""
    reps = [
        {
            **rep,
            "work_start": "09:00",
            "work_end": "18:00",
            "lunch": {"earliest": "11:30", "latest": "13:30", "minutes": 60},
            "max_visits_per_day": 8,
            "hourly_value": 300,
            "currency": "CNY",
        }
        for rep in REPS
    ]
    return {
        "timezone": TIMEZONE,
        "horizon": {
            "start_date": start.isoformat(),
            "days": 5,
            "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        },
        "reps": reps,
        "customers": load_sample_customers(),
        "options": {"time_limit_seconds": 5},
    }
