"""Active RMS level and speech duration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emotivoice_srv.quality import active_rms_db, speech_duration_s

SR = 24_000


def sine(amplitude: float, seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), dtype=np.float32)


@pytest.mark.parametrize("amplitude", [1.0, 0.5, 0.1])
def test_rms_db_of_a_sine_is_amplitude_over_root_two(amplitude: float) -> None:
    expected = 20 * math.log10(amplitude / math.sqrt(2))
    assert active_rms_db(sine(amplitude), SR) == pytest.approx(expected, abs=0.05)


def test_rms_db_ignores_added_silence() -> None:
    tone = sine(0.5)
    padded = np.concatenate([silence(2.0), tone[: SR // 2], silence(1.0), tone[SR // 2 :], silence(3.0)])
    assert active_rms_db(padded, SR) == pytest.approx(active_rms_db(tone, SR), abs=0.1)


def test_rms_db_follows_gain() -> None:
    assert active_rms_db(sine(0.25), SR) - active_rms_db(sine(0.5), SR) == pytest.approx(-6.02, abs=0.05)


def test_digital_silence_is_minus_infinity() -> None:
    assert active_rms_db(silence(1.0), SR) == -math.inf
    assert speech_duration_s(silence(1.0), SR) == 0.0


def test_speech_duration_trims_leading_and_trailing_silence() -> None:
    x = np.concatenate([silence(0.7), sine(0.3, seconds=1.2), silence(0.4)])
    assert speech_duration_s(x, SR) == pytest.approx(1.2, abs=0.03)


def test_speech_duration_can_cap_internal_pauses() -> None:
    x = np.concatenate([sine(0.3, seconds=0.5), silence(1.0), sine(0.3, seconds=0.5)])
    assert speech_duration_s(x, SR) == pytest.approx(2.0, abs=0.03)
    assert speech_duration_s(x, SR, max_pause_s=0.2) == pytest.approx(1.2, abs=0.03)
    assert speech_duration_s(x, SR, max_pause_s=5.0) == pytest.approx(2.0, abs=0.03)


def test_invalid_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        active_rms_db(np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(ValueError, match="mono"):
        active_rms_db(np.zeros((2, 100), dtype=np.float32), SR)
    with pytest.raises(ValueError, match="threshold"):
        active_rms_db(sine(0.5), SR, threshold_db=0.0)


def test_real_speech_level_and_duration_ignore_padding(synthesize, short_sentences) -> None:
    speech = synthesize(short_sentences[0], "jf_alpha")
    padded = np.concatenate([silence(1.0), speech, silence(2.0)])
    assert -40.0 < active_rms_db(speech, SR) < -6.0
    assert active_rms_db(padded, SR) == pytest.approx(active_rms_db(speech, SR), abs=0.1)
    assert speech_duration_s(padded, SR) == pytest.approx(speech_duration_s(speech, SR), abs=0.02)
    assert speech_duration_s(speech, SR) < speech.size / SR


def test_faster_speech_has_a_shorter_duration(synthesize, short_sentences) -> None:
    text = short_sentences[0]
    normal = speech_duration_s(synthesize(text, "jf_alpha"), SR)
    fast = speech_duration_s(synthesize(text, "jf_alpha", speed=1.3), SR)
    assert fast / normal == pytest.approx(1 / 1.3, abs=0.08)
