"""Prosody edits between the graphs: identity at neutral, measurable otherwise."""
from __future__ import annotations

import numpy as np

from emotivoice_srv.prosody import apply_durations, apply_energy, apply_f0, frames_from_durations
from emotivoice_srv.prosody.emotion import ProsodyParams
from emotivoice_srv.prosody.transform import apply_gain

PHONEMES = "hə lˈO, wˈɜɹld."
DURS = np.linspace(1.2, 6.0, len(PHONEMES) + 2).astype(np.float32)
F0 = np.concatenate([np.full(10, 12.0), np.linspace(180, 240, 60), np.full(10, 11.0)]).astype(np.float32)[None]


def test_neutral_changes_nothing():
    p = ProsodyParams()
    assert np.array_equal(apply_durations(DURS, PHONEMES, p), frames_from_durations(DURS))
    assert np.array_equal(apply_f0(F0, p), F0)
    assert np.array_equal(apply_energy(F0, p), F0)


def test_pause_scale_lengthens_only_punctuation():
    base = frames_from_durations(DURS)
    out = apply_durations(DURS, PHONEMES, ProsodyParams(pause_scale=2.0))
    punct = [i + 1 for i, ch in enumerate(PHONEMES) if ch in ",."]
    other = [i for i in range(len(DURS)) if i not in punct]
    assert all(out[i] > base[i] for i in punct)
    assert np.array_equal(out[other], base[other])


def test_final_lengthening_stretches_the_last_word():
    base = frames_from_durations(DURS)
    out = apply_durations(DURS, PHONEMES, ProsodyParams(final_lengthening=1.5))
    last_word = range(PHONEMES.rfind(" ") + 2, len(PHONEMES))  # 'wˈɜɹld' tokens (offset by the pad)
    assert all(out[i] >= base[i] for i in last_word) and out.sum() > base.sum()


def test_pitch_shift_moves_voiced_frames_only():
    out = apply_f0(F0, ProsodyParams(pitch_shift_st=12.0))
    voiced = F0 > 30
    np.testing.assert_allclose(out[voiced], F0[voiced] * 2, rtol=1e-5)
    assert np.array_equal(out[~voiced], F0[~voiced])


def test_range_scaling_keeps_the_median():
    out = apply_f0(F0, ProsodyParams(pitch_range=2.0))
    voiced = F0 > 30
    assert np.median(out[voiced]) == np.float32(np.median(F0[voiced])) or abs(
        np.log(np.median(out[voiced]) / np.median(F0[voiced]))) < 0.01
    assert np.ptp(np.log(out[voiced])) > 1.9 * np.ptp(np.log(F0[voiced]))


def test_final_contour_raises_the_end():
    out = apply_f0(F0, ProsodyParams(final_contour_st=4.0))
    last = np.flatnonzero(F0[0] > 30)[-1]
    assert 12 * np.log2(out[0, last] / F0[0, last]) > 3.9
    assert out[0, 10] == F0[0, 10]


def test_gain_in_db_and_no_hard_clipping():
    x = np.full(100, 0.1, np.float32)
    assert 20 * np.log10(apply_gain(x, 6.0)[0] / 0.1) > 5.99
    loud = apply_gain(np.full(10, 0.9, np.float32), 12.0)
    assert np.all(np.abs(loud) <= 1.0)
