"""Inference off the event loop: a fixed thread pool behind admission control.

At most ``workers`` syntheses run and ``queue`` more wait; the next one is refused at once with
``Overloaded`` (HTTP 429 + Retry-After) rather than left to time out. Each job carries a
``CancelToken``: a client disconnect or a passed deadline cancels a job that has not started, and
stops a running one at the next utterance boundary.
"""
from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

from ..errors import DeadlineExceeded, Overloaded

T = TypeVar("T")


class Cancelled(Exception):
    """The client went away; the job's result is no longer wanted."""


class CancelToken:
    """Shared between the request handler (which cancels) and the worker (which checks)."""

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
        """Raise if the job should stop now; workers call this between utterances."""
        if self._event.is_set():
            raise Cancelled()
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DeadlineExceeded("the request's deadline passed before its audio was ready")


class InferencePool:
    def __init__(self, workers: int, queue: int, *, name: str = "synth") -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers must be >= 1 and queue >= 0")
        self.workers, self.queue = workers, queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0
        self._mean_job_s = 1.0

    @property
    def capacity(self) -> int:
        return self.workers + self.queue

    @property
    def running(self) -> int:
        return self._running

    @property
    def queued(self) -> int:
        return max(0, self._admitted - self._running)

    @property
    def busy(self) -> int:
        """Admitted jobs: running plus queued."""
        return self._admitted

    def retry_after_s(self) -> int:
        """A client's fair wait: the queue ahead divided over the workers, in whole seconds."""
        return max(1, min(60, math.ceil(self._admitted / self.workers * self._mean_job_s)))

    def submit(self, fn: Callable[[CancelToken], T], token: CancelToken, *, admit: bool = True) -> "Future[T]":
        """Run ``fn(token)`` on a worker; raises Overloaded when full (``admit=False`` skips the
        limit, for the server's own warm-up)."""
        with self._lock:
            if admit and self._admitted >= self.capacity:
                raise Overloaded(f"all {self.workers} workers are busy and the queue of {self.queue} is full; "
                                 "retry later", retry_after=self.retry_after_s())
            self._admitted += 1

        def job() -> T:
            with self._lock:
                self._running += 1
            t0 = time.monotonic()
            try:
                token.check()
                return fn(token)
            finally:
                elapsed = time.monotonic() - t0
                with self._lock:
                    self._running -= 1
                    self._admitted -= 1
                    self._mean_job_s = 0.8 * self._mean_job_s + 0.2 * elapsed

        try:
            future = self._executor.submit(job)
        except RuntimeError:  # shut down: give the slot back, the caller sees the real cause
            with self._lock:
                self._admitted -= 1
            raise
        future.add_done_callback(self._release_if_never_ran)
        return future

    def _release_if_never_ran(self, future: Future) -> None:
        if future.cancelled():
            with self._lock:
                self._admitted -= 1

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)
