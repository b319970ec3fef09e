"""The one error tree of the service; one handler in ``app.main`` turns it into JSON.

Tree::

    AppError (500 unless a subclass says otherwise)
    ├── ValidationFailed   422  request fields that are wrong, each with its path
    ├── Unauthorized       401  missing API key
    ├── Forbidden          403  wrong or revoked API key
    ├── NotFound           404  unknown id or token
    ├── Gone               410  expired or revoked share link
    ├── TooLarge           413  request over a configured size limit
    ├── ServiceBusy        503  every solver slot busy (with Retry-After)
    └── ServiceUnavailable 503  a dependency failed; retrying may work

The JSON shape is fixed by the API contract:
``{"error": {"code", "message", "details": [{"path", "message"}]}}``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDetail:
    """One problem with one field; ``path`` reads like ``customers[3].lat``."""

    path: str
    message: str


class AppError(Exception):
    """Base class: a status code, a stable machine code and a message for people."""

    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        details: list[ErrorDetail] | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers (``Retry-After`` when the client should try again)."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}

    def to_json(self) -> dict[str, object]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": [{"path": d.path, "message": d.message} for d in self.details],
            }
        }


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Gone(AppError):
    status_code = 410
    code = "gone"


class TooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class ServiceBusy(AppError):
    status_code = 503
    code = "busy"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "unavailable"
