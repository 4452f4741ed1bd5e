"""Voice registry endpoints and the upload plumbing shared with inline cloning on /v1/tts.

POST /v1/voices enrolls: the upload is checked and normalized, its fit is looked up in the cache or
computed (once per audio, however many clients send it), and the voice is saved. The handler waits
up to ``--enroll-wait`` seconds: a finished fit answers 201 with the voice, a slower one 202 with
``status: pending`` (poll GET /v1/voices/{id}); synthesis with a pending voice is 409. A voice record
is written to the voice store when its fit is complete; pending and failed enrollments are kept in
memory with their futures and, for other replicas to see, as a short-lived status in the store.
Every voice belongs to the caller's tenant (tenant_voices.py); a store outage answers 503.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..cloning import ReferenceAudio, voice_id_for
from ..cloning.registry import Consent, check_description, now_iso
from ..cloning.store import StoreUnavailable
from ..errors import (
    BodyTooLarge,
    EmotivoiceError,
    MalformedRequest,
    NotFound,
    Overloaded,
    Unavailable,
    VoiceConflict,
)
from .forms import check_form, enroll_fields
from .pool import CancelToken
from .tenant_voices import address, from_store, principal_of, public_id, remote_pending

if TYPE_CHECKING:
    from .context import ServerContext

MULTIPART = "multipart/form-data"
FORM_OVERHEAD_BYTES = 64 * 1024
"""Room for the multipart boundaries and text fields on top of --max-upload-bytes."""
PENDING_TTL_S, FAILED_TTL_S = 600.0, 3600.0
"""How long other replicas see a pending (or failed) enrollment in a shared store, at most: a replica
that dies mid-enrollment leaves no pending voice behind for longer than this."""


@dataclass
class Enrollment:
    """An enrollment that is not (yet) a saved voice."""

    id: str
    name: str
    description: str
    audio_sha256: str
    created: str = field(default_factory=now_iso)
    status: str = "pending"
    error: dict[str, str] | None = None
    done: Future = field(default_factory=Future)
    """Resolves (to None) once the voice is saved or the enrollment failed."""
    consent: Consent | None = None
    """What the enroller stated (kept in the voice record once saved)."""
    caller: str = ""
    """Who started it (middleware.CALLER_KEY), for --max-enrollments-per-key."""

    def status_record(self) -> dict[str, Any]:
        """What other replicas see of this enrollment (shared store)."""
        return {"name": self.name, "description": self.description, "audio_sha256": self.audio_sha256,
                "created": self.created, "status": self.status, "error": self.error}

    @classmethod
    def from_status(cls, voice_id: str, raw: dict[str, Any]) -> Enrollment:
        return cls(voice_id, str(raw.get("name", voice_id)), str(raw.get("description", "")),
                   str(raw.get("audio_sha256", "")), str(raw.get("created", now_iso())),
                   str(raw.get("status", "pending")), raw.get("error"))

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "object": "voice", "name": self.name, "description": self.description,
               "created": self.created, "kind": "enrolled", "status": self.status}
        if self.error:
            out["error"] = self.error
        return out


def cloner_of(ctx: ServerContext):
    if ctx.cloner is None:
        raise Unavailable(f"voice cloning is unavailable: {ctx.cloning_error}", code="cloning_unavailable",
                          retry_after=3600)
    return ctx.cloner


async def read_form(request: Request, ctx: ServerContext) -> tuple[dict[str, str], dict[str, bytes]]:
    """(text fields, file fields) of a multipart body no bigger than the upload limit (413 above;
    the rest of an oversized body is read and dropped, not stored, so the client sees the answer)."""
    if not request.headers.get("content-type", "").startswith(MULTIPART):
        raise MalformedRequest(f"send the reference audio as {MULTIPART}", code="invalid_content_type")
    limit = ctx.cloning_config.limits.max_bytes + FORM_OVERHEAD_BYTES
    parts, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            parts.append(chunk)
        elif size > 8 * limit:
            break
    if size > limit:
        raise BodyTooLarge(f"upload of {size} bytes is over the limit of {ctx.cloning_config.limits.max_bytes} "
                           "bytes of audio", code="audio_too_large")
    request._body = b"".join(parts)  # Starlette's form parser reads a cached body when there is one
    try:
        form = await request.form(max_files=2, max_fields=20)
    except Exception as exc:  # multipart syntax errors
        raise MalformedRequest(f"the multipart body cannot be parsed: {exc}", code="invalid_multipart") from None
    texts, files = {}, {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            files[key] = await value.read()
        else:
            texts[key] = value
    await form.close()
    return texts, files


async def reference_fit(request: Request, ctx: ServerContext, data: bytes):
    """Intake + fit (cached or computed) for inline cloning; bounded by the request's deadline."""
    cloner = cloner_of(ctx)
    ref: ReferenceAudio = await run_in_threadpool(cloner.prepare, data)
    future = await run_in_threadpool(cloner.fit, ref, ctx.run_fit)
    try:
        fit = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), ctx.config.request_timeout_s)
    except asyncio.TimeoutError:
        from ..errors import DeadlineExceeded

        raise DeadlineExceeded("the reference fit did not finish within the request deadline; enroll the voice "
                               "with POST /v1/voices instead") from None
    return cloner.inline_voice(ref, fit)


def enrolled_by(request: Request) -> str:
    """Who enrolled: the API key's fingerprint when keys are on (never the key), else the client address."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip() and request.app.state.ctx.config.api_keys:
        return "api-key:sha256:" + hashlib.sha256(token.strip().encode()).hexdigest()[:12]
    return f"client:{request.client.host}" if request.client else "client:unknown"


def request_consent(request: Request, ctx: ServerContext, texts: dict[str, str]) -> Consent:
    """The consent fields of a form (422 ``consent_required`` under --require-consent without one)."""
    return cloner_of(ctx).consent(texts.get("consent"), texts.get("subject"), enrolled_by=enrolled_by(request))


def voice_json(voice, enrolled=None) -> dict[str, Any]:
    out = {"id": voice.id, "object": "voice", "gender": voice.gender, "language": voice.language,
           "description": voice.description, "speed": voice.speed, "pitch": voice.pitch, "kind": voice.kind,
           "status": "ready"}
    if enrolled is not None:
        out.update(name=enrolled.name, created=enrolled.created, similarity=enrolled.similarity,
                   speech_s=enrolled.speech_s, consent=enrolled.consent.to_dict() if enrolled.consent else None)
    return out


def _finalize(ctx: ServerContext, tenant: str, job: Enrollment, ref: ReferenceAudio, fit_future: Future) -> None:
    """Runs when the fit resolves (on a pool thread, or at once on a cache hit)."""
    cloner = ctx.cloner
    try:
        fit = fit_future.result()
        # the voice keeps the creation time its 202/201 answer reported, however long the fit took
        cloner.save(replace(cloner.record(job.id, job.name, job.description, ref, fit, consent=job.consent),
                            created=job.created), tenant)
        ctx.enrollments.pop((tenant, job.id), None)
        job.status = "ready"
    except BaseException as exc:
        job.status = "failed"
        job.error = (exc.to_dict()["error"] if isinstance(exc, EmotivoiceError)
                     else {"code": "enrollment_failed", "message": f"{type(exc).__name__}: {exc}"})
        try:
            cloner.store.status_put(tenant, job.id, job.status_record(), FAILED_TTL_S)
        except StoreUnavailable:
            pass
    finally:
        job.done.set_result(None)


async def create_voice(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    cloner = cloner_of(ctx)
    tenant = principal_of(request).tenant
    t0 = time.perf_counter()
    texts, files = await read_form(request, ctx)
    v = check_form(texts, files, enroll_fields(ctx.cloning_config.require_consent), {"file": True})
    voice_id = voice_id_for(v["name"])
    description = check_description(v["description"])
    consent = request_consent(request, ctx, texts)
    if voice_id in ctx.voices:
        raise VoiceConflict(f"{voice_id!r} is a built-in voice; choose another name", code="voice_exists")
    ref: ReferenceAudio = await run_in_threadpool(cloner.prepare, files["file"])

    existing = await run_in_threadpool(cloner.store.get, tenant, voice_id)  # the store's word, not the cache's
    if existing is not None:
        if existing.audio_sha256 == ref.sha256:  # the same enrollment again: idempotent
            cloner.catalog.put(tenant, existing)
            return JSONResponse(voice_json(cloner.voice_header(existing), existing), status_code=200)
        raise VoiceConflict(f"a voice named {voice_id!r} already exists with other audio; choose another name "
                            "or DELETE it first", code="voice_exists")
    job = ctx.enrollments.get((tenant, voice_id))
    if job is not None and job.status == "pending" and job.audio_sha256 != ref.sha256:
        raise VoiceConflict(f"voice {voice_id!r} is being enrolled from other audio", code="voice_pending")
    if job is None or job.status == "failed":
        elsewhere = await remote_pending(ctx, tenant, voice_id)
        if elsewhere is not None and elsewhere.get("audio_sha256") != ref.sha256:
            raise VoiceConflict(f"voice {voice_id!r} is being enrolled from other audio", code="voice_pending")
        caller = _admit_enrollment(ctx, request)
        job = Enrollment(voice_id, texts["name"], description, ref.sha256, consent=consent, caller=caller)
        if elsewhere is not None:  # the same enrollment on another replica: same creation time
            job.created = str(elsewhere.get("created", job.created))
        ctx.enrollments[(tenant, voice_id)] = job
        try:
            await run_in_threadpool(cloner.store.status_put, tenant, voice_id, job.status_record(), PENDING_TTL_S)
            fit_future = await run_in_threadpool(cloner.fit, ref, ctx.run_fit)
        except BaseException:
            ctx.enrollments.pop((tenant, voice_id), None)
            try:  # no pending status left behind for the other replicas
                await run_in_threadpool(cloner.store.status_clear, tenant, voice_id)
            except StoreUnavailable:
                pass  # it expires (PENDING_TTL_S)
            raise
        fit_future.add_done_callback(lambda f: _finalize(ctx, tenant, job, ref, f))
    try:
        await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job.done)), ctx.config.enroll_wait_s)
    except asyncio.TimeoutError:
        return JSONResponse(job.to_json(), status_code=202, headers={"Location": f"/v1/voices/{voice_id}"})
    if job.status == "failed":
        ctx.enrollments.pop((tenant, voice_id), None)
        raise _error_from(job.error)
    enrolled, voice = cloner.catalog.get(tenant, voice_id)
    ctx.metrics.enroll_seconds.observe(time.perf_counter() - t0)
    return JSONResponse(voice_json(voice, enrolled), status_code=201,
                        headers={"Location": f"/v1/voices/{voice_id}"})


def _admit_enrollment(ctx: ServerContext, request: Request) -> str:
    """The caller, when it may start another fit (429 too_many_enrollments at --max-enrollments-per-key)."""
    from .middleware import CALLER_KEY

    caller = request.scope.get(CALLER_KEY, "")
    cap = ctx.config.abuse.max_enrollments_per_key
    running = sum(1 for job in ctx.enrollments.values() if job.status == "pending" and job.caller == caller)
    if cap and running >= cap:
        ctx.metrics.rejected.labels("too_many_enrollments").inc()
        raise Overloaded(f"{running} enrollments of yours are still running (at most {cap} at once, "
                         "--max-enrollments-per-key); wait for one to finish (GET /v1/voices/{id})",
                         code="too_many_enrollments", retry_after=max(1, ctx.pool.retry_after_s()))
    return caller


def _error_from(error: dict[str, str]) -> EmotivoiceError:
    from .. import errors

    if error["code"] == StoreUnavailable.code:
        return StoreUnavailable(error["message"])
    for cls in (errors.InvalidAudio, errors.Overloaded, errors.DeadlineExceeded, errors.InsufficientStorage):
        if error["code"] == cls.code or (cls is errors.InvalidAudio and error["code"].startswith("audio_")):
            return cls(error["message"], code=error["code"])
    return EmotivoiceError(error["message"], code=error["code"])


def voice_entries(ctx: ServerContext, principal) -> list[dict[str, Any]]:
    """The voices this caller sees: built-in, its tenant's enrolled (an admin: every tenant's, named
    ``tenant:id``) and its enrollments still pending or failed. Both voice lists are read from here."""
    aliases: dict[str, list[str]] = {}
    for alias, target in sorted(ctx.config.voice_aliases.items()):
        aliases.setdefault(target, []).append(alias)
    data = [{**voice_json(v), "aliases": aliases.get(v.id, [])} for v in ctx.voices]
    if ctx.cloner is not None:
        for tenant, enrolled, voice in ctx.cloner.catalog.items(None if principal.admin else principal.tenant):
            entry = {**voice_json(voice, enrolled), "aliases": []}
            if tenant != principal.tenant:
                entry.update(id=public_id(principal, tenant, enrolled.id), owner=tenant)
            data.append(entry)
    data += [job.to_json() for (tenant, _), job in sorted(ctx.enrollments.items(), key=lambda kv: kv[0])
             if tenant == principal.tenant]
    return data


async def list_voices(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    return JSONResponse({"object": "list", "data": voice_entries(ctx, principal_of(request))})


async def list_audio_voices(request: Request) -> Response:
    """``{"voices": [{id, name, ...}]}``, the shape OpenAI-compatible TTS clients (Open WebUI, clients of
    Kokoro-FastAPI) read: the voices usable now (status ready), from the same list as /v1/voices."""
    ctx: ServerContext = request.app.state.ctx
    voices = [{**entry, "name": entry.get("name") or entry["id"]}
              for entry in voice_entries(ctx, principal_of(request)) if entry["status"] == "ready"]
    return JSONResponse({"voices": voices})


async def get_voice(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    requested = request.path_params["voice_id"]
    tenant, voice_id = address(principal_of(request), requested)
    job = ctx.enrollments.get((tenant, voice_id))
    if job is not None:
        return JSONResponse({**job.to_json(), "id": requested})
    if requested in ctx.voices:
        return JSONResponse(voice_json(ctx.voices.get(requested)))
    entry = ctx.cloner.catalog.get(tenant, voice_id) if ctx.cloner is not None else None
    if entry is None and await from_store(ctx, tenant, voice_id):
        entry = ctx.cloner.catalog.get(tenant, voice_id)
    if entry is not None:
        return JSONResponse({**voice_json(entry[1], entry[0]), "id": requested})
    elsewhere = await remote_pending(ctx, tenant, voice_id)
    if elsewhere is not None:
        return JSONResponse({**Enrollment.from_status(voice_id, elsewhere).to_json(), "id": requested})
    raise NotFound(f"no voice {requested!r}; available: {', '.join(ctx.voices.ids())} and your enrolled voices "
                   "(GET /v1/voices)", code="unknown_voice")


async def delete_voice(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    requested = request.path_params["voice_id"]
    tenant, voice_id = address(principal_of(request), requested)
    job = ctx.enrollments.get((tenant, voice_id))
    if job is not None and job.status == "pending":
        raise VoiceConflict(f"voice {requested!r} is still being enrolled; delete it when it is ready",
                            code="voice_pending")
    if job is not None:  # a failed enrollment: forget it
        ctx.enrollments.pop((tenant, voice_id), None)
        return Response(status_code=204)
    if requested in ctx.voices:
        raise VoiceConflict(f"{requested!r} is a built-in voice and cannot be deleted", code="voice_builtin")
    if ctx.cloner is not None and await run_in_threadpool(ctx.cloner.delete, voice_id, tenant):
        return Response(status_code=204)
    if await remote_pending(ctx, tenant, voice_id):
        raise VoiceConflict(f"voice {requested!r} is still being enrolled; delete it when it is ready",
                            code="voice_pending")
    raise NotFound(f"no voice {requested!r}", code="unknown_voice")


def fit_runner(ctx: ServerContext):
    """Fits run on the inference pool, one candidate per step, under the same admission control."""
    def run(steps):
        return ctx.pool.submit_steps(steps, CancelToken())
    return run
