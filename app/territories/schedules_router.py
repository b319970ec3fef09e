"""HTTP routes for a territory's schedules: parse, one service call, respond.

Writes need a key with the ``territory`` scope; reads accept any live key. Answers show the
next fires and the week each plans (``app.territories.scheduler`` explains the rule).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from app import idempotency
from app.deps import ReadKeyDep, SessionDep, TerritoryKeyDep
from app.territories import schedules, service
from app.territories.router import ERRORS
from app.territories.schedules import ScheduleIn, ScheduleList, ScheduleOut, SchedulePatch
from models import utcnow

# The column is a 32-bit integer: larger ids are refused at the path, never sent to the database.
ScheduleId = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter(prefix="/territories/{territory_id}/schedules", tags=["schedules"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScheduleOut,
    dependencies=[TerritoryKeyDep],
    responses=ERRORS,
)
def create_schedule(
    territory_id: str, body: ScheduleIn, request: Request, session: SessionDep
) -> Any:
    """Add a schedule: a 5-field cron line read in an IANA time zone (default: the territory's).

    With an ``Idempotency-Key`` header, a retry returns the first answer instead of
    adding another schedule (also while the first is still running).
    """

    def work() -> Any:
        now = utcnow()
        territory = service.get_territory(session, territory_id)
        schedule = schedules.create_schedule(session, territory, body, now)
        session.commit()
        return schedules.render_schedule(schedule, now)

    return idempotency.idempotent(
        request,
        endpoint=f"POST /territories/{territory_id}/schedules",
        body=body.model_dump(mode="json", by_alias=True, exclude_unset=True),
        response_model=ScheduleOut,
        status_code=status.HTTP_201_CREATED,
        work=work,
    )


@router.get("", response_model=ScheduleList, dependencies=[ReadKeyDep], responses=ERRORS)
def list_schedules(territory_id: str, session: SessionDep) -> Any:
    """The territory's schedules, oldest first, each with its next fires."""
    now = utcnow()
    territory = service.get_territory(session, territory_id)
    found = schedules.list_schedules(session, territory)
    return {"items": [schedules.render_schedule(s, now) for s in found]}


@router.get(
    "/{schedule_id}", response_model=ScheduleOut, dependencies=[ReadKeyDep], responses=ERRORS
)
def get_schedule(territory_id: str, schedule_id: ScheduleId, session: SessionDep) -> Any:
    """One schedule with its next fires."""
    territory = service.get_territory(session, territory_id)
    schedule = schedules.get_schedule(session, territory, schedule_id)
    return schedules.render_schedule(schedule, utcnow())


@router.patch(
    "/{schedule_id}",
    response_model=ScheduleOut,
    dependencies=[TerritoryKeyDep],
    responses=ERRORS,
)
def patch_schedule(
    territory_id: str, schedule_id: ScheduleId, patch: SchedulePatch, session: SessionDep
) -> Any:
    """Change ``enabled``, ``cron`` or ``timezone``; a new rule applies from now on."""
    now = utcnow()
    territory = service.get_territory(session, territory_id)
    schedule = schedules.get_schedule(session, territory, schedule_id)
    schedules.update_schedule(session, schedule, patch, now)
    session.commit()
    return schedules.render_schedule(schedule, now)


@router.delete(
    "/{schedule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[TerritoryKeyDep],
    responses=ERRORS,
)
def delete_schedule(territory_id: str, schedule_id: ScheduleId, session: SessionDep) -> Response:
    """Delete a schedule; runs it made stay."""
    territory = service.get_territory(session, territory_id)
    schedules.delete_schedule(session, schedules.get_schedule(session, territory, schedule_id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
