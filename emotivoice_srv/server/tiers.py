"""Model tiers: one slot per loaded bundle, each with an explicit state machine, in two roles.

    loading -> warming -> ready -> draining -> unloaded
       |          |
       +-> failed +-> (failed: the error is kept and logged; the process goes on)

``main`` is the model the server exists for; ``fallback`` (optional) is a model that loads faster and
answers while main is still loading or warming. A slot in ``warming`` can already synthesize (its
graphs are loaded); warm-up only pays first-run costs. Which tier serves a request is decided by
``Tiers.select``: main when ready, else the fallback when it can serve, else main when it can serve
(warming), else a 503. A policy can hold a request up to ``hold_for_main_s`` for main first.

Pure state: no I/O besides logging, no model code; the server drives the transitions.
"""
from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import Unavailable

log = logging.getLogger("emotivoice_srv.tiers")


class TierState(str, enum.Enum):
    LOADING = "loading"
    WARMING = "warming"
    READY = "ready"
    DRAINING = "draining"
    UNLOADED = "unloaded"
    FAILED = "failed"


S = TierState
TRANSITIONS: dict[TierState, frozenset[TierState]] = {
    S.LOADING: frozenset({S.WARMING, S.FAILED, S.DRAINING}),
    S.WARMING: frozenset({S.READY, S.FAILED, S.DRAINING}),
    S.READY: frozenset({S.DRAINING}),
    S.DRAINING: frozenset({S.UNLOADED}),
    S.FAILED: frozenset({S.DRAINING, S.UNLOADED}),
    S.UNLOADED: frozenset(),
}
"""Every allowed move. Draining is reachable from every live state (a SIGTERM can come at any time)."""

SERVING = frozenset({S.WARMING, S.READY})
"""States in which a tier's engine can synthesize."""

ROLES = ("main", "fallback")


class InvalidTransition(RuntimeError):
    """A move the state machine does not allow: a bug in whoever drives the tier, never user input."""


@dataclass
class TierSlot:
    """One bundle in one role. ``engine`` is set when loading finishes."""

    role: str
    state: TierState = S.LOADING
    engine: Any = None
    error: str | None = None
    entered: dict[str, float] = field(default_factory=dict)
    """State name -> monotonic time it was (last) entered."""
    listeners: list[Callable[[TierSlot, TierState, TierState], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"tier role must be one of {ROLES}, got {self.role!r}")
        self.entered.setdefault(self.state.value, time.monotonic())

    @property
    def serving(self) -> bool:
        return self.state in SERVING and self.engine is not None

    @property
    def ready(self) -> bool:
        return self.state is S.READY

    def move(self, new: TierState, *, engine: Any = None, error: str | None = None) -> None:
        """Take a transition (raises InvalidTransition for one the table does not allow)."""
        with self._lock:
            old = self.state
            if new not in TRANSITIONS[old]:
                raise InvalidTransition(f"{self.role} tier: {old.value} -> {new.value} is not allowed")
            if engine is not None:
                self.engine = engine
            if new is S.WARMING and self.engine is None:
                raise InvalidTransition(f"{self.role} tier: warming needs a loaded engine")
            if new is S.FAILED:
                self.error = error or "unknown error"
            if new is S.UNLOADED:
                self.engine = None
            self.state = new
            self.entered[new.value] = time.monotonic()
        level = logging.ERROR if new is S.FAILED else logging.INFO
        log.log(level, "tier state", extra={"tier": self.role, "from": old.value, "to": new.value,
                                            **({"error": self.error} if new is S.FAILED else {})})
        for listener in list(self.listeners):
            listener(self, old, new)

    def switch(self, engine: Any) -> Any:
        """Serve ``engine`` from the next request on (a hot upgrade or a rollback, server/swap/); returns
        the engine it replaces, which finishes the requests already placed on it. The state stays."""
        with self._lock:
            if self.state not in SERVING or self.engine is None or engine is None:
                raise InvalidTransition(f"{self.role} tier: cannot switch engines while {self.state.value}")
            old, self.engine = self.engine, engine
        log.info("tier engine switched", extra={"tier": self.role})
        return old

    def fail(self, exc: BaseException) -> None:
        """Record a loading/warm-up failure as state (the process keeps running)."""
        self.move(S.FAILED, error=f"{type(exc).__name__}: {exc}")

    def drain(self) -> None:
        """Stop taking new work; a no-op for a tier already draining or unloaded."""
        if self.state not in (S.DRAINING, S.UNLOADED):
            self.move(S.DRAINING)

    def seconds_in(self, state: TierState, now: float | None = None) -> float | None:
        """How long the tier has been in ``state`` (None if it never entered it)."""
        start = self.entered.get(state.value)
        if start is None:
            return None
        later = [t for t in self.entered.values() if t > start]
        end = min(later) if later and self.state is not state else (now or time.monotonic())
        return end - start


@dataclass
class TierPolicy:
    hold_for_main_s: float = 0.0
    """How long a request may wait for main to become ready before another tier serves it."""
    ready_on_fallback: bool = False
    """/readyz reports ready once the fallback tier is ready (not only main)."""


class Tiers:
    """The main slot and an optional fallback slot, and the choice between them per request."""

    def __init__(self, main: TierSlot, fallback: TierSlot | None = None,
                 policy: TierPolicy | None = None) -> None:
        if main.role != "main" or (fallback is not None and fallback.role != "fallback"):
            raise ValueError("Tiers(main, fallback) takes slots in those roles")
        self.main, self.fallback = main, fallback
        self.policy = policy or TierPolicy()
        self._main_ready: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        main.listeners.append(self._on_main_change)

    @property
    def slots(self) -> list[TierSlot]:
        return [self.main] + ([self.fallback] if self.fallback is not None else [])

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let requests wait for main on this event loop (transitions may happen on other threads)."""
        self._loop = loop
        self._main_ready = asyncio.Event()
        if self.main.ready:
            self._main_ready.set()

    def _on_main_change(self, slot: TierSlot, old: TierState, new: TierState) -> None:
        """Wake requests held for main when main is ready, or will not be (failed, draining)."""
        if self._loop is None or self._main_ready is None or new in (S.LOADING, S.WARMING):
            return
        try:
            self._loop.call_soon_threadsafe(self._main_ready.set)
        except RuntimeError:  # the loop is closed: nobody is waiting
            pass

    def choose(self) -> TierSlot:
        """The tier for a request right now (no waiting); 503 when none can serve."""
        if self.main.ready:
            return self.main
        if self.fallback is not None and self.fallback.serving:
            return self.fallback
        if self.main.serving:
            return self.main
        states = ", ".join(f"{s.role} {s.state.value}" for s in self.slots)
        raise Unavailable(f"no model tier can serve yet ({states})", code="model_unavailable", retry_after=1)

    async def select(self) -> TierSlot:
        """``choose``, after waiting up to the hold policy for main when main is still on its way."""
        hold = self.policy.hold_for_main_s
        if hold > 0 and not self.main.ready and self.main.state in (S.LOADING, S.WARMING) \
                and self._main_ready is not None:
            try:
                await asyncio.wait_for(self._main_ready.wait(), timeout=hold)
            except asyncio.TimeoutError:
                pass
        return self.choose()

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason) for /readyz, draining aside (the lifecycle says that)."""
        main, fb = self.main, self.fallback
        if main.ready:
            return True, "ready"
        if self.policy.ready_on_fallback and fb is not None and fb.ready:
            return True, f"ready on the fallback tier (main {main.state.value})"
        if main.state is S.FAILED:
            return False, f"main tier failed: {main.error}"
        if main.state is S.LOADING:
            return False, "loading: the main model is not loaded yet"
        if main.state is S.WARMING:
            return False, "warming: the main model's warm-up has not finished"
        return False, f"main tier {main.state.value}"

    def drain(self) -> None:
        for slot in self.slots:
            slot.drain()

    def unload(self) -> None:
        for slot in self.slots:
            if slot.state is S.DRAINING or slot.state is S.FAILED:
                slot.move(S.UNLOADED)
