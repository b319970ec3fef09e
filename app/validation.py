"""Request validation errors as the contract's 422: every problem, each at a readable path.

Pydantic locates an error with a tuple such as ``("body", "customers", 3, "lat")``; the
contract names it ``customers[3].lat``. The handler installed here answers every
``RequestValidationError`` (bad fields, a body that is not JSON, a missing body) that way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.errors import ErrorDetail, ValidationFailed

# Where FastAPI found the value; the contract's paths start inside it.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})
# Pydantic appends this to the location of a dict key that failed validation.
_KEY_MARKER = "[key]"
_MAX_SHOWN = 40


def error_path(loc: Sequence[int | str]) -> str:
    """``("body", "customers", 3, "lat")`` -> ``customers[3].lat``; the bare body -> ``body``."""
    parts = list(loc)
    source = "body"
    if parts and parts[0] in _SOURCES:
        source = str(parts.pop(0))
    path = ""
    for part in parts:
        if part == _KEY_MARKER:
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or source


def _shown(value: object) -> str | None:
    """The bad value as JSON text when it is a short scalar worth repeating, else None."""
    if value is None or not isinstance(value, str | int | float | bool):
        return None
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_SHOWN else None


def _detail(error: Mapping[str, Any]) -> ErrorDetail:
    kind = error.get("type", "")
    message = str(error.get("msg", "Invalid value"))
    ctx = error.get("ctx") or {}
    if kind == "json_invalid":
        reason = ctx.get("error", "malformed JSON")
        return ErrorDetail("body", f"Request body is not valid JSON: {reason}")
    path = error_path(error.get("loc", ()))
    value = error.get("input")
    if path == "body" and kind == "missing":
        return ErrorDetail(path, "Request body is required")
    if path == "body" and isinstance(value, bytes | bytearray):
        return ErrorDetail(path, "Request body must be JSON (Content-Type: application/json)")
    shown = _shown(value) if kind != "missing" else None
    if shown is not None:
        # Custom messages may already quote the text they refuse; numbers are always repeated.
        quoted = isinstance(value, str) and (shown in message or repr(value) in message)
        message = message if quoted else f"{message}, got {shown}"
    return ErrorDetail(path, message)


def validation_error_details(errors: Sequence[Any]) -> list[ErrorDetail]:
    """Pydantic or FastAPI error dicts -> contract details, in the order they were found."""
    return [_detail(error) for error in errors]


async def _answer_422(_: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    details = validation_error_details(exc.errors())
    count = len(details)
    noun = "problem" if count == 1 else "problems"
    failure = ValidationFailed(f"Request validation failed: {count} {noun}", details)
    return JSONResponse(failure.to_json(), status_code=failure.status_code)


def install_validation_handler(app: FastAPI) -> None:
    """Answer every request validation error with the contract's 422 JSON."""
    app.add_exception_handler(RequestValidationError, _answer_422)
