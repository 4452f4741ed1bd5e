"""Loudness and speaking-duration measures that ignore silence.

Frames are 20 ms long with a 10 ms hop. A frame is *active* when its RMS is within `threshold_db`
of the loudest frame, so leading/trailing silence and pauses do not dilute the level, and
renditions of one sentence can be compared for speaking rate.
"""

from __future__ import annotations

import math

import numpy as np

from ._audio import as_mono_float32, frame_power

FRAME_S = 0.020
HOP_S = 0.010
DEFAULT_THRESHOLD_DB = 40.0


def _active_frames(
    audio: np.ndarray, sample_rate: int, threshold_db: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """(frame powers, active mask, hop in samples); the mask is all False for digital silence."""
    if threshold_db <= 0:
        raise ValueError(f"threshold_db must be positive, got {threshold_db}")
    frame = max(1, round(FRAME_S * sample_rate))
    hop = max(1, round(HOP_S * sample_rate))
    power = frame_power(audio, frame, hop)
    peak = float(power.max())
    if peak <= 0.0:
        return power, np.zeros(power.shape, dtype=bool), hop
    return power, power >= peak * 10.0 ** (-threshold_db / 10.0), hop


def active_rms_db(audio: np.ndarray, sr: int, *, threshold_db: float = DEFAULT_THRESHOLD_DB) -> float:
    """RMS level in dB re full scale (1.0) over the active frames only.

    A sine of amplitude A reads 20*log10(A/sqrt(2)) (-3.01 dB at full scale), whatever silence
    surrounds it. Digital silence gives -inf.
    """
    samples = as_mono_float32(audio, sr)
    power, active, _ = _active_frames(samples, sr, threshold_db)
    if not active.any():
        return -math.inf
    return 10.0 * math.log10(float(power[active].mean()))


def speech_duration_s(
    audio: np.ndarray,
    sr: int,
    *,
    threshold_db: float = DEFAULT_THRESHOLD_DB,
    max_pause_s: float | None = None,
) -> float:
    """Seconds from the first to the last active frame (leading/trailing silence removed).

    With `max_pause_s`, each internal pause (a run of inactive frames) counts for at most that many
    seconds, so a rendition with one long breath is not taken for a slower speaker. Silence gives 0.0.
    """
    samples = as_mono_float32(audio, sr)
    if max_pause_s is not None and max_pause_s < 0:
        raise ValueError(f"max_pause_s must be >= 0, got {max_pause_s}")
    _, active, hop = _active_frames(samples, sr, threshold_db)
    idx = np.flatnonzero(active)
    if idx.size == 0:
        return 0.0
    frame = max(1, round(FRAME_S * sr))
    start = idx[0] * hop
    end = min(samples.size, idx[-1] * hop + frame)
    duration = (end - start) / sr
    if max_pause_s is not None and idx.size > 1:
        gaps = (np.diff(idx) - 1) * hop / sr  # inactive run lengths between active frames
        duration -= float(np.clip(gaps - max_pause_s, 0.0, None).sum())
    return duration
