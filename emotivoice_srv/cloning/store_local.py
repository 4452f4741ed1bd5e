"""The embedded voice store (``--voice-store local``, the default): today's files, for one process.

Records are the registry's atomic JSON files (``<cache-dir>/voices/<id>.json`` for the default
tenant, ``<cache-dir>/voices/<tenant>/<id>.json`` for the others), fits the size-bounded diskcache
under ``<cache-dir>/fits``; status and fit locks live in memory (one process: the cloning service's
in-process single-flight already keeps a fit from running twice).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from .cache import CacheKey, FitCache
from .registry import EnrolledVoice, VoiceRegistry
from .store import DEFAULT_TENANT, TENANT_PATTERN, VoiceStore


class LocalStore(VoiceStore):
    backend = "local"

    def __init__(self, cache_dir: Path, cache_bytes: int = 256 * 1024 * 1024) -> None:
        super().__init__()
        self.root = Path(cache_dir) / "voices"
        self.fits = FitCache(Path(cache_dir) / "fits", cache_bytes)
        self._registries: dict[str, VoiceRegistry] = {DEFAULT_TENANT: VoiceRegistry(self.root)}
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir() and TENANT_PATTERN.match(sub.name) and sub.name != DEFAULT_TENANT:
                self._registries[sub.name] = VoiceRegistry(sub)
        self._status: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._locks: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def corrupt_entries(self) -> int:
        return self.fits.corrupt_entries

    def registry(self, tenant: str) -> VoiceRegistry:
        with self._lock:
            found = self._registries.get(tenant)
            if found is None:
                if not TENANT_PATTERN.match(tenant):
                    raise ValueError(f"bad tenant {tenant!r}")
                found = self._registries[tenant] = VoiceRegistry(self.root / tenant)
            return found

    # -- fits ---------------------------------------------------------------------------------
    def fit_get(self, key: CacheKey) -> dict[str, Any] | None:
        return self.fits.get(key)

    def fit_contains(self, key: CacheKey) -> bool:
        return self.fits.contains(key)

    def fit_put(self, key: CacheKey, value: dict[str, Any]) -> None:
        self.fits.put(key, value)

    def lock_fit(self, key: CacheKey) -> str | None:
        with self._lock:
            if str(key) in self._locks:
                return None
            token = self._locks[str(key)] = f"{time.monotonic_ns()}"
            return token

    def refresh_fit_lock(self, key: CacheKey, token: str) -> None:
        pass

    def unlock_fit(self, key: CacheKey, token: str) -> None:
        with self._lock:
            if self._locks.get(str(key)) == token:
                del self._locks[str(key)]

    def fit_locked(self, key: CacheKey) -> bool:
        return str(key) in self._locks

    # -- records ------------------------------------------------------------------------------
    def records(self) -> list[tuple[str, EnrolledVoice]]:
        with self._lock:
            registries = dict(self._registries)
        return [(tenant, voice) for tenant, reg in sorted(registries.items()) for voice in reg]

    def get(self, tenant: str, voice_id: str) -> EnrolledVoice | None:
        return self.registry(tenant).get(voice_id)

    def save(self, tenant: str, voice: EnrolledVoice) -> None:
        self.registry(tenant).save(voice)
        self.status_clear(tenant, voice.id)

    def delete(self, tenant: str, voice_id: str) -> bool:
        return self.registry(tenant).delete(voice_id)

    # -- status -------------------------------------------------------------------------------
    def status_get(self, tenant: str, voice_id: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._status.get((tenant, voice_id))
            if entry is None or entry[0] < time.monotonic():
                self._status.pop((tenant, voice_id), None)
                return None
            return entry[1]

    def status_put(self, tenant: str, voice_id: str, status: dict[str, Any], ttl_s: float) -> None:
        with self._lock:
            self._status[(tenant, voice_id)] = (time.monotonic() + ttl_s, dict(status))

    def status_clear(self, tenant: str, voice_id: str) -> None:
        with self._lock:
            self._status.pop((tenant, voice_id), None)

    def close(self) -> None:
        self.fits.close()
