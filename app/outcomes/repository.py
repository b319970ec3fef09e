"""All SQL about visit outcomes. Functions flush, never commit: the route owns the transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import Plan, PlanDay, PlanStop, TerritoryCustomer, VisitOutcome


def get_outcome(session: Session, lineage_id: str, customer_id: str) -> VisitOutcome | None:
    """The stored outcome, re-read from the database (an upsert bypasses the identity map)."""
    statement = (
        select(VisitOutcome)
        .execution_options(populate_existing=True)
        .where(VisitOutcome.plan_id == lineage_id, VisitOutcome.customer_id == customer_id)
    )
    return session.scalars(statement).one_or_none()


def list_outcomes(session: Session, lineage_id: str) -> list[VisitOutcome]:
    """A plan's outcomes by planned day, then customer id (stable for clients and tests)."""
    statement = (
        select(VisitOutcome)
        .where(VisitOutcome.plan_id == lineage_id)
        .order_by(VisitOutcome.date, VisitOutcome.customer_id)
    )
    return list(session.scalars(statement))


def upsert(session: Session, lineage_id: str, customer_id: str, fields: dict[str, Any]) -> None:
    """Insert the outcome or overwrite the customer's earlier one, in one statement.

    ``INSERT ... ON CONFLICT (plan_id, customer_id) DO UPDATE`` makes two concurrent reports
    of the same visit end as the last one (a correction) instead of one failing on the unique
    constraint, and needs no savepoint (pysqlite would commit on releasing one).
    """
    values = {"plan_id": lineage_id, "customer_id": customer_id, **fields}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(VisitOutcome).values(**values)
        session.execute(
            pg.on_conflict_do_update(
                index_elements=["plan_id", "customer_id"],
                set_={name: pg.excluded[name] for name in fields},
            )
        )
    elif dialect == "sqlite":
        lite = sqlite.insert(VisitOutcome).values(**values)
        session.execute(
            lite.on_conflict_do_update(
                index_elements=["plan_id", "customer_id"],
                set_={name: lite.excluded[name] for name in fields},
            )
        )
    else:  # pragma: no cover - only the two supported backends are tested
        existing = get_outcome(session, lineage_id, customer_id)
        if existing is None:
            session.add(VisitOutcome(**values))
        else:
            for name, value in fields.items():
                setattr(existing, name, value)
    session.flush()


def stop_date(session: Session, lineage_id: str, customer_id: str) -> dt.date | None:
    """The planned day of ``customer_id`` in the newest version of the lineage that has it.

    ``None`` when no version ever planned that customer.
    """
    statement = (
        select(PlanDay.date)
        .join(PlanStop, PlanStop.day_id == PlanDay.id)
        .join(Plan, Plan.id == PlanDay.plan_id)
        .where(Plan.lineage_id == lineage_id, PlanStop.customer_id == customer_id)
        .order_by(Plan.version.desc(), PlanDay.date)
        .limit(1)
    )
    return session.scalars(statement).first()


def lineage_territory(session: Session, lineage_id: str) -> str | None:
    """The territory whose run made the plan (any version carries it), if any."""
    statement = (
        select(Plan.territory_id)
        .where(Plan.lineage_id == lineage_id, Plan.territory_id.is_not(None))
        .order_by(Plan.version.desc())
        .limit(1)
    )
    return session.scalars(statement).first()


def raise_last_visit(
    session: Session, territory_id: str, customer_id: str, visit_date: dt.date
) -> int:
    """Move the pool customer's ``last_visit`` forward to ``visit_date``, never back.

    One conditional UPDATE, so two concurrent outcomes cannot lower it (the later date wins
    whatever the commit order). Returns the number of rows changed (0 or 1).
    """
    statement = (
        update(TerritoryCustomer)
        .where(
            TerritoryCustomer.territory_id == territory_id,
            TerritoryCustomer.external_id == customer_id,
            or_(
                TerritoryCustomer.last_visit.is_(None),
                TerritoryCustomer.last_visit < visit_date,
            ),
        )
        .values(last_visit=visit_date)
        .execution_options(synchronize_session="fetch")
    )
    result = session.execute(statement)
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def plan_stamp(session: Session, lineage_id: str) -> str:
    """A cheap fingerprint of what a plan's page shows: newest version and outcome changes."""
    version = session.scalar(select(func.max(Plan.version)).where(Plan.lineage_id == lineage_id))
    count, latest = session.execute(
        select(func.count(VisitOutcome.id), func.max(VisitOutcome.recorded_at)).where(
            VisitOutcome.plan_id == lineage_id
        )
    ).one()
    return f"v{version}:o{count}:{latest}"
