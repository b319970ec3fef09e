"""Plans and share links through ``app.plans.repository``, on SQLite and PostgreSQL.

(These pin the models as much as the repository; they could move to tests/app/plans/.)
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.plans import repository, share_tokens
from models import Plan, PlanDay, PlanStop, PlanUnassigned, ShareLink

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def make_stop(position: int, start: datetime) -> PlanStop:
    return PlanStop(
        position=position,
        customer_id=f"C-{position:03d}",
        name=f"Customer {position}",
        lat=31.2,
        lon=121.6,
        arrival=start,
        start=start,
        end=start + timedelta(minutes=45),
        travel_minutes=25.0,
        travel_km=11.8,
        wait_minutes=0.0,
        segment="prospect",
        purpose="Win an appointment",
        priority=60,
    )


def make_day(position: int, stops: int) -> PlanDay:
    depart = T0 + timedelta(days=position)
    return PlanDay(
        position=position,
        rep_id="rep-1",
        rep_name="Wang Fang",
        date=date(2026, 12, 7) + timedelta(days=position),
        area="Pudong",
        depart=depart,
        return_at=depart + timedelta(hours=8),
        lunch_start=None,
        lunch_end=None,
        drive_minutes=96.0,
        drive_km=41.3,
        visit_minutes=45.0 * stops,
        visits=stops,
        # Built out of order on purpose: reads must come back ordered by position.
        stops=[make_stop(i, depart + timedelta(hours=i)) for i in reversed(range(stops))],
    )


def make_plan(days: int = 2, stops: int = 3) -> Plan:
    return Plan(
        id=secrets.token_hex(16),
        status="partial",
        timezone="Asia/Shanghai",
        currency="CNY",
        request={"timezone": "Asia/Shanghai", "customers": [{"id": "C-001", "lat": None}]},
        summary={"visits": days * stops, "drive_km": 82.6, "currency": "CNY"},
        warnings=["geocoder offline"],
        days=[make_day(i, stops) for i in reversed(range(days))],
        unassigned=[
            PlanUnassigned(position=1, customer_id="C-045", code="too_far", reason="far"),
            PlanUnassigned(position=0, customer_id="C-044", code="over_capacity", reason="full"),
        ],
    )


def test_stored_plan_reads_back_ordered_and_complete(session: Session) -> None:
    """get_plan returns days, stops and unassigned by position, JSON intact, times in UTC."""
    plan = make_plan()
    repository.add_plan(session, plan)
    session.commit()
    session.expunge_all()

    loaded = repository.get_plan(session, plan.id)
    assert loaded is not None
    assert [d.position for d in loaded.days] == [0, 1]
    assert all([s.position for s in d.stops] == [0, 1, 2] for d in loaded.days)
    assert [u.customer_id for u in loaded.unassigned] == ["C-044", "C-045"]
    assert loaded.request == plan.request
    assert loaded.summary == plan.summary
    assert loaded.warnings == ["geocoder offline"]
    assert loaded.created_at.tzinfo is UTC
    assert loaded.days[0].depart == T0
    assert loaded.days[0].stops[0].start.tzinfo is UTC


def test_get_plan_loads_everything_eagerly(session: Session) -> None:
    """After get_plan, rendering the whole plan needs no further query (safe after close)."""
    plan = make_plan()
    repository.add_plan(session, plan)
    session.commit()
    session.expunge_all()
    loaded = repository.get_plan(session, plan.id)
    assert loaded is not None
    session.expunge(loaded)
    assert sum(len(d.stops) for d in loaded.days) == 6
    assert len(loaded.unassigned) == 2


def test_unknown_plan_is_none(session: Session) -> None:
    """get_plan answers None for an id that was never stored."""
    assert repository.get_plan(session, "0" * 32) is None


def test_deleting_a_plan_cascades_in_the_database(session: Session) -> None:
    """ON DELETE CASCADE removes days, stops, unassigned and links, even bypassing the ORM."""
    plan = make_plan()
    repository.add_plan(session, plan)
    add_link(session, plan.id, None)
    session.commit()
    session.execute(
        delete(Plan).where(Plan.id == plan.id).execution_options(synchronize_session=False)
    )
    session.commit()
    for model in (PlanDay, PlanStop, PlanUnassigned, ShareLink):
        assert session.scalar(select(func.count()).select_from(model)) == 0


def test_status_outside_the_contract_is_refused(session: Session) -> None:
    """The check constraint keeps status to complete|partial."""
    plan = make_plan()
    plan.status = "done"
    with pytest.raises(IntegrityError):
        repository.add_plan(session, plan)


def test_two_stops_cannot_share_a_position(session: Session) -> None:
    """Positions are unique within a day, so the order of a route is never ambiguous."""
    plan = make_plan(days=1, stops=2)
    plan.days[0].stops[1].position = plan.days[0].stops[0].position
    with pytest.raises(IntegrityError):
        repository.add_plan(session, plan)


def add_link(session: Session, plan_id: str, expires_at: datetime | None) -> ShareLink:
    """A link stored the way the service stores one: by hash, with its nonce."""
    minted = share_tokens.new_token(b"test-secret")
    return repository.add_share_link(
        session, plan_id, expires_at, token_hash=minted.token_hash, nonce=minted.nonce
    )


def test_share_links_are_stored_and_found_by_hash(session: Session) -> None:
    """add_share_link keeps only the 64-hex-digit hash; get_share_link finds a link by it."""
    plan = make_plan(days=1, stops=1)
    repository.add_plan(session, plan)
    first = add_link(session, plan.id, None)
    second = add_link(session, plan.id, T0 + timedelta(days=30))
    assert first.token_hash != second.token_hash
    assert len(first.token_hash) == 64
    assert repository.get_share_link(session, first.token_hash) is first
    assert repository.get_share_link(session, "nope") is None


def test_live_share_links_skip_revoked_and_expired(session: Session) -> None:
    """live_share_links lists the links that still work, newest first (none: empty)."""
    plan = make_plan(days=1, stops=1)
    repository.add_plan(session, plan)
    assert repository.live_share_links(session, plan.id) == []
    old = add_link(session, plan.id, None)
    old.created_at = T0
    new = add_link(session, plan.id, None)
    new.created_at = T0 + timedelta(minutes=1)
    expired = add_link(session, plan.id, T0 + timedelta(hours=1))
    expired.created_at = T0 + timedelta(minutes=2)
    session.flush()

    now = T0 + timedelta(days=1)
    assert repository.live_share_links(session, plan.id, now=now) == [new, old]
    repository.revoke_share_link(session, new.token_hash, now=now)
    assert repository.live_share_links(session, plan.id, now=now) == [old]
    early = T0 + timedelta(minutes=5)
    assert repository.live_share_links(session, plan.id, now=early) == [expired, old]


def test_revoking_keeps_the_first_time_and_flips_is_active(session: Session) -> None:
    """Revocation is idempotent and a revoked or expired link is no longer active."""
    plan = make_plan(days=1, stops=1)
    repository.add_plan(session, plan)
    link = add_link(session, plan.id, T0 + timedelta(days=1))
    assert link.is_active(T0)
    assert not link.is_active(T0 + timedelta(days=1))
    repository.revoke_share_link(session, link.token_hash, now=T0)
    repository.revoke_share_link(session, link.token_hash, now=T0 + timedelta(hours=1))
    assert link.revoked_at == T0
    assert not link.is_active(T0 - timedelta(hours=1))
    assert repository.revoke_share_link(session, "unknown") is None


def test_repository_never_commits(session: Session) -> None:
    """Writes are flushed, not committed: rolling back the caller's transaction undoes them."""
    plan = make_plan(days=1, stops=1)
    repository.add_plan(session, plan)
    add_link(session, plan.id, None)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Plan)) == 0
