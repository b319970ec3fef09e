"""Territories, their reps and customer pools: lookups, upserts and the shapes they answer with.

Services flush, routes commit. Other territory modules (schedules, runs) find a territory with
``get_territory``, which answers the contract's 404 for an unknown id.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import AppError, ErrorDetail, NotFound, ValidationFailed
from app.territories.pool import Kind, Outcome, Upserter, customer_input, rep_input
from app.territories.schemas import CustomerIn, RepIn, TerritoryIn, UpsertReport
from app.validation import validation_error_details
from models import Territory, TerritoryCustomer, TerritoryRep


class Conflict(AppError):
    status_code = 409
    code = "conflict"


def _invalid(details: list[ErrorDetail]) -> ValidationFailed:
    noun = "problem" if len(details) == 1 else "problems"
    return ValidationFailed(f"Request validation failed: {len(details)} {noun}", details)


# -- territories --


def get_territory(session: Session, territory_id: str) -> Territory:
    """The territory, or the contract's 404."""
    territory = session.get(Territory, territory_id)
    if territory is None:
        raise NotFound(f"No territory with id {territory_id!r}")
    return territory


def find_territory(session: Session, id_or_name: str) -> Territory | None:
    """By id, else by exact name (for operators typing names at the CLI)."""
    found = session.get(Territory, id_or_name)
    if found is None:
        found = session.scalar(select(Territory).where(Territory.name == id_or_name))
    return found


def list_territories(session: Session) -> list[Territory]:
    return list(session.scalars(select(Territory).order_by(Territory.name)))


def _counts(
    session: Session, model: type[TerritoryRep] | type[TerritoryCustomer]
) -> dict[str, int]:
    rows = session.execute(select(model.territory_id, func.count()).group_by(model.territory_id))
    counts: dict[str, int] = {}
    for territory_id, count in rows:
        counts[territory_id] = count
    return counts


def render_territories(session: Session, territories: Sequence[Territory]) -> list[dict[str, Any]]:
    """Territories as answered, each with its number of reps and customers."""
    reps = _counts(session, TerritoryRep)
    customers = _counts(session, TerritoryCustomer)
    return [
        {
            "id": t.id,
            "name": t.name,
            "timezone": t.timezone,
            "weekdays": list(t.weekdays),
            "horizon_days": t.horizon_days,
            "currency": t.currency,
            "options": dict(t.options),
            "cadence_days": dict(t.cadence_days),
            "webhook_url": t.webhook_url,
            "webhook_secret_set": bool(t.webhook_secret),
            "rep_count": reps.get(t.id, 0),
            "customer_count": customers.get(t.id, 0),
            "created_at": t.created_at,
            "updated_at": t.updated_at,
        }
        for t in territories
    ]


def _territory_input(territory: Territory) -> dict[str, Any]:
    return {
        "name": territory.name,
        "timezone": territory.timezone,
        "weekdays": territory.weekdays,
        "horizon_days": territory.horizon_days,
        "currency": territory.currency,
        "options": territory.options,
        "cadence_days": territory.cadence_days,
        "webhook_url": territory.webhook_url,
        "webhook_secret": territory.webhook_secret,
    }


def _territory_columns(body: TerritoryIn) -> dict[str, Any]:
    options = body.options.model_dump(mode="json", by_alias=True, exclude_unset=True)
    options.pop("async", None)  # a run is always a background job
    return {
        "name": body.name,
        "timezone": body.timezone,
        "weekdays": list(body.weekdays),
        "horizon_days": body.horizon_days,
        "currency": body.currency,
        "options": options,
        "cadence_days": dict(body.cadence_days),
        "webhook_url": None if body.webhook_url is None else str(body.webhook_url),
        "webhook_secret": body.webhook_secret,
    }


def _check_territory(session: Session, settings: Settings, body: TerritoryIn, own_id: str) -> None:
    if body.horizon_days > settings.max_days:
        message = f"horizon_days may be at most {settings.max_days} (VP_MAX_DAYS)"
        raise _invalid([ErrorDetail("horizon_days", message)])
    check_webhook_signed(body)
    clash = session.scalar(
        select(Territory.id).where(Territory.name == body.name, Territory.id != own_id)
    )
    if clash is not None:
        raise Conflict(
            f"A territory named {body.name!r} already exists (id {clash})",
            [ErrorDetail("name", "already used by another territory")],
        )


UNSIGNED_WEBHOOK = (
    "webhook_secret is required with webhook_url: every delivery is signed"
    " (X-VP-Signature, HMAC-SHA256); give 16 to 128 characters"
)


def check_webhook_signed(body: TerritoryIn) -> None:
    """Every webhook is signed, so a URL needs a secret: 422 at ``webhook_secret`` if not.

    Refused rather than generated and shown once: the receiver must be configured with the
    secret to check ``X-VP-Signature``, so the caller has to hold it anyway, and a secret
    revealed in one answer only is easily lost. An unsigned POST would let anyone who learns
    the URL forge run results. Create and PATCH both pass here with the territory as it
    would be stored, so ``webhook_secret: null`` in a PATCH also needs ``webhook_url: null``.
    (Deliveries of a territory stored without one are refused too: ``webhooks``.)
    """
    if body.webhook_url is not None and not body.webhook_secret:
        raise _invalid([ErrorDetail("webhook_secret", UNSIGNED_WEBHOOK)])


def _flush_unique(session: Session, name: str) -> None:
    """Flush; a concurrent insert of the same name surfaces as 409, not as a database error.

    The failed transaction is left for the request to roll back: nothing else is written.
    """
    try:
        session.flush()
    except IntegrityError as error:
        raise Conflict(
            f"A territory named {name!r} already exists",
            [ErrorDetail("name", "already used by another territory")],
        ) from error


def create_territory(session: Session, settings: Settings, body: TerritoryIn) -> Territory:
    territory_id = secrets.token_hex(16)
    _check_territory(session, settings, body, territory_id)
    territory = Territory(id=territory_id, **_territory_columns(body))
    session.add(territory)
    _flush_unique(session, body.name)
    return territory


def update_territory(
    session: Session, settings: Settings, territory: Territory, patch: dict[str, Any]
) -> Territory:
    """Apply a PATCH: the stored territory merged with ``patch``, validated as a whole."""
    merged = {**_territory_input(territory), **patch}
    try:
        body = TerritoryIn.model_validate({k: v for k, v in merged.items() if v is not None})
    except ValidationError as error:
        raise _invalid(validation_error_details(error.errors())) from None
    _check_territory(session, settings, body, territory.id)
    for name, value in _territory_columns(body).items():
        if getattr(territory, name) != value:
            setattr(territory, name, value)
    _flush_unique(session, body.name)
    return territory


def delete_territory(session: Session, territory: Territory) -> None:
    """Delete it with everything it owns (the database cascades pool, runs and schedules)."""
    session.delete(territory)
    session.flush()


# -- reps and customers --


def _row(session: Session, territory: Territory, kind: Kind, external_id: str) -> Any:
    model: type[TerritoryRep] | type[TerritoryCustomer] = (
        TerritoryRep if kind == "rep" else TerritoryCustomer
    )
    found = session.scalar(
        select(model).where(model.territory_id == territory.id, model.external_id == external_id)
    )
    if found is None:
        raise NotFound(f"No {kind} with id {external_id!r} in territory {territory.id}")
    return found


def get_rep(session: Session, territory: Territory, rep_id: str) -> TerritoryRep:
    rep: TerritoryRep = _row(session, territory, "rep", rep_id)
    return rep


def get_customer(session: Session, territory: Territory, customer_id: str) -> TerritoryCustomer:
    customer: TerritoryCustomer = _row(session, territory, "customer", customer_id)
    return customer


def upsert(
    session: Session,
    territory: Territory,
    kind: Kind,
    items: Sequence[Any],
    *,
    single: bool,
    replace: bool = False,
) -> tuple[UpsertReport, list[str]]:
    """Check every item, then write them all: one bad item refuses the batch (422, all paths).

    Returns the counts and the ids in order. Paths are ``[3].lat`` in a list, ``lat`` alone.
    """
    upserter = Upserter(session, territory, kind)
    upserter.preload(
        [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)]
    )
    checked: list[RepIn | CustomerIn] = []
    problems: list[ErrorDetail] = []
    for index, item in enumerate(items):
        where = "" if single else f"[{index}]"
        if not isinstance(item, dict):
            problems.append(ErrorDetail(where or "body", f"Each {kind} should be a JSON object"))
            continue
        record, found = upserter.check(item, where=where, replace=replace)
        problems += found
        if record is not None:
            checked.append(record)
    if problems:
        raise _invalid(problems)
    report = UpsertReport()
    for record in checked:
        outcome: Outcome = upserter.write(record)
        setattr(report, outcome, getattr(report, outcome) + 1)
    session.flush()
    return report, [record.id for record in checked]


def patch_row(
    session: Session, territory: Territory, kind: Kind, external_id: str, patch: dict[str, Any]
) -> None:
    """PATCH one rep or customer (404 if unknown); its id may not change."""
    _row(session, territory, kind, external_id)
    if "id" in patch and patch["id"] != external_id:
        raise _invalid([ErrorDetail("id", "id cannot change; delete and create instead")])
    upsert(session, territory, kind, [{**patch, "id": external_id}], single=True)


def put_row(
    session: Session, territory: Territory, kind: Kind, external_id: str, body: dict[str, Any]
) -> bool:
    """PUT one record whole (fields not given go back to their defaults); True if created."""
    if "id" in body and body["id"] != external_id:
        raise _invalid(
            [ErrorDetail("id", f"id must match the path ({external_id!r}) or be left out")]
        )
    report, _ = upsert(
        session, territory, kind, [{**body, "id": external_id}], single=True, replace=True
    )
    return report.created == 1


def delete_rep(session: Session, territory: Territory, rep_id: str) -> None:
    """Delete a rep; its customers become unassigned (a run gives them to the nearest rep)."""
    rep = get_rep(session, territory, rep_id)
    session.execute(
        update(TerritoryCustomer)
        .where(TerritoryCustomer.territory_id == territory.id, TerritoryCustomer.rep_id == rep_id)
        .values(rep_id=None)
    )
    session.delete(rep)
    session.flush()


def delete_customer(session: Session, territory: Territory, customer_id: str) -> None:
    get_customer(session, territory, customer_id)
    session.execute(
        delete(TerritoryCustomer).where(
            TerritoryCustomer.territory_id == territory.id,
            TerritoryCustomer.external_id == customer_id,
        )
    )
    session.flush()


def list_reps(session: Session, territory: Territory) -> list[TerritoryRep]:
    return list(
        session.scalars(
            select(TerritoryRep)
            .where(TerritoryRep.territory_id == territory.id)
            .order_by(TerritoryRep.external_id)
        )
    )


def list_customers(
    session: Session,
    territory: Territory,
    *,
    segment: str | None,
    rep_id: str | None,
    active: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[TerritoryCustomer], int]:
    """One page of the pool in id order, and how many customers match in all."""
    where = [TerritoryCustomer.territory_id == territory.id]
    if segment is not None:
        where.append(TerritoryCustomer.segment == segment)
    if rep_id is not None:
        where.append(TerritoryCustomer.rep_id == rep_id)
    if active is not None:
        where.append(TerritoryCustomer.active == active)
    total = session.scalar(select(func.count()).select_from(TerritoryCustomer).where(*where)) or 0
    page = session.scalars(
        select(TerritoryCustomer)
        .where(*where)
        .order_by(TerritoryCustomer.external_id)
        .limit(limit)
        .offset(offset)
    )
    return list(page), total


def render_rep(rep: TerritoryRep) -> dict[str, Any]:
    return {**rep_input(rep), "created_at": rep.created_at, "updated_at": rep.updated_at}


def render_customer(customer: TerritoryCustomer) -> dict[str, Any]:
    return {
        **customer_input(customer),
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
    }
