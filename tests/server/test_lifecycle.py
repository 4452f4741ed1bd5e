"""Probe state: what /readyz reports through start-up, warm-up and draining."""
from __future__ import annotations

import threading

from emotivoice_srv.server.lifecycle import Lifecycle


def test_a_new_server_is_loading_and_not_ready():
    life = Lifecycle()
    assert not life.started
    ready, reason = life.readiness()
    assert ready is False
    assert reason.startswith("loading")


def test_loaded_but_not_warmed_is_warming():
    life = Lifecycle()
    life.loaded(1.5)
    assert life.started and life.load_seconds == 1.5
    ready, reason = life.readiness()
    assert ready is False
    assert reason.startswith("warming")


def test_loaded_and_warmed_is_ready():
    life = Lifecycle()
    life.loaded(1.5)
    life.warmed(0.3)
    assert life.warm and life.warmup_seconds == 0.3
    assert life.readiness() == (True, "ready")


def test_a_failed_warm_up_is_reported_with_its_reason():
    life = Lifecycle()
    life.loaded(1.0)
    life.warmup_failed("CUDA out of memory")
    ready, reason = life.readiness()
    assert ready is False
    assert reason.startswith("warm-up failed")
    assert "CUDA out of memory" in reason


def test_a_warm_up_failure_outranks_a_later_warm_flag():
    life = Lifecycle()
    life.loaded(1.0)
    life.warmup_failed("boom")
    life.warmed(0.1)
    assert life.readiness() == (False, "warm-up failed: boom")


def test_a_zero_second_load_still_counts_as_loaded():
    life = Lifecycle()
    life.loaded(0.0)
    assert life.started
    assert life.readiness()[1].startswith("warming")


def test_draining_wins_over_every_other_state():
    for prepare in (lambda l: None,                                    # still loading
                    lambda l: l.loaded(1.0),                           # warming
                    lambda l: (l.loaded(1.0), l.warmup_failed("x")),   # warm-up failed
                    lambda l: (l.loaded(1.0), l.warmed(0.1))):         # ready
        life = Lifecycle()
        prepare(life)
        life.begin_drain()
        ready, reason = life.readiness()
        assert ready is False
        assert reason.startswith("draining")


def test_begin_drain_returns_true_only_the_first_time():
    life = Lifecycle()
    assert life.drain_started_at is None
    assert life.begin_drain() is True
    first_started = life.drain_started_at
    assert life.draining and first_started is not None
    assert life.begin_drain() is False
    assert life.begin_drain() is False
    assert life.drain_started_at == first_started, "a second drain must not restart the clock"


def test_begin_drain_from_many_threads_wins_exactly_once():
    life = Lifecycle()
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def drain() -> None:
        barrier.wait()
        results.append(life.begin_drain())

    threads = [threading.Thread(target=drain) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(results) == [False] * 7 + [True]
