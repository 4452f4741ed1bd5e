"""Deadlines derived from each request's estimate, refusals before rendering (pure logic, no server)."""
from __future__ import annotations

import re

from emotivoice_srv.errors import Overloaded, RenderTooLong
from emotivoice_srv.server.render_budget import DeadlinePolicy, budget, fits, refusal
from emotivoice_srv.server.routing import Load

POLICY = DeadlinePolicy(request_timeout_s=60.0, slack=2.0, max_render_s=300.0)
IDLE = Load(busy=0, workers=2, capacity=10, mean_job_s=1.5, s_per_char=0.025)
BUSY = Load(busy=9, workers=2, capacity=10, mean_job_s=60.0, s_per_char=0.025)


def test_a_short_text_keeps_the_request_timeout_as_its_deadline():
    assert budget(POLICY, IDLE, 100).deadline_s == 60.0


def test_a_long_whole_text_gets_a_deadline_from_its_estimate_not_a_504():
    b = budget(POLICY, IDLE, 6000)  # 150 s of rendering at 25 ms per character
    assert b.estimate_s == 150.0 and b.deadline_s == 300.0
    assert fits(POLICY, IDLE, 6000)


def test_slack_zero_is_the_fixed_deadline():
    assert budget(DeadlinePolicy(60.0, 0.0, 300.0), IDLE, 6000).deadline_s == 60.0


def test_a_text_too_long_to_render_whole_is_refused_with_the_way_out():
    assert not fits(POLICY, IDLE, 20_000)
    exc = refusal(POLICY, IDLE, 20_000, stream=False, route="/v1/tts")
    assert isinstance(exc, RenderTooLong) and exc.http_status == 413 and exc.code == "render_too_long"
    assert '"stream": true' in exc.message
    assert int(re.search(r"at most (\d+) characters", exc.message).group(1)) == 12_000


def test_the_openai_route_names_its_streamed_formats():
    exc = refusal(POLICY, IDLE, 20_000, stream=False, route="/v1/audio/speech")
    assert 'response_format "wav" or "pcm"' in exc.message


def test_work_queued_ahead_is_a_429_with_retry_after_not_a_length_problem():
    assert not fits(POLICY, BUSY, 4000)  # 100 s of rendering fits alone; 4 rounds x 60 s ahead do not
    exc = refusal(POLICY, BUSY, 4000, stream=False, route="/v1/tts")
    assert isinstance(exc, Overloaded) and exc.retry_after == 240
