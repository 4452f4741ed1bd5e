"""Where a request goes (pure logic, no server): the fast tier on request, latency budgets, the
overload policy, the upstream's rules, the circuit breaker and the measured render rates."""
from __future__ import annotations

import pytest

from emotivoice_srv.errors import InvalidInput, Overloaded
from emotivoice_srv.server.breaker import CLOSED, OPEN, CircuitBreaker
from emotivoice_srv.server.routing import (
    FAST,
    MAIN,
    Attempt,
    Load,
    RateTracker,
    RoutingConfig,
    Wants,
    estimate_ttfa_s,
    first_chunk_chars,
    plan,
    upstream_reason,
    wants_from,
)

IDLE_MAIN = Load(busy=0, workers=2, capacity=10, mean_job_s=1.5, s_per_char=0.02)
FULL_MAIN = Load(busy=10, workers=2, capacity=10, mean_job_s=1.5, s_per_char=0.02)
IDLE_FAST = Load(busy=0, workers=1, capacity=65, mean_job_s=0.05, s_per_char=0.0005)
FULL_FAST = Load(busy=65, workers=1, capacity=65, mean_job_s=0.05, s_per_char=0.0005)


def test_quality_fast_goes_to_the_fast_tier_and_says_it_was_requested():
    assert plan(Wants("fast", explicit=True), 40, IDLE_MAIN, IDLE_FAST, "reject") == [Attempt(FAST, "requested")]


def test_quality_fast_without_a_fast_tier_is_served_by_main_and_flagged():
    assert plan(Wants("fast", explicit=True), 40, IDLE_MAIN, None, "reject") == [Attempt(MAIN, "fast_tier_unavailable")]


def test_by_default_main_serves_and_reject_adds_no_second_choice():
    assert plan(Wants(), 40, FULL_MAIN, IDLE_FAST, "reject") == [Attempt(MAIN, "default")]


def test_degrade_adds_the_fast_tier_behind_main_unless_the_client_refuses_it():
    assert plan(Wants(), 40, FULL_MAIN, IDLE_FAST, "degrade") == [Attempt(MAIN, "default"), Attempt(FAST, "overload")]
    assert plan(Wants("best", explicit=True), 40, FULL_MAIN, IDLE_FAST, "degrade") == [Attempt(MAIN, "default")]
    assert plan(Wants(allow_degraded=False), 40, FULL_MAIN, IDLE_FAST, "degrade") == [Attempt(MAIN, "default")]
    assert plan(Wants(), 40, FULL_MAIN, None, "degrade") == [Attempt(MAIN, "default")]


def test_the_estimate_is_the_wait_in_rounds_of_workers_plus_the_render():
    assert estimate_ttfa_s(IDLE_MAIN, 50) == pytest.approx(1.0)  # a free worker: 50 chars x 0.02 s
    one_busy = Load(1, 2, 10, 1.5, 0.02)
    assert estimate_ttfa_s(one_busy, 50) == pytest.approx(1.0)
    queued = Load(5, 2, 10, 1.5, 0.02)  # 4 ahead of this one for 2 workers: 2 rounds of 1.5 s
    assert estimate_ttfa_s(queued, 50) == pytest.approx(3.0 + 1.0)


def test_a_budget_main_can_meet_stays_on_main():
    assert plan(Wants(budget_s=2.0), 50, IDLE_MAIN, IDLE_FAST, "reject") == [Attempt(MAIN, "latency_budget_met")]


def test_a_budget_only_the_fast_tier_can_meet_goes_there():
    assert plan(Wants(budget_s=0.2), 50, IDLE_MAIN, IDLE_FAST, "reject") == [Attempt(FAST, "latency_budget")]


def test_a_budget_neither_can_meet_is_a_429_with_retry_after():
    with pytest.raises(Overloaded) as err:
        plan(Wants(budget_s=0.001), 50, IDLE_MAIN, IDLE_FAST, "degrade")
    assert err.value.code == "budget_unmeetable" and err.value.retry_after >= 1
    with pytest.raises(Overloaded):  # the fast tier could, but it is full
        plan(Wants(budget_s=0.2), 50, IDLE_MAIN, FULL_FAST, "degrade")
    with pytest.raises(Overloaded):  # the fast tier could, but the client wants best explicitly
        plan(Wants("best", explicit=True, budget_s=0.2), 50, IDLE_MAIN, IDLE_FAST, "degrade")


def test_streams_are_budgeted_on_their_first_sentence():
    text = "Short one. Then a much longer second sentence that takes a while to render."
    assert first_chunk_chars(text, stream=True) == len("Short one. ")
    assert first_chunk_chars(text, stream=False) == len(text)


def test_wants_read_fields_and_headers_and_the_smaller_budget_binds():
    w = wants_from(None, 800, {"x-latency-budget-ms": "300", "x-allow-degraded": "false"})
    assert w == Wants("best", explicit=False, allow_degraded=False, budget_s=0.3)
    assert wants_from("best", None, {}).explicit and not wants_from("best", None, {}).degradable
    for bad in ({"x-latency-budget-ms": "soon"}, {"x-latency-budget-ms": "0"}, {"x-allow-degraded": "maybe"}):
        with pytest.raises(InvalidInput):
            wants_from(None, None, bad)


def test_upstream_rules_voice_long_and_busy():
    kw = dict(long_chars=100, wants=Wants(), main=IDLE_MAIN, voice_known=True)
    routes = ("enroll", "long", "busy", "voice")
    assert upstream_reason(routes, text_chars=50, **kw) is None
    assert upstream_reason(routes, text_chars=150, **kw) == "long_text"
    assert upstream_reason(routes, text_chars=50, **{**kw, "main": Load(2, 2, 10, 1.0, 0.02)}) == "main_busy"
    assert upstream_reason(routes, text_chars=50, **{**kw, "voice_known": False}) == "remote_voice"
    assert upstream_reason(("enroll",), text_chars=150, **kw) is None  # rules are configurable
    fast = {**kw, "wants": Wants("fast", explicit=True)}
    assert upstream_reason(routes, text_chars=150, **fast) is None  # the fast tier is local by nature


def test_routing_config_refuses_unknown_policies_and_routes_and_sizes_the_fast_pool():
    with pytest.raises(InvalidInput):
        RoutingConfig(overload_policy="shed")
    with pytest.raises(InvalidInput):
        RoutingConfig(upstream_routes=("long", "everything"))
    assert RoutingConfig(fast_share=0.5).fast_workers(2) == 1
    assert RoutingConfig(fast_share=0.25).fast_workers(16) == 4
    assert RoutingConfig(fast_share=0.1).fast_workers(2) == 1  # never zero


def test_the_breaker_opens_after_n_failures_in_a_row_and_a_probe_success_closes_it():
    seen = []
    b = CircuitBreaker(2)
    b.listeners.append(seen.append)
    b.failure("unreachable")
    b.success()  # resets the count
    b.failure("unreachable")
    assert b.allow() and b.state == CLOSED
    b.failure("slow")
    assert not b.allow() and b.state == OPEN
    b.success()
    assert b.allow() and seen == [OPEN, CLOSED]


def test_rates_start_at_the_prior_and_follow_measurements():
    rates = RateTracker(alpha=0.5)
    assert rates.s_per_char(MAIN) == 0.025  # the prior until something is measured
    rates.observe(MAIN, work_s=1.0, chars=100)  # 0.01 s per char: the first measurement replaces the prior
    assert rates.s_per_char(MAIN) == pytest.approx(0.01)
    rates.observe(MAIN, work_s=0.0, chars=100)  # nothing measured: ignored
    assert rates.s_per_char(MAIN) == pytest.approx(0.01)
    rates.observe(MAIN, work_s=3.0, chars=100)  # later ones are averaged in
    assert rates.s_per_char(MAIN) == pytest.approx(0.02)


def test_a_tiny_render_does_not_set_the_rate_its_fixed_cost_would_inflate_it():
    rates = RateTracker(alpha=0.5)
    prior = rates.s_per_char(MAIN)
    rates.observe(MAIN, work_s=1.5, chars=3)  # "Hi.": 0.5 s per character, almost all fixed cost
    assert rates.s_per_char(MAIN) == prior
