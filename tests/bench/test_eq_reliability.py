"""The per-voice equalizer strength measured by `bench clone --eq-ablation reliability` (bench/eq_reliability.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a source folder, not an installed package
    sys.path.insert(0, str(REPO))

from bench.eq_reliability import reliability_strength, split_alternating  # noqa: E402

from emotivoice_srv.audio.timbre_eq import long_term_spectrum_db  # noqa: E402

SR = 16_000


def test_alternating_split_keeps_every_sample_once():
    x = np.arange(10 * 4000, dtype=np.float32)
    a, b = split_alternating(x, SR)
    assert a.size + b.size == x.size and a[0] == 0 and b[0] == 4000 and a[4000] == 8000


def test_a_large_smooth_difference_from_a_consistent_reference_keeps_full_strength():
    rng = np.random.default_rng(0)
    reference = rng.standard_normal(3 * SR).astype(np.float32)  # stationary: both halves alike
    ref_db = long_term_spectrum_db(reference, SR)
    tilt = np.linspace(-9.0, 9.0, ref_db.size)
    assert reliability_strength(reference, SR, ref_db, ref_db + tilt, lifter=40) > 0.95


def test_a_difference_the_reference_disagrees_with_itself_about_is_shrunk_away():
    rng = np.random.default_rng(1)
    # halves of different colour: a 4 kHz tone bursts in the even chunks only
    t = np.arange(3 * SR) / SR
    reference = (0.1 * rng.standard_normal(t.size) + np.sin(2 * np.pi * 4000 * t)
                 * (((t // 0.25) % 2) == 0)).astype(np.float32)
    ref_db = long_term_spectrum_db(reference, SR)
    small = 0.3 * np.sin(np.linspace(0, 3 * np.pi, ref_db.size))
    assert reliability_strength(reference, SR, ref_db, ref_db + small, lifter=40) == 0.0
