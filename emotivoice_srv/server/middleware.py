"""One ASGI middleware around every request: request id, API keys, drain refusal, metrics, access log.

Pure ASGI (not BaseHTTPMiddleware) so streamed responses pass through untouched and a request's
fields (voice, emotion, audio seconds, tier...) can be filled in by the handler and logged at the end.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import EmotivoiceError, Unauthorized, Unavailable
from .studio import is_studio_path
from .tenancy import SCOPE_KEY, SINGLE_TENANT

log = logging.getLogger("emotivoice_srv.access")

PROBES = ("/livez", "/readyz", "/startupz")
OPEN_PATHS = PROBES + ("/openapi.json",)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
LOG_KEY = "emotivoice.log"


def request_fields(scope: Scope) -> dict[str, Any]:
    """The dict a handler fills with what the access log should say about this request."""
    return scope.setdefault(LOG_KEY, {})


def error_body(exc: EmotivoiceError) -> bytes:
    return json.dumps(exc.to_dict()).encode()


def allowed_methods(routes, scope: Scope) -> str:
    """The Allow header for a path: the methods of every route whose path matches (HEAD with GET)."""
    methods: set[str] = set()
    for route in routes:
        match, _ = route.matches({**scope, "method": "GET"})
        if match is not Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return ", ".join(sorted(methods))


def error_headers(exc: EmotivoiceError) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", b"application/json")]
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    if isinstance(exc, Unauthorized):
        headers.append((b"www-authenticate", b'Bearer realm="emotivoice-srv"'))
    return headers


class RequestMiddleware:
    def __init__(self, app: ASGIApp, ctx) -> None:
        self.app = app
        self.ctx = ctx

    def _route(self, scope: Scope) -> str:
        for route in self.ctx.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route.path
        return "other"

    def _check_access(self, scope: Scope) -> None:
        path = scope["path"]
        config = self.ctx.config
        if path in OPEN_PATHS or (config.ui and is_studio_path(path)):
            return  # the studio page loads without a key; its API calls send one
        if self.ctx.lifecycle.draining and path != "/metrics":
            raise Unavailable("the server is shutting down; retry on another replica", code="draining")
        keyring = self.ctx.keyring
        if not keyring.enabled:
            scope[SCOPE_KEY] = SINGLE_TENANT
            return
        if path == "/metrics" and not config.protect_metrics:
            return
        auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
        principal = keyring.identify(token.strip())
        if principal is None:
            raise Unauthorized("invalid API key")
        scope[SCOPE_KEY] = principal  # who is calling, decided once: handlers read it, never the header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope["request_id"] = request_id
        fields = request_fields(scope)
        route = self._route(scope)
        status = {"code": 500}
        metrics = self.ctx.metrics

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        tracked = scope["path"] not in PROBES and route != "/metrics"
        metrics.http_inflight.inc()
        self.ctx.active_requests += tracked
        try:
            try:
                self._check_access(scope)
            except EmotivoiceError as exc:
                metrics.rejected.labels(exc.code).inc()
                status["code"] = exc.http_status
                fields["error"] = exc.code
                headers = [*error_headers(exc), (b"x-request-id", request_id.encode())]
                if exc.code == "draining":
                    headers.append((b"connection", b"close"))
                await send({"type": "http.response.start", "status": exc.http_status, "headers": headers})
                await send({"type": "http.response.body", "body": error_body(exc)})
                return
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - t0
            metrics.http_inflight.dec()
            self.ctx.active_requests -= tracked
            metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
            metrics.latency.labels(route).observe(elapsed)
            if tracked:
                log.info("request", extra={"request_id": request_id, "method": scope["method"], "route": route,
                                           "status": status["code"], "latency_s": round(elapsed, 4), **fields})
