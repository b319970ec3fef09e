"""HTTP routes for territories, their reps and customer pools: parse, one service call, respond.

Writes need a key with the ``territory`` scope; reads accept any live key. Batch and record
bodies are taken as JSON and validated by the service (merged into the stored record first),
so one answer lists every problem at its path: ``lat`` for one record, ``[3].lat`` in a list.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app import idempotency
from app.config import Segment
from app.deps import ReadKeyDep, SessionDep, SettingsDep, TerritoryKeyDep
from app.plans.responses import ErrorOut
from app.territories import importer, service
from app.territories.pool import Kind
from app.territories.schemas import (
    CustomerIn,
    CustomerOut,
    CustomerPage,
    RepIn,
    RepList,
    RepOut,
    TerritoryIn,
    TerritoryList,
    TerritoryOut,
    UpsertReport,
)
from app.territories.upload import OPENAPI, UploadDep
from models import Territory

router = APIRouter(prefix="/territories", tags=["territories"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 413, 422, 429)
}
JsonObject = Annotated[dict[str, Any], Body()]


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with its local ``$ref``s replaced by the definitions (none are recursive)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(item, defs) for item in schema]
    return schema


def _body_doc(model: type[BaseModel], many: bool) -> dict[str, Any]:
    """The OpenAPI request body of a route that validates its JSON body itself."""
    full = model.model_json_schema()
    item = _inline(full, full.get("$defs", {}))
    schema = {"oneOf": [item, {"type": "array", "items": item}]} if many else item
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TerritoryOut,
    dependencies=[TerritoryKeyDep],
    responses=ERRORS,
)
def create_territory(
    body: TerritoryIn, request: Request, session: SessionDep, settings: SettingsDep
) -> Any:
    """Create a territory (409 if the name is taken); the webhook secret is never shown.

    With an ``Idempotency-Key`` header, a retry returns the first answer instead of
    creating again (also while the first is still running).
    """

    def work() -> Any:
        territory = service.create_territory(session, settings, body)
        session.commit()
        return service.render_territories(session, [territory])[0]

    return idempotency.idempotent(
        request,
        endpoint="POST /territories",
        body=body.model_dump(mode="json", by_alias=True, exclude_unset=True),
        response_model=TerritoryOut,
        status_code=status.HTTP_201_CREATED,
        work=work,
    )


@router.get("", response_model=TerritoryList, dependencies=[ReadKeyDep], responses=ERRORS)
def list_territories(session: SessionDep) -> Any:
    """Every territory by name, with its numbers of reps and customers."""
    return {"items": service.render_territories(session, service.list_territories(session))}


@router.get(
    "/{territory_id}", response_model=TerritoryOut, dependencies=[ReadKeyDep], responses=ERRORS
)
def get_territory(territory_id: str, session: SessionDep) -> Any:
    """One territory with its numbers of reps and customers."""
    territory = service.get_territory(session, territory_id)
    return service.render_territories(session, [territory])[0]


@router.patch(
    "/{territory_id}", response_model=TerritoryOut, dependencies=[TerritoryKeyDep], responses=ERRORS
)
def patch_territory(
    territory_id: str, patch: JsonObject, session: SessionDep, settings: SettingsDep
) -> Any:
    """Change some fields; ``null`` resets one (``webhook_secret: null`` removes the secret)."""
    territory = service.get_territory(session, territory_id)
    service.update_territory(session, settings, territory, patch)
    session.commit()
    return service.render_territories(session, [territory])[0]


@router.delete(
    "/{territory_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[TerritoryKeyDep],
    responses=ERRORS,
)
def delete_territory(territory_id: str, session: SessionDep) -> Response:
    """Delete a territory with its reps, pool, schedules and runs."""
    service.delete_territory(session, service.get_territory(session, territory_id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- reps and customers: the same routes for both, under /reps and /customers --


def _render(session: SessionDep, territory: Territory, kind: Kind, external_id: str) -> Any:
    if kind == "rep":
        return service.render_rep(service.get_rep(session, territory, external_id))
    return service.render_customer(service.get_customer(session, territory, external_id))


def _answer(
    session: SessionDep, territory: Territory, kind: Kind, external_id: str, created: bool
) -> JSONResponse:
    model: type[RepOut] | type[CustomerOut] = RepOut if kind == "rep" else CustomerOut
    rendered = model.model_validate(_render(session, territory, kind, external_id))
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return JSONResponse(rendered.model_dump(mode="json"), status_code=code)


def _add_pool_routes(
    plural: str, kind: Kind, model_in: type[BaseModel], model_out: type[BaseModel]
) -> None:
    """The routes of one kind of pool record; ``{external_id}`` is the CRM's id."""
    one = f"/{{territory_id}}/{plural}/{{external_id}}"
    created: dict[int | str, dict[str, Any]] = {201: {"model": model_out}}

    @router.post(
        f"/{{territory_id}}/{plural}",
        response_model=model_out | UpsertReport,
        dependencies=[TerritoryKeyDep],
        responses={**ERRORS, **created},
        openapi_extra=_body_doc(model_in, many=True),
        name=f"upsert_{plural}",
    )
    def upsert_many(territory_id: str, body: Annotated[Any, Body()], session: SessionDep) -> Any:
        """Create or update by ``id``: one object answers the record (201 if new), a list the
        counts. Fields left out keep their values; ``null`` resets one to its default."""
        territory = service.get_territory(session, territory_id)
        single = not isinstance(body, list)
        items = [body] if single else body
        report, ids = service.upsert(session, territory, kind, items, single=single)
        session.commit()
        return _answer(session, territory, kind, ids[0], report.created == 1) if single else report

    @router.get(
        one,
        response_model=model_out,
        dependencies=[ReadKeyDep],
        responses=ERRORS,
        name=f"get_{kind}",
    )
    def get_one(territory_id: str, external_id: str, session: SessionDep) -> Any:
        """One record by its id."""
        return _render(session, service.get_territory(session, territory_id), kind, external_id)

    @router.put(
        one,
        response_model=model_out,
        dependencies=[TerritoryKeyDep],
        responses={**ERRORS, **created},
        openapi_extra=_body_doc(model_in, many=False),
        name=f"put_{kind}",
    )
    def put_one(territory_id: str, external_id: str, body: JsonObject, session: SessionDep) -> Any:
        """Create or replace one record whole (201 when created); fields left out get defaults."""
        territory = service.get_territory(session, territory_id)
        was_created = service.put_row(session, territory, kind, external_id, body)
        session.commit()
        return _answer(session, territory, kind, external_id, was_created)

    @router.patch(
        one,
        response_model=model_out,
        dependencies=[TerritoryKeyDep],
        responses=ERRORS,
        name=f"patch_{kind}",
    )
    def patch_one(
        territory_id: str, external_id: str, patch: JsonObject, session: SessionDep
    ) -> Any:
        """Change some fields; ``null`` resets a field to its default; the id cannot change."""
        territory = service.get_territory(session, territory_id)
        service.patch_row(session, territory, kind, external_id, patch)
        session.commit()
        return _render(session, territory, kind, external_id)

    @router.delete(
        one,
        status_code=status.HTTP_204_NO_CONTENT,
        dependencies=[TerritoryKeyDep],
        responses=ERRORS,
        name=f"delete_{kind}",
    )
    def delete_one(territory_id: str, external_id: str, session: SessionDep) -> Response:
        """Delete the record; a deleted rep's customers become unassigned."""
        territory = service.get_territory(session, territory_id)
        if kind == "rep":
            service.delete_rep(session, territory, external_id)
        else:
            service.delete_customer(session, territory, external_id)
        session.commit()
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        f"/{{territory_id}}/{plural}/import",
        response_model=UpsertReport,
        dependencies=[TerritoryKeyDep],
        responses=ERRORS,
        openapi_extra=OPENAPI,
        name=f"import_{plural}",
    )
    def import_file(
        territory_id: str, upload: UploadDep, session: SessionDep, settings: SettingsDep
    ) -> Any:
        """Import a CSV or .xlsx file: good rows are upserted, bad ones reported by row number.

        Form fields: ``file``, optional ``mapping`` (JSON: our field -> your header) and
        ``sheet``. Or send the file as the body with those as query parameters.
        """
        territory = service.get_territory(session, territory_id)
        report = importer.import_file(
            session,
            territory,
            kind,
            upload.data,
            filename=upload.filename,
            mapping=upload.mapping,
            sheet=upload.sheet,
            max_rows=settings.territory_import_max_rows,
        )
        session.commit()
        return report


@router.get(
    "/{territory_id}/reps", response_model=RepList, dependencies=[ReadKeyDep], responses=ERRORS
)
def list_reps(territory_id: str, session: SessionDep) -> Any:
    """Every rep of the territory, by id."""
    territory = service.get_territory(session, territory_id)
    return {"items": [service.render_rep(rep) for rep in service.list_reps(session, territory)]}


@router.get(
    "/{territory_id}/customers",
    response_model=CustomerPage,
    dependencies=[ReadKeyDep],
    responses=ERRORS,
)
def list_customers(
    territory_id: str,
    session: SessionDep,
    segment: Segment | None = None,
    rep_id: str | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Any:
    """A page of the pool by id, filtered by segment, owning rep and whether active."""
    territory = service.get_territory(session, territory_id)
    page, total = service.list_customers(
        session,
        territory,
        segment=segment,
        rep_id=rep_id,
        active=active,
        limit=limit,
        offset=offset,
    )
    items = [service.render_customer(customer) for customer in page]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


_add_pool_routes("reps", "rep", RepIn, RepOut)
_add_pool_routes("customers", "customer", CustomerIn, CustomerOut)
