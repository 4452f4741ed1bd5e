"""Requests counted per engine: what a swap's drain waits for."""
from __future__ import annotations

from concurrent.futures import Future

from emotivoice_srv.server.swap.inflight import InFlight


def test_each_engine_counts_its_unfinished_jobs_whatever_way_they_end():
    old, new = object(), object()
    inflight = InFlight()
    jobs = [Future() for _ in range(3)]
    for job in jobs:
        inflight.hold(old, job)
    later = Future()
    inflight.hold(new, later)
    assert (inflight.count(old), inflight.count(new)) == (3, 1)
    jobs[0].set_result("audio")
    jobs[1].set_exception(RuntimeError("failed"))
    jobs[2].cancel()
    assert (inflight.count(old), inflight.count(new)) == (0, 1)
    later.set_result(None)
    assert inflight.count(new) == 0 and inflight.count(object()) == 0
