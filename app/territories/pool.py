"""Upserts of reps and pool customers: validate every record first, then write the good ones.

The JSON API and the file importer share this path, so a row of a spreadsheet and a JSON
object are accepted or refused alike. An upsert *merges*: the given fields replace the stored
ones, fields not given keep their values, and ``null`` (a blank cell) resets a field to its
default. The merged record is validated as a whole (``RepIn``/``CustomerIn``) before anything
is written, so a record is saved entirely or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ErrorDetail
from app.territories.schemas import CustomerIn, RepIn
from app.validation import validation_error_details
from models import Territory, TerritoryCustomer, TerritoryRep

Kind = Literal["rep", "customer"]
Outcome = Literal["created", "updated", "unchanged"]
PoolRow = TerritoryRep | TerritoryCustomer
_CHUNK = 500
# Customer fields kept inside ``attributes`` because the table has no column for them.
_AREA = "area"


def _location(lat: float | None, lon: float | None, address: str | None) -> dict[str, Any]:
    found = {"lat": lat, "lon": lon, "address": address}
    return {key: value for key, value in found.items() if value is not None}


def rep_input(rep: TerritoryRep) -> dict[str, Any]:
    """A stored rep in the API's input shape (what a merge starts from)."""
    return {
        "id": rep.external_id,
        "name": rep.name,
        "start": _location(rep.start_lat, rep.start_lon, rep.start_address),
        "end": rep.end,
        "work_start": rep.work_start,
        "work_end": rep.work_end,
        "lunch": rep.lunch,
        "max_visits_per_day": rep.max_visits_per_day,
        "hourly_value": rep.hourly_value,
        "currency": rep.currency,
        "active": rep.active,
    }


def customer_input(customer: TerritoryCustomer) -> dict[str, Any]:
    """A stored pool customer in the API's input shape."""
    attributes = dict(customer.attributes or {})
    area = attributes.pop(_AREA, None)
    return {
        "id": customer.external_id,
        "name": customer.name,
        "address": customer.address,
        "lat": customer.lat,
        "lon": customer.lon,
        "segment": customer.segment,
        "need": customer.need,
        "can_pay": customer.can_pay,
        "decision_maker": customer.decision_maker,
        "visit_minutes": customer.visit_minutes,
        "priority": customer.priority,
        "must_visit": customer.must_visit,
        "rep_id": customer.rep_id,
        "area": area,
        "opening_hours": customer.opening_hours,
        "cadence_days": customer.cadence_days,
        "last_visit": customer.last_visit,
        "active": customer.active,
        "attributes": attributes,
    }


def _rep_columns(rep: RepIn) -> dict[str, Any]:
    return {
        "name": rep.name,
        "start_lat": rep.start.lat,
        "start_lon": rep.start.lon,
        "start_address": rep.start.address,
        "end": None if rep.end is None else rep.end.model_dump(mode="json", exclude_none=True),
        "work_start": rep.work_start,
        "work_end": rep.work_end,
        "lunch": None if rep.lunch is None else rep.lunch.model_dump(mode="json"),
        "max_visits_per_day": rep.max_visits_per_day,
        "hourly_value": rep.hourly_value,
        "currency": rep.currency,
        "active": rep.active,
    }


def _customer_columns(customer: CustomerIn) -> dict[str, Any]:
    data = customer.model_dump(mode="json")
    attributes = dict(data["attributes"])
    if customer.area is not None:
        attributes[_AREA] = customer.area
    return {
        **{
            name: getattr(customer, name)
            for name in (
                "name", "address", "lat", "lon", "segment", "need", "can_pay", "decision_maker",
                "visit_minutes", "priority", "must_visit", "rep_id", "cadence_days",
                "last_visit", "active",
            )
        },
        "opening_hours": data["opening_hours"],
        "attributes": attributes,
    }  # fmt: skip


def _prefixed(prefix: str, details: Iterable[ErrorDetail]) -> list[ErrorDetail]:
    if not prefix:
        return list(details)
    return [
        ErrorDetail(prefix + ("" if d.path.startswith("[") else ".") + d.path, d.message)
        if d.path != "body"
        else ErrorDetail(prefix, d.message)
        for d in details
    ]


class Upserter:
    """One batch of upserts of one kind into one territory, checked then written.

    ``check`` never writes; ``write`` only flushes (the caller's transaction commits), so a
    failure anywhere leaves the whole batch unwritten.
    """

    def __init__(self, session: Session, territory: Territory, kind: Kind) -> None:
        self.session = session
        self.territory = territory
        self.kind = kind
        self.orm: type[TerritoryRep] | type[TerritoryCustomer] = (
            TerritoryRep if kind == "rep" else TerritoryCustomer
        )
        self._existing: dict[str, PoolRow] = {}
        self._seen: dict[str, str] = {}
        self._rep_ids: set[str] | None = None

    def preload(self, external_ids: Sequence[str]) -> None:
        """Load the stored rows of ``external_ids`` in a few queries instead of one per row."""
        wanted = sorted({i for i in external_ids if i not in self._existing})
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows: Iterable[PoolRow] = self.session.scalars(
                select(self.orm).where(
                    self.orm.territory_id == self.territory.id, self.orm.external_id.in_(chunk)
                )
            )
            for row in rows:
                self._existing[row.external_id] = row

    def existing(self, external_id: str) -> PoolRow | None:
        """The stored row for ``external_id`` (after ``preload`` or an earlier write)."""
        if external_id not in self._existing:
            self.preload([external_id])
        return self._existing.get(external_id)

    def _known_reps(self) -> set[str]:
        if self._rep_ids is None:
            self._rep_ids = set(
                self.session.scalars(
                    select(TerritoryRep.external_id).where(
                        TerritoryRep.territory_id == self.territory.id
                    )
                )
            )
        return self._rep_ids

    def check(
        self,
        given: dict[str, Any],
        *,
        where: str = "",
        origin: str | None = None,
        replace: bool = False,
    ) -> tuple[RepIn | CustomerIn | None, list[ErrorDetail]]:
        """Validate ``given`` merged into the stored record (``replace``: not merged).

        Returns the validated record, or ``None`` and every problem, its path prefixed by
        ``where`` (the record's place in a JSON batch). A second record with the same id in
        one batch is a problem; ``origin`` names the first one in the message.
        """
        external_id = given.get("id")
        problems: list[ErrorDetail] = []
        key = external_id if isinstance(external_id, str) else None
        if key is not None and key in self._seen:
            message = f"Duplicate id {key!r}, first at {self._seen[key]}"
            return None, _prefixed(where, [ErrorDetail("id", message)])
        if key is not None:
            # Claimed even if this record turns out invalid: a later one with the same id is
            # a duplicate either way, never a silent second version.
            self._seen[key] = origin or where or "an earlier record"
        stored = None if key is None or replace else self.existing(key)
        merged = self._merge(stored, given)
        model: type[RepIn] | type[CustomerIn] = RepIn if self.kind == "rep" else CustomerIn
        try:
            record: RepIn | CustomerIn = model.model_validate(merged)
        except ValidationError as error:
            problems += validation_error_details(error.errors())
            return None, _prefixed(where, problems)
        if isinstance(record, CustomerIn) and record.rep_id is not None:
            known = self._known_reps()
            if record.rep_id not in known:
                hint = ", ".join(sorted(known)[:5]) + (", ..." if len(known) > 5 else "")
                message = f"Unknown rep id {record.rep_id!r}; known: {hint or 'none'}"
                return None, _prefixed(where, [ErrorDetail("rep_id", message)])
        return record, []

    def _merge(self, stored: PoolRow | None, given: dict[str, Any]) -> dict[str, Any]:
        base: dict[str, Any] = {}
        if isinstance(stored, TerritoryRep):
            base = rep_input(stored)
        elif isinstance(stored, TerritoryCustomer):
            base = customer_input(stored)
        merged = {**base, **given}
        if isinstance(given.get("attributes"), dict):
            # Attributes merge key by key, so a file with fewer extra columns drops none.
            attributes = {**base.get("attributes", {}), **given["attributes"]}
            merged["attributes"] = {k: v for k, v in attributes.items() if v is not None}
        # ``null`` resets to the default, which is what leaving the field out gives.
        return {name: value for name, value in merged.items() if value is not None}

    def write(self, record: RepIn | CustomerIn) -> Outcome:
        """Create or update the row for a checked ``record``; flushes nothing by itself."""
        columns: dict[str, Any] = (
            _rep_columns(record) if isinstance(record, RepIn) else _customer_columns(record)
        )
        row = self.existing(record.id)
        if row is None:
            created: PoolRow = self.orm(
                territory_id=self.territory.id, external_id=record.id, **columns
            )
            self.session.add(created)
            self._existing[record.id] = created
            if isinstance(record, RepIn) and self._rep_ids is not None:
                self._rep_ids.add(record.id)
            return "created"
        changed = {name: value for name, value in columns.items() if getattr(row, name) != value}
        for name, value in changed.items():
            setattr(row, name, value)
        return "updated" if changed else "unchanged"
