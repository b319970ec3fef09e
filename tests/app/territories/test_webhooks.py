"""Signed webhooks against a real local HTTP server: signature, retries, backoff, claiming."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import make_session_factory
from app.territories import webhooks
from models import Territory, TerritoryRun, WebhookDelivery, utcnow

SECRET = "s3cret-s3cret-s3cret"


class Hook:
    """A webhook receiver answering from a script of status codes (then 200), recording calls."""

    def __init__(self, script: list[int | str]) -> None:
        self.script = list(script)
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with hook.lock:
                    hook.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    step = hook.script.pop(0) if hook.script else 200
                if step == "slow":
                    time.sleep(1.0)
                    step = 200
                self.send_response(int(step))
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_factory() -> Iterator[Any]:
    made: list[Hook] = []

    def make(script: list[int | str]) -> Hook:
        made.append(Hook(script))
        return made[-1]

    yield make
    for hook in made:
        hook.close()


@pytest.fixture
def factory(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)


def settings_for(db_url: str, **changes: Any) -> Settings:
    base = {
        "database_url": db_url,
        "webhook_backoff_seconds": 10.0,
        "webhook_backoff_max_seconds": 60.0,
        "webhook_max_attempts": 3,
        "webhook_timeout_seconds": 0.5,
    }
    return Settings(**{**base, **changes})


def queue_delivery(factory: sessionmaker[Session], url: str, secret: str | None = SECRET) -> int:
    """A finished run of a territory with a webhook, and its queued ``run.completed``."""
    with factory() as session:
        territory = Territory(
            id="t1", name="T", timezone="Asia/Shanghai", webhook_url=url, webhook_secret=secret
        )
        session.add(territory)
        run = TerritoryRun(
            id="r1",
            territory_id="t1",
            week_start=date(2026, 12, 7),
            trigger="manual",
            status="succeeded",
            finished_at=utcnow(),
        )
        session.add(run)
        session.flush()
        plans = [{"rep_id": "rep-1", "plan_id": "p1", "share_url": "https://x/s/tok"}]
        delivery = webhooks.enqueue_run_completed(
            session, territory, run, {"plans": plans, "failed": []}
        )
        assert delivery is not None
        session.commit()
        return delivery.id


def test_signed_delivery_is_retried_with_backoff_then_delivered(
    db_url: str, factory: sessionmaker[Session], hook_factory: Any
) -> None:
    """500 first, then 200: two POSTs of the same signed body, the second after the backoff."""
    hook = hook_factory([500])
    settings = settings_for(db_url)
    delivery_id = queue_delivery(factory, hook.url)
    now = utcnow()
    assert webhooks.deliver_due_webhooks(factory, settings, now) == 0
    with factory() as session:
        row = session.get_one(WebhookDelivery, delivery_id)
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500")
        assert row.next_attempt_at >= now + timedelta(seconds=9)
    # Not yet due: nothing is sent.
    assert webhooks.deliver_due_webhooks(factory, settings, now + timedelta(seconds=1)) == 0
    assert len(hook.calls) == 1
    assert webhooks.deliver_due_webhooks(factory, settings, now + timedelta(seconds=11)) == 1
    assert len(hook.calls) == 2
    with factory() as session:
        row = session.get_one(WebhookDelivery, delivery_id)
        assert (row.status, row.attempts, row.last_error) == ("delivered", 2, None)
        assert row.delivered_at is not None

    for headers, body in hook.calls:
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-vp-signature"] == f"sha256={expected}"
        assert headers["x-vp-event"] == "run.completed"
        assert headers["x-vp-delivery"] == str(delivery_id)
        payload = json.loads(body)
        assert payload["run"]["id"] == "r1"
        assert payload["run"]["status"] == "succeeded"
        assert payload["plans"][0]["share_url"] == "https://x/s/tok"
    assert hook.calls[0][1] == hook.calls[1][1]  # the same bytes each time
    # Nothing left to send.
    assert webhooks.deliver_due_webhooks(factory, settings, now + timedelta(days=1)) == 0
    assert len(hook.calls) == 2


def test_delivery_fails_after_max_attempts_and_timeouts_count(
    db_url: str, factory: sessionmaker[Session], hook_factory: Any
) -> None:
    """A timeout and two 503s: with 3 attempts allowed the delivery ends ``failed``."""
    hook = hook_factory(["slow", 503, 503])
    settings = settings_for(db_url)
    delivery_id = queue_delivery(factory, hook.url)
    now = utcnow()
    webhooks.deliver_due_webhooks(factory, settings, now)
    with factory() as session:
        row = session.get_one(WebhookDelivery, delivery_id)
        assert row.status == "pending"
        assert "Timeout" in (row.last_error or "")
    for step in (1, 2):
        webhooks.deliver_due_webhooks(factory, settings, now + timedelta(minutes=5 * step))
    with factory() as session:
        row = session.get_one(WebhookDelivery, delivery_id)
        assert (row.status, row.attempts, row.last_error) == ("failed", 3, "HTTP 503")
    webhooks.deliver_due_webhooks(factory, settings, now + timedelta(days=1))
    assert len(hook.calls) == 3


def test_two_senders_never_send_the_same_attempt(
    db_url: str, factory: sessionmaker[Session], hook_factory: Any
) -> None:
    """Two schedulers delivering at once: one POST, one delivered row."""
    hook = hook_factory([])
    settings = settings_for(db_url)
    delivery_id = queue_delivery(factory, hook.url)
    now = utcnow()
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def deliver() -> None:
        barrier.wait()
        counts.append(webhooks.deliver_due_webhooks(factory, settings, now))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == [0, 1]
    assert len(hook.calls) == 1
    with factory() as session:
        assert session.get_one(WebhookDelivery, delivery_id).status == "delivered"


def test_backoff_doubles_and_is_capped(db_url: str) -> None:
    """base x 2^(attempt-1), at most the configured maximum."""
    settings = settings_for(db_url)
    assert [webhooks.backoff(settings, n).total_seconds() for n in (1, 2, 3, 4)] == [
        10,
        20,
        40,
        60,
    ]


def test_no_secret_is_never_sent_unsigned(
    db_url: str, factory: sessionmaker[Session], hook_factory: Any
) -> None:
    """A territory with a URL but no secret (stored before secrets were required): nothing
    is POSTed; each attempt fails saying to set a secret and is retried, and once a secret
    is set the next attempt is delivered, signed."""
    hook = hook_factory([])
    settings = settings_for(db_url)
    delivery_id = queue_delivery(factory, hook.url, secret=None)
    now = utcnow()
    assert webhooks.deliver_due_webhooks(factory, settings, now) == 0
    assert hook.calls == []
    with factory() as session:
        row = session.get_one(WebhookDelivery, delivery_id)
        assert (row.status, row.attempts) == ("pending", 1)
        assert "no webhook_secret" in (row.last_error or "")
        assert "PATCH /territories/t1" in (row.last_error or "")
        session.get_one(Territory, "t1").webhook_secret = SECRET
        session.commit()
    later = now + timedelta(seconds=11)
    assert webhooks.deliver_due_webhooks(factory, settings, later) == 1
    ((headers, body),) = hook.calls
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-vp-signature"] == f"sha256={expected}"


def test_no_secret_fails_for_good_after_max_attempts(
    db_url: str, factory: sessionmaker[Session], hook_factory: Any
) -> None:
    """Never given a secret: the delivery ends ``failed`` like any other, nothing POSTed."""
    hook = hook_factory([])
    settings = settings_for(db_url)
    delivery_id = queue_delivery(factory, hook.url, secret=None)
    now = utcnow()
    for step in range(3):
        webhooks.deliver_due_webhooks(factory, settings, now + timedelta(minutes=5 * step))
    with factory() as session:
        row = session.get_one(WebhookDelivery, delivery_id)
        assert (row.status, row.attempts) == ("failed", 3)
    assert hook.calls == []
