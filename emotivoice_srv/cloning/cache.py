"""The fit cache: reference PCM hash + encoder/fit/model versions -> fitted recipe, on disk (diskcache).

Entries are JSON bytes prefixed by their own sha256, so a damaged entry (disk error, a partial write
from another tool, a stray edit) is detected on read, dropped and recomputed — never half-used.
The cache has a size bound and evicts least-recently-used entries; it survives restarts.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("emotivoice_srv.cloning")
FULL_BELOW_BYTES = 1 << 20
"""A write that fails with less free space than this under the cache is a full disk, whatever SQLite said."""


@dataclass(frozen=True)
class CacheKey:
    audio_sha256: str
    encoder: str
    fit: str
    model: str

    def __str__(self) -> str:
        return f"fit/{self.audio_sha256}/{self.encoder}/{self.fit}/{self.model}"


def encode_entry(value: dict[str, Any]) -> bytes:
    """JSON bytes prefixed by their own sha256 (hex), so damage is detected on read."""
    payload = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(payload).hexdigest().encode("ascii") + payload


def decode_entry(raw: object) -> dict[str, Any]:
    """The value of an ``encode_entry`` blob; ValueError when it is damaged."""
    try:
        if not isinstance(raw, bytes) or len(raw) < 65:
            raise ValueError("not a checksummed entry")
        digest, payload = raw[:64].decode("ascii"), raw[64:]
        if hashlib.sha256(payload).hexdigest() != digest:
            raise ValueError("checksum mismatch")
        value = json.loads(payload)
    except UnicodeDecodeError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(value, dict):
        raise ValueError("payload is not an object")
    return value


def read_entry(raw: object, key: CacheKey, drop: Callable[[], None]) -> dict[str, Any] | None:
    """A stored blob's value; None for a miss, or for a damaged entry (logged, then ``drop``ped)."""
    if raw is None:
        return None
    try:
        return decode_entry(raw)
    except ValueError as exc:
        log.warning("fit cache entry corrupt; recomputing", extra={"key": str(key), "error": str(exc)})
        drop()
        return None


class FitCache:
    """get/put of JSON-able dicts; ``get`` returns None on a miss or a corrupt entry (then removed)."""

    def __init__(self, directory: Path, size_limit_bytes: int = 256 * 1024 * 1024) -> None:
        import diskcache

        Path(directory).mkdir(parents=True, exist_ok=True)
        self.directory = Path(directory)
        self._cache = diskcache.Cache(str(directory), size_limit=size_limit_bytes,
                                      eviction_policy="least-recently-used")
        self.corrupt_entries = 0

    def get(self, key: CacheKey) -> dict[str, Any] | None:
        try:
            raw = self._cache.get(str(key))
        except Exception as exc:  # unreadable value file or unpickling garbage
            log.warning("fit cache entry unreadable; recomputing", extra={"key": str(key), "error": repr(exc)})
            self._drop(key)
            return None
        return read_entry(raw, key, lambda: self._drop(key))

    def contains(self, key: CacheKey) -> bool:
        """Whether an entry exists (not verified: ``get`` does that)."""
        try:
            return str(key) in self._cache
        except Exception:  # a broken store reads as absent; get/put will log it
            return False

    def put(self, key: CacheKey, value: dict[str, Any]) -> None:
        try:
            self._cache.set(str(key), encode_entry(value))
        except Exception as exc:
            from ..errors import InsufficientStorage, disk_full

            # SQLite on a full disk may also answer "locked" (diskcache's Timeout): ask the file system
            if disk_full(exc) or shutil.disk_usage(self.directory).free < FULL_BELOW_BYTES:
                raise InsufficientStorage(f"the fit cache under {self.directory} is on a full file system") from exc
            raise

    def _drop(self, key: CacheKey) -> None:
        self.corrupt_entries += 1
        try:
            self._cache.delete(str(key))
        except Exception:  # pragma: no cover - a broken store is logged by the next access
            pass

    def __len__(self) -> int:
        return len(self._cache)

    def volume(self) -> int:
        return int(self._cache.volume())

    def close(self) -> None:
        self._cache.close()
