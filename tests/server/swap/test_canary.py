"""The canary check on real renders: the same version passes, silence / NaN / wrong pitch or timing fail."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from emotivoice_srv.server.swap import canary
from emotivoice_srv.server.swap.config import CanaryConfig


@pytest.fixture(scope="module")
def renders(engine):
    audio: dict[str, np.ndarray] = {}

    def synth(text: str, **kwargs):
        result = engine.synthesize(text, voice="en_female_1", **kwargs)
        if not kwargs:
            audio[text] = result.audio
        return result.audio, result.sample_rate

    base = canary.render(synth)
    return {"base": base,
            "higher": canary.render(lambda text: synth(text, pitch=4.0)),
            "slower": canary.render(lambda text: synth(text, speed=0.7)),
            "silent": canary.render(lambda text: (np.zeros_like(audio[text]), 24000)),
            "nan": canary.render(lambda text: (np.full_like(audio[text], np.nan), 24000))}


def test_the_serving_version_against_itself_passes_and_measures_speech(renders):
    base = renders["base"]
    assert canary.judge(base, base, CanaryConfig()) is None
    for r in base:
        assert r.finite and r.level_db > -30 and 120 < r.f0_hz < 350 and r.duration_s > 0.5


@pytest.mark.parametrize("variant, words", [
    ("silent", "silent"), ("nan", "NaN"), ("higher", "semitones"), ("slower", "duration")])
def test_a_broken_or_different_new_version_fails_with_the_reason(renders, variant, words):
    reason = canary.judge(renders["base"], renders[variant], CanaryConfig())
    assert reason is not None and words in reason and "canary" in reason


def test_the_tolerances_are_the_configured_ones(renders):
    loose = CanaryConfig(duration_tolerance=0.6, f0_tolerance_st=6.0)
    assert canary.judge(renders["base"], renders["higher"], loose) is None
    assert canary.judge(renders["base"], renders["slower"], loose) is None
    strict_level = replace(loose, min_level_db=0.0)
    assert "silent" in canary.judge(renders["base"], renders["base"], strict_level)


def test_a_render_with_no_voiced_frame_has_no_f0_and_fails_against_a_voiced_one():
    noise = np.random.default_rng(0).normal(0, 0.1, 24000).astype(np.float32)
    measured = canary.measure("noise", noise, 24000)
    assert math.isnan(measured.f0_hz)
    voiced = canary.CanaryRender("noise", 1.0, -20.0, 200.0, True)
    assert "voiced" in canary.judge([voiced], [measured], CanaryConfig())
