"""Request-scoped dependencies as ``Annotated`` aliases, so routes stay one-liners."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.auth import allows, verify_api_key
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


def _key_dependency(scope: str) -> Callable[..., None]:
    def require_api_key(request: Request, session: SessionDep, settings: SettingsDep) -> None:
        if not settings.require_api_key:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'")
        key = verify_api_key(session, token.strip())
        if key is None:
            raise Forbidden("The API key is not valid or has been revoked")
        if not allows(key, scope):
            raise Forbidden(f"This API key lacks the {scope!r} scope")
        request.app.state.rate_limiter.check(str(key.id))
        request.state.api_key_id = key.id

    require_api_key.__doc__ = f"Needs a live API key with the {scope!r} scope, within its rate."
    return require_api_key


# Write endpoints need a key with the "plan" scope; reads accept "read" as well.
ApiKeyDep = Depends(_key_dependency("plan"))
ReadKeyDep = Depends(_key_dependency("read"))
TerritoryKeyDep = Depends(_key_dependency("territory"))
