"""Inference off the event loop: a fixed set of worker threads behind admission control, scheduling
requests utterance by utterance.

At most ``workers + queue`` requests are admitted; the next one is refused at once with
``Overloaded`` (HTTP 429 + Retry-After) rather than left to time out. A request is a generator of
*steps* (one utterance each); after every step it goes back to a priority queue ordered by deadline
(earliest first), so one long text cannot hold a worker while other clients wait for their first audio:

- a streamed request's next step is due when the audio already sent to its client runs out;
- every other step (a whole-response request, the first step of a stream) is due at its arrival
  time, which keeps those in arrival order;
- background work (warm-up) runs only when nothing else is due.

Each job carries a ``CancelToken``, checked before every step: a client disconnect or a passed deadline
cancels a job that has not started and stops a running one at the next utterance boundary.
"""
from __future__ import annotations

import contextvars
import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import DeadlineExceeded, Overloaded

T = TypeVar("T")


class Cancelled(Exception):
    """The client went away (or the pool shut down); the job's result is no longer wanted."""


class CancelToken:
    """Shared between the request handler (which cancels) and the pool (which checks)."""

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise if the job should stop now; called before every step."""
        if self._event.is_set():
            raise Cancelled()
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded("the request's deadline passed before its audio was ready")


@dataclass
class _Job:
    steps: Iterator[float]
    """Each ``next()`` does one unit of work and yields the seconds of audio it produced; the
    generator's return value is the job's result."""
    token: CancelToken
    future: Future
    due: float
    background: bool
    realtime: bool
    started: bool = False
    work_s: float = 0.0
    steps_done: int = 0
    playback_start: float | None = None
    audio_s: float = 0.0
    seq: int = field(default=0)
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    """The submitter's context (its request id for log lines), in which every step runs."""

    def key(self) -> tuple:
        return (self.background, self.due, self.seq)

    def advance_due(self, produced_s: float) -> None:
        """A stream's next step is due shortly before its client runs out of audio."""
        if not self.realtime:
            return
        now = time.monotonic()
        if self.playback_start is None:
            self.playback_start = now
        self.audio_s += produced_s
        step_s = self.work_s / max(self.steps_done, 1)
        self.due = self.playback_start + self.audio_s - 2 * step_s


def _one_step(fn: Callable[[CancelToken], T], token: CancelToken) -> Generator[float, None, T]:
    return fn(token)
    yield 0.0  # unreachable: makes this a generator, so the call runs on a worker


class InferencePool:
    def __init__(self, workers: int, queue: int, *, name: str = "synth") -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers must be >= 1 and queue >= 0")
        self.workers, self.queue = workers, queue
        self._cv = threading.Condition()
        self._heap: list[tuple[tuple, _Job]] = []
        self._seq = itertools.count()
        self._admitted = 0
        self._running = 0
        self._closed = False
        self._mean_job_s = 1.0
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    @property
    def capacity(self) -> int:
        return self.workers + self.queue

    @property
    def running(self) -> int:
        """Jobs executing a step right now (at most ``workers``)."""
        return self._running

    @property
    def queued(self) -> int:
        """Admitted jobs waiting for a worker (not started, or between two steps)."""
        return max(0, self._admitted - self._running)

    @property
    def busy(self) -> int:
        """Admitted jobs: running plus queued."""
        return self._admitted

    @property
    def mean_job_s(self) -> float:
        """Recent jobs' work seconds (exponentially weighted): what a job waiting for a worker waits per round."""
        return self._mean_job_s

    def retry_after_s(self) -> int:
        """A client's fair wait: the work admitted ahead divided over the workers, in whole seconds."""
        return max(1, min(60, math.ceil(self._admitted / self.workers * self._mean_job_s)))

    # -- submitting ----------------------------------------------------------------------------
    def submit(self, fn: Callable[[CancelToken], T], token: CancelToken, *, admit: bool = True) -> Future[T]:
        """Run ``fn(token)`` as a single step."""
        return self.submit_steps(_one_step(fn, token), token, admit=admit)

    def submit_steps(self, steps: Iterator[float], token: CancelToken, *, admit: bool = True,
                     realtime: bool = False, background: bool = False) -> Future:
        """Schedule a step generator; raises Overloaded when full (``admit=False`` skips the limit,
        for the server's own warm-up). ``realtime``: a stream whose steps are due by playback time."""
        future: Future = Future()
        with self._cv:
            if self._closed:
                raise RuntimeError("cannot schedule new work after shutdown")
            if admit and self._admitted >= self.capacity:
                raise Overloaded(f"all {self.workers} workers are busy and the queue of {self.queue} is full; "
                                 "retry later", retry_after=self.retry_after_s())
            self._admitted += 1
            job = _Job(steps, token, future, time.monotonic(), background, realtime, seq=next(self._seq))
            heapq.heappush(self._heap, (job.key(), job))
            self._cv.notify()
        future.add_done_callback(self._release_if_never_ran)
        return future

    def _release_if_never_ran(self, future: Future) -> None:
        if future.cancelled():
            with self._cv:
                self._admitted -= 1

    # -- the workers ---------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._heap and not self._closed:
                    self._cv.wait()
                if not self._heap:
                    return
                _, job = heapq.heappop(self._heap)
                if not job.started and not job.future.set_running_or_notify_cancel():
                    continue  # cancelled while queued: its slot was released by the future's callback
                job.started = True
                self._running += 1
            finished = self._step(job)
            with self._cv:
                self._running -= 1
                if not finished and self._closed:
                    finished = self._fail(job, Cancelled())
                if finished:
                    self._admitted -= 1
                    self._mean_job_s = 0.8 * self._mean_job_s + 0.2 * job.work_s
                else:
                    heapq.heappush(self._heap, (job.key(), job))
                    self._cv.notify()

    def _step(self, job: _Job) -> bool:
        """Run one step; True when the job is finished (result or error set)."""
        t0 = time.perf_counter()
        try:
            job.token.check()
            produced = job.context.run(next, job.steps)
        except StopIteration as stop:
            job.future.set_result(stop.value)
            return True
        except BaseException as exc:  # noqa: BLE001 - every failure belongs to the job's future
            return self._fail(job, exc)
        finally:
            job.work_s += time.perf_counter() - t0
        job.steps_done += 1
        job.advance_due(float(produced or 0.0))
        return False

    @staticmethod
    def _fail(job: _Job, exc: BaseException) -> bool:
        close: Any = getattr(job.steps, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - the job's own error is the one to report
                pass
        job.future.set_exception(exc)
        return True

    def shutdown(self, wait: bool = True) -> None:
        """Stop: jobs not yet started are cancelled, started ones fail with Cancelled at their next step."""
        with self._cv:
            self._closed = True
            pending, self._heap = self._heap, []
            self._cv.notify_all()
        for _, job in pending:
            if job.started:
                with self._cv:
                    self._fail(job, Cancelled())
                    self._admitted -= 1
            else:
                job.future.cancel()
        if wait:
            for t in self._threads:
                if t is not threading.current_thread():
                    t.join()
