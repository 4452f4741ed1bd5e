"""Content Credentials on the HTTP API: each response's facts, its marking headers, and the
short-lived detached-manifest endpoint that ``Link: <...>; rel="c2pa-manifest"`` points at.

Files in wav/flac/mp3 carry their manifest; pcm, ogg/opus and every stream get a ``Link`` header to
``/v1/manifests/{id}`` (an ``application/c2pa`` manifest store whose hash covers the whole body). A
stream's manifest exists once its last byte has been rendered; a client asking earlier waits for it.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import NotFound
from ..provenance import MANIFEST_MEDIA_TYPE, SynthesisFacts, verify_bytes

if TYPE_CHECKING:
    from .context import ServerContext
    from .schemas import SynthesisRequest

SYNTHETIC_HEADER = ("X-Synthetic-Audio", "true")
"""On every audio response, marked or not: a plain disclosure any client can read."""


def response_facts(request: Request, ctx: ServerContext, req: SynthesisRequest, engine, tier: str,
                   route: str, requested) -> SynthesisFacts | None:
    """The facts this response's manifest records, or None when marking is off. ``requested`` is the voice
    as the client named it (``req.options.voice`` may be the caller's enrolled voice, resolved)."""
    if ctx.provenance is None:
        return None
    from .tenant_voices import address, principal_of

    voice = req.options.voice
    consent = None
    if not isinstance(voice, str) or (ctx.cloner is not None and voice not in ctx.voices):
        entry = None
        if isinstance(requested, str) and ctx.cloner is not None:
            entry = ctx.cloner.catalog.get(*address(principal_of(request), requested))
        consent = bool(entry is not None and entry[0].consent_statement)  # inline clones: never stated
    return ctx.provenance.facts(engine, tier, req.options, request_id=request.scope.get("request_id", ""),
                                fmt=req.format, sample_rate=req.sample_rate, route=route, consent_recorded=consent)


def link_header(request: Request, manifest_id: str) -> tuple[str, str]:
    url = str(request.url_for("manifest", manifest_id=manifest_id))
    return "Link", f'<{url}>; rel="c2pa-manifest"; type="{MANIFEST_MEDIA_TYPE}"'


async def get_manifest(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    manifest_id = request.path_params["manifest_id"]
    provenance = ctx.provenance
    if provenance is None:
        raise NotFound("provenance marking is off on this server", code="manifest_not_found")
    entry = provenance.store.get(manifest_id)
    if entry is None:
        raise NotFound(f"no manifest {manifest_id!r}: detached manifests are kept "
                       f"{provenance.config.manifest_ttl_s:g} s", code="manifest_not_found")
    try:  # a stream's manifest is signed when its last byte is known: wait for it
        manifest = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(entry)), ctx.config.request_timeout_s)
    except Exception as exc:
        raise NotFound(f"manifest {manifest_id!r} is not available: its response did not complete "
                       f"({type(exc).__name__})", code="manifest_not_found") from None
    return Response(manifest, media_type=MANIFEST_MEDIA_TYPE,
                    headers={"Cache-Control": f"private, max-age={int(provenance.config.manifest_ttl_s)}"})


async def verify_upload(request: Request) -> Response:
    """POST /v1/verify (multipart ``file`` + optional detached ``manifest``): the file's Content Credentials
    as ``emotivoice-srv verify --json`` reports them (no trust anchors: a valid signature is "untrusted")."""
    from .forms import check_form
    from .voices_api import read_form

    ctx: ServerContext = request.app.state.ctx
    texts, files = await read_form(request, ctx)
    check_form(texts, files, (), {"file": True, "manifest": False})
    verdict = await run_in_threadpool(verify_bytes, files["file"], None, manifest=files.get("manifest"))
    return JSONResponse(verdict.to_dict())
