"""Signed webhooks: a territory's integrators hear when a run finished, at least once.

A delivery is a row first (queued in the transaction that finished the run, so a crash never
loses or invents one), then a POST made by ``deliver_due_webhooks`` (the scheduler calls it).
The body is JSON; ``X-VP-Signature: sha256=<hex>`` is HMAC-SHA256 of the exact body bytes
with the territory's ``webhook_secret``, ``X-VP-Event`` names the event and
``X-VP-Delivery`` is the delivery id (receivers dedupe on it: a POST whose answer was lost
is sent again). A non-2xx answer or a network error is retried after
``VP_WEBHOOK_BACKOFF_SECONDS x 2^(attempt-1)`` (capped), up to ``VP_WEBHOOK_MAX_ATTEMPTS``,
then the delivery is ``failed``.

Every delivery is signed; nothing is ever POSTed unsigned. A territory cannot be given a
``webhook_url`` without a ``webhook_secret`` (422 at ``webhook_secret``, see
``TerritoryIn``). A territory stored before that rule, or whose secret was removed behind
the API's back, gets nothing sent: each attempt fails with an error saying to set a secret
and is retried with the same backoff, so setting one in time still delivers it.

Two schedulers never send the same attempt: a sender claims a row with a conditional UPDATE
on its attempt count that also pushes ``next_attempt_at`` past the POST's timeout, so the
other sender's UPDATE matches nothing (and on PostgreSQL ``SKIP LOCKED`` keeps them apart).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from models import Territory, TerritoryRun, WebhookDelivery, utcnow

log = logging.getLogger("visit_planner.webhooks")

RUN_COMPLETED = "run.completed"
_BATCH = 50

# (url, body, headers, timeout) -> status code; raises httpx.HTTPError on network failures.
Sender = Callable[[str, bytes, dict[str, str], float], int]


def sign(secret: str, body: bytes) -> str:
    """The ``X-VP-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (compact, key order kept)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def run_payload(run: TerritoryRun, result: dict[str, Any]) -> dict[str, Any]:
    """The ``run.completed`` body: the run, each rep's plan with its share link, failures."""
    return {
        "event": RUN_COMPLETED,
        "run": {
            "id": run.id,
            "territory_id": run.territory_id,
            "week_start": run.week_start.isoformat(),
            "trigger": run.trigger,
            "status": run.status,
            "job_id": run.job_id,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        },
        "plans": result.get("plans", []),
        "failed": result.get("failed", []),
    }


def enqueue_run_completed(
    session: Session, territory: Territory, run: TerritoryRun, result: dict[str, Any]
) -> WebhookDelivery | None:
    """Queue the ``run.completed`` delivery (flushed) if the territory has a webhook URL."""
    if not territory.webhook_url:
        return None
    delivery = WebhookDelivery(
        territory_id=territory.id,
        run_id=run.id,
        event=RUN_COMPLETED,
        url=territory.webhook_url,
        payload=run_payload(run, result),
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(delivery)
    session.flush()
    return delivery


def backoff(settings: Settings, attempt: int) -> timedelta:
    """Wait after failed attempt number ``attempt`` (1-based): base x 2^(attempt-1), capped."""
    seconds = settings.webhook_backoff_seconds * 2 ** max(0, attempt - 1)
    return timedelta(seconds=min(seconds, settings.webhook_backoff_max_seconds))


def httpx_sender(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST with httpx; redirects are not followed (a signed body is for this URL only)."""
    response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    return response.status_code


def _claim(session: Session, settings: Settings, row: WebhookDelivery, now: datetime) -> bool:
    # Claimed until well past the POST's timeout; a sender that dies mid-POST leaves the
    # row to be retried after that.
    until = now + timedelta(seconds=settings.webhook_timeout_seconds * 3 + 30)
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == row.id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.attempts == row.attempts,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(attempts=row.attempts + 1, next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


UNSIGNED_REFUSED = (
    "not sent: the territory has no webhook_secret and deliveries are always signed;"
    " set one with PATCH /territories/{territory_id}"
)


def _headers(delivery_id: int, event: str, body: bytes, secret: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "visit-planner-webhooks/1",
        "X-VP-Event": event,
        "X-VP-Delivery": str(delivery_id),
        "X-VP-Signature": sign(secret, body),
    }


class _Claimed:
    """What one claimed delivery needs for its POST, read before the claim is committed."""

    def __init__(self, row: WebhookDelivery, attempt: int, secret: str | None) -> None:
        self.id, self.territory_id, self.attempt = row.id, row.territory_id, attempt
        self.url, self.event, self.payload = row.url, row.event, row.payload
        self.secret = secret


def deliver_due_webhooks(
    session_factory: sessionmaker[Session],
    settings: Settings,
    now: datetime | None = None,
    *,
    sender: Sender | None = None,
) -> int:
    """Send every pending delivery due at ``now``; returns how many were delivered.

    Each row is claimed and committed before its POST and updated after it, so no
    transaction is held open across the network.
    """
    now = now or utcnow()
    send = sender or httpx_sender
    with session_factory() as session:
        rows = list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(_BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        claimed = []
        for row in rows:
            if _claim(session, settings, row, now):
                secret = session.scalar(
                    select(Territory.webhook_secret).where(Territory.id == row.territory_id)
                )
                claimed.append(_Claimed(row, row.attempts + 1, secret))
        session.commit()
    delivered = 0
    for c in claimed:
        body = encode(c.payload)
        error: str | None = None
        if not c.secret:
            log.warning("webhook %s of territory %s has no secret; not sent", c.id, c.territory_id)
            error = UNSIGNED_REFUSED.format(territory_id=c.territory_id)
            delivered += _record(session_factory, settings, c.id, c.attempt, error)
            continue
        try:
            status = send(
                c.url,
                body,
                _headers(c.id, c.event, body, c.secret),
                settings.webhook_timeout_seconds,
            )
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:1000]
        delivered += _record(session_factory, settings, c.id, c.attempt, error)
    return delivered


def _record(
    session_factory: sessionmaker[Session],
    settings: Settings,
    delivery_id: int,
    attempt: int,
    error: str | None,
) -> int:
    """Store one attempt's outcome: delivered, retried later, or failed for good."""
    now = utcnow()
    with session_factory() as session:
        row = session.get_one(WebhookDelivery, delivery_id)
        row.last_error = error
        if error is None:
            row.status, row.delivered_at = "delivered", now
        elif attempt >= settings.webhook_max_attempts:
            row.status = "failed"
            log.warning(
                "webhook %s failed for good after %d attempts: %s", delivery_id, attempt, error
            )
        else:
            row.next_attempt_at = now + backoff(settings, attempt)
            log.info("webhook %s attempt %d failed (%s); retrying", delivery_id, attempt, error)
        session.commit()
    return 1 if error is None else 0
