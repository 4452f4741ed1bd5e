"""Swaps the configuration asks for: SIGHUP and ``--watch-bundle`` re-read the configured bundle paths.

A tier's configured path is the one it was started with (``--bundle``, ``--fallback-bundle``): a
directory or a symlink to one, resolved again at every swap. SIGHUP swaps every tier whose path now
holds another manifest; the watch polls the paths and does the same when anything under one changes
(a failed version is not retried until its files change again).
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from ...bundle.identity import manifest_sha256
from ...errors import EmotivoiceError
from .state import SwapBusy, SwapError, SwapRecord

if TYPE_CHECKING:
    from .manager import ModelManager

log = logging.getLogger("emotivoice_srv.swap")


async def reload_configured(manager: ModelManager, trigger: str) -> list[SwapRecord]:
    """Swap every tier whose configured bundle path now holds another manifest (SIGHUP)."""
    out = []
    for role, path in list(manager.configured.items()):
        try:
            digest = await manager.run(manifest_sha256, path)
            if digest == manager.serving_slot(role).engine.manifest_sha256:
                continue
            out.append(await manager.upgrade(role, path.resolve(), trigger=trigger))
        except SwapError as exc:
            if exc.record is not None:
                out.append(exc.record)
            else:
                log.warning("reload skipped", extra={"tier": role, "trigger": trigger, "reason": exc.message})
        except EmotivoiceError as exc:
            log.warning("reload skipped", extra={"tier": role, "trigger": trigger, "reason": exc.message})
    return out


def watch_key(path: Path) -> tuple:
    """(manifest sha256 or None, the real path, every file with size and mtime): changes when anything does."""
    try:
        digest = manifest_sha256(path)
    except EmotivoiceError:
        return (None,)
    real = path.resolve()
    files = []
    for root, _, names in os.walk(real):
        for name in names:
            full = os.path.join(root, name)
            st = os.stat(full)
            files.append((os.path.relpath(full, real), st.st_size, st.st_mtime_ns))
    return (digest, str(real), tuple(sorted(files)))


class BundleWatch:
    def __init__(self, manager: ModelManager, interval_s: float) -> None:
        self.manager, self.interval_s = manager, interval_s
        self.seen: dict[str, tuple] = {}

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            for role, path in list(self.manager.configured.items()):
                try:
                    await self.poll(role, path)
                except Exception:  # noqa: BLE001 - the watch outlives any one bad poll
                    log.exception("bundle watch poll failed", extra={"tier": role, "path": str(path)})

    async def poll(self, role: str, path: Path) -> None:
        manager = self.manager
        try:
            key = await manager.run(watch_key, path)
        except OSError:
            return
        if key == self.seen.get(role):
            return
        slot = manager.ctx.tiers.main if role == "main" else manager.ctx.tiers.fallback
        if slot is None or slot.engine is None or key[0] is None or key[0] == slot.engine.manifest_sha256:
            self.seen[role] = key
            return
        if manager.board.current is not None or not slot.ready:
            return  # next poll
        self.seen[role] = key
        try:
            await manager.upgrade(role, path.resolve(), trigger="watch")
        except SwapBusy:
            self.seen.pop(role, None)
        except EmotivoiceError:
            pass  # logged and counted; retried when the bundle's files change again


def start(manager: ModelManager) -> list[asyncio.Task]:
    """SIGHUP re-reads the configured bundle paths; ``--watch-bundle`` polls them. Returns the tasks."""
    loop = asyncio.get_running_loop()

    def on_hup() -> None:
        log.info("SIGHUP: re-reading the configured bundle paths")
        manager.spawn(reload_configured(manager, "sighup"))

    try:
        loop.add_signal_handler(signal.SIGHUP, on_hup)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (an embedded app), or no SIGHUP
        pass
    interval = manager.config.watch_bundle_s
    return [loop.create_task(BundleWatch(manager, interval).run())] if interval > 0 else []
