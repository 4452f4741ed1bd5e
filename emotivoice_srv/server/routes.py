"""HTTP handlers: parse the request, hand synthesis to the pool, shape the response."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future
from dataclasses import asdict, replace
from functools import partial
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..audio.encode import content_type
from ..errors import BodyTooLarge, DeadlineExceeded, InvalidInput, UnknownVoice
from ..prosody.emotion import EMOTIONS, PRESETS
from .middleware import request_fields
from . import dispatch, render_budget
from .pool import CancelToken
from .routing import first_chunk_chars, wants_from
from .provenance_api import SYNTHETIC_HEADER, link_header, response_facts
from .json_body import require_json
from .schemas import SynthesisRequest, form_to_body, parse_json, parse_speech, parse_tts
from .synthesis import Rendered, stream_steps, whole_steps
from .tenant_voices import principal_of, resolve
from .forms import check_form
from .voices_api import MULTIPART, read_form, reference_fit, request_consent

if TYPE_CHECKING:
    from .context import ServerContext

log = logging.getLogger("emotivoice_srv.server")

class ClientGone(Exception):
    """The client disconnected before its audio was ready; the work was cancelled."""


def _ctx(request: Request) -> ServerContext:
    return request.app.state.ctx


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` (never buffered beyond it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body of {declared} bytes is over the limit of {limit}")
    parts, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise BodyTooLarge(f"request body is over the limit of {limit} bytes")
        parts.append(part)
    return b"".join(parts)


async def _wait_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _audio_headers(rendered_seconds: float | None, req: SynthesisRequest, tier: str) -> dict[str, str]:
    headers = {"X-Model-Tier": tier, "X-Sample-Rate": str(req.sample_rate),  # X-Request-Id: middleware
               SYNTHETIC_HEADER[0]: SYNTHETIC_HEADER[1]}
    if rendered_seconds is not None:
        headers["X-Audio-Duration"] = f"{rendered_seconds:.3f}"
    return headers


class AudioStreamResponse(StreamingResponse):
    """A streamed body whose worker is told to stop whenever sending ends early."""

    def __init__(self, content: AsyncIterator[bytes], token: CancelToken, **kwargs) -> None:
        super().__init__(content, **kwargs)
        self.token = token

    async def __call__(self, scope, receive, send) -> None:
        async def watch() -> None:  # a client that leaves frees the worker at its current utterance's end,
            # not when the next chunk fails to send (uvicorn's ASGI 2.4 streams only notice on send)
            while (await receive())["type"] != "http.disconnect":
                pass
            self.token.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await super().__call__(scope, receive, send)
        finally:
            watcher.cancel()
            self.token.cancel()


async def synthesize(request: Request, req: SynthesisRequest, route: str, body: bytes | None = None) -> Response:
    """Route (upstream, main or the fast tier: server/dispatch.py), render, respond. ``body``: the raw
    request, for forwarding it upstream as it came."""
    ctx = _ctx(request)
    t0 = time.perf_counter()
    fields = request_fields(request.scope)
    voice = req.options.voice
    wants = wants_from(req.quality, req.latency_budget_ms, request.headers)
    arrival = time.monotonic()
    token = CancelToken(deadline=arrival + ctx.config.request_timeout_s)
    try:
        resolved = await resolve(ctx, principal_of(request), voice)
    except UnknownVoice:  # on an edge, a voice only the upstream has is spoken there
        forwarded = await dispatch.remote_voice(request, ctx, body)
        if forwarded is None:
            raise
        return forwarded
    if resolved is not voice:
        req = replace(req, options=replace(req.options, voice=resolved))
    slot = await ctx.tiers.select()
    fields.update(voice=voice if isinstance(voice, str) else voice.id, emotion=req.options.emotion, prompt=req.options.prompt,
                  text_chars=len(req.text), format=req.format, stream=req.stream)
    after_upstream = False
    if body is not None and ctx.upstream is not None:
        reason = dispatch.upstream_reason(ctx, req, wants)
        if reason is not None:
            forwarded = await dispatch.try_upstream(request, ctx, body, reason)
            if forwarded is not None:
                return forwarded
            after_upstream = True
    placements = dispatch.local_placements(ctx, slot, wants, req, after_upstream)
    placements, budgets = _budgeted(ctx, placements, req, route)

    def facts_for(placed: dispatch.Placement):
        return response_facts(request, ctx, req, placed.engine, placed.tier, route, voice)

    if req.stream:
        return await _stream(request, req, route, token, t0, placements, facts_for, arrival, budgets)

    def steps(placed: dispatch.Placement):
        facts = facts_for(placed)
        seal = partial(ctx.provenance.seal, facts=facts) if facts is not None else None
        return whole_steps(placed.engine, req, seal)

    future, placed = dispatch.submit(ctx, placements, steps, token)
    token.deadline = arrival + budgets[id(placed)].deadline_s
    tier = placed.tier
    fields.update(tier=tier, route_reason=placed.reason, deadline_s=round(budgets[id(placed)].deadline_s, 1))
    rendered: Rendered = await _await_job(request, asyncio.wrap_future(future), token, future)
    ctx.record_synthesis(route, tier, rendered, time.perf_counter() - t0, stream=False)
    ctx.rates.observe(tier, rendered.compute_seconds, len(req.text))
    fields.update(audio_s=round(rendered.audio_seconds, 3), rtf=round(rendered.rtf, 3))
    headers = {**_audio_headers(rendered.audio_seconds, req, tier), **placed.headers()}
    if rendered.manifest_id is not None:
        headers.update([link_header(request, rendered.manifest_id)])
    return Response(rendered.body, media_type=content_type(req.format, req.sample_rate), headers=headers)


def _budgeted(ctx: ServerContext, placements: list[dispatch.Placement], req: SynthesisRequest,
              route: str) -> tuple[list[dispatch.Placement], dict[int, render_budget.Budget]]:
    """The placements whose estimate fits --max-render-seconds, with each one's deadline (server/render_budget.py);
    none: refused at once, 413 (this text is too long to render whole here) or 429 (too much work ahead)."""
    policy = ctx.config.deadline_policy
    chars = first_chunk_chars(req.text, req.stream)
    loads = {id(p): dispatch.load_of(ctx, p) for p in placements}
    if len(req.text) > placements[0].engine.config.max_text_chars:  # the engine's first step refuses it
        return placements, {id(p): render_budget.budget(policy, loads[id(p)], 0) for p in placements}  # (413)
    kept = [p for p in placements if render_budget.fits(policy, loads[id(p)], chars)]
    if not kept:
        raise render_budget.refusal(policy, loads[id(placements[0])], chars, stream=req.stream, route=route)
    return kept, {id(p): render_budget.budget(policy, loads[id(p)], chars) for p in kept}


async def _await_job(request: Request, job: asyncio.Future, token: CancelToken, work: Future):
    """The job's result, unless the client leaves (cancel) or the deadline passes (504) first.
    ``work`` is the pool future: cancelling it succeeds only if the synthesis has not started."""
    watcher = asyncio.ensure_future(_wait_disconnect(request))
    try:
        done, _ = await asyncio.wait({job, watcher}, timeout=token.remaining(),
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if job in done:
        return job.result()
    token.cancel()
    stage = "queued" if work.cancel() else "running"
    job.cancel()
    job.add_done_callback(lambda f: f.cancelled() or f.exception())
    reason = "client_disconnected" if watcher in done else "deadline"
    _ctx(request).metrics.cancelled.labels(reason, stage).inc()
    request_fields(request.scope).update(error=reason, cancelled_while=stage)
    if watcher in done:
        raise ClientGone()
    limit = request_fields(request.scope).get("deadline_s", _ctx(request).config.request_timeout_s)
    raise DeadlineExceeded(f"no audio within this request's {limit:g} s deadline (its estimate at arrival, "
                           "x --deadline-slack, and at least --request-timeout); the server was slower than measured")


async def _stream(request: Request, req: SynthesisRequest, route: str, token: CancelToken, t0: float,
                  placements: list[dispatch.Placement], facts_for, arrival: float,
                  budgets: dict[int, render_budget.Budget]) -> Response:
    ctx = _ctx(request)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def emit(data: bytes) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, data)

    future, placed = dispatch.submit(ctx, placements, lambda p: stream_steps(p.engine, req, emit), token,
                                     realtime=True)
    token.deadline = arrival + budgets[id(placed)].deadline_s
    tier = placed.tier
    facts = facts_for(placed)
    request_fields(request.scope).update(tier=tier, route_reason=placed.reason,
                                         deadline_s=round(budgets[id(placed)].deadline_s, 1))
    job = asyncio.wrap_future(future)
    job.add_done_callback(queue.put_nowait)  # the finished future itself marks the end of the stream
    job.add_done_callback(lambda f: f.cancelled() or f.exception())  # read even if the client left
    first = await _await_job(request, asyncio.ensure_future(queue.get()), token, future)
    if isinstance(first, asyncio.Future):
        first.result()  # a validation error, raised before any byte was sent
    token.deadline = None  # the deadline bounds a stream's first audio; then playback paces it, a disconnect stops it
    fields = request_fields(request.scope)
    headers = {**_audio_headers(None, req, tier), **placed.headers()}
    manifest_id = ctx.provenance.reserve() if facts is not None else None
    if manifest_id is not None:
        headers.update([link_header(request, manifest_id)])

    async def body() -> AsyncIterator[bytes]:
        item, first_sent, sent, sealed = first, False, [], False
        try:
            while not isinstance(item, asyncio.Future):
                yield item
                sent.append(item)
                if not first_sent:
                    first_sent = True
                    ctx.metrics.ttfa.labels(route, "true").observe(time.perf_counter() - t0)
                item = await queue.get()
            rendered: Rendered | None = None
            try:
                rendered = item.result()
            except (asyncio.CancelledError, Exception) as exc:  # headers are gone: log, end
                fields["error"] = getattr(exc, "code", type(exc).__name__)
            if manifest_id is not None:  # binds exactly the bytes sent (a stream an error cut short too),
                # signed before the body's end is sent; a failure here cuts the response instead
                await run_in_threadpool(ctx.provenance.finish_stream, manifest_id, b"".join(sent), facts)
                sealed = True
            if rendered is None:
                return
            ctx.record_synthesis(route, tier, rendered, time.perf_counter() - t0, stream=True)
            ctx.rates.observe(tier, rendered.compute_seconds, len(req.text))
            fields.update(audio_s=round(rendered.audio_seconds, 3), rtf=round(rendered.rtf, 3))
        finally:
            if manifest_id is not None and not sealed:
                ctx.provenance.store.fail(manifest_id, RuntimeError("the stream did not complete"))

    return AudioStreamResponse(body(), token, media_type=content_type(req.format, req.sample_rate),
                               headers=headers)


async def tts(request: Request) -> Response:
    ctx = _ctx(request)
    if request.headers.get("content-type", "").startswith(MULTIPART):
        return await _tts_with_reference(request, ctx)
    require_json(request.headers.get("content-type"), also=(MULTIPART,))
    body = await read_body(request, ctx.config.max_body_bytes)
    return await synthesize(request, parse_tts(parse_json(body, max_depth=ctx.config.max_json_depth), ctx.tts_fields),
                            "/v1/tts", body)


async def _tts_with_reference(request: Request, ctx: ServerContext) -> Response:
    """Inline cloning: the same fields as JSON, as form fields, plus a ``reference_audio`` file."""
    texts, files = await read_form(request, ctx)
    check_form(texts, files, (), {"reference_audio": True}, texts_checked_elsewhere=True)
    if "voice" in texts:
        raise InvalidInput("give either voice or reference_audio, not both", code="invalid_request")
    request_consent(request, ctx, texts)  # under --require-consent an inline clone needs a statement too
    texts = {k: v for k, v in texts.items() if k not in ("consent", "subject")}
    body = form_to_body({**texts, "voice": "reference"}, ctx.tts_fields, ctx.config.max_json_depth)
    req = parse_tts(body, ctx.tts_fields)
    voice = await reference_fit(request, ctx, files["reference_audio"])
    return await synthesize(request, replace(req, options=replace(req.options, voice=voice)), "/v1/tts")


async def speech(request: Request) -> Response:
    ctx = _ctx(request)
    require_json(request.headers.get("content-type"))
    body = await read_body(request, ctx.config.max_body_bytes)
    req = parse_speech(parse_json(body, max_depth=ctx.config.max_json_depth), ctx.speech_fields,
                       ctx.config.voice_aliases, ctx.config.formats,
                       ctx.sample_rate, ctx.fast_model_ids)
    return await synthesize(request, req, "/v1/audio/speech", body)


async def list_emotions(request: Request) -> Response:
    emotions = [{"name": name, "prosody": {k: v for k, v in asdict(PRESETS[name]).items() if v not in (0.0, 1.0)}}
                for name in EMOTIONS]
    return JSONResponse({"object": "list", "data": emotions, "intensity_range": [0.0, 1.0],
                         "mix_example": {"happy": 0.7, "surprised": 0.3}})


async def list_models(request: Request) -> Response:
    ctx = _ctx(request)
    return JSONResponse({"object": "list", "data": ctx.model_entries(), "tiers": ctx.tier_states()})


async def list_audio_models(request: Request) -> Response:
    """The /v1/models catalogue as OpenAI-compatible TTS clients read it (Open WebUI: ``models[].id``)."""
    entries = _ctx(request).model_entries()
    return JSONResponse({"models": [{**entry, "name": entry["id"]} for entry in entries]})


async def livez(request: Request) -> Response:
    ctx = _ctx(request)
    lag = ctx.lifecycle.loop_lag_s
    ok = lag <= ctx.config.livez_max_lag_s
    return JSONResponse({"status": "ok" if ok else "stalled", "event_loop_lag_s": round(lag, 4)},
                        status_code=200 if ok else 503)


async def startupz(request: Request) -> Response:
    lc = _ctx(request).lifecycle
    if lc.started:
        return JSONResponse({"status": "started", "load_seconds": lc.load_seconds})
    return JSONResponse({"status": "starting", "reason": "the model is loading"}, status_code=503)


async def readyz(request: Request) -> Response:
    ctx = _ctx(request)
    ready, reason = ctx.readiness()
    payload = {"status": "ready" if ready else "not_ready", "reason": reason, "tiers": ctx.tier_states(),
               "voice_store": ctx.voice_store_health()}
    return JSONResponse(payload, status_code=200 if ready else 503)


async def metrics(request: Request) -> Response:
    ctx = _ctx(request)
    return Response(ctx.metrics.render(), media_type=ctx.metrics.content_type)


async def openapi(request: Request) -> Response:
    return JSONResponse(_ctx(request).openapi)
