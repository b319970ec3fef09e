"""Share-link tokens: random, derived from a server secret, stored only as a hash.

``token = base64url(HMAC-SHA256(secret, nonce))`` with a fresh 128-bit ``nonce`` per link:
the token carries at least 128 bits of randomness (the nonce) and, without the secret, the
stored ``(nonce, sha256(token))`` pair reveals nothing usable. With the secret the server
can show a link's URL again (``GET /plans/{id}``'s ``share_url``) without ever storing it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

NONCE_BYTES = 16  # 128 bits


@dataclass(frozen=True)
class NewToken:
    """A freshly minted token with what the database keeps of it."""

    token: str
    token_hash: str
    nonce: str


def hash_token(token: str) -> str:
    """The stored form of a token (hex sha256); lookups hash the presented token the same way."""
    return hashlib.sha256(token.encode()).hexdigest()


def derive_token(secret: bytes, nonce: str) -> str:
    """The token for ``nonce`` under ``secret``: 43 URL-safe characters, no padding."""
    digest = hmac.new(secret, nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_token(secret: bytes) -> NewToken:
    """A new token with a fresh random nonce."""
    nonce = secrets.token_hex(NONCE_BYTES)
    token = derive_token(secret, nonce)
    return NewToken(token=token, token_hash=hash_token(token), nonce=nonce)


def rederive(secret: bytes, nonce: str | None, token_hash: str) -> str | None:
    """The token behind a stored row, or ``None`` when ``secret`` did not make it."""
    if nonce is None:
        return None
    token = derive_token(secret, nonce)
    return token if hmac.compare_digest(hash_token(token), token_hash) else None
