"""Hot swaps of a tier's model version, driven step by step (the state machine is state.py).

verify hashes -> memory guard -> load beside the old -> warm up -> canary -> switch -> drain -> unload.
Heavy steps run on one ``swap`` thread, so the event loop keeps serving; the switch itself runs on the
event loop, between two requests' placements, so a request is placed on exactly one version and keeps
it to its end (a stream renders entirely on one version: its Placement holds the engine). Requests
are counted per engine (``InFlight``, fed by dispatch.submit); the drain waits for the old version's
count to reach zero, then drops it and hands its memory back.

Three ways in: POST /admin/models/{role} (api.py), SIGHUP and ``--watch-bundle`` (watch.py: both re-read
the configured bundle path, a directory or a symlink to one).
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...bundle import Manifest, read_manifest, verify_files
from ...bundle.identity import manifest_sha256, version_label
from ...bundle.intake import within_roots
from ...errors import EmotivoiceError, InvalidInput, NotFound
from ..config import narrow_threads
from ..tiers import ROLES, TierSlot
from . import canary, memory
from .inflight import InFlight
from .state import (BEFORE_SWITCH, InsufficientMemory, Step, SwapBoard, SwapBusy, SwapError, SwapRecord,
                    SwapRefused, failure_code, failure_result)

if TYPE_CHECKING:
    from ..context import ServerContext

log = logging.getLogger("emotivoice_srv.swap")

WARMUP_DEVICES = frozenset({"cuda"})
"""As at start-up (server/context.py): on the CPU provider a first synthesis costs what later ones do."""
DRAIN_POLL_S = 0.02


@dataclass
class Previous:
    """The version a tier served before its last swap: still loaded (instant rollback) or reloadable."""

    version: str
    digest: str
    bundle_dir: Path
    engine: Any = None
    timer: asyncio.TimerHandle | None = None


class ModelManager:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.config = ctx.config.swap
        self.board = SwapBoard()
        self.inflight = InFlight()
        self.limit = memory.resolve_limit(self.config.memory_limit)
        self.configured: dict[str, Path] = {}
        """Role -> the bundle path it was configured with (SIGHUP and the watch re-read it)."""
        self.previous: dict[str, Previous] = {}
        self._canary_renders: dict[str, list[canary.CanaryRender]] = {}
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="swap")
        self._retiring: dict[str, Any] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- wiring ------------------------------------------------------------------------------------
    def adopt(self, slot: TierSlot) -> None:
        """A tier's first engine is loaded: its bundle path is the one SIGHUP and the watch re-read."""
        self.configured.setdefault(slot.role, Path(slot.engine.config.bundle_dir))

    def slot_info(self, role: str, *, admin: bool = False) -> dict[str, Any]:
        """What /v1/models shows about swaps of this tier (``admin``: with bundle paths and canary measures)."""
        out: dict[str, Any] = {}
        cur = self.board.current
        if cur is not None and cur.role == role:
            out["swap"] = {k: v for k, v in cur.to_dict().items() if admin or k not in ("source", "canary", "memory")}
        last = self.board.last(role)
        private = ("source", "canary", "memory")
        if last is not None:
            out["last_swap"] = {k: v for k, v in last.to_dict().items() if admin or k not in private}
        prev = self.previous.get(role)
        if prev is not None:
            out["previous_version"] = {"version": prev.version, "loaded": prev.engine is not None,
                                       **({"bundle": str(prev.bundle_dir)} if admin else {})}
        return out

    @property
    def armed(self) -> bool:
        """Whether a swap is expected (a watch, or an admin key for the API): then the serving
        version's canary renders are made ahead, in the first quiet moment after start."""
        return self.config.watch_bundle_s > 0 or any(p.admin for _, p in self.ctx.keyring.entries)

    async def prepare(self) -> None:
        """Render the canary on every serving tier now (idle time), so a swap only renders the new version."""
        for slot in self.ctx.tiers.slots:
            engine = slot.engine
            if slot.serving and engine is not None and engine.model_version not in self._canary_renders:
                try:
                    await self.run(self._serving_renders, engine)
                except Exception:  # noqa: BLE001 - the swap renders them itself then
                    log.exception("canary pre-render failed", extra={"tier": slot.role})

    def spawn(self, work) -> asyncio.Task:
        """Run a swap as its own task, held until done: it finishes even if whoever asked goes away."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def close(self) -> None:
        for prev in self.previous.values():
            if prev.timer is not None:
                prev.timer.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- requests in ------------------------------------------------------------------------------
    @property
    def store(self) -> Any:
        """The bundle store (bundle/store.py), opened on first use; None when the server has none."""
        store = self.ctx.bundle_store
        if callable(store):
            store = self.ctx.bundle_store = store()
        return store

    def bundle_roots(self) -> tuple[Path, ...]:
        """Where a bundle named by path may lie: the store's allowed roots (the store, <cache-dir>/bundles,
        --bundle-roots) and the directories holding the configured bundles."""
        store_roots = self.store.allowed_roots if self.store is not None else ()
        return tuple(dict.fromkeys(Path(r).resolve() for r in (*store_roots, *(p.parent for p in self.configured.values()))))

    def target(self, raw: Any) -> Path:
        """The bundle directory a request names: a stored version (an id, a version, a manifest-hash prefix,
        ``active``/``previous``) or an absolute path inside the allowed roots (403 otherwise)."""
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidInput("'bundle' must be a stored version or the absolute path of a bundle directory",
                               code="invalid_request")
        if "/" not in raw:
            if self.store is None:
                raise InvalidInput(f"{raw!r} is not a path, and this server has no bundle store", code="invalid_request")
            return self.store.get(raw)
        if not Path(raw).is_absolute():
            raise InvalidInput(f"bundle path {raw!r} must be absolute", code="invalid_request")
        return within_roots(raw, self.bundle_roots())

    def serving_slot(self, role: str) -> TierSlot:
        if role not in ROLES:
            raise NotFound(f"unknown tier {role!r}; tiers: {', '.join(ROLES)}", code="unknown_tier")
        slot = self.ctx.tiers.main if role == "main" else self.ctx.tiers.fallback
        if slot is None:
            raise SwapRefused("this server has no fallback tier (--fallback-bundle none)", code="no_fallback_tier")
        if not slot.ready:  # draining for shutdown included
            raise SwapRefused(f"the {role} tier is {slot.state.value}; a swap needs it ready", code="tier_not_ready")
        return slot

    def _begin(self, role: str, kind: str, trigger: str, source: str, old: Any) -> SwapRecord:
        try:
            return self.board.begin(role, kind, trigger, source, old.model_version)
        except SwapBusy:
            self.ctx.metrics.model_swaps.labels(role, "refused_busy").inc()
            raise

    # -- the sequence -----------------------------------------------------------------------------
    async def upgrade(self, role: str, bundle_dir: Path, *, trigger: str, kind: str = "upgrade",
                      expect_digest: str | None = None) -> SwapRecord:
        """Swap ``role`` to the bundle in ``bundle_dir``; the finished record, or SwapError with it."""
        slot = self.serving_slot(role)
        old = slot.engine
        record = self._begin(role, kind, trigger, str(bundle_dir), old)
        new, failure = None, None
        try:
            self.board.enter(record, Step.VERIFYING)
            manifest, digest = await self.run(self._verify, Path(bundle_dir), old.precision, record)
            if expect_digest is not None and digest != expect_digest:
                raise SwapError(f"the bundle at {bundle_dir} is no longer the previous version "
                                f"(its manifest is now {record.to_version}); swap to a bundle path instead")
            if digest == old.manifest_sha256:
                return self._finish(record, "unchanged", "the bundle is the version serving now")
            if self._unload_previous(role):  # room for the new one; it stays reloadable for a rollback
                await self.run(memory.release)
            self._check_memory(manifest, old, Path(bundle_dir), record)
            self.board.enter(record, Step.LOADING)
            new = await self.run(self._load, old, Path(bundle_dir), digest)
            self.board.enter(record, Step.WARMING)
            record.details["warmup"] = await self.run(self._warm, new)
            self.board.enter(record, Step.CANARY)
            await self.run(self._canary, old, new, record)
            self.board.enter(record, Step.SWITCHING)
            self._switch(slot, new)
            new = old = None  # from here the drain holds the only reference to the old version
            self.board.enter(record, Step.DRAINING)
        except Exception as exc:  # noqa: BLE001 - every failure before the switch leaves the old version serving
            failure = self._failed(record, exc)
        if failure is not None:  # raised outside the except block: no traceback keeps the new version alive
            new = None
            await self.run(memory.release)
            raise failure
        await self._retire(role, record)
        if role == "main" and self.store is not None:
            await self.run(self._activate_stored, Path(bundle_dir), record)
        return self._finish(record, "switched")

    async def rollback(self, role: str, *, trigger: str) -> SwapRecord:
        """Back to the version served before the last swap: switched at once if it is still loaded,
        else reloaded from its bundle directory through every step (refused if that bundle changed)."""
        slot = self.serving_slot(role)
        prev = self.previous.get(role)
        if prev is None:
            raise SwapRefused(f"the {role} tier has no previous version to roll back to", code="no_previous_version")
        if prev.engine is None:
            return await self.upgrade(role, prev.bundle_dir, trigger=trigger, kind="rollback",
                                      expect_digest=prev.digest)
        record = self._begin(role, "rollback", trigger, prev.version, slot.engine)
        record.to_version = prev.version
        if prev.timer is not None:
            prev.timer.cancel()
        del self.previous[role]
        self.board.enter(record, Step.SWITCHING)
        self._switch(slot, prev.engine)
        prev.engine = None
        self.board.enter(record, Step.DRAINING)
        await self._retire(role, record)
        return self._finish(record, "switched")

    # -- the steps (verify, load, warm, canary on the swap thread) ----------------------------------
    @staticmethod
    def _verify(bundle_dir: Path, precision: str, record: SwapRecord) -> tuple[Manifest, str]:
        digest = manifest_sha256(bundle_dir)
        manifest = read_manifest(bundle_dir)
        record.to_version = version_label(manifest.version, digest)
        if precision not in manifest.precisions:
            raise SwapError(f"bundle {bundle_dir} has no {precision} graphs (has: {', '.join(manifest.precisions)}); "
                            f"the tier runs {precision}")
        verify_files(bundle_dir, manifest, (precision,))
        if manifest_sha256(bundle_dir) != digest:
            raise SwapError(f"the manifest at {bundle_dir} changed while it was being verified")
        return manifest, digest

    def _check_memory(self, manifest: Manifest, old: Any, bundle_dir: Path, record: SwapRecord) -> None:
        graph_bytes = sum(g.bytes for g in manifest.graphs if g.precision == old.precision)
        voice_bytes = sum((bundle_dir / v.file).stat().st_size for v in manifest.voices)
        need = memory.estimate_need(graph_bytes, voice_bytes, 1 + (old.narrow is not None))
        rss = memory.process_rss()
        record.details["memory"] = {"rss_mib": round(rss / memory.MIB), "need_mib": round(need / memory.MIB),
                                    "limit_mib": round(self.limit / memory.MIB) if self.limit else None}
        problem = memory.over_limit(rss, need, self.limit)
        if problem is not None:
            raise InsufficientMemory(problem)

    def _load(self, old: Any, bundle_dir: Path, digest: str) -> Any:
        from ...engine import Engine

        engine = Engine.load(replace(old.config, bundle_dir=bundle_dir, verify_hashes=False))
        if engine.manifest_sha256 != digest:
            raise SwapError(f"the manifest at {bundle_dir} changed while the version was loading")
        if old.narrow is not None:  # the same concurrent-session set as the version it replaces
            threads = narrow_threads(self.ctx.config, engine.config.threads or os.cpu_count() or 1)
            if threads:
                engine.add_narrow_sessions(threads)
        return engine

    def _voice_for(self, engine: Any) -> str:
        voice = self.ctx.config.default_voice
        if voice not in engine.voices:
            raise SwapError(f"the new version has no voice {voice!r} (--default-voice); it would fail requests "
                            "the serving version answers")
        return voice

    def _warm(self, engine: Any) -> str:
        if not self.ctx.config.warmup or engine.graphs.runtime.device not in WARMUP_DEVICES:
            return "skipped: no first-run cost on this device (the canary renders are the first syntheses)"
        from ..context import WARMUP_TEXTS

        voice = self._voice_for(engine)
        for text, emotion in WARMUP_TEXTS:
            engine.synthesize(text, voice=voice, emotion=emotion)
        return "done"

    def _canary(self, old: Any, new: Any, record: SwapRecord) -> None:
        voice = self._voice_for(new)
        before = self._serving_renders(old)
        if new.narrow is not None:  # one-thread sessions while requests run (they keep the other cores), all when idle
            pools = [p for p in (self.ctx.pool, self.ctx.fast_pool) if p is not None]
            new.pressure = lambda: 1 + sum(p.busy for p in pools)
        after = canary.render(lambda text: _rendered(new, text, voice))
        record.details["canary"] = {"serving": canary.summary(before), "new": canary.summary(after)}
        reason = canary.judge(before, after, self.config.canary)
        if reason is not None:
            raise SwapError(reason)
        self._canary_renders[new.model_version] = after

    def _serving_renders(self, engine: Any) -> list[canary.CanaryRender]:
        renders = self._canary_renders.get(engine.model_version)
        if renders is None:
            voice = self.ctx.config.default_voice
            renders = self._canary_renders[engine.model_version] = canary.render(
                lambda text: _rendered(engine, text, voice))
        return renders

    def _activate_stored(self, bundle_dir: Path, record: SwapRecord) -> None:
        """A stored version main now serves becomes the store's active one (so gc keeps it)."""
        versions = Path(self.store.versions).resolve()
        if not bundle_dir.resolve().is_relative_to(versions):
            return
        try:
            record.details["store_active"] = self.store.activate(bundle_dir.resolve().name).id
        except EmotivoiceError as exc:
            log.warning("stored version not activated", extra={"reason": exc.message})
            record.details["store_active"] = f"not activated: {exc.message}"

    # -- switch, drain, unload ----------------------------------------------------------------------
    def _switch(self, slot: TierSlot, engine: Any) -> None:
        """On the event loop: the next request placed on this tier gets ``engine``; the one it replaces
        waits in ``_retiring`` for its drain (the only reference the swap keeps to it)."""
        self._retiring[slot.role] = slot.switch(engine)
        self.ctx.engine_switched(slot)

    async def _retire(self, role: str, record: SwapRecord) -> None:
        """Wait for the old version's requests, then keep it (rollback window) or unload it."""
        old = self._retiring.pop(role)
        timeout = self.config.drain_timeout_s or self.ctx.config.request_timeout_s
        deadline = time.monotonic() + timeout
        while self.inflight.count(old) and time.monotonic() < deadline:
            await asyncio.sleep(DRAIN_POLL_S)
        unfinished = self.inflight.count(old)
        record.details["drained"] = unfinished == 0
        if unfinished:
            log.warning("swap drain timed out", extra={"tier": role, "unfinished": unfinished, "timeout_s": timeout})
        prev = Previous(old.model_version, old.manifest_sha256, Path(old.config.bundle_dir))
        self.previous[role] = prev
        if self.config.keep_previous_s > 0:
            prev.engine = old
            prev.timer = asyncio.get_running_loop().call_later(self.config.keep_previous_s, self._expire, role, prev)
            record.details["previous"] = f"kept loaded for {self.config.keep_previous_s:g} s"
            return
        ref = weakref.ref(old)
        del old
        await self.run(memory.release)
        record.details["previous"] = "unloaded" if ref() is None else "unloaded (still referenced: freed when released)"
        record.details["rss_mib_after"] = round(memory.process_rss() / memory.MIB)

    def _expire(self, role: str, prev: Previous) -> None:
        if self.previous.get(role) is prev and prev.engine is not None:
            prev.engine, prev.timer = None, None
            self._executor.submit(memory.release)
            log.info("previous version unloaded", extra={"tier": role, "version": prev.version})

    def _unload_previous(self, role: str) -> bool:
        """Drop a previous version kept loaded (it stays reloadable); True if there was one."""
        prev = self.previous.get(role)
        if prev is None or prev.engine is None:
            return False
        if prev.timer is not None:
            prev.timer.cancel()
        prev.engine, prev.timer = None, None
        return True

    # -- bookkeeping --------------------------------------------------------------------------------
    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _finish(self, record: SwapRecord, result: str, reason: str | None = None) -> SwapRecord:
        self.board.finish(record, result, reason)
        self.ctx.metrics.model_swaps.labels(record.role, result).inc()
        for step, seconds in record.seconds.items():
            self.ctx.metrics.swap_seconds.labels(record.role, step).set(seconds)
        return record

    def _failed(self, record: SwapRecord, exc: Exception) -> SwapError:
        step = record.step if record.step in BEFORE_SWITCH else None
        if isinstance(exc, InsufficientMemory):
            result = "refused_memory"
        else:
            result = failure_result(step)
        message = exc.message if isinstance(exc, EmotivoiceError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, EmotivoiceError):
            log.exception("swap step failed", extra={"tier": record.role, "step": step.value if step else None})
        reason = f"{step.value if step else 'swap'}: {message}"
        self._finish(record, result, reason)
        if isinstance(exc, InsufficientMemory):
            exc.record = record
            return exc
        return SwapError(f"{reason}; still serving {record.from_version}", code=failure_code(step), record=record)


def _rendered(engine: Any, text: str, voice: str) -> tuple[Any, int]:
    result = engine.synthesize(text, voice=voice)
    return result.audio, result.sample_rate
