"""The Starlette application: routes, error mapping, warm-up and the event-loop heartbeat.

``create_app`` takes an engine that is already loaded: the caller (``run.serve``) loads it before
the listening socket exists, so no request can ever meet an unloaded model.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..cloning import CloningConfig
from ..engine import Engine, SynthesisOptions
from ..errors import EmotivoiceError, InvalidInput
from . import routes, voices_api
from .config import ServerConfig
from .lifecycle import Lifecycle
from .metrics import Metrics
from .middleware import RequestMiddleware, error_headers, request_fields
from .openapi import build_openapi
from .pool import CancelToken, InferencePool
from .schemas import SynthesisRequest, speech_fields, tts_fields
from .synthesis import Rendered, whole_steps

log = logging.getLogger("emotivoice_srv.server")

OPENAI_MODEL_IDS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
WARMUP_TEXTS = (
    ("Hi.", None),
    ("Oh, really?", "happy"),
    ("That is wonderful, thank you.", "sad"),
)
"""Short requests through every code path (emotion edits, chunking, encoding) for first-run
allocations. Longer texts are rendered utterance by utterance, so they add no new path; on CPU a
first synthesis measured no slower than later ones. Each step waits for an idle pool, so real
requests that arrive during warm-up share the cores with one short step at most."""


@dataclass
class ServerContext:
    engine: Engine
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
    """Voice id -> Enrollment still pending (or failed); finished voices live in the registry."""

    def __post_init__(self) -> None:
        if self.pool is None:
            self.pool = InferencePool(self.config.workers, self.config.queue_capacity)
        self.metrics.bind_pool(self.pool)
        rates = tuple(sorted(set(self.config.sample_rates)))
        self.tts_fields = tts_fields(self.config.formats, rates, self.engine.sample_rate)
        self.speech_fields = speech_fields((self.engine.manifest.name, *OPENAI_MODEL_IDS))
        for step, seconds in self.engine.load_seconds.items():
            self.metrics.load_seconds.labels(routes.TIER, step).set(seconds)
        self.metrics.tier_ready.labels(routes.TIER).set(0)
        self.run_fit = voices_api.fit_runner(self)
        if self.cloner is not None:
            self.cloner.observers.append(self._on_cloning_event)
            self.metrics.enrolled_voices.set_function(lambda: len(list(self.cloner.registry)))

    def _on_cloning_event(self, event: str, result: str) -> None:
        if event == "cache":
            self.metrics.cache.labels("voice_fit", result).inc()
        elif event == "fit":
            self.metrics.voice_fits.labels(result).inc()

    def record_synthesis(self, route: str, rendered: Rendered, elapsed: float, *, stream: bool) -> None:
        m = self.metrics
        m.audio_seconds.labels(routes.TIER).inc(rendered.audio_seconds)
        m.rtf.labels(routes.TIER).observe(rendered.rtf)
        m.tier_requests.labels(routes.TIER).inc()
        if not stream:
            m.ttfa.labels(route, "false").observe(elapsed)

    def tier_state(self) -> dict:
        lc, engine = self.lifecycle, self.engine
        state = "draining" if lc.draining else "ready" if lc.warm else "failed" if lc.warmup_error else "warming"
        return {"role": routes.TIER, "state": state, "bundle": engine.manifest.name,
                "version": engine.manifest.version, "precision": engine.precision,
                "device": engine.graphs.runtime.device, "provider": engine.graphs.runtime.providers[0],
                "load_seconds": engine.load_seconds.get("total"), "warmup_seconds": lc.warmup_seconds}

    def model_entries(self) -> list[dict]:
        manifest = self.engine.manifest
        main = {"id": manifest.name, "object": "model", "created": self.created, "owned_by": "emotivoice-srv", **{k: v for k, v in self.tier_state().items() if k != "bundle"}}
        aliases = [{"id": alias, "object": "model", "created": main["created"], "owned_by": "emotivoice-srv",
                    "alias_of": manifest.name} for alias in OPENAI_MODEL_IDS]
        return [main, *aliases]

    # -- background work -------------------------------------------------------------------
    async def warm_up(self) -> None:
        """Representative syntheses on the pool; /readyz turns 200 when they are done."""
        if self.config.warmup_delay_s:
            await asyncio.sleep(self.config.warmup_delay_s)
        t0 = time.perf_counter()
        voices = self.engine.voices.ids()
        voice = self.config.default_voice if self.config.default_voice in voices else voices[0]
        try:
            if self.config.warmup:
                for text, emotion in WARMUP_TEXTS:
                    while self.pool.busy:  # real requests first
                        await asyncio.sleep(0.01)
                    req = SynthesisRequest(text, SynthesisOptions(voice=voice, emotion=emotion), "wav",
                                           self.engine.sample_rate, False)
                    job = self.pool.submit_steps(whole_steps(self.engine, req), CancelToken(), admit=False,
                                                 background=True)
                    await asyncio.wrap_future(job)
        except Exception as exc:  # the server stays up and says why it is not ready
            log.exception("warm-up failed")
            self.lifecycle.warmup_failed(f"{type(exc).__name__}: {exc}")
            return
        seconds = round(time.perf_counter() - t0, 3)
        self.lifecycle.warmed(seconds)
        self.metrics.warmup_seconds.labels(routes.TIER).set(seconds)
        self.metrics.tier_ready.labels(routes.TIER).set(1)
        log.info("ready", extra={"warmup_s": seconds,
                                 "since_start_s": round(time.monotonic() - self.lifecycle.started_at, 3)})
        if self.cloner is not None:  # audio front-end imports + the encoder's first run; readiness does not wait
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.cloner.warm)
            except Exception:
                log.exception("cloning warm-up failed (the first enrollment will pay the import cost)")

    async def heartbeat(self, period: float = 0.25) -> None:
        """Measure event-loop delay: a sleep that wakes late means the loop is blocked."""
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(period)
            lag = max(0.0, time.monotonic() - t0 - period)
            self.lifecycle.loop_lag_s = lag
            self.metrics.loop_lag.set(lag)


def _error_response(request: Request, exc: EmotivoiceError) -> Response:
    request_fields(request.scope)["error"] = exc.code
    headers = {k.decode(): v.decode() for k, v in error_headers(exc) if k != b"content-type"}
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


async def _on_emotivoice_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EmotivoiceError)
    if exc.http_status >= 500:
        log.error("request failed", extra={"code": exc.code, "error": exc.message})
    return _error_response(request, exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    err = EmotivoiceError(f"{request.method} {request.url.path}: {exc.detail}", code=code)
    err.http_status = exc.status_code
    return _error_response(request, err)


async def _on_client_gone(request: Request, exc: Exception) -> Response:
    request_fields(request.scope)["error"] = "client_disconnected"
    return Response(status_code=499)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return JSONResponse({"error": {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}},
                        status_code=500)


def create_app(engine: Engine, config: ServerConfig, lifecycle: Lifecycle | None = None, *, cloner=None,
               cloning_config: CloningConfig | None = None, cloning_error: str = "not configured") -> Starlette:
    lifecycle = lifecycle or Lifecycle()
    if lifecycle.load_seconds is None:
        lifecycle.loaded(engine.load_seconds.get("total", 0.0))
    if config.default_voice not in engine.voices.ids():
        raise InvalidInput(f"default voice {config.default_voice!r} is not in the bundle; "
                           f"available: {', '.join(engine.voices.ids())}")
    ctx = ServerContext(engine, config, lifecycle, cloner=cloner, cloning_config=cloning_config or CloningConfig(),
                        cloning_error=cloning_error)
    route_table = [
        Route("/v1/tts", routes.tts, methods=["POST"]),
        Route("/v1/audio/speech", routes.speech, methods=["POST"]),
        Route("/v1/voices", voices_api.list_voices, methods=["GET"]),
        Route("/v1/voices", voices_api.create_voice, methods=["POST"]),
        Route("/v1/voices/{voice_id}", voices_api.get_voice, methods=["GET"]),
        Route("/v1/voices/{voice_id}", voices_api.delete_voice, methods=["DELETE"]),
        Route("/v1/emotions", routes.list_emotions, methods=["GET"]),
        Route("/v1/models", routes.list_models, methods=["GET"]),
        Route("/livez", routes.livez, methods=["GET"]),
        Route("/readyz", routes.readyz, methods=["GET"]),
        Route("/startupz", routes.startupz, methods=["GET"]),
        Route("/metrics", routes.metrics, methods=["GET"]),
        Route("/openapi.json", routes.openapi, methods=["GET"]),
    ]
    ctx.routes = route_table
    ctx.openapi = build_openapi(ctx)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        tasks = [asyncio.create_task(ctx.heartbeat()), asyncio.create_task(ctx.warm_up())]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            ctx.pool.shutdown(wait=False)

    middleware = [Middleware(RequestMiddleware, ctx=ctx)]
    if config.cors_origins:  # outermost, so preflights and error responses carry the CORS headers too
        middleware.insert(0, Middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                                     allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                                     allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
                                     expose_headers=["X-Request-Id", "X-Model-Tier", "X-Audio-Duration",
                                                     "X-Sample-Rate"]))
    app = Starlette(
        routes=route_table, middleware=middleware, lifespan=lifespan,
        exception_handlers={EmotivoiceError: _on_emotivoice_error, HTTPException: _on_http_error,
                            routes.ClientGone: _on_client_gone, Exception: _on_unexpected},
    )
    app.state.ctx = ctx
    return app
