"""The swap state machine: one swap at a time, steps only forward, every end recorded."""
from __future__ import annotations

import pytest

from emotivoice_srv.server.swap.state import (SwapBoard, SwapBusy, Step, failure_code, failure_result)


def test_a_swap_goes_through_its_steps_and_ends_idle_with_timings():
    board = SwapBoard()
    record = board.begin("main", "upgrade", "api", "/b/v2", "1.0.0+aaaa")
    for step in (Step.VERIFYING, Step.LOADING, Step.WARMING, Step.CANARY, Step.SWITCHING, Step.DRAINING):
        board.enter(record, step)
    assert record.to_dict()["state"] == "draining"
    board.finish(record, "switched")
    out = record.to_dict()
    assert out["state"] == "idle" and out["result"] == "switched"
    assert set(out["seconds"]) == {"verifying", "loading", "warming", "canary", "switching", "draining",
                                   "to_switched", "total"}
    assert board.current is None and board.last("main") is record and board.last("fallback") is None


def test_a_second_swap_while_one_runs_is_refused_with_409_naming_the_first():
    board = SwapBoard()
    board.begin("main", "upgrade", "api", "/b/v2", "1.0.0+aaaa")
    with pytest.raises(SwapBusy) as refused:
        board.begin("fallback", "upgrade", "sighup", "/b/s2", "0.1+bbbb")
    assert refused.value.http_status == 409 and "main" in refused.value.message


def test_the_next_swap_may_start_once_the_first_has_finished_even_if_it_failed():
    board = SwapBoard()
    first = board.begin("main", "upgrade", "api", "/b/v2", "1.0.0+aaaa")
    board.enter(first, Step.VERIFYING)
    board.finish(first, failure_result(Step.VERIFYING), "hash mismatch")
    second = board.begin("main", "upgrade", "api", "/b/v3", "1.0.0+aaaa")
    assert second is board.current and first.result == "failed_verify"


def test_steps_never_go_backwards():
    board = SwapBoard()
    record = board.begin("main", "upgrade", "api", "/b/v2", "1.0.0+aaaa")
    board.enter(record, Step.CANARY)
    with pytest.raises(ValueError):
        board.enter(record, Step.LOADING)


def test_time_to_switched_is_counted_from_the_request_to_the_drain_starting():
    board = SwapBoard()
    record = board.begin("main", "rollback", "api", "1.0.0+aaaa", "1.0.1+bbbb")
    board.enter(record, Step.SWITCHING)
    board.enter(record, Step.DRAINING)
    assert 0 <= record.seconds["to_switched"] < 1.0


@pytest.mark.parametrize("step, code, result", [
    (Step.VERIFYING, "swap_verify_failed", "failed_verify"),
    (Step.LOADING, "swap_load_failed", "failed_load"),
    (Step.WARMING, "swap_warmup_failed", "failed_warmup"),
    (Step.CANARY, "swap_canary_failed", "failed_canary"),
])
def test_a_failure_is_named_after_its_step(step, code, result):
    assert failure_code(step) == code and failure_result(step) == result
