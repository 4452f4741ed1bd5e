"""The admin API of model versions (admin keys only, server/tenancy.py ``--admin-keys``).

    GET  /admin/models                  every tier's version, swap state, previous version, memory, stored versions
    POST /admin/models/{role}           {"bundle": "/abs/path" or a stored version}: hot-swap main or fallback to it
    POST /admin/models/{role}/rollback  back to the version served before the last swap
    POST /admin/bundles                 a delta (.evdelta) upload, applied into the bundle store (201: the version)

A swap answers when it is over (switched and the old version drained): 200 with the swap record
(``seconds.to_switched`` is request -> new version serving), or the error with the record of how far
it got (422 a step failed, 409 another swap runs / nothing to roll back to, 403 path outside the roots,
507 memory guard). The old version serves throughout a failed swap.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...errors import InvalidInput
from ..tenancy import SCOPE_KEY
from . import memory
from .state import AdminOnly, SwapError, SwapRefused

if TYPE_CHECKING:
    from ..context import ServerContext


def _admin_ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    if not ctx.keyring.enabled:
        raise AdminOnly("the admin API needs an admin key: start the server with --admin-keys / "
                        "EMOTIVOICE_ADMIN_KEYS (SIGHUP and --watch-bundle swap without one)")
    principal = request.scope.get(SCOPE_KEY)
    if principal is None or not principal.admin:
        raise AdminOnly("model versions are managed with an admin key (--admin-keys); this key is not one")
    return ctx


async def _swap_response(ctx: ServerContext, work) -> Response:
    """Run a swap to its end even if the client goes away (its own task, shielded), and answer with its record."""
    task = ctx.models.spawn(work)
    try:
        record = await asyncio.shield(task)
    except SwapError as exc:
        body = exc.to_dict()
        if exc.record is not None:
            body["swap"] = exc.record.to_dict()
        return JSONResponse(body, status_code=exc.http_status)
    return JSONResponse(record.to_dict())


async def list_models(request: Request) -> Response:
    ctx = _admin_ctx(request)
    manager = ctx.models
    tiers = []
    for slot in ctx.tiers.slots:
        entry = {"role": slot.role, "state": slot.state.value}
        if slot.engine is not None:
            entry.update(model_version=slot.engine.model_version, bundle_dir=str(slot.engine.config.bundle_dir),
                         configured_bundle=str(manager.configured.get(slot.role, "")))
        entry.update(manager.slot_info(slot.role, admin=True))
        tiers.append(entry)
    store = manager.store
    stored = await manager.run(lambda: [v.to_dict() for v in store.list()]) if store is not None else None
    return JSONResponse({"tiers": tiers, "bundle_roots": [str(p) for p in manager.bundle_roots()],
                         "stored_versions": stored,
                         "memory": {"rss_mib": round(memory.process_rss() / memory.MIB),
                                    "limit_mib": round(manager.limit / memory.MIB) if manager.limit else None},
                         "history": [r.to_dict() for r in manager.board.history]})


async def swap(request: Request) -> Response:
    from ..routes import read_body
    from ..schemas import parse_json

    ctx = _admin_ctx(request)
    body = parse_json(await read_body(request, ctx.config.max_body_bytes))
    if not isinstance(body, dict) or set(body) - {"bundle"} or "bundle" not in body:
        raise InvalidInput('the body is {"bundle": "<stored version>" or "/absolute/path/of/a/bundle/directory"}',
                           code="invalid_request")
    role = request.path_params["role"]
    path = await ctx.models.run(ctx.models.target, body["bundle"])
    return await _swap_response(ctx, ctx.models.upgrade(role, path, trigger="api"))


async def upload_bundle(request: Request) -> Response:
    """A delta upload applied into the bundle store (then ``POST /admin/models/main`` can switch to it)."""
    from ...bundle.intake import receive_delta_async

    ctx = _admin_ctx(request)
    store = ctx.models.store
    if store is None:
        raise SwapRefused("this server has no bundle store to apply a delta into", code="no_bundle_store")
    stored = await receive_delta_async(store, request.stream(), ctx.config.swap.max_delta_bytes)
    return JSONResponse({"version": stored.to_dict()}, status_code=201)


async def rollback(request: Request) -> Response:
    ctx = _admin_ctx(request)
    return await _swap_response(ctx, ctx.models.rollback(request.path_params["role"], trigger="api"))


def admin_routes() -> list[Route]:
    return [Route("/admin/models", list_models, methods=["GET"]),
            Route("/admin/models/{role}", swap, methods=["POST"]),
            Route("/admin/models/{role}/rollback", rollback, methods=["POST"]),
            Route("/admin/bundles", upload_bundle, methods=["POST"])]
