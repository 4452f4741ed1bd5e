"""Voices as one caller sees them: the built-in voices plus its own tenant's enrolled ones.

An enrolled voice is found by (tenant, id) in the in-process catalog, never through the engine's
shared library, so another tenant's voice is simply not there: 404 ``unknown_voice``, the same
answer as for a voice that does not exist (no 403: nothing leaks whether it exists). An admin may
address any tenant's voice as ``<tenant>:<id>``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..cloning.store import StoreUnavailable
from ..errors import UnknownVoice, VoiceConflict
from ..voices import Voice
from .tenancy import SCOPE_KEY, SINGLE_TENANT, Principal

if TYPE_CHECKING:
    from .context import ServerContext


def principal_of(request: Request) -> Principal:
    """Set by the request middleware; single-tenant when the server has no API keys."""
    return request.scope.get(SCOPE_KEY, SINGLE_TENANT)


def address(principal: Principal, voice_id: str) -> tuple[str, str]:
    """(tenant, id) a caller means by ``voice_id``: its own tenant's, or for an admin ``tenant:id``."""
    tenant, sep, rest = voice_id.partition(":")
    if sep and principal.admin:
        return tenant, rest
    return principal.tenant, voice_id


def public_id(principal: Principal, tenant: str, voice_id: str) -> str:
    """How this caller names a voice: plain for its own, ``tenant:id`` for another's (admins only)."""
    return voice_id if tenant == principal.tenant else f"{tenant}:{voice_id}"


def available(ctx: ServerContext, principal: Principal) -> str:
    own = [public_id(principal, t, e.id) for t, e, _ in ctx.cloner.catalog.items(principal.tenant)] \
        if ctx.cloner is not None else []
    return ", ".join([*ctx.voices.ids(), *own])


async def _shared_read(ctx: ServerContext, read, tenant: str, voice_id: str):
    """``read(tenant, id)`` on a shared store, off the event loop; None for the local store (nothing
    else writes it) or while the store is unreachable (a miss is then answered from memory)."""
    if ctx.cloner is None or ctx.cloner.store.backend == "local":
        return None
    try:
        return await run_in_threadpool(read, tenant, voice_id)
    except StoreUnavailable:
        return None


async def remote_pending(ctx: ServerContext, tenant: str, voice_id: str) -> dict | None:
    """An enrollment of (tenant, id) pending on another replica (shared store), or None."""
    status = await _shared_read(ctx, ctx.cloner.store.status_get if ctx.cloner else None, tenant, voice_id)
    return status if status and status.get("status") == "pending" else None


async def from_store(ctx: ServerContext, tenant: str, voice_id: str) -> bool:
    """A catalog miss read once from a shared store (a voice saved elsewhere whose notice has not
    arrived yet); True when it is in the catalog now. Only misses pay this round trip."""
    enrolled = await _shared_read(ctx, ctx.cloner.store.get if ctx.cloner else None, tenant, voice_id)
    return enrolled is not None and ctx.cloner.catalog.put(tenant, enrolled)


async def resolve(ctx: ServerContext, principal: Principal, voice: str | Voice) -> str | Voice:
    """The voice a synthesis request names: a built-in id as is, an enrolled one as its Voice (a dict
    read once cached); 409 while its enrollment is pending, 404 when this caller has no such voice."""
    if not isinstance(voice, str) or voice in ctx.voices or ctx.cloner is None:
        return voice
    tenant, voice_id = address(principal, voice)
    found = ctx.cloner.catalog.voice(tenant, voice_id)
    if found is None and await from_store(ctx, tenant, voice_id):
        found = ctx.cloner.catalog.voice(tenant, voice_id)
    if found is not None:
        return found
    job = ctx.enrollments.get((tenant, voice_id))
    if (job is not None and job.status == "pending") or await remote_pending(ctx, tenant, voice_id):
        raise VoiceConflict(f"voice {voice!r} is still being enrolled; poll GET /v1/voices/{voice} until its "
                            "status is ready", code="voice_pending")
    raise UnknownVoice(f"unknown voice {voice!r}; available: {available(ctx, principal)}")
