"""Detached manifests kept for a short time, so a client can fetch the one its ``Link`` header names.

Bounded twice: entries expire ``ttl_s`` after they were reserved, and past ``max_entries`` the oldest
go first. A stream reserves its id when its headers leave (the manifest cannot exist yet: the body
is still being rendered) and fulfils it once the last byte is known; a reader of a pending id waits
for it. Ids are random (128 bits), so one client cannot enumerate another's manifests. Thread-safe:
worker threads fulfil, the event loop reads.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future


class ManifestStore:
    def __init__(self, ttl_s: float = 600.0, max_entries: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s <= 0 or max_entries <= 0:
            raise ValueError("ttl_s and max_entries must be > 0")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Future]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            key, (expires, future) = next(iter(self._entries.items()))
            if expires > now and len(self._entries) <= self.max_entries:
                break
            del self._entries[key]
            if not future.done():
                future.set_exception(KeyError(key))

    def reserve(self) -> str:
        """A new id whose manifest comes later (``fulfil``) or never (``fail``)."""
        key = secrets.token_hex(16)
        with self._lock:
            self._entries[key] = (self._clock() + self.ttl_s, Future())
            self._expire()
        return key

    def put(self, manifest: bytes) -> str:
        key = self.reserve()
        self.fulfil(key, manifest)
        return key

    def fulfil(self, key: str, manifest: bytes) -> None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and not entry[1].done():
            entry[1].set_result(manifest)

    def fail(self, key: str, exc: BaseException) -> None:
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is not None and not entry[1].done():
            entry[1].set_exception(exc)

    def get(self, key: str) -> Future | None:
        """The entry's future (done, or pending while its stream renders), or None (unknown/expired)."""
        with self._lock:
            self._expire()
            entry = self._entries.get(key)
        return entry[1] if entry is not None else None
