"""Median F0 on synthetic harmonic signals and on real speech."""

from __future__ import annotations

import time

import numpy as np
import pytest

from emotivoice_srv.quality import median_f0_hz, semitones

SR = 24_000


def harmonic(f0: float, seconds: float = 1.5, sr: int = SR, harmonics: int = 10) -> np.ndarray:
    """A voice-like tone: decaying harmonics of `f0` with fixed phases, peak 0.5."""
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * f0 * k * t + 0.7 * k) / k for k in range(1, harmonics + 1) if f0 * k < sr / 2)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def with_silence(x: np.ndarray, seconds: float = 0.5, sr: int = SR) -> np.ndarray:
    pad = np.zeros(int(seconds * sr), dtype=np.float32)
    return np.concatenate([pad, x, pad])


@pytest.mark.parametrize("f0", [120.0, 220.0])
def test_median_f0_of_a_harmonic_tone_is_within_2_percent(f0: float) -> None:
    assert median_f0_hz(with_silence(harmonic(f0)), SR) == pytest.approx(f0, rel=0.02)


@pytest.mark.parametrize("f0", [70.0, 500.0])
def test_median_f0_covers_low_and_high_voices(f0: float) -> None:
    assert median_f0_hz(harmonic(f0), SR) == pytest.approx(f0, rel=0.02)


def test_median_f0_works_at_other_sample_rates() -> None:
    assert median_f0_hz(harmonic(180.0, sr=16_000), 16_000) == pytest.approx(180.0, rel=0.02)


def test_median_f0_ignores_noise_segments() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.05, SR).astype(np.float32)
    x = np.concatenate([noise, harmonic(150.0), noise])
    assert median_f0_hz(x, SR) == pytest.approx(150.0, rel=0.02)


def test_a_tone_three_semitones_up_measures_three_semitones() -> None:
    low = median_f0_hz(harmonic(150.0), SR)
    high = median_f0_hz(harmonic(150.0 * 2 ** (3 / 12)), SR)
    assert semitones(low, high) == pytest.approx(3.0, abs=0.3)


def test_noise_and_silence_have_no_pitch() -> None:
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match="voiced"):
        median_f0_hz(rng.normal(0.0, 0.1, SR).astype(np.float32), SR)
    with pytest.raises(ValueError, match="voiced"):
        median_f0_hz(np.zeros(SR, dtype=np.float32), SR)


def test_semitones() -> None:
    assert semitones(220.0, 440.0) == pytest.approx(12.0)
    assert semitones(440.0, 220.0) == pytest.approx(-12.0)
    assert semitones(100.0, 100.0 * 2 ** (3 / 12)) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        semitones(0.0, 100.0)


def test_male_voice_is_lower_than_female_voice(synthesize, short_sentences) -> None:
    text = short_sentences[0]
    female = median_f0_hz(synthesize(text, "jf_alpha"), SR)
    male = median_f0_hz(synthesize(text, "jm_kumo"), SR)
    assert 70.0 < male < 160.0 < female < 400.0
    assert semitones(male, female) > 7.0


def test_speech_sped_up_by_three_semitones_measures_three_semitones(synthesize, short_sentences) -> None:
    import soxr

    speech = synthesize(short_sentences[0], "jm_kumo")
    ratio = 2 ** (3 / 12)
    # play the samples back `ratio` times faster: every frequency is multiplied by exactly `ratio`
    shifted = soxr.resample(speech, SR * ratio, SR).astype(np.float32)
    measured = semitones(median_f0_hz(speech, SR), median_f0_hz(shifted, SR))
    assert measured == pytest.approx(3.0, abs=0.3)


def test_pitch_of_a_3_second_clip_takes_well_under_half_a_second(synthesize, short_sentences) -> None:
    speech = synthesize(short_sentences[0], "jf_alpha")[: 3 * SR]
    median_f0_hz(speech, SR)  # warm librosa's lazy imports
    start = time.perf_counter()
    median_f0_hz(speech, SR)
    assert time.perf_counter() - start < 0.5
