"""The tier state machine and the choice of tier per request (pure state, no model)."""
from __future__ import annotations

import asyncio
import itertools
import logging
import threading

import pytest

from emotivoice_srv.errors import Unavailable
from emotivoice_srv.server.tiers import (
    TRANSITIONS,
    InvalidTransition,
    TierPolicy,
    Tiers,
    TierSlot,
    TierState,
)

S = TierState
ENGINE = object()  # the slot only holds it; any object stands for a loaded engine here


def slot_in(state: TierState, role: str = "main") -> TierSlot:
    """A slot walked to ``state`` through allowed transitions only."""
    path = {S.LOADING: [], S.WARMING: [S.WARMING], S.READY: [S.WARMING, S.READY],
            S.DRAINING: [S.WARMING, S.READY, S.DRAINING], S.UNLOADED: [S.WARMING, S.READY, S.DRAINING, S.UNLOADED],
            S.FAILED: [S.FAILED]}[state]
    slot = TierSlot(role)
    for step in path:
        slot.move(step, engine=ENGINE if step is S.WARMING else None)
    assert slot.state is state
    return slot


def test_the_lifecycle_path_loading_warming_ready_draining_unloaded():
    slot = TierSlot("main")
    seen = []
    slot.listeners.append(lambda s, old, new: seen.append((old.value, new.value)))
    slot.move(S.WARMING, engine=ENGINE)
    slot.move(S.READY)
    slot.move(S.DRAINING)
    slot.move(S.UNLOADED)
    assert seen == [("loading", "warming"), ("warming", "ready"), ("ready", "draining"), ("draining", "unloaded")]
    assert slot.engine is None  # unloading drops the engine


@pytest.mark.parametrize("old,new", [(o, n) for o, n in itertools.product(S, S)])
def test_every_transition_is_allowed_exactly_when_the_table_says(old, new):
    slot = slot_in(old)
    if new in TRANSITIONS[old]:
        slot.move(new, engine=ENGINE if new is S.WARMING else None, error="x" if new is S.FAILED else None)
        assert slot.state is new
    else:
        with pytest.raises(InvalidTransition):
            slot.move(new)
        assert slot.state is old  # a refused move changes nothing


def test_draining_is_reachable_from_every_live_state_and_unloaded_is_final():
    for state in (S.LOADING, S.WARMING, S.READY, S.FAILED):
        assert S.DRAINING in TRANSITIONS[state]
    assert TRANSITIONS[S.UNLOADED] == frozenset()


def test_warming_needs_an_engine():
    with pytest.raises(InvalidTransition, match="needs a loaded engine"):
        TierSlot("main").move(S.WARMING)


def test_a_failure_while_loading_is_kept_as_state_and_logged_not_raised(caplog):
    slot = TierSlot("main")
    with caplog.at_level(logging.ERROR, logger="emotivoice_srv.tiers"):
        slot.fail(RuntimeError("CUDA out of memory"))
    assert slot.state is S.FAILED and slot.error == "RuntimeError: CUDA out of memory"
    assert not slot.serving
    record = caplog.records[-1]
    assert record.levelno == logging.ERROR and record.tier == "main" and "CUDA" in record.error
    assert Tiers(slot).readiness() == (False, "main tier failed: RuntimeError: CUDA out of memory")


def test_drain_is_idempotent():
    slot = slot_in(S.READY)
    slot.drain()
    slot.drain()
    assert slot.state is S.DRAINING
    slot.move(S.UNLOADED)
    slot.drain()
    assert slot.state is S.UNLOADED


def test_seconds_in_a_state_ends_when_the_next_state_begins():
    slot = TierSlot("main")
    slot.entered["loading"] = 10.0
    slot.move(S.WARMING, engine=ENGINE)
    slot.entered["warming"] = 12.5
    assert slot.seconds_in(S.LOADING) == 2.5
    assert slot.seconds_in(S.READY) is None


def test_unknown_roles_are_refused():
    with pytest.raises(ValueError):
        TierSlot("backup")
    with pytest.raises(ValueError):
        Tiers(TierSlot("fallback"))


# -- which tier serves ---------------------------------------------------------------------------
@pytest.mark.parametrize("main,fallback,served", [
    (S.READY, None, "main"),
    (S.WARMING, None, "main"),            # a warming tier can answer; nobody waits on warm-up
    (S.READY, S.READY, "main"),
    (S.LOADING, S.WARMING, "fallback"),
    (S.LOADING, S.READY, "fallback"),
    (S.WARMING, S.READY, "fallback"),     # while main warms, the fallback answers
    (S.FAILED, S.READY, "fallback"),
    (S.WARMING, S.FAILED, "main"),
])
def test_main_when_ready_else_the_fallback_else_a_warming_main(main, fallback, served):
    tiers = Tiers(slot_in(main), slot_in(fallback, "fallback") if fallback else None)
    assert tiers.choose().role == served


@pytest.mark.parametrize("main,fallback", [(S.LOADING, None), (S.FAILED, None), (S.LOADING, S.FAILED),
                                           (S.DRAINING, S.DRAINING)])
def test_no_serving_tier_is_a_503_that_names_the_states(main, fallback):
    tiers = Tiers(slot_in(main), slot_in(fallback, "fallback") if fallback else None)
    with pytest.raises(Unavailable) as err:
        tiers.choose()
    assert err.value.http_status == 503 and err.value.code == "model_unavailable"
    assert f"main {main.value}" in err.value.message


def test_readiness_follows_main_unless_ready_on_fallback_is_set():
    main, fb = slot_in(S.LOADING), slot_in(S.READY, "fallback")
    assert Tiers(main, fb).readiness() == (False, "loading: the main model is not loaded yet")
    ready, reason = Tiers(main, fb, TierPolicy(ready_on_fallback=True)).readiness()
    assert ready and "fallback" in reason
    main.move(S.WARMING, engine=ENGINE)
    assert Tiers(main, fb).readiness()[1].startswith("warming")
    main.move(S.READY)
    assert Tiers(main, fb).readiness() == (True, "ready")


def test_the_hold_policy_waits_for_main_and_takes_it_when_it_becomes_ready_in_time():
    async def scenario():
        main, fb = slot_in(S.WARMING), slot_in(S.READY, "fallback")
        tiers = Tiers(main, fb, TierPolicy(hold_for_main_s=5.0))
        tiers.bind_loop(asyncio.get_running_loop())
        threading.Timer(0.1, main.move, (S.READY,)).start()  # main finishes warming on another thread
        t0 = asyncio.get_running_loop().time()
        chosen = await tiers.select()
        return chosen.role, asyncio.get_running_loop().time() - t0

    role, waited = asyncio.run(scenario())
    assert role == "main" and 0.05 < waited < 2.0


def test_the_hold_policy_gives_up_after_its_limit_and_serves_the_fallback():
    async def scenario():
        tiers = Tiers(slot_in(S.LOADING), slot_in(S.READY, "fallback"), TierPolicy(hold_for_main_s=0.2))
        tiers.bind_loop(asyncio.get_running_loop())
        t0 = asyncio.get_running_loop().time()
        chosen = await tiers.select()
        return chosen.role, asyncio.get_running_loop().time() - t0

    role, waited = asyncio.run(scenario())
    assert role == "fallback" and 0.15 < waited < 1.5


def test_a_main_that_fails_while_requests_wait_for_it_releases_them_at_once():
    async def scenario():
        main = slot_in(S.WARMING)
        tiers = Tiers(main, slot_in(S.READY, "fallback"), TierPolicy(hold_for_main_s=30.0))
        tiers.bind_loop(asyncio.get_running_loop())
        threading.Timer(0.1, main.fail, (RuntimeError("boom"),)).start()
        t0 = asyncio.get_running_loop().time()
        chosen = await tiers.select()
        return chosen.role, asyncio.get_running_loop().time() - t0

    role, waited = asyncio.run(scenario())
    assert role == "fallback" and waited < 5.0


def test_without_the_hold_policy_nobody_waits():
    async def scenario():
        tiers = Tiers(slot_in(S.LOADING), slot_in(S.WARMING, "fallback"))
        tiers.bind_loop(asyncio.get_running_loop())
        return (await asyncio.wait_for(tiers.select(), timeout=0.5)).role

    assert asyncio.run(scenario()) == "fallback"


def test_drain_then_unload_every_tier():
    tiers = Tiers(slot_in(S.READY), slot_in(S.WARMING, "fallback"))
    tiers.drain()
    assert [s.state for s in tiers.slots] == [S.DRAINING, S.DRAINING]
    tiers.unload()
    assert [s.state for s in tiers.slots] == [S.UNLOADED, S.UNLOADED]


def test_main_moving_from_loading_to_warming_does_not_release_held_requests():
    async def scenario():
        main = slot_in(S.LOADING)
        tiers = Tiers(main, slot_in(S.READY, "fallback"), TierPolicy(hold_for_main_s=5.0))
        tiers.bind_loop(asyncio.get_running_loop())
        threading.Timer(0.05, main.move, (S.WARMING,), {"engine": ENGINE}).start()
        threading.Timer(0.3, main.move, (S.READY,)).start()
        t0 = asyncio.get_running_loop().time()
        chosen = await tiers.select()
        return chosen.role, asyncio.get_running_loop().time() - t0

    role, waited = asyncio.run(scenario())
    assert role == "main" and waited >= 0.25


@pytest.mark.parametrize("workers,threads,override,cores,expected", [
    (2, 2, None, 2, 1),    # 2 workers on 2 cores: 1-thread sessions for overlapping syntheses
    (1, 2, None, 2, 0),    # one worker never overlaps
    (2, 1, None, 2, 0),    # sessions already single-threaded
    (4, 8, None, 8, 2),
    (2, 2, 0, 2, 0),       # switched off
    (2, 4, 3, 8, 3),       # explicit
    (2, 2, 2, 2, 0),       # explicit but not fewer threads: pointless
])
def test_concurrent_session_threads(workers, threads, override, cores, expected):
    from emotivoice_srv.server.config import ServerConfig, narrow_threads

    config = ServerConfig(workers=workers, concurrent_threads=override)
    assert narrow_threads(config, threads, cores) == expected
