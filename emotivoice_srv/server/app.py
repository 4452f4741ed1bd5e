"""The Starlette application: routes, error mapping and the lifespan that runs the context's
background work (warm-up, heartbeat; server/context.py).

``create_app`` takes an engine that is already loaded: the caller (``run.serve``) loads it before
the listening socket exists, so no request can ever meet an unloaded model.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..cloning import CloningConfig
from ..engine import Engine
from ..errors import EmotivoiceError, InvalidInput
from . import dispatch, provenance_api, routes, studio, voices_api
from .config import ServerConfig
from .context import ServerContext
from .lifecycle import Lifecycle
from .middleware import RequestMiddleware, allowed_methods, error_headers, request_fields
from .openapi import build_openapi
from .swap import api as swap_api
from .swap import watch as swap_watch
from .tiers import Tiers, TierSlot, TierState

log = logging.getLogger("emotivoice_srv.server")


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
    response = _error_response(request, err)
    if exc.status_code == 405:  # RFC 9110: every method the path takes, across its routes
        response.headers["Allow"] = allowed_methods(request.app.router.routes, request.scope)
    return response


async def _on_client_gone(request: Request, exc: Exception) -> Response:
    request_fields(request.scope)["error"] = "client_disconnected"
    return Response(status_code=499)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return JSONResponse({"error": {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}},
                        status_code=500)


def create_app(tiers: Tiers | Engine, config: ServerConfig, lifecycle: Lifecycle | None = None, *, cloner=None,
               cloning_config: CloningConfig | None = None, cloning_error: str = "not configured",
               load_main: Callable[[], Engine] | None = None, main_name: str | None = None,
               provenance=None, bundle_store=None) -> Starlette:
    """The app over loaded tiers (an Engine alone is a main tier that is loaded and warming)."""
    if isinstance(tiers, Engine):
        tiers = Tiers(TierSlot("main", TierState.WARMING, engine=tiers))
    lifecycle = lifecycle or Lifecycle()
    ctx = ServerContext(tiers, config, lifecycle, cloner=cloner, cloning_config=cloning_config or CloningConfig(),
                        cloning_error=cloning_error, load_main=load_main, main_name=main_name,
                        provenance=provenance, bundle_store=bundle_store)
    if lifecycle.load_seconds is None:
        lifecycle.loaded(ctx.first_engine.load_seconds.get("total", 0.0))
    if config.default_voice not in ctx.voices.ids():
        raise InvalidInput(f"default voice {config.default_voice!r} is not in the bundle; "
                           f"available: {', '.join(ctx.voices.ids())}")
    route_table = [
        Route("/v1/tts", routes.tts, methods=["POST"]),
        Route("/v1/audio/speech", routes.speech, methods=["POST"]),
        Route("/v1/voices", voices_api.list_voices, methods=["GET"]),
        Route("/v1/voices", dispatch.create_voice, methods=["POST"]),
        Route("/v1/voices/{voice_id}", dispatch.get_voice, methods=["GET"]),
        Route("/v1/voices/{voice_id}", voices_api.delete_voice, methods=["DELETE"]),
        Route("/v1/manifests/{manifest_id}", provenance_api.get_manifest, methods=["GET"], name="manifest"),
        Route("/v1/verify", provenance_api.verify_upload, methods=["POST"]),
        Route("/v1/emotions", routes.list_emotions, methods=["GET"]),
        Route("/v1/models", routes.list_models, methods=["GET"]),
        Route("/v1/audio/voices", voices_api.list_audio_voices, methods=["GET"]),
        Route("/v1/audio/models", routes.list_audio_models, methods=["GET"]),
        Route("/livez", routes.livez, methods=["GET"]),
        Route("/readyz", routes.readyz, methods=["GET"]),
        Route("/startupz", routes.startupz, methods=["GET"]),
        Route("/metrics", routes.metrics, methods=["GET"]),
        Route("/openapi.json", routes.openapi, methods=["GET"]),
        *swap_api.admin_routes(),
    ]
    if config.ui:
        route_table += studio.studio_routes(ctx)
    ctx.routes = route_table
    ctx.openapi = build_openapi(ctx)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        ctx.tiers.bind_loop(asyncio.get_running_loop())
        tasks = [asyncio.create_task(ctx.heartbeat()), asyncio.create_task(ctx.bring_up())]
        if ctx.upstream is not None:
            tasks.append(asyncio.create_task(ctx.upstream.watch()))
        tasks += swap_watch.start(ctx.models)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            ctx.tiers.drain()
            ctx.pool.shutdown(wait=False)
            if ctx.fast_pool is not None:
                ctx.fast_pool.shutdown(wait=False)
            if ctx.upstream is not None:
                await ctx.upstream.close()
            ctx.models.close()
            ctx.tiers.unload()

    middleware = [Middleware(RequestMiddleware, ctx=ctx)]
    if config.cors_origins:  # outermost, so preflights and error responses carry the CORS headers too
        middleware.insert(0, Middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                                     allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                                     allow_headers=["Authorization", "Content-Type", "X-Request-Id",
                                                    "X-Latency-Budget-Ms", "X-Allow-Degraded"],
                                     expose_headers=["X-Request-Id", "X-Model-Tier", "X-Audio-Duration",
                                                     "X-Sample-Rate", "X-Synthetic-Audio", "Link", "X-Route",
                                                     "X-Route-Reason", "X-Degraded", "X-Model-Version"]))
    app = Starlette(
        routes=route_table, middleware=middleware, lifespan=lifespan,
        exception_handlers={EmotivoiceError: _on_emotivoice_error, HTTPException: _on_http_error,
                            routes.ClientGone: _on_client_gone, Exception: _on_unexpected},
    )
    app.state.ctx = ctx
    return app
