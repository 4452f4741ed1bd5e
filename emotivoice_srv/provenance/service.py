"""Provenance for a server: one sealer, one manifest store, the facts of each response.

``seal`` marks a finished body: wav/flac/mp3 come back with the manifest inside; other formats come
back unchanged with the id of a detached manifest in the store. A stream ``reserve``s an id before
its first byte and ``finish_stream``s it with the whole body. Any signing failure raises
``ProvenanceError``: the caller never sends the body as if it were marked.
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .claims import ModelFacts, SynthesisFacts, emotion_settings
from .identity import CERT_SETTING, ProvenanceConfigError, SigningIdentity, load_identity
from .sealer import EMBEDDED, ProvenanceError, Sealer
from .store import ManifestStore

log = logging.getLogger("emotivoice_srv.provenance")


@dataclass(frozen=True)
class ProvenanceConfig:
    """Every field has a CLI flag and an EMOTIVOICE_* variable (settings.PROVENANCE)."""

    enabled: bool = True
    cert: Path | None = None
    """PEM chain, signing certificate first (None with ``key`` None: the development identity)."""
    key: Path | None = None
    manifest_ttl_s: float = 600.0
    """How long a detached manifest stays fetchable after its response started."""
    manifest_entries: int = 1024
    """Most detached manifests kept at once (the oldest go first)."""


@lru_cache(maxsize=8)
def _manifest_prefix(bundle_dir: str) -> str:
    try:
        return hashlib.sha256((Path(bundle_dir) / "manifest.json").read_bytes()).hexdigest()[:16]
    except OSError:
        return "unknown"


class Provenance:
    def __init__(self, identity: SigningIdentity, version: str, config: ProvenanceConfig = ProvenanceConfig()) -> None:
        self.identity = identity
        self.config = config
        self.sealer = Sealer(identity, version)
        self.store = ManifestStore(config.manifest_ttl_s, config.manifest_entries)
        self.observers: list[Callable[[str, str, float], None]] = []
        """Called with (kind embedded|detached, result ok|failed, seconds) after each signature (metrics)."""

    @classmethod
    def start(cls, config: ProvenanceConfig, cache_dir: Path, version: str) -> Provenance:
        """Load and check the identity, sign once to prove the library accepts it, log which one."""
        identity = load_identity(config.cert, config.key, cache_dir)
        service = cls(identity, version, config)
        try:
            service.sealer.probe()
        except ProvenanceError as exc:  # e.g. a self-signed signing certificate, which C2PA refuses
            setting = f"the development certificate ({identity.source})" if identity.development else CERT_SETTING
            raise ProvenanceConfigError(f"{setting}: the c2pa library refuses to sign with this certificate "
                                        f"({exc.__cause__ or exc}); C2PA needs a signing certificate issued by a "
                                        "CA, with digitalSignature key usage and an EKU such as emailProtection") from None
        fields = {"signer": identity.subject, "issuer": identity.issuer, "alg": identity.alg,
                  "not_after": identity.not_after.isoformat(), "source": identity.source}
        if identity.development:
            log.warning("provenance: signing with a self-signed DEVELOPMENT certificate; manifests validate as "
                        "untrusted -- set --provenance-cert/--provenance-key for production", extra=fields)
        else:
            log.info("provenance: signing with the configured certificate", extra=fields)
        return service

    @staticmethod
    def facts(engine, tier: str, options, *, request_id: str, fmt: str, sample_rate: int, route: str,
              consent_recorded: bool | None = None) -> SynthesisFacts:
        """The facts of one response (cheap: run on the event loop)."""
        manifest = engine.manifest
        model = ModelFacts(manifest.name, manifest.version, _manifest_prefix(str(engine.config.bundle_dir)), tier,
                           engine.precision)
        voice = options.voice
        if isinstance(voice, str):  # a library voice: enrolled ones are clones, the rest ship with the bundle
            cloned = voice in engine.voices and engine.voices.get(voice).kind == "enrolled"
        else:  # a caller's enrolled voice (resolved) or an inline clone from reference audio
            cloned = voice.kind == "enrolled"
        return SynthesisFacts(model, "cloned" if cloned else "built-in", None if cloned else str(voice),
                              emotion_settings(options), request_id, fmt, sample_rate, route,
                              consent_recorded=consent_recorded if cloned else None)

    def _signed(self, kind: str, sign: Callable[[], bytes]) -> bytes:
        t0, result = time.perf_counter(), "failed"
        try:
            out = sign()
            result = "ok"
            return out
        finally:
            for observer in self.observers:
                observer(kind, result, time.perf_counter() - t0)

    def seal(self, body: bytes, facts: SynthesisFacts) -> tuple[bytes, str | None]:
        """(body to send, detached manifest id or None). Runs on a worker thread."""
        if facts.format in EMBEDDED:
            return self._signed("embedded", lambda: self.sealer.embed(body, facts)), None
        return body, self.store.put(self._signed("detached", lambda: self.sealer.detached(body, facts)))

    def reserve(self) -> str:
        return self.store.reserve()

    def finish_stream(self, key: str, body: bytes, facts: SynthesisFacts) -> None:
        """Sign the whole streamed body (worker thread); on failure the id is dropped and the error raised."""
        try:
            self.store.fulfil(key, self._signed("detached", lambda: self.sealer.detached(body, facts)))
        except BaseException as exc:
            self.store.fail(key, exc)
            raise
