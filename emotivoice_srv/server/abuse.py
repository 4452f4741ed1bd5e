"""Abuse limits: a token bucket per caller, and the parsing of the limits' settings.

A caller is the tenant of its API key when keys are configured (keys of one tenant share a bucket), else
the client's address. Each API request (``/v1/*``) takes one token; a bucket holds at most ``burst`` tokens
and refills at ``rate`` per second, so a caller may send ``burst`` requests at once and ``rate`` per second
for ever after. An empty bucket answers 429 ``rate_limited`` with the seconds until its next token in
``Retry-After``. Buckets live in memory per process (a replica limits what reaches it) and the least
recently used are forgotten beyond ``max_keys`` (a forgotten caller starts full again). Pure: the clock is
passed in.

The other limits (concurrent enrollments per caller, header bytes, the time a body may take to arrive) are
enforced where the request is read (middleware.py, voices_api.py); their settings are parsed here.
"""
from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$", re.IGNORECASE)
_PERIOD_S = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0,
             "hour": 3600.0}


@dataclass(frozen=True)
class Rate:
    count: float
    period_s: float

    @property
    def per_s(self) -> float:
        return self.count / self.period_s

    def __str__(self) -> str:
        return f"{self.count:g}/{self.period_s:g}s"


def parse_rate(raw: str) -> Rate | None:
    """'10/s', '600/min', '3600/h' -> Rate; 'off', 'none', '0' or '' -> None (no limit)."""
    value = raw.strip().lower()
    if value in ("", "off", "none", "0"):
        return None
    match = _RATE.match(value)
    if not match or float(match.group(1)) <= 0:
        raise ValueError("expected COUNT/PERIOD with period s, min or h (e.g. 10/s, 600/min) or 'off'")
    return Rate(float(match.group(1)), _PERIOD_S[match.group(2).lower()])


@dataclass(frozen=True)
class AbuseLimits:
    rate: Rate | None = None
    """Requests per caller (None: unlimited)."""
    burst: int | None = None
    """Bucket size (None: one period's count, e.g. 10 for 10/s)."""
    max_enrollments_per_key: int = 2
    """Enrollments (fits) one caller may have pending at once; 0: no cap."""
    max_header_bytes: int = 16_384
    """Request line + headers; over it: 431 (a head still incomplete past twice it: the HTTP parser refuses it)."""
    body_timeout_s: float = 60.0
    """Seconds from a request's arrival within which its whole body must have arrived (408 after)."""

    @property
    def bucket_size(self) -> int:
        if self.burst is not None:
            return self.burst
        return max(1, math.floor(self.rate.count)) if self.rate is not None else 0


class TokenBuckets:
    """One bucket per caller key; ``take`` returns 0.0 when a token was taken, else seconds to wait."""

    def __init__(self, rate_per_s: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.max_keys, self.clock = rate_per_s, burst, max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait

    def __len__(self) -> int:
        return len(self._buckets)
