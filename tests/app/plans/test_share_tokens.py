"""Share tokens: random, re-derivable only with the secret, stored as a hash."""

from __future__ import annotations

import base64

from app.plans.share_tokens import hash_token, new_token, rederive


def test_tokens_are_long_random_and_rederivable_with_the_secret() -> None:
    """A token decodes to 32 bytes, differs per call, and only its secret re-derives it."""
    first, second = new_token(b"secret"), new_token(b"secret")
    assert first.token != second.token
    assert len(base64.urlsafe_b64decode(first.token + "=")) == 32
    assert len(bytes.fromhex(first.nonce)) == 16  # 128 random bits
    assert first.token_hash == hash_token(first.token) != first.token
    assert rederive(b"secret", first.nonce, first.token_hash) == first.token
    assert rederive(b"other", first.nonce, first.token_hash) is None
    assert rederive(b"secret", None, first.token_hash) is None
