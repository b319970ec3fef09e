"""Cadence rules: due, overdue priority, fill offers and the nearest-rep balanced assignment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from app.config import Settings
from app.territories import cadence
from app.territories.cadence import CadenceRules

AS_OF = date(2026, 12, 7)
DEFAULTS = {"ordered": 28, "maintaining": 14, "prospect": 7}
BASE = {"ordered": 40, "maintaining": 50, "prospect": 60}


@dataclass
class C:
    external_id: str
    segment: str = "ordered"
    cadence_days: int | None = None
    last_visit: date | None = None
    priority: int | None = None
    must_visit: bool = False
    rep_id: str | None = None
    lat: float | None = 31.23
    lon: float | None = 121.47
    active: bool = True
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class R:
    external_id: str
    start_lat: float | None = 31.23
    start_lon: float | None = 121.47
    active: bool = True


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


def test_interval_prefers_customer_then_territory_then_settings() -> None:
    """The customer's own interval wins, then the territory's segment entry, then the server's."""
    rules = CadenceRules(defaults=DEFAULTS, territory={"ordered": 21})
    assert rules.interval(C("a", cadence_days=3)) == 3
    assert rules.interval(C("b", segment="ordered")) == 21
    assert rules.interval(C("c", segment="prospect")) == 7


def test_due_exactly_on_the_interval_and_never_visited() -> None:
    """Due when never visited or when as_of reaches last_visit + interval, not a day before."""
    assert cadence.is_due(C("a"), AS_OF, 28)
    assert cadence.is_due(C("a", last_visit=ago(28)), AS_OF, 28)
    assert not cadence.is_due(C("a", last_visit=ago(27)), AS_OF, 28)
    assert cadence.overdue_days(C("a", last_visit=ago(35)), AS_OF, 28) == 7
    assert cadence.overdue_days(C("a"), AS_OF, 28) == 0


@pytest.mark.parametrize(
    ("base", "overdue", "interval", "expected"),
    [(40, 0, 28, 40), (40, 28, 28, 60), (40, 7, 28, 45), (40, 1, 28, 41), (90, 56, 28, 100)],
)
def test_overdue_priority_formula(base: int, overdue: int, interval: int, expected: int) -> None:
    """base + ceil(20 x overdue / interval), capped at 100."""
    assert cadence.boosted_priority(base, overdue, interval, 20) == expected


def test_plan_week_due_overdue_fill_and_inactive() -> None:
    """Due customers are planned (overdue ones higher), nearby not-due ones are low fill."""
    rules = CadenceRules(defaults=DEFAULTS, fill_priority=5, fill_radius_km=2.0)
    customers = [
        C("due-new", must_visit=True),
        C("overdue", last_visit=ago(56)),  # one interval late: +20
        C("near-later", last_visit=ago(3), lat=31.235),  # ~0.6 km away: fill
        C("far-later", last_visit=ago(3), lat=31.40),  # ~19 km away: not offered
        C("area-later", last_visit=ago(3), lat=31.40, attributes={"area": "Pudong"}),
        C("due-area", lat=31.50, attributes={"area": "Pudong"}),
        C("inactive", active=False),
    ]
    week = cadence.plan_week(customers, [R("rep-1"), R("off", active=False)], AS_OF, rules, BASE)
    assert list(week.visits) == ["rep-1"]
    got = {v.customer_id: v for v in week.visits["rep-1"]}
    assert set(got) == {"due-new", "overdue", "near-later", "area-later", "due-area"}
    assert got["due-new"].must_visit
    assert not got["due-new"].fill
    assert got["due-new"].priority == 40
    assert got["overdue"].priority == 60
    assert got["overdue"].overdue_days == 28
    for fill in ("near-later", "area-later"):
        assert got[fill].fill
        assert got[fill].priority == 5
        assert not got[fill].must_visit


def test_fill_never_overrides_must_visit_and_is_capped_per_rep() -> None:
    """A must_visit customer offered as fill is optional; at most fill_max_per_rep each."""
    rules = CadenceRules(defaults=DEFAULTS, fill_max_per_rep=2)
    customers = [C("due")] + [
        C(f"later-{i}", last_visit=ago(20 - i), must_visit=True) for i in range(5)
    ]
    week = cadence.plan_week(customers, [R("rep-1")], AS_OF, rules, BASE)
    fill = [v for v in week.visits["rep-1"] if v.fill]
    # Soonest due first: last visited 20 days ago is due in 8 days, before the others.
    assert [v.customer_id for v in fill] == ["later-0", "later-1"]
    assert not any(v.must_visit for v in fill)


def test_assignment_pins_nearest_and_balances() -> None:
    """Pinned customers stay with their rep; the rest go to the nearest rep with room."""
    west, east = R("west", 31.2, 121.3), R("east", 31.2, 121.7)
    pinned = C("pinned", rep_id="west", lat=31.2, lon=121.71)
    # Eight customers all nearest to east: balancing moves the ones closest to west.
    free = [C(f"c{i}", lat=31.2, lon=121.45 + 0.03 * i) for i in range(8)]
    by_rep = cadence.assign_due([pinned, *free], [west, east])
    ids = {rep: sorted(c.external_id for c in cs) for rep, cs in by_rep.items()}
    assert "pinned" in ids["west"]
    assert len(ids["east"]) <= 5
    assert len(ids["west"]) <= 5
    assert sorted(ids["west"] + ids["east"]) == sorted(["pinned", *(c.external_id for c in free)])
    # East keeps its nearest customers.
    assert {"c7", "c6", "c5"} <= set(ids["east"])


def test_pinned_to_inactive_rep_goes_to_an_active_one_and_each_customer_once() -> None:
    """A customer of an inactive rep is reassigned; no customer is offered twice."""
    rules = CadenceRules(defaults=DEFAULTS)
    customers = [C("orphan", rep_id="gone"), C("x"), C("y", last_visit=ago(1))]
    reps = [R("a"), R("b", 31.3, 121.5), R("gone", active=False)]
    week = cadence.plan_week(customers, reps, AS_OF, rules, BASE)
    ids = week.customer_ids()
    assert sorted(ids) == ["orphan", "x", "y"]
    assert len(ids) == len(set(ids))


def test_server_intervals_are_settings_with_per_segment_env_overrides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Defaults ordered 28, maintaining 14, prospect 7; VP_CADENCE_DAYS__ORDERED changes one."""
    assert Settings().cadence_days.model_dump() == DEFAULTS
    monkeypatch.setenv("VP_CADENCE_DAYS__ORDERED", "21")
    rules = CadenceRules(defaults=Settings().cadence_days.model_dump())
    assert rules.interval(C("a", segment="ordered")) == 21
    assert rules.interval(C("b", segment="prospect")) == 7
