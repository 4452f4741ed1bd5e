"""InferencePool admission control and CancelToken semantics (no model, no server).

Jobs block on ``threading.Event``s so every count is observed at a known moment; nothing sleeps.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest

from emotivoice_srv.errors import DeadlineExceeded, Overloaded
from emotivoice_srv.server.pool import CancelToken, Cancelled, InferencePool

WAIT = 5.0  # upper bound for anything that should happen "at once"; never reached when tests pass


class Blocker:
    """A job body that signals when it starts and then waits until released."""

    def __init__(self, result: object = None) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.result = result
        self.calls = 0

    def __call__(self, token: CancelToken) -> object:
        self.calls += 1
        self.started.set()
        assert self.release.wait(WAIT), "test never released the job"
        return self.result


@pytest.fixture
def make_pool():
    """Factory for pools that are always shut down, with every blocker released first."""
    pools: list[InferencePool] = []
    blockers: list[Blocker] = []

    def make(workers: int, queue: int) -> InferencePool:
        pool = InferencePool(workers, queue, name="test-pool")
        pools.append(pool)
        return pool

    def blocker(result: object = None) -> Blocker:
        blockers.append(Blocker(result))
        return blockers[-1]

    make.blocker = blocker
    yield make
    for b in blockers:
        b.release.set()
    for pool in pools:
        pool.shutdown(wait=True)


def fill(pool: InferencePool, make_pool) -> tuple[list[Blocker], list[Future]]:
    """Occupy every worker with a running job and every queue slot with a waiting one."""
    blockers, futures = [], []
    for i in range(pool.capacity):
        b = make_pool.blocker(result=i)
        futures.append(pool.submit(b, CancelToken()))
        blockers.append(b)
        if i < pool.workers:
            assert b.started.wait(WAIT), "a worker should pick the job up at once"
    return blockers, futures


def release_all(blockers: list[Blocker]) -> None:
    for b in blockers:
        b.release.set()


# --- construction -------------------------------------------------------------------------------


def test_capacity_is_workers_plus_queue(make_pool):
    pool = make_pool(3, 5)
    assert pool.capacity == 8
    assert (pool.busy, pool.running, pool.queued) == (0, 0, 0)


@pytest.mark.parametrize("workers, queue", [(0, 1), (-1, 0), (1, -1)])
def test_rejects_impossible_sizes(workers, queue):
    with pytest.raises(ValueError):
        InferencePool(workers, queue)


def test_a_pool_without_a_queue_is_allowed(make_pool):
    pool = make_pool(1, 0)
    assert pool.capacity == 1


# --- admission ----------------------------------------------------------------------------------


def test_runs_the_job_with_its_token_and_returns_its_result(make_pool):
    pool = make_pool(1, 0)
    token = CancelToken()
    seen = []
    future = pool.submit(lambda t: seen.append(t) or "done", token)
    assert future.result(WAIT) == "done"
    assert seen == [token]


def test_counts_running_and_queued_jobs(make_pool):
    pool = make_pool(2, 3)
    blockers, futures = fill(pool, make_pool)
    assert pool.busy == 5
    assert pool.running == 2
    assert pool.queued == 3
    release_all(blockers)
    assert [f.result(WAIT) for f in futures] == [0, 1, 2, 3, 4]


def test_submit_beyond_capacity_is_refused_with_429_and_retry_after(make_pool):
    """capacity = workers + queue jobs are admitted; the next one is refused at once."""
    pool = make_pool(2, 1)
    blockers, _ = fill(pool, make_pool)
    extra = make_pool.blocker()
    with pytest.raises(Overloaded) as info:
        pool.submit(extra, CancelToken())
    err = info.value
    assert err.http_status == 429
    assert err.code == "overloaded"
    assert isinstance(err.retry_after, int) and 1 <= err.retry_after <= 60
    assert extra.calls == 0
    assert pool.busy == 3, "a refused job must not take a slot"
    release_all(blockers)


def test_retry_after_grows_with_the_queue_ahead(make_pool):
    """The suggested wait is the work ahead divided over the workers: a deeper queue waits longer."""
    shallow, deep = make_pool(1, 0), make_pool(1, 9)
    retry = {}
    for name, pool in (("shallow", shallow), ("deep", deep)):
        blockers, _ = fill(pool, make_pool)
        with pytest.raises(Overloaded) as info:
            pool.submit(make_pool.blocker(), CancelToken())
        retry[name] = info.value.retry_after
        release_all(blockers)
    assert 1 <= retry["shallow"] < retry["deep"] <= 60


def test_retry_after_is_capped_at_a_minute(make_pool):
    pool = make_pool(1, 150)
    blockers, _ = fill(pool, make_pool)
    with pytest.raises(Overloaded) as info:
        pool.submit(make_pool.blocker(), CancelToken())
    assert info.value.retry_after == 60
    assert pool.retry_after_s() == 60
    release_all(blockers)


def test_slots_are_released_after_jobs_finish(make_pool):
    pool = make_pool(1, 1)
    blockers, futures = fill(pool, make_pool)
    release_all(blockers)
    for f in futures:
        f.result(WAIT)
    assert (pool.busy, pool.running, pool.queued) == (0, 0, 0)
    # the whole capacity can be used again
    blockers, futures = fill(pool, make_pool)
    assert pool.busy == 2
    release_all(blockers)
    for f in futures:
        f.result(WAIT)


def test_a_job_that_raises_still_releases_its_slot(make_pool):
    pool = make_pool(1, 0)

    def boom(token):
        raise ValueError("model exploded")

    future = pool.submit(boom, CancelToken())
    assert isinstance(future.exception(WAIT), ValueError)
    assert (pool.busy, pool.running, pool.queued) == (0, 0, 0)
    assert pool.submit(lambda t: 1, CancelToken()).result(WAIT) == 1


def test_cancelling_a_queued_future_releases_its_slot(make_pool):
    """A queued job whose future is cancelled before it started frees its place in the queue."""
    pool = make_pool(1, 1)
    (running, queued), (running_f, queued_f) = fill(pool, make_pool)
    assert (pool.busy, pool.running, pool.queued) == (2, 1, 1)

    assert queued_f.cancel()
    assert (pool.busy, pool.running, pool.queued) == (1, 1, 0)

    # the freed slot can be taken at once, and the next one is refused again
    replacement = make_pool.blocker(result="replacement")
    replacement_f = pool.submit(replacement, CancelToken())
    with pytest.raises(Overloaded):
        pool.submit(make_pool.blocker(), CancelToken())

    running.release.set()
    replacement.release.set()
    assert running_f.result(WAIT) == 0
    assert replacement_f.result(WAIT) == "replacement"
    assert queued.calls == 0, "a cancelled future's job must never run"
    assert (pool.busy, pool.running, pool.queued) == (0, 0, 0)


def test_a_running_future_cannot_be_cancelled_and_keeps_its_slot(make_pool):
    pool = make_pool(1, 0)
    (running,), (future,) = fill(pool, make_pool)
    assert not future.cancel()
    assert pool.busy == 1
    running.release.set()
    future.result(WAIT)
    assert pool.busy == 0


def test_admit_false_bypasses_the_limit(make_pool):
    """The server's own warm-up is never refused, even when the pool is full."""
    pool = make_pool(1, 0)
    blockers, futures = fill(pool, make_pool)
    warmup = make_pool.blocker(result="warm")
    warmup_f = pool.submit(warmup, CancelToken(), admit=False)
    assert pool.busy == 2, "a bypassing job still counts as busy"
    with pytest.raises(Overloaded):
        pool.submit(make_pool.blocker(), CancelToken())
    release_all(blockers)
    warmup.release.set()
    assert warmup_f.result(WAIT) == "warm"
    for f in futures:
        f.result(WAIT)
    assert (pool.busy, pool.running, pool.queued) == (0, 0, 0)


def test_shutdown_cancels_queued_jobs_and_releases_their_slots(make_pool):
    pool = make_pool(1, 2)
    blockers, (running_f, *queued_fs) = fill(pool, make_pool)
    pool.shutdown(wait=False)
    assert all(f.cancelled() for f in queued_fs)
    assert pool.busy == 1 and pool.queued == 0
    blockers[0].release.set()
    assert running_f.result(WAIT) == 0
    assert all(b.calls == 0 for b in blockers[1:])


def test_a_submit_refused_by_a_shut_down_pool_takes_no_slot(make_pool):
    pool = make_pool(1, 0)
    pool.shutdown()
    fn = make_pool.blocker()
    with pytest.raises(RuntimeError):
        pool.submit(fn, CancelToken())
    assert fn.calls == 0
    assert (pool.busy, pool.queued) == (0, 0)


# --- cancellation of jobs through their token ---------------------------------------------------


def test_job_whose_token_is_cancelled_before_it_starts_never_runs(make_pool):
    pool = make_pool(1, 0)
    token = CancelToken()
    token.cancel()
    fn = make_pool.blocker()
    future = pool.submit(fn, token)
    assert isinstance(future.exception(WAIT), Cancelled)
    assert fn.calls == 0
    assert pool.busy == 0


def test_queued_job_cancelled_while_waiting_never_runs(make_pool):
    """A client disconnect while the job waits in the queue: it is skipped when its turn comes."""
    pool = make_pool(1, 1)
    running = make_pool.blocker()
    running_f = pool.submit(running, CancelToken())
    assert running.started.wait(WAIT)
    waiting, token = make_pool.blocker(), CancelToken()
    waiting_f = pool.submit(waiting, token)
    token.cancel()
    running.release.set()
    assert isinstance(waiting_f.exception(WAIT), Cancelled)
    running_f.result(WAIT)
    assert waiting.calls == 0
    assert (pool.busy, pool.running, pool.queued) == (0, 0, 0)


def test_job_whose_deadline_passed_before_it_starts_never_runs(make_pool):
    pool = make_pool(1, 0)
    fn = make_pool.blocker()
    future = pool.submit(fn, CancelToken(deadline=time.monotonic() - 1.0))
    err = future.exception(WAIT)
    assert isinstance(err, DeadlineExceeded)
    assert err.http_status == 504
    assert fn.calls == 0
    assert pool.busy == 0


def test_running_job_sees_cancellation_at_its_next_check(make_pool):
    pool = make_pool(1, 0)
    started, resume = threading.Event(), threading.Event()

    def utterances(token: CancelToken) -> int:
        done = 0
        for _ in range(3):
            token.check()
            done += 1
            started.set()
            assert resume.wait(WAIT)
        return done

    token = CancelToken()
    future = pool.submit(utterances, token)
    assert started.wait(WAIT)
    token.cancel()
    resume.set()
    assert isinstance(future.exception(WAIT), Cancelled)
    assert pool.busy == 0


# --- CancelToken on its own ---------------------------------------------------------------------


def test_fresh_token_without_deadline_passes_checks():
    token = CancelToken()
    assert not token.cancelled
    assert token.remaining() is None
    token.check()


def test_cancel_makes_check_raise_cancelled():
    token = CancelToken()
    token.cancel()
    assert token.cancelled
    with pytest.raises(Cancelled):
        token.check()


def test_cancel_is_idempotent():
    token = CancelToken()
    token.cancel()
    token.cancel()
    with pytest.raises(Cancelled):
        token.check()


def test_past_deadline_makes_check_raise_deadline_exceeded():
    token = CancelToken(deadline=time.monotonic() - 0.001)
    assert token.remaining() < 0
    with pytest.raises(DeadlineExceeded) as info:
        token.check()
    assert info.value.code == "deadline_exceeded"


def test_future_deadline_passes_checks_and_reports_remaining_time():
    token = CancelToken(deadline=time.monotonic() + 60.0)
    token.check()
    assert 0 < token.remaining() <= 60.0


def test_cancellation_wins_over_a_passed_deadline():
    """A client that went away gets no 504: the job is simply Cancelled."""
    token = CancelToken(deadline=time.monotonic() - 1.0)
    token.cancel()
    with pytest.raises(Cancelled):
        token.check()


# --- scheduling: requests are generators of steps ------------------------------------------------


def _steps(log: list, name: str, n: int, audio_s: float = 1.0, gate: threading.Event | None = None):
    """A job of ``n`` steps that records each step in ``log``; optionally waits on ``gate`` first."""
    for i in range(n):
        if gate is not None and i == 0:
            assert gate.wait(WAIT)
        log.append((name, i))
        yield audio_s
    return f"{name} done"


def test_a_step_job_returns_its_generators_value(make_pool):
    pool = make_pool(1, 0)
    log: list = []
    assert pool.submit_steps(_steps(log, "a", 3), CancelToken()).result(WAIT) == "a done"
    assert log == [("a", 0), ("a", 1), ("a", 2)]
    assert pool.busy == 0


def test_a_new_stream_gets_its_first_step_before_older_streams_continue(make_pool):
    """Streams are due when their client's audio runs out, so a newcomer's first audio comes first."""
    pool = make_pool(1, 4)
    log: list = []
    gate = threading.Event()
    first = pool.submit_steps(_steps(log, "old", 4, audio_s=10.0, gate=gate), CancelToken(), realtime=True)
    second = pool.submit_steps(_steps(log, "new", 2, audio_s=10.0), CancelToken(), realtime=True)
    gate.set()
    first.result(WAIT), second.result(WAIT)
    assert log.index(("new", 0)) == 1, log  # right after old's first step, not after all of old


def test_whole_response_jobs_keep_arrival_order(make_pool):
    pool = make_pool(1, 4)
    log: list = []
    gate = threading.Event()
    a = pool.submit_steps(_steps(log, "a", 3, gate=gate), CancelToken())
    b = pool.submit_steps(_steps(log, "b", 3), CancelToken())
    gate.set()
    a.result(WAIT), b.result(WAIT)
    assert log == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2)]


def test_background_work_waits_for_everything_else(make_pool):
    pool = make_pool(1, 4)
    log: list = []
    gate = threading.Event()
    blocker = pool.submit_steps(_steps(log, "first", 1, gate=gate), CancelToken())
    warm = pool.submit_steps(_steps(log, "warm", 1), CancelToken(), admit=False, background=True)
    late = pool.submit_steps(_steps(log, "late", 2), CancelToken())
    gate.set()
    for f in (blocker, warm, late):
        f.result(WAIT)
    assert log[-1] == ("warm", 0), log


def test_cancelling_a_running_job_stops_it_at_the_next_step_and_closes_it(make_pool):
    pool = make_pool(1, 0)
    token = CancelToken()
    progress, closed = [], threading.Event()
    step_gate = threading.Event()

    def steps():
        try:
            for i in range(100):
                progress.append(i)
                if i == 0:
                    assert step_gate.wait(WAIT)
                yield 1.0
        finally:
            closed.set()

    future = pool.submit_steps(steps(), token)
    while not progress:
        time.sleep(0.001)
    token.cancel()
    step_gate.set()
    with pytest.raises(Cancelled):
        future.result(WAIT)
    assert closed.is_set() and len(progress) == 1
    assert pool.busy == 0
