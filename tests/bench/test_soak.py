"""The soak's short version (issue 22, item 5): a few hundred mixed requests on a real server process,
0 5xx, 4xx only for the invalid requests, RSS and open file descriptors that stop growing after warm-up.
The long run is ``python -m bench soak --requests 3000 --concurrency 8`` (bench/results/soak-*)."""
from __future__ import annotations

from collections import Counter

import pytest

from bench import soak


def test_the_mix_is_seeded_and_has_every_kind_of_request():
    first, again = soak.plan(400), soak.plan(400)
    assert first == again
    kinds = Counter(p.kind.split(":")[0].split("-")[0] for p in first)
    assert set(kinds) == {"tts", "speech", "invalid"}
    assert 0.02 <= kinds["invalid"] / 400 <= 0.09
    bodies = [p.json for p in first if p.json and p.valid]
    assert {b.get("emotion", "").split(":")[0] for b in bodies} >= set(soak.EMOTIONS)
    assert any(b.get("voice") == soak.CLONE for b in bodies) and any(p.stream for p in first)


@pytest.mark.slow
def test_a_short_soak_has_no_5xx_and_bounded_memory_and_descriptors(bundle_dir):
    result = soak.run(200, 4, bundle_dir)
    assert result["requests"] == 200
    assert result["server_errors_5xx"] == 0, result["error_codes"]
    assert result["transport_errors"] == 0, result["error_codes"]
    assert result["valid_answered_4xx_not_429"] == 0, result["error_codes"]
    assert result["invalid_answered_not_4xx"] == 0, result["error_codes"]
    assert result["exit_code"] == 0
    rss, fds = result["rss_mib"], result["fds"]
    assert rss["growth_after_warmup_pct"] <= 15.0, rss
    assert fds["end"] - fds["after_warmup"] <= 8, fds
