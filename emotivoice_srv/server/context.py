"""The server's shared state (``ServerContext``) and its background work: tier warm-up, the
concurrent-session set, the cloning warm-up and the event-loop heartbeat.

Its own module so that app.py (which builds the routes) and the route modules (which read the
context) do not import each other.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..cloning import CloningConfig
from ..engine import Engine, SynthesisOptions
from ..voices import VoiceLibrary
from . import voices_api
from .abuse import TokenBuckets
from .config import ServerConfig, narrow_threads
from .lifecycle import Lifecycle
from .metrics import Metrics
from .pool import CancelToken, InferencePool
from .routing import RateTracker
from .schemas import SynthesisRequest, speech_fields, tts_fields
from .synthesis import Rendered, whole_steps
from .tenancy import KeyRing
from .tiers import Tiers, TierSlot, TierState

log = logging.getLogger("emotivoice_srv.server")

OPENAI_MODEL_IDS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
WARMUP_TEXTS = (
    ("Hi.", None),
    ("Oh, really?", "happy"),
    ("That is wonderful, thank you.", "sad"),
)
"""Short requests through every code path (emotion edits, chunking, encoding) for first-run costs:
CUDA kernels, cuDNN algorithm choice and arena growth for the shapes real requests use. Longer
texts are rendered utterance by utterance, so they add no new path. Each step waits for an idle
pool, so real requests that arrive during warm-up share the cores with one short step at most."""
CLONING_WARM_QUIET_S = 1.0
"""The cloning warm-up (librosa import, speaker encoder session: ~1-2 s of CPU) waits for this much
idle time, so it never competes with the first requests after start."""
NARROW_QUIET_S, NARROW_MAX_WAIT_S = 0.25, 3.0
"""The concurrent-session set (~0.25 s of CPU) is created in the first lull after start, or after 3 s
under steady traffic (which is when it pays)."""
WARMUP_DEVICES = frozenset({"cuda"})
"""Where warm-up syntheses pay. On the CPU provider a first synthesis measured within the machine's
noise of later ones (int8, 2 cores, same sentence: 1.08 s first vs 1.08 s after in one process,
1.37 s vs 0.90-1.10 s in another), so a CPU tier is ready when loaded; warm-up syntheses there would
only compete with the first real requests for the cores."""


@dataclass
class ServerContext:
    tiers: Tiers
    config: ServerConfig
    lifecycle: Lifecycle
    metrics: Metrics = field(default_factory=Metrics)
    pool: InferencePool | None = None
    routes: list = field(default_factory=list)
    openapi: dict = field(default_factory=dict)
    created: int = field(default_factory=lambda: int(time.time()))
    active_requests: int = 0
    """Requests other than probes/metrics being handled; a drain waits for them."""
    cloner: Any = None
    """The VoiceCloner (None when the bundle cannot clone; ``cloning_error`` says why)."""
    cloning_config: CloningConfig = field(default_factory=CloningConfig)
    cloning_error: str = "not configured"
    enrollments: dict = field(default_factory=dict)
    """(tenant, voice id) -> Enrollment still pending (or failed); finished voices live in the store."""
    load_main: Callable[[], Engine] | None = None
    """Loads the main engine in the background (set when a fallback tier opened the port first)."""
    main_name: str | None = None
    """The main bundle's name: the model id clients use, whichever tier answers (default: the name of
    main's manifest when main opened the port)."""
    provenance: Any = None
    """The Provenance service that signs every audio response (None: ``--provenance off``)."""
    fast_pool: InferencePool | None = None
    """The fast tier's own workers (a share of the cores), for requests routed to the fallback slot's
    engine while main serves: quality fast, latency budgets, degraded overflow (server/routing.py)."""
    upstream: Any = None
    """Edge mode: the Upstream that takes some work (server/upstream.py); None without --upstream."""
    rates: RateTracker = field(default_factory=RateTracker)
    rate_buckets: TokenBuckets | None = None
    """Per-caller token buckets of --rate-limit (None: no limit)."""
    models: Any = None
    """The ModelManager that hot-swaps a tier's version (server/swap/)."""
    bundle_store: Any = None
    """The BundleStore swaps and delta uploads use, or a callable that opens it on first use; None: none."""
    _versions_shown: dict = field(default_factory=dict)
    """Tier -> the version label the emotivoice_model_version_info metric shows."""

    def __post_init__(self) -> None:
        from .swap.manager import ModelManager

        if self.models is None:
            self.models = ModelManager(self)
        first = self.first_engine
        self.voices: VoiceLibrary = first.voices
        """One voice library for every tier: built-in, blended and enrolled voices work on each."""
        self.sample_rate: int = first.sample_rate
        if self.main_name is None:
            self.main_name = (self.tiers.main.engine or first).manifest.name
        if self.pool is None:
            self.pool = InferencePool(self.config.workers, self.config.queue_capacity)
        self.metrics.bind_pool(self.pool)
        routing = self.config.routing
        if self.fast_pool is None and self.tiers.fallback is not None:
            self.fast_pool = InferencePool(routing.fast_workers(os.cpu_count() or 1), routing.fast_queue_size,
                                           name="fast")
        if self.fast_pool is not None:
            self.metrics.bind_fast_pool(self.fast_pool)
        if self.upstream is None and routing.upstream is not None:
            from .upstream import Upstream

            self.upstream = Upstream(routing, self.metrics, self.config.request_timeout_s)
        fb = self.tiers.fallback
        self.fast_model_ids: tuple[str, ...] = (fb.engine.manifest.name,) if fb is not None and fb.engine is not None \
            and fb.engine.manifest.name != self.main_name else ()
        """Model ids the OpenAI route renders on the fast tier (the fallback bundle's name)."""
        rates = tuple(sorted(set(self.config.sample_rates)))
        max_chars = first.config.max_text_chars
        self.tts_fields = tts_fields(self.config.formats, rates, self.sample_rate, max_chars)
        self.speech_fields = speech_fields((self.main_name, *OPENAI_MODEL_IDS, *self.fast_model_ids),
                                           self.config.formats, max_chars)
        for slot in self.tiers.slots:
            slot.listeners.append(self._on_tier_change)
            self._on_tier_change(slot, slot.state, slot.state)
            if slot.engine is not None:
                self._engine_loaded(slot)
        self.run_fit = voices_api.fit_runner(self)
        self.keyring = KeyRing.parse(self.config.api_keys, self.config.admin_keys)
        abuse = self.config.abuse
        if self.rate_buckets is None and abuse.rate is not None:
            self.rate_buckets = TokenBuckets(abuse.rate.per_s, abuse.bucket_size)
        if self.provenance is not None:
            self.provenance.observers.append(self._on_signature)
        if self.cloner is not None:
            self.cloner.observers.append(self._on_cloning_event)
            self.metrics.enrolled_voices.set_function(lambda: len(self.cloner.catalog))
            self.cloner.store.error_observers.append(lambda op: self.metrics.voice_store_errors.labels(op).inc())

    @property
    def first_engine(self) -> Engine:
        """The engine that opened the port (fallback when there is one, else main)."""
        for slot in (self.tiers.fallback, self.tiers.main):
            if slot is not None and slot.engine is not None:
                return slot.engine
        raise ValueError("create_app needs a tier with a loaded engine")

    def _on_tier_change(self, slot: TierSlot, old: TierState, new: TierState) -> None:
        for state in TierState:
            self.metrics.tier_state.labels(slot.role, state.value).set(1 if state is new else 0)
        self.metrics.tier_ready.labels(slot.role).set(1 if new is TierState.READY else 0)

    def _engine_loaded(self, slot: TierSlot) -> None:
        """A tier's engine joins the shared voice library (adding voices only it has)."""
        engine = slot.engine
        self.models.adopt(slot)
        self._show_version(slot.role, engine.model_version)
        engine.pressure = lambda: self.pool.busy
        if engine.voices is not self.voices:
            self.voices.absorb(engine.voices)
            engine.voices = self.voices
        for step, seconds in engine.load_seconds.items():
            self.metrics.load_seconds.labels(slot.role, step).set(seconds)
        if slot.role == "main" and self.cloner is not None and self.cloner.engine is not engine:
            self.cloner.use_engine(engine)  # fits are judged on the main model's rendering

    def engine_switched(self, slot: TierSlot) -> None:
        """A hot swap put a new engine in ``slot``. A new main brings its built-in voices: its own library
        (plus the voices only the old one had) becomes everyone's, while the old engine keeps the old
        library, so a request placed on it still renders the old version's voices to its end."""
        if slot.role == "main":
            library = slot.engine.voices
            library.absorb(self.voices)
            self.voices = library
            for other in self.tiers.slots:
                if other is not slot and other.engine is not None:
                    other.engine.voices = library
        self._engine_loaded(slot)

    def _show_version(self, role: str, version: str) -> None:
        shown = self._versions_shown
        if role in shown:
            self.metrics.model_version.remove(role, shown[role])
        shown[role] = version
        self.metrics.model_version.labels(role, version).set(1)

    def _on_cloning_event(self, event: str, result: str) -> None:
        if event == "cache":
            self.metrics.cache.labels("voice_fit", result).inc()
        elif event == "fit":
            self.metrics.voice_fits.labels(result).inc()

    def _on_signature(self, kind: str, result: str, seconds: float) -> None:
        self.metrics.signatures.labels(kind, result).inc()
        if result == "ok":
            self.metrics.sign_seconds.observe(seconds)

    def record_synthesis(self, route: str, tier: str, rendered: Rendered, elapsed: float, *, stream: bool) -> None:
        m = self.metrics
        m.audio_seconds.labels(tier).inc(rendered.audio_seconds)
        m.rtf.labels(tier).observe(rendered.rtf)
        m.tier_requests.labels(tier).inc()
        if not stream:
            m.ttfa.labels(route, "false").observe(elapsed)

    def voice_store_health(self) -> dict[str, Any]:
        """Shown by /readyz, never part of readiness: a store outage is the whole fleet's, and taking
        every replica out of the Service would stop built-in and cached voices too (docs/server.md)."""
        if self.cloner is None:
            return {"status": "disabled", "reason": self.cloning_error}
        return self.cloner.store.health()

    def readiness(self) -> tuple[bool, str]:
        ready, reason = self.lifecycle.readiness(self.tiers.readiness())
        if ready and getattr(self.provenance, "starting", False):
            return False, "starting: the provenance signing identity is loading"
        return ready, reason

    def tier_states(self) -> list[dict]:
        out = []
        for slot in self.tiers.slots:
            entry: dict[str, Any] = {"role": slot.role, "state": slot.state.value}
            engine = slot.engine
            if engine is not None:
                entry.update(bundle=engine.manifest.name, version=engine.manifest.version,
                             model_version=engine.model_version,
                             precision=engine.precision, device=engine.graphs.runtime.device,
                             provider=engine.graphs.runtime.providers[0],
                             load_seconds=engine.load_seconds.get("total"))
            entry["warmup_seconds"] = slot.seconds_in(TierState.WARMING) if slot.ready else None
            if slot.error:
                entry["error"] = slot.error
            entry.update(self.models.slot_info(slot.role))
            out.append(entry)
        return out

    def model_entries(self) -> list[dict]:
        serving = {k: v for k, v in self.tier_states()[0].items() if k != "bundle"}
        main = {"id": self.main_name, "object": "model", "created": self.created, "owned_by": "emotivoice-srv",
                **serving}
        aliases = [{"id": alias, "object": "model", "created": main["created"], "owned_by": "emotivoice-srv",
                    "alias_of": self.main_name} for alias in OPENAI_MODEL_IDS]
        fast = self.tier_states()[-1] if self.tiers.fallback is not None else {}
        students = [{"id": model_id, "object": "model", "created": main["created"], "owned_by": "emotivoice-srv",
                     "servable": True, "quality": "fast", **{k: v for k, v in fast.items() if k != "bundle"}}
                    for model_id in self.fast_model_ids]
        return [main, *aliases, *students]

    # -- background work -------------------------------------------------------------------
    async def bring_up(self) -> None:
        """Warm the tiers that are loaded; load (then warm) main in the background if it is not."""
        if self.tiers.fallback is not None and self.tiers.fallback.state is TierState.WARMING:
            await self.warm_up(self.tiers.fallback)
        main = self.tiers.main
        if main.state is TierState.LOADING and self.load_main is not None:
            if self.config.main_start_delay_s:
                await asyncio.sleep(self.config.main_start_delay_s)
            try:
                engine = await asyncio.get_running_loop().run_in_executor(None, self.load_main)
            except Exception as exc:  # fallback keeps serving; readyz says why main is missing
                log.exception("main tier failed to load")
                main.fail(exc)
                return
            if main.state is not TierState.LOADING:  # drained while loading
                return
            main.move(TierState.WARMING, engine=engine)
            self._engine_loaded(main)
        if main.state is TierState.WARMING:
            if self.config.warmup_delay_s:
                await asyncio.sleep(self.config.warmup_delay_s)
            await self.warm_up(main)
        if main.ready:
            log.info("ready", extra={"since_start_s": round(time.monotonic() - self.lifecycle.started_at, 3)})
        for slot in self.tiers.slots:  # sessions for overlapping syntheses: throughput, not readiness
            if slot.serving:
                await self._add_narrow_sessions(slot)
        if self.cloner is not None:  # audio front-end imports + the encoder's first run; readiness does not wait
            await self._quiet_period(CLONING_WARM_QUIET_S)
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.cloner.warm)
            except Exception:
                log.exception("cloning warm-up failed (the first enrollment will pay the import cost)")
        if self.models.armed:  # the serving versions' canary renders, so a swap renders only the new one
            await self._quiet_period(CLONING_WARM_QUIET_S)
            await self.models.prepare()

    async def _add_narrow_sessions(self, slot: TierSlot) -> None:
        engine = slot.engine
        threads = narrow_threads(self.config, engine.config.threads or os.cpu_count() or 1)
        if not threads or engine.narrow is not None:
            return
        await self._quiet_period(NARROW_QUIET_S, max_wait=NARROW_MAX_WAIT_S)
        try:
            seconds = await asyncio.get_running_loop().run_in_executor(None, engine.add_narrow_sessions, threads)
        except Exception:
            log.exception("concurrent sessions failed to load; overlapping syntheses share the main sessions")
            return
        for step, value in engine.load_seconds.items():
            self.metrics.load_seconds.labels(slot.role, step).set(value)
        log.info("concurrent sessions ready", extra={"tier": slot.role, "threads": threads, "seconds": seconds})

    async def _quiet_period(self, seconds: float, max_wait: float | None = None) -> None:
        """Return once no synthesis has been running or queued for ``seconds`` in a row (or after
        ``max_wait`` seconds whatever the traffic)."""
        quiet_since = start = time.monotonic()
        while time.monotonic() - quiet_since < seconds:
            if max_wait is not None and time.monotonic() - start > max_wait:
                return
            await asyncio.sleep(0.05)
            if self.pool.busy or self.active_requests:
                quiet_since = time.monotonic()

    async def warm_up(self, slot: TierSlot) -> None:
        """Representative syntheses on the pool, as background work; then the tier is ready."""
        t0 = time.perf_counter()
        engine = slot.engine
        voices = self.voices.ids()
        voice = self.config.default_voice if self.config.default_voice in voices else voices[0]
        try:
            if self.config.warmup and engine.graphs.runtime.device in WARMUP_DEVICES:
                for text, emotion in WARMUP_TEXTS:
                    while self.pool.busy:  # real requests first
                        await asyncio.sleep(0.01)
                    req = SynthesisRequest(text, SynthesisOptions(voice=voice, emotion=emotion), "wav",
                                           engine.sample_rate, False)
                    job = self.pool.submit_steps(whole_steps(engine, req), CancelToken(), admit=False,
                                                 background=True)
                    await asyncio.wrap_future(job)
        except Exception as exc:  # the server stays up and says why the tier is not ready
            log.exception("warm-up failed", extra={"tier": slot.role})
            if slot.state is TierState.WARMING:
                slot.fail(exc)
            return
        seconds = round(time.perf_counter() - t0, 3)
        self.metrics.warmup_seconds.labels(slot.role).set(seconds)
        if slot.state is TierState.WARMING:
            slot.move(TierState.READY)

    async def heartbeat(self, period: float = 0.25) -> None:
        """Measure event-loop delay: a sleep that wakes late means the loop is blocked."""
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(period)
            lag = max(0.0, time.monotonic() - t0 - period)
            self.lifecycle.loop_lag_s = lag
            self.metrics.loop_lag.set(lag)
