"""Placing work: the upstream (edge mode) or a local tier's pool, in the order ``routing.plan`` gives.

The request handlers call ``place_synthesis`` with a way to build the job's steps for an engine; it
returns the pool future and the ``Placement`` that took it (tier, reason, whether degraded), trying each
planned pool in turn when the one before is full. ``create_voice``/``get_voice`` wrap the voice routes:
on an edge, enrollments and voices only the upstream has go there, and come back local when it is down.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ..errors import NotFound, Overloaded
from . import routing, voices_api
from .middleware import request_fields
from .pool import CancelToken, InferencePool
from .routing import FAST, MAIN, Load, Wants
from .breaker import UpstreamUnavailable

if TYPE_CHECKING:
    from .context import ServerContext
    from .schemas import SynthesisRequest

log = logging.getLogger("emotivoice_srv.server")

DEGRADED_REASONS = frozenset({"overload", "latency_budget", "upstream_unavailable"})
"""Reasons for which a request that did not ask for the fast tier is answered below main's quality."""


@dataclass(frozen=True)
class Placement:
    tier: str
    reason: str
    engine: Any
    pool: InferencePool

    @property
    def degraded(self) -> bool:
        return self.tier == FAST and self.reason in DEGRADED_REASONS

    def headers(self) -> dict[str, str]:
        out = {"X-Route": self.tier, "X-Route-Reason": self.reason, "X-Model-Version": self.engine.model_version}
        if self.degraded:
            out["X-Degraded"] = "true"
        return out


def _load(pool: InferencePool, s_per_char: float) -> Load:
    return Load(pool.busy, pool.workers, pool.capacity, pool.mean_job_s, s_per_char)


def load_of(ctx: ServerContext, placement: Placement) -> Load:
    """The load of the pool a placement would run on, at the tier's measured rate."""
    return _load(placement.pool, ctx.rates.s_per_char(placement.tier))


def loads(ctx: ServerContext) -> tuple[Load, Load | None]:
    """Main's pool and the fast tier's (None when no fast tier can serve now)."""
    main = _load(ctx.pool, ctx.rates.s_per_char(MAIN))
    fb = ctx.tiers.fallback
    if ctx.fast_pool is None or fb is None or not fb.serving:
        return main, None
    return main, _load(ctx.fast_pool, ctx.rates.s_per_char(FAST))


def local_placements(ctx: ServerContext, slot, wants: Wants, req: SynthesisRequest,
                     after_upstream: bool = False) -> list[Placement]:
    if slot.role != MAIN:  # main is not ready yet: the fallback answers on main's pool, as at start-up
        return [Placement(FAST, "upstream_unavailable" if after_upstream else "main_not_ready", slot.engine, ctx.pool)]
    main, fast = loads(ctx)
    if after_upstream:
        attempts = ([routing.Attempt(FAST, "upstream_unavailable")] if wants.degradable and fast is not None
                    else []) + [routing.Attempt(MAIN, "upstream_unavailable")]
    else:
        chars = routing.first_chunk_chars(req.text, req.stream)
        attempts = routing.plan(wants, chars, main, fast, ctx.config.routing.overload_policy)
    engines = {MAIN: (ctx.tiers.main.engine, ctx.pool),
               FAST: (ctx.tiers.fallback.engine if ctx.tiers.fallback else None, ctx.fast_pool)}
    return [Placement(a.route, a.reason, *engines[a.route]) for a in attempts]


def submit(ctx: ServerContext, placements: list[Placement], steps: Callable[[Placement], Iterator[float]],
           token: CancelToken, **kwargs) -> tuple[Future, Placement]:
    """The first placement whose pool admits the job; Overloaded (the last one's) when none does."""
    refused: Overloaded | None = None
    for placement in placements:
        try:
            future = placement.pool.submit_steps(steps(placement), token, **kwargs)
        except Overloaded as exc:
            refused = exc
            continue
        ctx.metrics.routed.labels(placement.tier, placement.reason).inc()
        ctx.models.inflight.hold(placement.engine, future)  # a hot swap's drain waits for it
        return future, placement
    ctx.metrics.routed.labels("rejected", "full").inc()
    assert refused is not None
    raise refused


def upstream_reason(ctx: ServerContext, req: SynthesisRequest, wants: Wants) -> str | None:
    cfg = ctx.config.routing
    voice = req.options.voice
    known = not isinstance(voice, str) or voice in ctx.voices
    main, _ = loads(ctx)
    return routing.upstream_reason(cfg.upstream_routes, text_chars=len(req.text), long_chars=cfg.upstream_long_chars,
                                   wants=wants, main=main, voice_known=known)


async def try_upstream(request: Request, ctx: ServerContext, body: bytes, reason: str) -> Response | None:
    """The upstream's response, or None (logged, counted) when the work must stay local."""
    try:
        response = await ctx.upstream.forward(request, body, reason)
    except UpstreamUnavailable as exc:
        request_fields(request.scope).update(upstream_error=exc.reason)
        return None
    ctx.metrics.routed.labels(routing.UPSTREAM, reason).inc()
    request_fields(request.scope).update(route=routing.UPSTREAM, route_reason=reason)
    return response


def _local_flag(response: Response) -> Response:
    response.headers["X-Route"] = "local"
    response.headers["X-Route-Reason"] = "upstream_unavailable"
    return response


async def create_voice(request: Request) -> Response:
    """POST /v1/voices: enrollment goes upstream on an edge (route 'enroll'), else (or when it is down) local."""
    ctx: ServerContext = request.app.state.ctx
    if ctx.upstream is None or "enroll" not in ctx.config.routing.upstream_routes:
        return await voices_api.create_voice(request)
    from .routes import read_body

    body = await read_body(request, ctx.cloning_config.limits.max_bytes + voices_api.FORM_OVERHEAD_BYTES)
    request._body = body  # the local handler reads the same bytes if the upstream cannot take them
    forwarded = await try_upstream(request, ctx, body, "enrollment")
    return forwarded if forwarded is not None else _local_flag(await voices_api.create_voice(request))


async def remote_voice(request: Request, ctx: ServerContext, body: bytes | None) -> Response | None:
    """The upstream's answer for a voice this server does not have (route 'voice'), or None."""
    if body is None or ctx.upstream is None or "voice" not in ctx.config.routing.upstream_routes:
        return None
    return await try_upstream(request, ctx, body, "remote_voice")


async def get_voice(request: Request) -> Response:
    """GET /v1/voices/{id}: a voice the edge does not have is looked up upstream (route 'voice')."""
    ctx: ServerContext = request.app.state.ctx
    try:
        return await voices_api.get_voice(request)
    except NotFound:
        forwarded = await remote_voice(request, ctx, b"")
        if forwarded is None:
            raise
        return forwarded
