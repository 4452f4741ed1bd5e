"""One ASGI middleware around every request: request id, header size, API keys, rate limit, drain refusal,
body arrival deadline, metrics, access log.

Pure ASGI (not BaseHTTPMiddleware) so streamed responses pass through untouched and a request's
fields (voice, emotion, audio seconds, tier...) can be filled in by the handler and logged at the end.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import BodyTimeout, EmotivoiceError, HeadersTooLarge, Overloaded, Unauthorized, Unavailable
from ..logs import REQUEST_ID
from .studio import is_studio_path
from .tenancy import SCOPE_KEY, SINGLE_TENANT

log = logging.getLogger("emotivoice_srv.access")

PROBES = ("/livez", "/readyz", "/startupz")
OPEN_PATHS = PROBES + ("/openapi.json",)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
LOG_KEY = "emotivoice.log"
CALLER_KEY = "emotivoice.caller"
"""Who is calling, for per-caller limits: ``tenant:<t>`` with API keys, else ``addr:<client address>``."""


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
    if isinstance(exc, BodyTimeout):  # the rest of the body may still be on its way: end the connection
        headers.append((b"connection", b"close"))
    return headers


def with_request_id(body: bytes, request_id: str) -> bytes:
    """An error body ``{"error": {...}}`` with ``request_id`` added to the error; other bodies unchanged."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        payload["error"]["request_id"] = request_id
        return json.dumps(payload).encode()
    return body


def _header_bytes(scope: Scope) -> int:
    return sum(len(k) + len(v) + 4 for k, v in scope["headers"])


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
        limits = config.abuse
        if _header_bytes(scope) > limits.max_header_bytes:
            raise HeadersTooLarge(f"request headers of {_header_bytes(scope)} bytes are over the limit of "
                                  f"{limits.max_header_bytes} (--max-header-bytes)")
        try:
            self._authenticate(scope, path, config)
        finally:
            keyed = self.ctx.keyring.enabled and SCOPE_KEY in scope
            client = scope.get("client")
            scope[CALLER_KEY] = (f"tenant:{scope[SCOPE_KEY].tenant}" if keyed
                                 else f"addr:{client[0] if client else 'unknown'}")
        buckets = self.ctx.rate_buckets
        if buckets is not None and path.startswith("/v1/"):
            wait = buckets.take(scope[CALLER_KEY])
            if wait > 0:
                raise Overloaded(f"rate limit of {limits.rate} per {'API key' if keyed else 'client address'} "
                                 f"exceeded (bursts of {limits.bucket_size}); retry in {wait:.1f} s",
                                 code="rate_limited", retry_after=max(1, int(wait + 0.999)))

    def _authenticate(self, scope: Scope, path: str, config) -> None:
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
        REQUEST_ID.set(request_id)  # every log line while handling it says which request
        fields = request_fields(scope)
        route = self._route(scope)
        status = {"code": 500}
        metrics = self.ctx.metrics
        held: dict[str, Any] = {}  # an error response's start and body, until its request id is added

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
                if message["status"] >= 400 and (b"content-type", b"application/json") in message["headers"]:
                    held.update(start=message, body=b"")
                    return
            elif message["type"] == "http.response.body" and "start" in held:
                held["body"] += message.get("body", b"")
                if message.get("more_body", False):
                    return
                body = with_request_id(held["body"], request_id)
                start = held.pop("start")
                start["headers"] = [(k, v) for k, v in start["headers"] if k != b"content-length"] + [
                    (b"content-length", str(len(body)).encode())]
                await send(start)
                message = {"type": "http.response.body", "body": body}
            await send(message)

        body_deadline = time.monotonic() + self.ctx.config.abuse.body_timeout_s
        body_done = False

        async def timed_receive() -> Message:
            """The request's body must have arrived by ``body_deadline`` (408 body_timeout after)."""
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, body_deadline - time.monotonic()))
            except asyncio.TimeoutError:
                metrics.rejected.labels("body_timeout").inc()
                limit = self.ctx.config.abuse.body_timeout_s
                raise BodyTimeout(f"the request body did not arrive within {limit:g} s (--body-timeout); "
                                  "send it faster or in a smaller request") from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

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
                await send({"type": "http.response.body", "body": with_request_id(error_body(exc), request_id)})
                return
            await self.app(scope, timed_receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - t0
            metrics.http_inflight.dec()
            self.ctx.active_requests -= tracked
            metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
            metrics.latency.labels(route).observe(elapsed)
            if tracked:
                log.info("request", extra={"request_id": request_id, "method": scope["method"], "route": route,
                                           "status": status["code"], "latency_s": round(elapsed, 4), **fields})
