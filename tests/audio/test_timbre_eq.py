"""The post-decoder timbre equalizer: a smooth, bounded, loudness-keeping filter toward a target
long-term spectrum, and a no-op when there is nothing to correct."""
from __future__ import annotations

import numpy as np
import pytest

from emotivoice_srv.audio import timbre_eq
from emotivoice_srv.audio.timbre_eq import GRID_HZ, EqConfig, apply, design, long_term_spectrum_db

SR = 24_000


def _noise(seed: int, seconds: float = 2.0) -> np.ndarray:
    """White up to 8 kHz (like the references; speech has little power above)."""
    from emotivoice_srv.audio.resample import resample

    white = (0.1 * np.random.default_rng(seed).standard_normal(int(16_000 * seconds))).astype(np.float32)
    return resample(white, 16_000, SR)


def _tilted(audio: np.ndarray, db_per_khz: float) -> np.ndarray:
    """``audio`` with a spectral tilt of ``db_per_khz`` (a known target for the equalizer)."""
    return apply(audio, SR, tuple(db_per_khz * f / 1000 for f in GRID_HZ))


def test_equal_spectra_give_a_flat_curve():
    a = _noise(0)
    spec = long_term_spectrum_db(a, SR)
    curve = design(spec, spec)
    assert len(curve) == len(GRID_HZ) and max(abs(g) for g in curve) < 1e-6


def test_the_curve_moves_the_clone_toward_the_reference():
    clone = _noise(1)
    reference = _tilted(_noise(2), 1.0)  # +1 dB per kHz: brighter than the clone
    clone_db, ref_db = long_term_spectrum_db(clone, SR), long_term_spectrum_db(reference, SR)
    curve = design(ref_db, clone_db, EqConfig(strength=1.0, max_db=12.0))
    assert curve[-5] - curve[5] == pytest.approx(1.0 * (GRID_HZ[-5] - GRID_HZ[5]) / 1000, abs=1.0)
    before = np.abs(ref_db - clone_db - np.mean(ref_db - clone_db))[10:240].mean()
    after_db = long_term_spectrum_db(apply(clone, SR, curve), SR)
    after = np.abs(ref_db - after_db - np.mean(ref_db - after_db))[10:240].mean()
    assert after < 0.3 * before


def test_strength_bound_and_loudness():
    clone = _noise(3)
    reference = _tilted(_noise(4), 4.0)
    clone_db, ref_db = long_term_spectrum_db(clone, SR), long_term_spectrum_db(reference, SR)
    full = np.asarray(design(ref_db, clone_db, EqConfig(strength=1.0, max_db=24.0)))
    half = np.asarray(design(ref_db, clone_db, EqConfig(strength=0.5, max_db=24.0)))
    assert np.ptp(half) == pytest.approx(0.5 * np.ptp(full), rel=0.05)
    bounded = design(ref_db, clone_db, EqConfig(strength=1.0, max_db=6.0))
    assert max(abs(g) for g in bounded) <= 6.0
    assert design(ref_db, clone_db, EqConfig(strength=0.0)) == ()
    # the clone's loudness is kept (within a dB) however much the curve tilts
    out = apply(clone, SR, tuple(full))
    assert 20 * np.log10(np.std(out) / np.std(clone)) == pytest.approx(0.0, abs=1.0)


def test_apply_keeps_length_and_dtype_and_an_empty_curve_is_a_no_op():
    a = _noise(5, 0.5)
    assert apply(a, SR, ()) is a
    out = apply(a, SR, tuple(3.0 for _ in GRID_HZ))
    assert out.shape == a.shape and out.dtype == np.float32
    assert 20 * np.log10(np.std(out[1000:-1000]) / np.std(a[1000:-1000])) == pytest.approx(3.0, abs=0.3)


def test_gains_fade_to_zero_above_the_reference_band():
    gains = timbre_eq.gain_curve(tuple(6.0 for _ in GRID_HZ), 1025, SR)
    freqs = np.linspace(0, SR / 2, 1025)
    assert 20 * np.log10(gains[freqs <= 8000]).min() == pytest.approx(6.0, abs=1e-6)
    assert np.allclose(gains[freqs >= timbre_eq.FADE_TO_HZ], 1.0)
