"""The voice store: where enrolled voices, enrollment status, the fit cache and fit locks live.

One interface, two backends chosen once from ``--voice-store`` and passed in (the cloning service
and the HTTP routes never know which one they hold):

- ``local`` (default): voice files + diskcache under ``<cache-dir>``, for one process
  (``store_local.LocalStore``).
- ``redis://[user:pass@]host:port/db`` or ``rediss://...`` (TLS): a Redis or Valkey server that
  every replica shares (``store_redis.RedisStore``), with pub/sub change notices.

Records are keyed by (tenant, voice id); the fit cache is content-addressed (reference PCM hash +
encoder/fit/model versions) and shared by every tenant. Neither backend ever stores reference audio:
only fitted recipes and the audio's hash.

Errors: a store that cannot be reached raises ``StoreUnavailable`` (503 ``voice_store_unavailable``
with Retry-After); a URL that cannot work raises ``ValueError`` at start-up, naming the setting.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import Unavailable
from .cache import CacheKey
from .registry import EnrolledVoice

DEFAULT_TENANT = "default"
"""The tenant of a server without API keys, and of the CLI unless --tenant says otherwise."""
TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SETTING = "--voice-store / EMOTIVOICE_VOICE_STORE"
SCHEMES = ("redis", "rediss")


class StoreUnavailable(Unavailable):
    """The voice store cannot be reached now; the client should retry."""

    code = "voice_store_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message, code=self.code, retry_after=retry_after)


@dataclass(frozen=True)
class StoreConfig:
    """How to reach the store. Every field has a flag and an EMOTIVOICE_* variable (settings.STORE)."""

    url: str = "local"
    password: str | None = None
    """Overrides a password in the URL (the chart gives it from a Secret)."""
    timeout_s: float = 1.0
    """Socket connect/read timeout of one store call: a slow store costs a request this long at most."""
    fit_lock_ttl_s: float = 30.0
    """A fit's lock expires this long after its last refresh (a replica killed mid-fit frees it)."""
    fit_ttl_s: float = 30 * 86400.0
    """Redis: a cached fit expires after this long unused (records never expire)."""
    cache_bytes: int = 256 * 1024 * 1024
    """local: the size bound of the on-disk fit cache."""

    @property
    def backend(self) -> str:
        return "local" if self.url == "local" else "redis"


def check_url(url: str) -> None:
    """Raise ValueError (naming the setting) for a store URL that cannot work."""
    if url == "local":
        return
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"{SETTING}={url!r}: expected 'local' or redis://[user:pass@]host:port/db "
                         "(rediss:// for TLS)")
    try:
        parts.port  # noqa: B018 - urllib parses the port lazily: read it to validate it
    except ValueError as exc:
        raise ValueError(f"{SETTING}: bad port in {redact(url)!r}: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"{SETTING}: no host in {redact(url)!r}")
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ValueError(f"{SETTING}: the database in {redact(url)!r} must be a number, got {path!r}")


def redact(url: str) -> str:
    """The URL without its password (for logs and error messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


Changed = Callable[[str, str], None]
"""A change notice: (tenant, voice id) was saved or deleted, possibly by another replica."""


class VoiceStore(ABC):
    """Records by (tenant, id), enrollment status, the content-addressed fit cache, fit locks."""

    backend: str = ""

    def __init__(self) -> None:
        self.error_observers: list[Callable[[str], None]] = []
        """Called with the operation's name whenever a store call fails (metrics)."""
        self._corrupt = 0

    @property
    def corrupt_entries(self) -> int:
        """Damaged fit-cache entries found (and dropped) so far."""
        return self._corrupt

    # -- the fit cache (shared by every tenant) ------------------------------------------------
    @abstractmethod
    def fit_get(self, key: CacheKey) -> dict[str, Any] | None: ...

    @abstractmethod
    def fit_contains(self, key: CacheKey) -> bool: ...

    @abstractmethod
    def fit_put(self, key: CacheKey, value: dict[str, Any]) -> None: ...

    # -- single-flight across processes --------------------------------------------------------
    @abstractmethod
    def lock_fit(self, key: CacheKey) -> str | None:
        """A token when this caller now holds the fit lock for ``key``, None when another does."""

    @abstractmethod
    def refresh_fit_lock(self, key: CacheKey, token: str) -> None: ...

    @abstractmethod
    def unlock_fit(self, key: CacheKey, token: str) -> None: ...

    @abstractmethod
    def fit_locked(self, key: CacheKey) -> bool: ...

    # -- voice records -----------------------------------------------------------------------
    @abstractmethod
    def records(self) -> list[tuple[str, EnrolledVoice]]:
        """Every (tenant, voice) saved."""

    @abstractmethod
    def get(self, tenant: str, voice_id: str) -> EnrolledVoice | None: ...

    @abstractmethod
    def save(self, tenant: str, voice: EnrolledVoice) -> None:
        """Write the whole record (never half of one), clear its status, notify every replica."""

    @abstractmethod
    def delete(self, tenant: str, voice_id: str) -> bool: ...

    # -- enrollment status (pending / failed), short-lived ------------------------------------
    @abstractmethod
    def status_get(self, tenant: str, voice_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def status_put(self, tenant: str, voice_id: str, status: dict[str, Any], ttl_s: float) -> None: ...

    @abstractmethod
    def status_clear(self, tenant: str, voice_id: str) -> None: ...

    # -- change notices and health --------------------------------------------------------------
    def watch(self, changed: Changed, resync: Callable[[], None]) -> None:
        """Call ``changed`` for every record another replica saves or deletes, and ``resync`` after a
        reconnection (notices may have been missed). Local: nothing else writes, nothing to watch."""

    def health(self) -> dict[str, Any]:
        return {"backend": self.backend, "status": "ok"}

    def close(self) -> None:
        pass

    def _failed(self, operation: str) -> None:
        for observer in self.error_observers:
            observer(operation)


def open_store(config: StoreConfig, cache_dir: Path) -> VoiceStore:
    """The store the configuration names, connected (a Redis store that cannot be reached or
    authenticated raises ValueError naming the setting: bad configuration fails at start)."""
    check_url(config.url)
    if config.backend == "local":
        from .store_local import LocalStore

        return LocalStore(Path(cache_dir), config.cache_bytes)
    from .store_redis import RedisStore

    return RedisStore.connect(config)
