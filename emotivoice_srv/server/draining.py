"""uvicorn's server with a drain: on the first SIGTERM/SIGINT /readyz turns 503 and new requests get
503 while in-flight ones finish (up to the grace period); a second signal exits at once."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import uvicorn

log = logging.getLogger("emotivoice_srv.server")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ctx) -> None:
        super().__init__(config)
        self.ctx = ctx
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_task: asyncio.Task | None = None
        self.on_listening: list[Callable[[], object]] = []
        """Called once the sockets listen (work kept off the cold start's critical path)."""

    async def startup(self, sockets=None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)
        if self.started:
            ports = [s.getsockname()[1] for server in self.servers for s in server.sockets]
            lc = self.ctx.lifecycle
            log.info("listening", extra={"host": self.config.host, "port": ports[0] if ports else self.config.port,
                                         "since_start_s": round(time.monotonic() - lc.started_at, 3),
                                         "load_s": lc.load_seconds})
            for hook in self.on_listening:
                hook()

    def stop(self) -> None:
        """Exit as after a second signal (any thread): for a start that failed after the port opened."""
        self.should_exit = True

    def handle_exit(self, sig, frame) -> None:
        if self._loop is not None and self.ctx.lifecycle.begin_drain():
            self.ctx.tiers.drain()
            log.info("draining", extra={"signal": sig, "grace_s": self.ctx.config.drain_grace_s})
            self._loop.call_soon_threadsafe(self._start_drain)
            return
        super().handle_exit(sig, frame)

    def _start_drain(self) -> None:
        self._drain_task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        cfg, ctx = self.ctx.config, self.ctx
        t0 = time.monotonic()
        await asyncio.sleep(cfg.drain_delay_s)
        while ctx.active_requests > 0 and time.monotonic() - t0 < cfg.drain_grace_s:
            await asyncio.sleep(0.05)
        log.info("drained", extra={"seconds": round(time.monotonic() - t0, 3), "unfinished": ctx.active_requests})
        self.config.timeout_graceful_shutdown = max(0.1, cfg.drain_grace_s - (time.monotonic() - t0))
        self.should_exit = True
