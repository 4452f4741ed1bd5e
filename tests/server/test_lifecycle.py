"""Process probe state: loading and draining outrank what the tiers report."""
from __future__ import annotations

import threading

from emotivoice_srv.server.lifecycle import Lifecycle

TIERS_READY = (True, "ready")
TIERS_WARMING = (False, "warming: the main model's warm-up has not finished")


def test_a_new_server_is_loading_and_not_ready_whatever_the_tiers_say():
    life = Lifecycle()
    assert not life.started
    ready, reason = life.readiness(TIERS_READY)
    assert ready is False and reason.startswith("loading")


def test_once_loaded_readiness_is_the_tiers_answer():
    life = Lifecycle()
    life.loaded(1.5)
    assert life.started and life.load_seconds == 1.5
    assert life.readiness(TIERS_WARMING) == TIERS_WARMING
    assert life.readiness(TIERS_READY) == TIERS_READY


def test_a_zero_second_load_still_counts_as_loaded():
    life = Lifecycle()
    life.loaded(0.0)
    assert life.started


def test_draining_wins_over_every_other_state():
    for loaded in (False, True):
        life = Lifecycle()
        if loaded:
            life.loaded(1.0)
        life.begin_drain()
        ready, reason = life.readiness(TIERS_READY)
        assert ready is False and reason.startswith("draining")


def test_begin_drain_is_true_exactly_once_across_threads():
    life = Lifecycle()
    results = []
    threads = [threading.Thread(target=lambda: results.append(life.begin_drain())) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1 and life.drain_started_at is not None
