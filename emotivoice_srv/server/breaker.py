"""A circuit breaker for the upstream: after N consecutive failures work stays local until a probe
of the upstream succeeds.

    closed --(N failures in a row)--> open --(probe answers 200)--> closed
       ^ a success resets the count      |  (probes every ``probe_interval_s``, by the server)

While open, ``allow()`` is False: requests do not wait on a dead or slow upstream at all. Pure state
(the caller passes results in); thread-safe enough for one event loop.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("emotivoice_srv.upstream")

CLOSED, OPEN = "closed", "open"
STATES = (CLOSED, OPEN)


class UpstreamUnavailable(Exception):
    """The upstream cannot take this request now (``reason`` says why); serve it locally."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CircuitBreaker:
    def __init__(self, failures_to_open: int, clock: Callable[[], float] = time.monotonic) -> None:
        if failures_to_open < 1:
            raise ValueError("failures_to_open must be >= 1")
        self.failures_to_open = failures_to_open
        self.state = CLOSED
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self.listeners: list[Callable[[str], None]] = []
        self._clock = clock

    def allow(self) -> bool:
        return self.state == CLOSED

    def success(self) -> None:
        self.consecutive_failures = 0
        if self.state == OPEN:
            self._move(CLOSED)

    def failure(self, why: str) -> None:
        self.consecutive_failures += 1
        if self.state == CLOSED and self.consecutive_failures >= self.failures_to_open:
            self.opened_at = self._clock()
            log.warning("upstream breaker opened", extra={"error": why, "failures": self.consecutive_failures})
            self._move(OPEN)

    def _move(self, state: str) -> None:
        self.state = state
        if state == CLOSED:
            log.info("upstream breaker closed")
        for listener in list(self.listeners):
            listener(state)
