"""API keys: issue, verify, revoke.

The raw key is shown once at creation and never stored. Lookup goes through a short prefix
(indexed) and the full key is checked against its SHA-256 with a constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiKey, utcnow

KEY_MARKER = "vp_"
# "vp_" plus 9 random characters: 54 bits, so prefix collisions stay rare enough to ignore
# for speed, while correctness never depends on them (every candidate's hash is checked).
PREFIX_LENGTH = 12
_MAX_KEY_LENGTH = 128
# plan: create and read plans; read: read-only; territory: territory admin (everything).
SCOPES = ("plan", "read", "territory")


def generate_key() -> str:
    """A fresh key: ``vp_`` and 256 random bits, URL-safe so it fits a header unquoted."""
    return KEY_MARKER + secrets.token_urlsafe(32)


def hash_key(raw: str) -> str:
    """SHA-256 hex of the whole key."""
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_key(
    session: Session, name: str, scopes: Sequence[str] = ("plan",)
) -> tuple[ApiKey, str]:
    """Store a new key for ``name``; returns the row and the raw key, which is not kept."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("an API key needs a name of 1 to 100 characters")
    scope_list = [s.strip() for s in scopes]
    if not scope_list or not all(scope_list):
        raise ValueError("an API key needs at least one non-empty scope")
    unknown = sorted(set(scope_list) - set(SCOPES))
    if unknown:
        raise ValueError(
            f"an API key needs known scopes, not {', '.join(unknown)}; use {', '.join(SCOPES)}"
        )
    raw = generate_key()
    key = ApiKey(
        name=name,
        prefix=raw[:PREFIX_LENGTH],
        key_hash=hash_key(raw),
        scopes=sorted(set(scope_list)),
        created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    return key, raw


def verify_api_key(session: Session, raw: str) -> ApiKey | None:
    """The live key matching ``raw``, or ``None`` for unknown, malformed or revoked keys."""
    if not raw.startswith(KEY_MARKER) or not PREFIX_LENGTH < len(raw) <= _MAX_KEY_LENGTH:
        return None
    digest = hash_key(raw)
    candidates = session.scalars(select(ApiKey).where(ApiKey.prefix == raw[:PREFIX_LENGTH]))
    for key in candidates:
        if hmac.compare_digest(key.key_hash, digest):
            return key if key.revoked_at is None else None
    return None


def revoke_api_key(session: Session, key_id: int) -> ApiKey | None:
    """Revoke the key (idempotent: the first revocation time is kept); ``None`` if unknown."""
    key = session.get(ApiKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def allows(key: ApiKey, scope: str) -> bool:
    """Whether ``key`` may act with ``scope``: territory admins may do all, plan may read."""
    granted = set(key.scopes)
    if "territory" in granted or scope in granted:
        return True
    return scope == "read" and "plan" in granted
