"""Process-level probe state: start-up, draining and event-loop health (no I/O).

startupz: a tier's model is in memory (true before the port even opens).
readyz:   not draining, and the tiers say ready (main warmed; see tiers.Tiers.readiness).
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
    """Exec -> the first tier loaded (the port opens right after)."""
    draining: bool = False
    drain_started_at: float | None = None
    loop_lag_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def started(self) -> bool:
        return self.load_seconds is not None

    def loaded(self, seconds: float) -> None:
        self.load_seconds = seconds

    def begin_drain(self) -> bool:
        """Flip to draining; True the first time only."""
        with self._lock:
            if self.draining:
                return False
            self.draining, self.drain_started_at = True, time.monotonic()
            return True

    def readiness(self, tiers_ready: tuple[bool, str]) -> tuple[bool, str]:
        """(ready, reason) — draining and loading outrank what the tiers say."""
        if self.draining:
            return False, "draining: the server is shutting down"
        if not self.started:
            return False, "loading: the model is not loaded yet"
        return tiers_ready
