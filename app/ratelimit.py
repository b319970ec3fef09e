"""Per-API-key rate limiting: a token bucket per key, in process memory.

One process keeps its own buckets, so with N server processes a key gets up to N times the
rate; a shared limiter (Redis) is the fix when that matters. Answers 429 with Retry-After.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from app.errors import AppError


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"


class RateLimiter:
    """``per_minute`` requests a minute per key, with bursts up to ``burst``."""

    def __init__(
        self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise ``RateLimited`` saying when to come back."""
        if self.rate <= 0:
            return
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - seen) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.rate)
                raise RateLimited(
                    f"Too many requests for this API key; retry in {wait} s", retry_after=wait
                )
            self._buckets[key] = (tokens - 1.0, now)
