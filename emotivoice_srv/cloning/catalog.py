"""The enrolled voices of every tenant, in memory: what the synthesis path reads.

Loaded from the store at start, updated by this process's own saves and deletes at once and by
other replicas' through the store's change notices (Redis pub/sub), and reloaded whole after a
reconnection. A lookup is a dict read: once a voice is here, synthesis never waits on the store,
and a store outage leaves every voice already here usable.

Every record is kept (a few KB each); the style tables synthesis needs (~0.5 MB a voice) are built
on first use and kept for the ``max_built`` most recently used voices, so memory does not grow with
the number of tenants' voices.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from ..voices import Voice
from .registry import EnrolledVoice
from .store import StoreUnavailable, VoiceStore

log = logging.getLogger("emotivoice_srv.cloning")

Entry = tuple[EnrolledVoice, Voice]
"""A record and its voice header (id, gender, description, speed, pitch: no style table)."""
MAX_BUILT = 256


class VoiceCatalog:
    def __init__(self, store: VoiceStore, build: Callable[[EnrolledVoice], Voice],
                 describe: Callable[[EnrolledVoice], Voice], usable: Callable[[EnrolledVoice], bool],
                 max_built: int = MAX_BUILT) -> None:
        self.store = store
        self._build, self._describe, self._usable = build, describe, usable
        self._entries: dict[tuple[str, str], EnrolledVoice] = {}
        self._built: OrderedDict[tuple[str, str], Voice] = OrderedDict()
        self.max_built = max_built
        self._lock = threading.Lock()
        self.listeners: list[Callable[[str, str, EnrolledVoice | None], None]] = []
        """Called with (tenant, id, record or None when removed) after every change."""

    def load(self) -> None:
        """Read every record from the store (start-up, and after a reconnection)."""
        fresh = {(tenant, e.id): e for tenant, e in self.store.records() if self._check(e)}
        with self._lock:
            old, self._entries = self._entries, fresh
            for key in [k for k in self._built if fresh.get(k) != old.get(k)]:
                del self._built[key]
        for key in set(old) | set(fresh):
            if old.get(key) != fresh.get(key):
                self._notify(*key, fresh.get(key))

    def _check(self, enrolled: EnrolledVoice) -> bool:
        if self._usable(enrolled):
            return True
        log.warning("enrolled voice needs packs this bundle lacks; skipped", extra={"voice": enrolled.id})
        return False

    def refresh(self, tenant: str, voice_id: str) -> None:
        """Another replica saved or deleted (tenant, voice_id): read it again."""
        try:
            enrolled = self.store.get(tenant, voice_id)
        except StoreUnavailable:
            return  # the listener resyncs everything once the store is back
        if enrolled is None:
            self.forget(tenant, voice_id)
        else:
            self.put(tenant, enrolled)

    def resync(self) -> None:
        try:
            self.load()
        except StoreUnavailable:
            log.warning("voice catalog resync failed; retried on the next reconnection")
            raise

    def put(self, tenant: str, enrolled: EnrolledVoice) -> bool:
        """Add or replace a record; False when this bundle cannot render it."""
        if not self._check(enrolled):
            return False
        key = (tenant, enrolled.id)
        with self._lock:
            if self._entries.get(key) == enrolled:
                return True
            self._entries[key] = enrolled
            self._built.pop(key, None)
        self._notify(tenant, enrolled.id, enrolled)
        return True

    def forget(self, tenant: str, voice_id: str) -> bool:
        with self._lock:
            gone = self._entries.pop((tenant, voice_id), None)
            self._built.pop((tenant, voice_id), None)
        if gone is not None:
            self._notify(tenant, voice_id, None)
        return gone is not None

    def _notify(self, tenant: str, voice_id: str, enrolled: EnrolledVoice | None) -> None:
        for listener in self.listeners:
            listener(tenant, voice_id, enrolled)

    # -- reads (no store access) -----------------------------------------------------------------
    def get(self, tenant: str, voice_id: str) -> Entry | None:
        enrolled = self._entries.get((tenant, voice_id))
        return (enrolled, self._describe(enrolled)) if enrolled is not None else None

    def voice(self, tenant: str, voice_id: str) -> Voice | None:
        """The voice synthesis renders with: its style table built on first use, then kept (LRU)."""
        key = (tenant, voice_id)
        built = self._built.get(key)
        if built is not None:
            with self._lock:
                if key in self._built:
                    self._built.move_to_end(key)
            return built
        enrolled = self._entries.get(key)
        if enrolled is None:
            return None
        built = self._build(enrolled)
        with self._lock:
            if self._entries.get(key) is enrolled:  # not replaced or deleted meanwhile
                self._built[key] = built
                while len(self._built) > self.max_built:
                    self._built.popitem(last=False)
        return built

    def items(self, tenant: str | None = None) -> list[tuple[str, EnrolledVoice, Voice]]:
        """(tenant, record, voice header) sorted by tenant then id; one tenant's, or every tenant's (None)."""
        entries = self._entries
        return [(t, e, self._describe(e)) for (t, _), e in sorted(entries.items()) if tenant is None or t == tenant]

    def __len__(self) -> int:
        return len(self._entries)


class TenantView:
    """One tenant's voices with the old registry's reads (get, ``in``, iteration)."""

    def __init__(self, catalog: VoiceCatalog, tenant: str) -> None:
        self.catalog, self.tenant = catalog, tenant

    def get(self, voice_id: str) -> EnrolledVoice | None:
        return self.catalog._entries.get((self.tenant, voice_id))

    def __contains__(self, voice_id: object) -> bool:
        return isinstance(voice_id, str) and (self.tenant, voice_id) in self.catalog._entries

    def __iter__(self):
        return iter([e for _, e, _ in self.catalog.items(self.tenant)])
