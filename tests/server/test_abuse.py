"""The per-caller token bucket and the limits' settings (pure, no server)."""
from __future__ import annotations

import logging

import pytest

from emotivoice_srv.logs import REQUEST_ID, RequestIdFilter
from emotivoice_srv.server.abuse import AbuseLimits, Rate, TokenBuckets, parse_rate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rates_parse_per_second_minute_and_hour_and_off():
    assert parse_rate("10/s") == Rate(10, 1.0)
    assert parse_rate("600/min").per_s == 10.0
    assert parse_rate(" 3600 / h ").per_s == 1.0
    assert parse_rate("off") is None and parse_rate("0") is None
    for bad in ("10", "ten/s", "10/day", "-1/s", "0/s"):
        with pytest.raises(ValueError):
            parse_rate(bad)


def test_the_burst_defaults_to_one_periods_count():
    assert AbuseLimits(rate=Rate(600, 60.0)).bucket_size == 600
    assert AbuseLimits(rate=Rate(600, 60.0), burst=5).bucket_size == 5


def test_a_caller_gets_its_burst_then_the_rate_and_is_told_how_long_to_wait():
    clock = Clock()
    buckets = TokenBuckets(2.0, 3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(0.5)


def test_callers_have_their_own_buckets():
    buckets = TokenBuckets(1.0, 1, clock=Clock())
    assert buckets.take("a") == 0.0 and buckets.take("a") > 0
    assert buckets.take("b") == 0.0


def test_buckets_are_bounded_and_a_forgotten_caller_starts_full():
    buckets = TokenBuckets(1.0, 1, max_keys=2, clock=Clock())
    for key in ("a", "b", "c"):
        buckets.take(key)
    assert len(buckets) == 2
    assert buckets.take("a") == 0.0


def test_every_log_line_inside_a_request_names_it():
    record = logging.LogRecord("emotivoice_srv.cloning", logging.WARNING, "", 0, "cache corrupt", (), None)
    token = REQUEST_ID.set("req-42")
    try:
        assert RequestIdFilter().filter(record)
    finally:
        REQUEST_ID.reset(token)
    assert record.request_id == "req-42"
