"""Requests placed on each engine and not finished yet: what a hot swap's drain waits for.

dispatch.submit holds every synthesis job against the engine it was placed on; the count drops when
the job's future is done (result, error or cancel alike).
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any


class InFlight:
    """Requests placed on each engine and not finished yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[int, int] = {}

    def hold(self, engine: Any, future: Future) -> None:
        """Count ``future`` against ``engine`` until it is done (results, errors and cancels alike)."""
        key = id(engine)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
        future.add_done_callback(lambda _f: self._release(key))

    def _release(self, key: int) -> None:
        with self._lock:
            left = self._counts.get(key, 0) - 1
            if left > 0:
                self._counts[key] = left
            else:
                self._counts.pop(key, None)

    def count(self, engine: Any) -> int:
        return self._counts.get(id(engine), 0)
