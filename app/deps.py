"""Request-scoped dependencies as ``Annotated`` aliases, so routes stay one-liners."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.auth import verify_api_key
from app.config import Settings
from app.errors import Forbidden, Unauthorized
from app.plans.service import Planner


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; the route commits, anything unhandled rolls back."""
    with request.app.state.session_factory() as session:
        yield session


def get_planner(request: Request) -> Planner:
    planner: Planner = request.app.state.planner
    return planner


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
PlannerDep = Annotated[Planner, Depends(get_planner)]


def require_api_key(request: Request, session: SessionDep, settings: SettingsDep) -> None:
    """Write endpoints need ``Authorization: Bearer <key>``: 401 without, 403 if wrong."""
    if not settings.require_api_key:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'")
    if verify_api_key(session, token.strip()) is None:
        raise Forbidden("The API key is not valid or has been revoked")


ApiKeyDep = Depends(require_api_key)
