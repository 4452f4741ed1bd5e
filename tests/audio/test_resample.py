"""Sample-rate conversion of responses."""
from __future__ import annotations

import numpy as np
import pytest

from emotivoice_srv.audio.resample import resample


def sine(sr: int, seconds: float = 1.0, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def peak_hz(audio: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / sr)[np.argmax(spectrum)])


@pytest.mark.parametrize("to_rate", [8000, 16000, 22050, 44100, 48000])
def test_length_scales_with_the_rate_ratio(to_rate):
    audio = sine(24000)
    out = resample(audio, 24000, to_rate)
    assert abs(len(out) - len(audio) * to_rate / 24000) <= 1


@pytest.mark.parametrize("to_rate", [16000, 48000])
def test_a_440_hz_tone_keeps_its_frequency(to_rate):
    out = resample(sine(24000), 24000, to_rate)
    assert peak_hz(out, to_rate) == pytest.approx(440.0, abs=2.0)
    # and its level: a band-limited resampler does not attenuate a tone far below Nyquist
    mid = out[len(out) // 4: 3 * len(out) // 4]
    assert np.sqrt(np.mean(mid ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_a_tone_above_the_new_nyquist_is_filtered_out_not_aliased():
    """9 kHz at 24 kHz -> 16 kHz (Nyquist 8 kHz): the tone is removed rather than folded to 7 kHz."""
    out = resample(sine(24000, hz=9000.0), 24000, 16000)
    mid = out[len(out) // 4: 3 * len(out) // 4]
    assert np.sqrt(np.mean(mid ** 2)) < 0.01


def test_same_rate_is_a_no_op():
    audio = sine(24000)
    out = resample(audio, 24000, 24000)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, audio)


def test_same_rate_does_not_run_the_resampler(monkeypatch):
    import soxr

    def fail(*args, **kwargs):
        raise AssertionError("soxr.resample called for a same-rate conversion")

    monkeypatch.setattr(soxr, "resample", fail)
    audio = sine(24000)
    np.testing.assert_array_equal(resample(audio, 24000, 24000), audio)


def test_same_rate_converts_to_float32():
    audio = sine(16000).astype(np.float64)
    out = resample(audio, 16000, 16000)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, audio, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_is_always_float32(dtype):
    assert resample(sine(24000).astype(dtype), 24000, 16000).dtype == np.float32


def test_empty_audio_stays_empty():
    out = resample(np.zeros(0, dtype=np.float32), 24000, 48000)
    assert out.dtype == np.float32 and out.size == 0


def test_round_trip_up_and_down_preserves_the_signal():
    audio = sine(24000)
    back = resample(resample(audio, 24000, 48000), 48000, 24000)
    assert len(back) == len(audio)
    core = slice(1000, -1000)  # away from the filter's edge effects
    np.testing.assert_allclose(back[core], audio[core], atol=1e-3)
