"""Per-token rate limit: a token bucket per API token, in this process. Off by default."""

from __future__ import annotations

import math
import threading
import time

# Buckets idle this long are full again and can be forgotten.
_IDLE_SECONDS = 300.0
_PRUNE_ABOVE = 10_000


class TokenBuckets:
    """`rate` requests per second on average, bursts up to `burst`, per key."""

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated at)
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """0 when the request may go ahead, else the whole seconds to wait (Retry-After)."""
        now = time.monotonic()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0
            else:
                self._buckets[key] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
            if len(self._buckets) > _PRUNE_ABOVE:
                self._prune(now)
        return wait

    def _prune(self, now: float) -> None:
        idle = [key for key, (_, updated) in self._buckets.items() if now - updated > _IDLE_SECONDS]
        for key in idle:
            del self._buckets[key]
