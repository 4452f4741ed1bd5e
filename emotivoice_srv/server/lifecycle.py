"""What the probes report: start-up, warm-up and draining, as plain state (no I/O).

startupz: loading finished (the engine is in memory; true before the port even opens).
readyz:   the main model is warmed and the server is not draining.
livez:    the event loop answers promptly (measured by a heartbeat task, see app.py).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class Lifecycle:
    started_at: float = field(default_factory=time.monotonic)
    load_seconds: float | None = None
    warmup_seconds: float | None = None
    warm: bool = False
    warmup_error: str | None = None
    draining: bool = False
    drain_started_at: float | None = None
    loop_lag_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def started(self) -> bool:
        return self.load_seconds is not None

    def loaded(self, seconds: float) -> None:
        self.load_seconds = seconds

    def warmed(self, seconds: float) -> None:
        with self._lock:
            self.warmup_seconds, self.warm = seconds, True

    def warmup_failed(self, reason: str) -> None:
        with self._lock:
            self.warmup_error = reason

    def begin_drain(self) -> bool:
        """Flip to draining; True the first time only."""
        with self._lock:
            if self.draining:
                return False
            self.draining, self.drain_started_at = True, time.monotonic()
            return True

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason) — the reason is what a 503 tells the operator."""
        if self.draining:
            return False, "draining: the server is shutting down"
        if not self.started:
            return False, "loading: the model is not loaded yet"
        if self.warmup_error is not None:
            return False, f"warm-up failed: {self.warmup_error}"
        if not self.warm:
            return False, "warming: the warm-up synthesis has not finished"
        return True, "ready"
