"""Emotion specs: names, intensities, mixes and overrides resolve to prosody targets."""
from __future__ import annotations

import math

import pytest

from emotivoice_srv.errors import InvalidInput, UnknownEmotion
from emotivoice_srv.prosody import EMOTIONS, parse_emotion, resolve_prosody
from emotivoice_srv.prosody.emotion import PRESETS, ProsodyParams, blend


def test_the_seven_emotivoice_emotions_exist():
    assert EMOTIONS == ("neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted")


def test_neutral_is_the_identity():
    assert blend(parse_emotion("neutral")) == ProsodyParams()
    assert blend(parse_emotion(None)) == ProsodyParams()


def test_intensity_scales_towards_neutral():
    half = blend(parse_emotion("happy:0.5"))
    full = blend(parse_emotion("happy"))
    assert half.pitch_shift_st == pytest.approx(full.pitch_shift_st / 2)
    assert math.log(half.rate) == pytest.approx(math.log(full.rate) / 2)
    assert blend(parse_emotion("sad", intensity=0.0)) == ProsodyParams()


def test_mix_combines_presets_by_weight():
    mix = blend(parse_emotion({"happy": 0.7, "surprised": 0.3}))
    expected = 0.7 * PRESETS["happy"].pitch_shift_st + 0.3 * PRESETS["surprised"].pitch_shift_st
    assert mix.pitch_shift_st == pytest.approx(expected)
    assert mix.final_contour_st == pytest.approx(0.7 * 1.0 + 0.3 * 4.0)


def test_mix_weights_over_one_are_normalized():
    spec = parse_emotion({"angry": 2, "sad": 2})
    assert dict(spec.mix) == {"angry": 0.5, "sad": 0.5}


def test_overrides_add_to_the_emotion():
    params = resolve_prosody(parse_emotion("sad"), pitch_st=1.0, rate=1.25, energy_db=2.0)
    assert params.pitch_shift_st == pytest.approx(PRESETS["sad"].pitch_shift_st + 1.0)
    assert params.rate == pytest.approx(PRESETS["sad"].rate * 1.25)
    assert params.energy_db == pytest.approx(PRESETS["sad"].energy_db + 2.0)


@pytest.mark.parametrize("bad", ["joyful", "happy:1.5", "happy:-0.1", "happy:abc", {"happy": -1}, {}, {"x": 1}])
def test_bad_emotion_specs_are_rejected_with_a_message(bad):
    with pytest.raises((UnknownEmotion, InvalidInput)) as info:
        parse_emotion(bad)
    assert info.value.message


def test_unknown_emotion_names_the_allowed_ones():
    with pytest.raises(UnknownEmotion, match="neutral, happy, sad, angry, surprised, fearful, disgusted"):
        parse_emotion("bored")


def test_presets_point_in_the_published_directions():
    assert PRESETS["happy"].pitch_shift_st > 0 and PRESETS["happy"].pitch_range > 1
    assert PRESETS["sad"].pitch_shift_st < 0 and PRESETS["sad"].rate < 1 and PRESETS["sad"].pitch_range < 1
    assert PRESETS["angry"].energy_db > 0
    assert PRESETS["surprised"].final_contour_st > 0
    assert PRESETS["fearful"].rate > 1 and PRESETS["fearful"].pitch_shift_st > 0
    assert PRESETS["disgusted"].rate < 1 and PRESETS["disgusted"].final_contour_st < 0
