"""API keys: shown once, stored hashed, verified in constant time, revocable."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import auth
from models import ApiKey


def test_generated_keys_have_the_documented_shape() -> None:
    """Keys are ``vp_`` plus token_urlsafe(32): 46 URL-safe characters, never repeated."""
    keys = {auth.generate_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert key.startswith("vp_")
        assert len(key) == 46
        assert key.replace("-", "").replace("_", "").isalnum()


def test_created_key_verifies(session: Session) -> None:
    """The raw key returned by create_api_key verifies to the same row, with its scopes."""
    key, raw = auth.create_api_key(session, "integrator", ["plan", "territory"])
    found = auth.verify_api_key(session, raw)
    assert found is not None
    assert found.id == key.id
    assert found.scopes == ["plan", "territory"]


def test_raw_key_is_never_stored(session: Session) -> None:
    """Only the prefix and the SHA-256 of the key reach the database, nothing longer."""
    key, raw = auth.create_api_key(session, "integrator", ["plan"])
    session.commit()
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(key.prefix)
    assert len(key.prefix) < len(raw) // 2
    row = session.execute(text("SELECT * FROM api_keys")).one()
    assert all(raw not in str(value) for value in row)


def test_wrong_key_is_refused(session: Session) -> None:
    """A different key, a key with the right prefix but wrong tail, or junk verify to None."""
    _, raw = auth.create_api_key(session, "integrator", ["plan"])
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    for candidate in (auth.generate_key(), tampered, raw + "x", "", "vp_", "Bearer " + raw):
        assert auth.verify_api_key(session, candidate) is None


def test_revoked_key_is_refused(session: Session) -> None:
    """After revoke_api_key the key no longer verifies; revoking twice keeps the first time."""
    key, raw = auth.create_api_key(session, "integrator", ["plan"])
    revoked = auth.revoke_api_key(session, key.id)
    assert revoked is not None
    first = revoked.revoked_at
    assert first is not None
    auth.revoke_api_key(session, key.id)
    assert key.revoked_at == first
    assert auth.verify_api_key(session, raw) is None
    assert auth.revoke_api_key(session, key.id + 1000) is None


def test_other_keys_survive_a_revocation(session: Session) -> None:
    """Revoking one key leaves the others working."""
    first, _ = auth.create_api_key(session, "one", ["plan"])
    _, raw_two = auth.create_api_key(session, "two", ["plan"])
    auth.revoke_api_key(session, first.id)
    assert auth.verify_api_key(session, raw_two) is not None


def test_default_scope_is_plan(session: Session) -> None:
    """A key created without scopes, or a bare row, gets the ``plan`` scope."""
    key, _ = auth.create_api_key(session, "integrator")
    assert key.scopes == ["plan"]
    bare = ApiKey(name="bare", prefix="vp_x", key_hash="0" * 64)
    session.add(bare)
    session.flush()
    assert session.scalars(select(ApiKey.scopes).where(ApiKey.id == bare.id)).one() == ["plan"]


@pytest.mark.parametrize(
    ("name", "scopes"),
    [("", ["plan"]), ("x" * 101, ["plan"]), ("ok", []), ("ok", ["superuser"])],
)
def test_bad_name_or_scopes_are_refused(session: Session, name: str, scopes: list[str]) -> None:
    """Names must be 1-100 characters and at least one known scope is required."""
    with pytest.raises(ValueError, match="API key needs"):
        auth.create_api_key(session, name, scopes)
