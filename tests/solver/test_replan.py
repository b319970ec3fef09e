"""Re-planning from a moment: history, done and frozen visits stay; small changes stay small."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from solver.distance import straight_line_matrix
from solver.domain import CustomerInput, Lunch, PlannedDay, PlanningInput, PlanOutcome
from solver.errors import InvalidProblemError
from solver.pipeline import plan
from solver.replan import ReplanInput, ReplanOutcome, replan
from solver.types import DAY, Point, SolveParams, Window
from tests.solver.feasibility import HOUR, MINUTE, assert_feasible, offset_point
from tests.solver.test_pipeline import EPOCH, HOME, customer, days, rep

PARAMS = SolveParams(time_limit_s=5.0, solution_limit=80)
Slot = tuple[int, int, int]  # rep, day, position


def _week(n: int = 30, seed: int = 3) -> PlanningInput:
    """One rep, five days, ``n`` customers within 15 km, lunch and a visit cap."""
    rng = random.Random(seed)
    customers = tuple(customer(i, rng.uniform(-15, 15), rng.uniform(-15, 15)) for i in range(n))
    lunch = Lunch(11 * HOUR + 30 * MINUTE, 13 * HOUR + 30 * MINUTE, HOUR)
    return PlanningInput((rep(lunch=lunch, max_visits=8),), days(5), customers, EPOCH)


def _planned(inp: PlanningInput) -> PlanOutcome:
    return plan(inp, straight_line_matrix(inp.locations()), PARAMS)


def _replan(rinp: ReplanInput) -> ReplanOutcome:
    return replan(rinp, straight_line_matrix(rinp.locations()), PARAMS)


def _slots(days_: tuple[PlannedDay, ...], inp: PlanningInput) -> dict[str, Slot]:
    """Customer id -> (rep, day, position)."""
    return {
        inp.customers[s.customer].id: (d.rep, d.day, k)
        for d in days_
        for k, s in enumerate(d.stops)
    }


def _times(days_: tuple[PlannedDay, ...], inp: PlanningInput) -> dict[str, tuple[int, int]]:
    return {inp.customers[s.customer].id: (d.day, s.start) for d in days_ for s in d.stops}


def _without(
    inp: PlanningInput, current: tuple[PlannedDay, ...], gone: int
) -> tuple[PlanningInput, tuple[PlannedDay, ...]]:
    """``inp`` and its plan with customer ``gone`` cancelled (indices shifted down)."""
    customers = inp.customers[:gone] + inp.customers[gone + 1 :]
    shifted = []
    for d in current:
        stops = tuple(
            replace(s, customer=s.customer - (s.customer > gone))
            for s in d.stops
            if s.customer != gone
        )
        if stops:
            shifted.append(replace(d, stops=stops))
    return replace(inp, customers=customers), tuple(shifted)


def _assert_complete(inp: PlanningInput, outcome: PlanOutcome) -> None:
    """Every customer exactly once, planned or unassigned; days in order, no double rep-day."""
    planned = [s.customer for d in outcome.days for s in d.stops]
    unassigned = [u.customer for u in outcome.unassigned]
    assert len(planned) == len(set(planned))
    assert sorted(planned + unassigned) == list(range(len(inp.customers)))
    for d in outcome.days:
        starts = [s.start for s in d.stops]
        assert starts == sorted(starts)
        assert all(a.end <= b.arrival for a, b in zip(d.stops, d.stops[1:], strict=False))


def test_unchanged_plan_replans_to_itself() -> None:
    """Before the week, with nothing changed, every visit keeps its day and position."""
    inp = _week()
    first = _planned(inp)
    result = _replan(ReplanInput(inp, first.days, now=0))
    assert _slots(result.outcome.days, inp) == _slots(first.days, inp)
    assert_feasible(inp, straight_line_matrix(inp.locations()), result.outcome)


def test_same_input_same_replan() -> None:
    """With a solution limit, a replan is repeatable."""
    inp = _week(seed=5)
    first = _planned(inp)
    gone = first.days[1].stops[0].customer
    changed, current = _without(inp, first.days, gone)
    a = _replan(ReplanInput(changed, current, now=0))
    b = _replan(ReplanInput(changed, current, now=0))
    assert a.outcome.days == b.outcome.days


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_cancellation_changes_only_its_day(seed: int) -> None:
    """A cancelled visit frees time on its day; no other day changes at all."""
    inp = _week(seed=seed)
    first = _planned(inp)
    affected = first.days[2]
    gone = affected.stops[len(affected.stops) // 2].customer
    changed, current = _without(inp, first.days, gone)
    result = _replan(ReplanInput(changed, current, now=0))
    before, after = _slots(first.days, inp), _slots(result.outcome.days, changed)
    assert inp.customers[gone].id not in after
    for cid, slot in before.items():
        if slot[1] != affected.day and cid != inp.customers[gone].id:
            assert after[cid] == slot, cid
    assert_feasible(changed, straight_line_matrix(changed.locations()), result.outcome)


def test_history_and_done_visits_never_move() -> None:
    """Mid-week: earlier days and today's started visits are copied; done ones keep their time."""
    inp = _week()
    first = _planned(inp)
    today = first.days[1]
    now = today.stops[2].start + 5 * MINUTE
    later = first.days[3]
    done = {later.stops[1].customer, later.stops[3].customer}
    # A disturbance: cancel a visit on day 3 (the done ones' day).
    gone = later.stops[2].customer
    changed, current = _without(inp, first.days, gone)
    shift = {c: c - (c > gone) for c in range(len(inp.customers))}
    result = _replan(ReplanInput(changed, current, now=now, done=frozenset(shift[c] for c in done)))
    _assert_complete(changed, result.outcome)
    before, after = _times(first.days, inp), _times(result.outcome.days, changed)
    for d in first.days:
        for s in d.stops:
            cid = inp.customers[s.customer].id
            if s.start <= now or s.customer in done:
                assert after[cid] == before[cid], cid
    assert result.fixed == frozenset(shift[c] for c in done)


def test_frozen_visits_keep_day_and_order() -> None:
    """Visits inside the freeze window open today's route in their order, whatever comes in."""
    inp = _week()
    first = _planned(inp)
    today = first.days[1]
    now = today.stops[0].start - 30 * MINUTE
    frozen_ids = [inp.customers[s.customer].id for s in today.stops if s.start < now + 2 * HOUR]
    assert len(frozen_ids) >= 2
    # An urgent, must-visit customer right next to the rep's position, due within the hour:
    # without the freeze it would go first.
    position = offset_point(HOME, 0.2, 0.2)
    offset = inp.day_offset(today.day)
    urgent = CustomerInput(
        "urgent",
        offset_point(HOME, 0.5, 0.5),
        20 * MINUTE,
        90,
        must_visit=True,
        windows=(Window(now, offset + 17 * HOUR),),
        day=today.day,
    )
    changed = replace(inp, customers=(*inp.customers, urgent))
    rinp = ReplanInput(changed, first.days, now=now, freeze_s=2 * HOUR, position=position)
    result = _replan(rinp)
    _assert_complete(changed, result.outcome)
    new_today = next(d for d in result.outcome.days if d.day == today.day)
    ids = [changed.customers[s.customer].id for s in new_today.stops]
    assert ids[: len(frozen_ids)] == frozen_ids
    assert "urgent" in ids
    assert {changed.customers[i].id for i in result.frozen} == set(frozen_ids)


def test_default_freeze_is_the_next_visit_only() -> None:
    """Without freeze_s, exactly today's next visit is frozen; freeze_s=0 freezes nothing."""
    inp = _week()
    first = _planned(inp)
    today = first.days[1]
    now = today.stops[1].start - MINUTE
    assert _replan(ReplanInput(inp, first.days, now=now)).frozen == {today.stops[1].customer}
    assert _replan(ReplanInput(inp, first.days, now=now, freeze_s=0)).frozen == frozenset()


def test_urgent_customer_on_a_full_day_is_inserted() -> None:
    """A must-visit pinned to a full day gets in; what it displaces is planned elsewhere."""
    inp = _week(n=34)
    first = _planned(inp)
    full = max(first.days, key=lambda d: len(d.stops))
    assert len(full.stops) == 8
    urgent = CustomerInput(
        "urgent", offset_point(HOME, 3.0, -2.0), 30 * MINUTE, 90, must_visit=True, day=full.day
    )
    changed = replace(inp, customers=(*inp.customers, urgent))
    result = _replan(ReplanInput(changed, first.days, now=0))
    after = _slots(result.outcome.days, changed)
    assert after["urgent"][1] == full.day
    before = _slots(first.days, inp)
    assert len(after) == len(before) + 1
    # Change costs: the displaced visit moves, the rest of the week does not reshuffle.
    other_day = [c for c in before if after[c][:2] != before[c][:2]]
    assert 1 <= len(other_day) <= 2, other_day
    assert_feasible(changed, straight_line_matrix(changed.locations()), result.outcome)


def test_broken_current_routes_still_give_a_plan() -> None:
    """The rep is 60 km away at noon: today's old route no longer fits, the replan still answers."""
    inp = _week()
    first = _planned(inp)
    today = first.days[0]
    now = inp.day_offset(today.day) + 12 * HOUR
    far = offset_point(HOME, 60.0, 0.0)
    result = _replan(ReplanInput(inp, first.days, now=now, position=far, freeze_s=0))
    _assert_complete(inp, result.outcome)
    assert len(result.outcome.days) >= 4


def test_no_show_is_placed_again_after_now() -> None:
    """A visit marked to re-place leaves its past slot and lands on a later day."""
    inp = _week()
    first = _planned(inp)
    missed = first.days[0].stops[0].customer
    now = inp.day_offset(first.days[0].day) + 18 * HOUR + 30 * MINUTE
    result = _replan(ReplanInput(inp, first.days, now=now, replace=frozenset({missed})))
    _assert_complete(inp, result.outcome)
    where = _slots(result.outcome.days, inp)[inp.customers[missed].id]
    assert where[1] > first.days[0].day


def test_bad_replan_inputs_are_refused() -> None:
    """Unknown customers, repeated stops and a matrix of the wrong size are refused."""
    inp = _week(n=6)
    first = _planned(inp)
    with pytest.raises(InvalidProblemError):
        ReplanInput(inp, first.days, now=0, done=frozenset({99}))
    with pytest.raises(InvalidProblemError):
        ReplanInput(inp, (*first.days, first.days[0]), now=0)
    rinp = ReplanInput(inp, first.days, now=0, position=Point(48.9, 2.4))
    with pytest.raises(InvalidProblemError):
        replan(rinp, straight_line_matrix(inp.locations()), PARAMS)
    assert DAY == 86_400


def test_unassigned_carry_the_hints_a_new_plan_gives() -> None:
    """An over-full week: the replan's left-out customers get hints as ``plan`` gives them."""
    inp = _week(n=50)
    first = _planned(inp)
    assert first.unassigned
    assert all(u.hints for u in first.unassigned)
    again = _replan(ReplanInput(inp, first.days, now=0)).outcome
    assert again.unassigned
    assert all(u.hints for u in again.unassigned)
    assert {h.kind for u in again.unassigned for h in u.hints} <= {
        h.kind for u in first.unassigned for h in u.hints
    }


def test_hints_never_offer_the_part_of_today_already_gone() -> None:
    """At noon, today's day is cut at now: hints name later days only, never today."""
    inp = _week(n=50)
    first = _planned(inp)
    today = first.days[0].day
    now = inp.day_offset(today) + 12 * HOUR
    again = _replan(ReplanInput(inp, first.days, now=now)).outcome
    hints = [h for u in again.unassigned for h in u.hints]
    assert hints
    assert all(h.day is None or h.day > today for h in hints)


def test_a_customer_only_today_could_take_gets_no_never_meets_hint() -> None:
    """Pinned to today with a morning window, replanned at noon: it is left out, but "its
    hours never meet working hours" would be false (they met this morning), so no such hint."""
    inp = _week(n=10)
    first = _planned(inp)
    today = first.days[0].day
    offset = inp.day_offset(today)
    late = customer(
        99, 2.0, 2.0, day=today, windows=(Window(offset + 10 * HOUR, offset + 11 * HOUR),)
    )
    changed = replace(inp, customers=(*inp.customers, late))
    result = _replan(ReplanInput(changed, first.days, now=offset + 12 * HOUR)).outcome
    (left,) = [u for u in result.unassigned if u.customer == len(inp.customers)]
    assert all(h.kind != "never_meets" for h in left.hints)
