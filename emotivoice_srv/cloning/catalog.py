"""The enrolled voices of every tenant, in memory: what the synthesis path reads.

Loaded from the store at start, updated by this process's own saves and deletes at once and by
other replicas' through the store's change notices (Redis pub/sub), and reloaded whole after a
reconnection. A lookup is a dict read: once a voice is here, synthesis never waits on the store,
and a store outage leaves every voice already here usable.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..voices import Voice
from .registry import EnrolledVoice
from .store import StoreUnavailable, VoiceStore

log = logging.getLogger("emotivoice_srv.cloning")

Entry = tuple[EnrolledVoice, Voice]


class VoiceCatalog:
    def __init__(self, store: VoiceStore, build: Callable[[EnrolledVoice], Voice]) -> None:
        self.store = store
        self._build = build
        self._entries: dict[tuple[str, str], Entry] = {}
        self._lock = threading.Lock()
        self.listeners: list[Callable[[str, str, Voice | None], None]] = []
        """Called with (tenant, id, voice or None when removed) after every change."""

    def load(self) -> None:
        """Read every record from the store (start-up, and after a reconnection)."""
        fresh: dict[tuple[str, str], Entry] = {}
        for tenant, enrolled in self.store.records():
            entry = self._entry(enrolled)
            if entry is not None:
                fresh[(tenant, enrolled.id)] = entry
        with self._lock:
            old, self._entries = self._entries, fresh
        for key in set(old) | set(fresh):
            if old.get(key, (None,))[0] != fresh.get(key, (None,))[0]:
                self._notify(*key, fresh[key][1] if key in fresh else None)

    def _entry(self, enrolled: EnrolledVoice) -> Entry | None:
        try:
            return enrolled, self._build(enrolled)
        except KeyError as exc:
            log.warning("enrolled voice needs packs this bundle lacks; skipped",
                        extra={"voice": enrolled.id, "error": str(exc)})
            return None

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

    def put(self, tenant: str, enrolled: EnrolledVoice) -> Voice | None:
        with self._lock:
            current = self._entries.get((tenant, enrolled.id))
        if current is not None and current[0] == enrolled:
            return current[1]
        entry = self._entry(enrolled)
        if entry is None:
            return None
        with self._lock:
            self._entries[(tenant, enrolled.id)] = entry
        self._notify(tenant, enrolled.id, entry[1])
        return entry[1]

    def forget(self, tenant: str, voice_id: str) -> bool:
        with self._lock:
            gone = self._entries.pop((tenant, voice_id), None)
        if gone is not None:
            self._notify(tenant, voice_id, None)
        return gone is not None

    def _notify(self, tenant: str, voice_id: str, voice: Voice | None) -> None:
        for listener in self.listeners:
            listener(tenant, voice_id, voice)

    # -- reads (no store access) -----------------------------------------------------------------
    def get(self, tenant: str, voice_id: str) -> Entry | None:
        return self._entries.get((tenant, voice_id))

    def voice(self, tenant: str, voice_id: str) -> Voice | None:
        entry = self._entries.get((tenant, voice_id))
        return entry[1] if entry is not None else None

    def items(self, tenant: str | None = None) -> list[tuple[str, EnrolledVoice, Voice]]:
        """(tenant, record, voice) sorted by tenant then id; one tenant's, or every tenant's (None)."""
        entries = self._entries
        return [(t, e, v) for (t, _), (e, v) in sorted(entries.items()) if tenant is None or t == tenant]

    def __len__(self) -> int:
        return len(self._entries)


class TenantView:
    """One tenant's voices with the old registry's reads (get, ``in``, iteration)."""

    def __init__(self, catalog: VoiceCatalog, tenant: str) -> None:
        self.catalog, self.tenant = catalog, tenant

    def get(self, voice_id: str) -> EnrolledVoice | None:
        entry = self.catalog.get(self.tenant, voice_id)
        return entry[0] if entry is not None else None

    def __contains__(self, voice_id: object) -> bool:
        return isinstance(voice_id, str) and self.catalog.get(self.tenant, voice_id) is not None

    def __iter__(self):
        return iter([e for _, e, _ in self.catalog.items(self.tenant)])
