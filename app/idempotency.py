"""``Idempotency-Key`` for creating endpoints: a retry returns the first answer.

The first request with a key inserts a ``running`` record (a unique constraint decides the
race between concurrent retries), does its work, and stores its answer. A retry with the
same key and body gets that answer, waiting while the first is still running; with a
different body it is refused. Only successful answers are kept: after an error the key is
released so the client can try again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import AppError, ErrorDetail, ValidationFailed
from models import IdempotencyRecord, utcnow

MAX_KEY_LENGTH = 255
POLL_SECONDS = 0.1
# How long a retry waits for a quick first request (no solve) before a 409.
QUICK_WAIT_SECONDS = 30.0
HEADER = "idempotency-key"


class StillRunning(AppError):
    status_code = 409
    code = "idempotency_key_in_use"


def request_hash(body: Any) -> str:
    """SHA-256 of the canonical JSON of the body, so key order does not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            "Invalid Idempotency-Key",
            [ErrorDetail("headers.Idempotency-Key", f"1 to {MAX_KEY_LENGTH} printable characters")],
        )


def _replay(record: IdempotencyRecord) -> JSONResponse:
    return JSONResponse(
        record.response_body,
        status_code=record.response_status or 200,
        headers={"Idempotent-Replayed": "true"},
    )


def owner_of(request: Request) -> str:
    """Whose keys these are: the authenticated API key (set by the key dependency)."""
    return str(getattr(request.state, "api_key_id", "anonymous"))


def idempotent(
    request: Request,
    *,
    endpoint: str,
    body: Any,
    response_model: type[BaseModel],
    status_code: int,
    work: Callable[[], Any],
    wait_seconds: float = QUICK_WAIT_SECONDS,
) -> Any:
    """A creating route's answer, honouring the request's ``Idempotency-Key`` if any.

    ``work`` does the route's work and returns what the route returned before (a dict or
    ``response_model``); ``body`` is the raw JSON body (``{}`` for none). Without the header
    the answer is ``work()``'s unchanged; with it, ``work`` runs once per (API key, key) and
    its answer, rendered through ``response_model`` with ``status_code``, is replayed.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return work()

    def rendered() -> JSONResponse:
        checked = response_model.model_validate(work())
        return JSONResponse(checked.model_dump(mode="json", by_alias=True), status_code=status_code)

    return run_once(
        request.app.state.session_factory,
        owner=owner_of(request),
        key=key,
        endpoint=endpoint,
        body_hash=request_hash(body),
        work=rendered,
        wait_seconds=wait_seconds,
    )


def run_once(
    factory: sessionmaker[Session],
    *,
    owner: str,
    key: str,
    endpoint: str,
    body_hash: str,
    work: Callable[[], JSONResponse],
    wait_seconds: float,
) -> JSONResponse:
    """Run ``work`` once per (owner, key); concurrent and later retries get its answer."""
    _check_key(key)
    with factory() as session:
        session.add(
            IdempotencyRecord(owner=owner, key=key, endpoint=endpoint, request_hash=body_hash)
        )
        try:
            session.commit()
            first = True
        except IntegrityError:
            session.rollback()
            first = False
    if not first:
        return _wait_for_first(factory, owner, key, endpoint, body_hash, wait_seconds)
    try:
        response = work()
    except BaseException:
        _release(factory, owner, key)
        raise
    if response.status_code >= 400:
        _release(factory, owner, key)
        return response
    with factory() as session:
        record = session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.owner == owner, IdempotencyRecord.key == key
            )
        ).one()
        record.state = "done"
        record.response_status = response.status_code
        record.response_body = json.loads(bytes(response.body))
        session.commit()
    return response


def _release(factory: sessionmaker[Session], owner: str, key: str) -> None:
    with factory() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.owner == owner, IdempotencyRecord.key == key
            )
        )
        session.commit()


def _wait_for_first(
    factory: sessionmaker[Session],
    owner: str,
    key: str,
    endpoint: str,
    body_hash: str,
    wait_seconds: float,
) -> JSONResponse:
    deadline = time.monotonic() + wait_seconds
    while True:
        with factory() as session:
            record = session.scalars(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.owner == owner, IdempotencyRecord.key == key
                )
            ).one_or_none()
            if record is None:
                raise StillRunning(
                    "The first request with this Idempotency-Key failed; retry it",
                    retry_after=1,
                )
            if record.endpoint != endpoint or record.request_hash != body_hash:
                raise ValidationFailed(
                    "Idempotency-Key reused with a different request",
                    [ErrorDetail("headers.Idempotency-Key", "already used for another body")],
                )
            if record.state == "done":
                return _replay(record)
            if utcnow() - record.created_at > timedelta(seconds=wait_seconds):
                # Its process died before answering: free the key for this retry's next try.
                session.delete(record)
                session.commit()
                raise StillRunning(
                    "The first request with this Idempotency-Key was abandoned; retry it",
                    retry_after=1,
                )
        if time.monotonic() > deadline:
            raise StillRunning(
                "A request with this Idempotency-Key is still being processed", retry_after=5
            )
        time.sleep(POLL_SECONDS)
