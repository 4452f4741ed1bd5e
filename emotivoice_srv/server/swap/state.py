"""The hot-swap state machine: one swap at a time, each a record of the steps it went through.

    idle -> verifying -> loading -> warming -> canary -> switching -> draining -> idle
               |            |          |          |
               +------------+----------+----------+--> failed -> idle   (the old version never stopped)

A rollback to a previous version still loaded skips straight to ``switching``; one that has to be
reloaded goes through every step like an upgrade. Until ``switching`` the new version serves nothing,
so a failure at any earlier step leaves the old version serving untouched; ``switching`` is one
attribute assignment on the event loop (server/tiers.py ``TierSlot.switch``), so it cannot fail half
way. ``draining`` waits for the requests placed on the old version, then unloads it.

Pure state: no I/O besides logging; server/swap/manager.py drives the moves.
"""
from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ...errors import EmotivoiceError

log = logging.getLogger("emotivoice_srv.swap")


class Step(str, enum.Enum):
    VERIFYING = "verifying"
    LOADING = "loading"
    WARMING = "warming"
    CANARY = "canary"
    SWITCHING = "switching"
    DRAINING = "draining"


ORDER = tuple(Step)
BEFORE_SWITCH = frozenset({Step.VERIFYING, Step.LOADING, Step.WARMING, Step.CANARY})
"""Steps whose failure leaves the old version serving (the new one never took a request)."""


class SwapError(EmotivoiceError):
    """A swap that did not happen; ``record`` says how far it got (None: refused before starting)."""

    http_status = 422
    code = "swap_failed"

    def __init__(self, message: str, *, code: str | None = None, record: SwapRecord | None = None) -> None:
        super().__init__(message, code=code)
        self.record = record


class SwapBusy(SwapError):
    http_status = 409
    code = "swap_in_progress"


class SwapRefused(SwapError):
    """The swap cannot start (tier not serving, nothing to roll back to, no change)."""

    http_status = 409
    code = "swap_refused"


class InsufficientMemory(SwapError):
    http_status = 507
    code = "swap_memory_limit"


class AdminOnly(EmotivoiceError):
    http_status = 403
    code = "admin_only"


@dataclass
class SwapRecord:
    """One swap (or rollback) of one tier, as /admin/models and /v1/models show it."""

    role: str
    kind: str
    """upgrade | rollback"""
    trigger: str
    """api | sighup | watch"""
    source: str
    """The bundle path (or previous version) asked for."""
    from_version: str
    to_version: str | None = None
    step: Step | None = None
    result: str | None = None
    """None while running; then switched, unchanged, or failed_<step> / refused_memory."""
    reason: str | None = None
    started_at: float = field(default_factory=time.time)
    seconds: dict[str, float] = field(default_factory=dict)
    """Step name -> seconds it took; ``to_switched`` is request -> the new version serving."""
    details: dict[str, Any] = field(default_factory=dict)
    _t0: float = field(default_factory=time.monotonic, repr=False)
    _step_t0: float = field(default_factory=time.monotonic, repr=False)

    @property
    def done(self) -> bool:
        return self.result is not None

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "kind": self.kind, "trigger": self.trigger, "source": self.source,
                "from_version": self.from_version, "to_version": self.to_version,
                "state": self.step.value if self.step is not None and not self.done else "idle",
                "result": self.result, "reason": self.reason,
                "started_at": round(self.started_at, 3), "seconds": dict(self.seconds), **self.details}


class SwapBoard:
    """Who is swapping now (at most one swap in the whole process: the memory guard assumes one new
    version loading at a time) and the last records per tier."""

    def __init__(self, history: int = 20) -> None:
        self._lock = threading.Lock()
        self.current: SwapRecord | None = None
        self.history: deque[SwapRecord] = deque(maxlen=history)

    def begin(self, role: str, kind: str, trigger: str, source: str, from_version: str) -> SwapRecord:
        """A new record in the first step's place; SwapBusy (409) while another swap runs."""
        with self._lock:
            if self.current is not None:
                cur = self.current
                raise SwapBusy(f"a swap of the {cur.role} tier ({cur.kind} to {cur.source}) is in progress "
                               f"({cur.step.value if cur.step else 'starting'}); retry when it is done")
            self.current = SwapRecord(role, kind, trigger, source, from_version)
        log.info("swap started", extra={"tier": role, "kind": kind, "trigger": trigger, "source": source,
                                        "from_version": from_version})
        return self.current

    def enter(self, record: SwapRecord, step: Step) -> None:
        """Move on to ``step`` (steps only go forward; skipped ones are simply not entered)."""
        if record.step is not None and ORDER.index(step) <= ORDER.index(record.step):
            raise ValueError(f"swap step {record.step.value} -> {step.value} goes backwards")
        now = time.monotonic()
        if record.step is not None:
            record.seconds[record.step.value] = round(now - record._step_t0, 3)
        record.step, record._step_t0 = step, now
        if step is Step.DRAINING:  # the new version is serving from here on
            record.seconds["to_switched"] = round(now - record._t0, 3)
        log.info("swap step", extra={"tier": record.role, "step": step.value, "to_version": record.to_version})

    def finish(self, record: SwapRecord, result: str, reason: str | None = None) -> SwapRecord:
        now = time.monotonic()
        if record.step is not None and record.step.value not in record.seconds:
            record.seconds[record.step.value] = round(now - record._step_t0, 3)
        record.seconds["total"] = round(now - record._t0, 3)
        record.result, record.reason = result, reason
        with self._lock:
            if self.current is record:
                self.current = None
            self.history.append(record)
        failed = not (result in ("switched", "unchanged"))
        log.log(logging.WARNING if failed else logging.INFO, "swap finished",
                extra={"tier": record.role, "kind": record.kind, "result": result, "reason": reason,
                       "from_version": record.from_version, "to_version": record.to_version,
                       "seconds": record.seconds})
        return record

    def last(self, role: str) -> SwapRecord | None:
        """The latest finished record of this tier."""
        for record in reversed(self.history):
            if record.role == role:
                return record
        return None


SHORT = {Step.VERIFYING: "verify", Step.LOADING: "load", Step.WARMING: "warmup", Step.CANARY: "canary",
         Step.SWITCHING: "switch", Step.DRAINING: "drain"}


def failure_code(step: Step | None) -> str:
    """The error code of a swap that failed at ``step`` (``swap_canary_failed``...)."""
    return f"swap_{SHORT[step]}_failed" if step is not None else "swap_failed"


def failure_result(step: Step | None) -> str:
    """The ``result`` (and metric label) of a swap that failed at ``step`` (``failed_canary``...)."""
    return f"failed_{SHORT[step]}" if step is not None else "failed"
