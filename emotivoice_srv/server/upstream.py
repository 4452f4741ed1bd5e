"""Edge -> upstream forwarding: an edge node sends some work to a bigger emotivoice-srv pool.

``Upstream.forward`` replays the client's request (same path, body and routing headers, the upstream's
own API key) and passes the upstream's answer through as it arrives: a streamed synthesis reaches the
client chunk by chunk, its first audio as soon as the upstream sends it. What counts as the upstream
failing -- no connection, no response headers within ``--upstream-timeout``, a 5xx -- is reported to a
``CircuitBreaker`` and raised as ``UpstreamUnavailable``; the caller then serves the request locally
(flagged ``X-Route-Reason: upstream_unavailable``). A 429 from the upstream is not a failure of it, but
the request is served locally too. While the breaker is open, ``watch`` probes ``/readyz`` and closes
it on the first 200. Client errors (4xx) are the client's answer and pass through unchanged.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse

from .breaker import CircuitBreaker, UpstreamUnavailable
from .routing import RoutingConfig

log = logging.getLogger("emotivoice_srv.upstream")

FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "x-request-id", "x-latency-budget-ms", "x-allow-degraded")
PASSED_RESPONSE_HEADERS = ("content-type", "x-model-tier", "x-audio-duration", "x-sample-rate", "retry-after",
                           "location", "x-degraded", "x-synthetic-audio", "link")


class Upstream:
    def __init__(self, config: RoutingConfig, metrics, request_timeout_s: float) -> None:
        if config.upstream is None:
            raise ValueError("Upstream needs a URL")
        self.url = config.upstream
        self.timeout_s = config.upstream_timeout_s
        self.probe_interval_s = config.upstream_probe_interval_s
        self.metrics = metrics
        self.breaker = CircuitBreaker(config.upstream_failures)
        self.breaker.listeners.append(self._on_breaker)
        self._on_breaker(self.breaker.state)
        auth = {"authorization": f"Bearer {config.upstream_api_key}"} if config.upstream_api_key else {}
        self._client = httpx.AsyncClient(base_url=self.url, headers=auth, follow_redirects=False,
                                         timeout=httpx.Timeout(request_timeout_s, connect=self.timeout_s))

    def _on_breaker(self, state: str) -> None:
        from .breaker import STATES

        for s in STATES:
            self.metrics.upstream_breaker.labels(s).set(1 if s == state else 0)

    def _fail(self, reason: str) -> UpstreamUnavailable:
        self.metrics.upstream_requests.labels(reason).inc()
        if reason not in ("overloaded", "breaker_open"):
            self.breaker.failure(reason)
        return UpstreamUnavailable(reason)

    async def forward(self, request: Request, body: bytes, reason: str) -> StreamingResponse:
        """The upstream's response to this request, streamed through; UpstreamUnavailable when it cannot."""
        if not self.breaker.allow():
            raise self._fail("breaker_open")
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED_REQUEST_HEADERS}
        outgoing = self._client.build_request(request.method, request.url.path, content=body or None,
                                              headers=headers, params=request.query_params)
        try:
            response = await asyncio.wait_for(self._client.send(outgoing, stream=True), self.timeout_s)
        except asyncio.TimeoutError:
            raise self._fail("slow") from None
        except httpx.HTTPError as exc:
            log.warning("upstream unreachable", extra={"error": f"{type(exc).__name__}: {exc}"})
            raise self._fail("unreachable") from None
        if response.status_code >= 500 or response.status_code == 429:
            await response.aclose()
            raise self._fail("overloaded" if response.status_code == 429 else "server_error")
        self.breaker.success()
        self.metrics.upstream_requests.labels("ok" if response.status_code < 400 else "client_error").inc()
        passed = {k: v for k, v in response.headers.items() if k in PASSED_RESPONSE_HEADERS}
        passed["x-route"] = "upstream"
        passed["x-route-reason"] = reason
        return StreamingResponse(self._relay(response), status_code=response.status_code, headers=passed,
                                 background=BackgroundTask(response.aclose))

    async def _relay(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The upstream's body as it arrives; a break mid-body ends ours (the status is already sent)."""
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            log.warning("upstream broke off a response", extra={"error": f"{type(exc).__name__}: {exc}"})
            self.breaker.failure("broken_body")

    async def watch(self) -> None:
        """While the breaker is open, probe the upstream's /readyz; the first 200 closes it."""
        while True:
            await asyncio.sleep(self.probe_interval_s)
            if self.breaker.allow():
                continue
            try:
                ok = (await self._client.get("/readyz", timeout=self.timeout_s)).status_code == 200
            except httpx.HTTPError:
                ok = False
            self.metrics.upstream_probes.labels("ok" if ok else "failed").inc()
            if ok:
                self.breaker.success()

    async def close(self) -> None:
        await self._client.aclose()
