"""Shared checks and builders for solver tests: a plan is judged by properties, not values."""

from __future__ import annotations

import math

from solver.domain import Code, PlanningInput, PlanOutcome
from solver.types import Point, TravelMatrix, Window

KM_PER_DEG = 111.195
HOUR = 3600
MINUTE = 60


def offset_point(base: Point, east_km: float, north_km: float) -> Point:
    """The point ``east_km`` east and ``north_km`` north of ``base`` (city-scale approximation)."""
    lat = base.lat + north_km / KM_PER_DEG
    lon = base.lon + east_km / (KM_PER_DEG * math.cos(math.radians(base.lat)))
    return Point(lat, lon)


def _lunch_window(inp: PlanningInput, rep: int, day: int) -> tuple[Window, int] | None:
    """The lunch window the day must hold (clipped to the shift), or None when it has none."""
    r = inp.reps[rep]
    if r.lunch is None:
        return None
    offset = inp.day_offset(day)
    shift = Window(offset + r.work_start, offset + r.work_end)
    inside = Window(offset + r.lunch.earliest, offset + r.lunch.latest).intersect(shift)
    if inside is None or inside.length < r.lunch.duration:
        return None
    return inside, r.lunch.duration


def assert_feasible(inp: PlanningInput, matrix: TravelMatrix, outcome: PlanOutcome) -> None:
    """Every hard rule of a plan: coverage, pins, shifts, legs, windows, lunch, caps, totals."""
    planned = [s.customer for d in outcome.days for s in d.stops]
    unassigned = [u.customer for u in outcome.unassigned]
    assert len(planned) == len(set(planned)), "a customer is planned twice"
    assert len(unassigned) == len(set(unassigned)), "a customer is unassigned twice"
    assert not set(planned) & set(unassigned), "a customer is both planned and unassigned"
    assert set(planned) | set(unassigned) == set(range(len(inp.customers))), "a customer is lost"
    for u in outcome.unassigned:
        assert isinstance(u.code, Code)
        assert u.reason.strip(), f"customer {u.customer} unassigned without a reason"

    routes = [(d.rep, d.day) for d in outcome.days]
    assert len(routes) == len(set(routes)), "two itineraries for one rep on one day"
    for day in outcome.days:
        rep = inp.reps[day.rep]
        offset = inp.day_offset(day.day)
        shift_start, shift_end = offset + rep.work_start, offset + rep.work_end
        assert day.stops, "an empty day is reported"
        assert day.depart >= shift_start, "departs before the shift starts"
        assert day.return_at <= shift_end, "returns after the shift ends"
        if rep.max_visits_per_day is not None:
            assert len(day.stops) <= rep.max_visits_per_day, "visit cap exceeded"

        # Gaps between fixed points (depart, visits, return) that must hold the drive.
        gaps: list[tuple[int, int, int]] = []
        prev_loc, prev_end = inp.start_loc(day.rep), day.depart
        for stop in day.stops:
            c = inp.customers[stop.customer]
            assert c.day is None or c.day == day.day, f"customer {c.id} off its pinned day"
            assert c.rep is None or c.rep == day.rep, f"customer {c.id} off its pinned rep"
            loc = inp.customer_loc(stop.customer)
            assert stop.travel_s == int(matrix.durations[prev_loc, loc]), "leg time != matrix"
            assert stop.travel_m == int(matrix.distances[prev_loc, loc]), "leg distance != matrix"
            assert stop.arrival >= prev_end + stop.travel_s, "arrives before the drive ends"
            assert stop.start >= stop.arrival, "starts before arriving"
            assert stop.end == stop.start + c.duration, "visit length wrong"
            assert stop.wait_s >= 0, "negative wait"
            if c.windows is not None:
                assert any(w.start <= stop.start and stop.end <= w.end for w in c.windows), (
                    f"customer {c.id} visit [{stop.start}, {stop.end}] outside its windows"
                )
            gaps.append((prev_end, stop.start, stop.travel_s))
            prev_loc, prev_end = loc, stop.end
        end_loc = inp.end_loc(day.rep)
        assert day.return_travel_s == int(matrix.durations[prev_loc, end_loc]), "return leg time"
        assert day.return_travel_m == int(matrix.distances[prev_loc, end_loc]), "return leg m"
        assert day.return_at >= prev_end + day.return_travel_s, "home before the drive ends"
        gaps.append((prev_end, day.return_at, day.return_travel_s))

        expected = _lunch_window(inp, day.rep, day.day)
        if expected is None:
            assert day.lunch is None, "lunch planned on a day without one"
        else:
            window, length = expected
            lunch = day.lunch
            assert lunch is not None, "lunch missing"
            assert lunch.length == length, "lunch has the wrong length"
            assert window.start <= lunch.start, "lunch starts before its window"
            assert lunch.end <= window.end, "lunch ends after its window"
            for stop in day.stops:
                assert lunch.end <= stop.start or lunch.start >= stop.end, "lunch overlaps a visit"
            for begin, end, travel in gaps:
                if begin <= lunch.start and lunch.end <= end:
                    assert end - begin >= travel + length, "lunch eaten while driving"

        legs_s = sum(s.travel_s for s in day.stops) + day.return_travel_s
        legs_m = sum(s.travel_m for s in day.stops) + day.return_travel_m
        assert day.travel_s == legs_s, "day travel time != sum of legs"
        assert day.travel_m == legs_m, "day distance != sum of legs"
