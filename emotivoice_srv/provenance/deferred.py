"""A Provenance service that starts after the port opens, so marking costs the cold start nothing.

Loading the signing identity imports ``cryptography`` and the ``c2pa`` native library and signs a
probe manifest: ~0.1 s of CPU under the GIL, which before the port opens competed with the web
stack's imports (the critical path of a cold start). The server now starts it on a thread once it
listens, beside the main model's load. Until it is up, the manifest store already answers
(``reserve``/``store``), signatures wait for it (worker threads only), and ``/readyz`` says so; a bad
certificate still stops the server with exit code 2 and the same message naming the setting, a
fraction of a second after the port opened instead of before.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from .claims import SynthesisFacts
from .sealer import ProvenanceError
from .service import Provenance
from .store import ManifestStore

log = logging.getLogger("emotivoice_srv.provenance")


class DeferredProvenance:
    """Stands in for ``Provenance`` from the first request on; ``start`` runs the real one's start."""

    def __init__(self, config, cache_dir: Path, version: str) -> None:
        self.config = config
        self.store = ManifestStore(config.manifest_ttl_s, config.manifest_entries)
        self.observers: list[Callable[[str, str, float], None]] = []
        self.error: Exception | None = None
        """Why the start failed (a ProvenanceConfigError naming the setting), once it has."""
        self._args = (config, cache_dir, version)
        self._service = None
        self._done = threading.Event()

    @property
    def ready(self) -> bool:
        return self._service is not None

    @property
    def starting(self) -> bool:
        return not self._done.is_set()

    def start(self, on_failure: Callable[[Exception], None]) -> threading.Thread:
        """Start the real service on a daemon thread; ``on_failure`` is called there with the error."""
        thread = threading.Thread(target=self._run, args=(on_failure,), name="provenance-start", daemon=True)
        thread.start()
        return thread

    def _run(self, on_failure: Callable[[Exception], None]) -> None:
        try:
            service = Provenance.start(*self._args)
            service.store, service.observers = self.store, self.observers
            self._service = service
        except Exception as exc:  # ProvenanceConfigError above all; anything else is as fatal
            self.error = exc
            log.error("provenance could not start; stopping the server", extra={"reason": str(exc)})
            on_failure(exc)
        finally:
            self._done.set()

    def _ready(self):
        self._done.wait()
        if self._service is None:
            raise ProvenanceError(f"the signing identity could not be loaded: {self.error}")
        return self._service

    @property
    def identity(self):
        return self._ready().identity

    def seal(self, body: bytes, facts: SynthesisFacts) -> tuple[bytes, str | None]:
        return self._ready().seal(body, facts)

    def reserve(self) -> str:
        return self.store.reserve()

    def finish_stream(self, key: str, body: bytes, facts: SynthesisFacts) -> None:
        try:
            service = self._ready()
        except ProvenanceError as exc:
            self.store.fail(key, exc)
            raise
        service.finish_stream(key, body, facts)

    facts = staticmethod(Provenance.facts)
