"""Migration 0004: share links handed out before it keep working, stored only hashed now."""

from __future__ import annotations

import hashlib
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.db import alembic_config
from app.plans import repository
from app.plans.share_tokens import hash_token
from app.web.service import live_link


def test_existing_raw_tokens_are_hashed_in_place(tmp_path: Path) -> None:
    """A raw token stored by 0003 becomes sha256(token) with no nonce and still resolves."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0003")
    engine = create_engine(url)
    raw = "old-raw-token-0123456789abcdefghijklmnopqrstu"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO plans (id, created_at, status, timezone, request, summary, warnings)"
                " VALUES ('p1', '2026-12-01 00:00:00', 'complete', 'UTC', '{}', '{}', '[]')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO share_links (token, plan_id, created_at)"
                " VALUES (:t, 'p1', '2026-12-01 00:00:00')"
            ),
            {"t": raw},
        )
    command.upgrade(config, "head")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT token_hash, nonce FROM share_links")).one()
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest() == hash_token(raw)
    assert row.nonce is None
    with Session(engine) as session:
        assert live_link(session, raw).plan_id == "p1"
        assert repository.get_share_link(session, raw) is None  # the raw value is gone
    engine.dispose()
