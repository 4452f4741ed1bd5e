"""Trimming the silence at a cut sentence's edges keeps the sound and a set amount of silence."""
from __future__ import annotations

import numpy as np

from emotivoice_srv.audio.edges import trim_edges

RATE = 24_000


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def test_each_edge_keeps_only_the_asked_silence_and_all_the_sound():
    audio = np.concatenate([silence(0.4), tone(1.0), silence(0.9)])
    trimmed = trim_edges(audio, RATE, lead_s=0.03, tail_s=0.18)
    assert abs(len(trimmed) / RATE - (0.03 + 1.0 + 0.18)) < 0.025
    assert np.abs(trimmed).max() == np.abs(audio).max()
    assert len(trim_edges(audio, RATE, tail_s=0.18)) / RATE > 1.5  # leading edge untouched
    assert trim_edges(audio, RATE) is audio


def test_silence_and_quiet_noise_are_left_alone():
    quiet = np.full(RATE, 1e-6, np.float32)
    assert trim_edges(quiet, RATE, lead_s=0.0, tail_s=0.0) is quiet
    assert len(trim_edges(np.zeros(10, np.float32), RATE, 0.0, 0.0)) == 10
