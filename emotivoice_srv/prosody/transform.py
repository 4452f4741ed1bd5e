"""Duration, F0 and energy edits between the graphs. Pure numpy, no model.

All edits are the identity for neutral parameters, so a neutral request reproduces the original
graph's output exactly.
"""
from __future__ import annotations

import numpy as np

from .alignment import frames_from_durations
from .emotion import ProsodyParams

PAUSE_PHONEMES = frozenset(",.!?;:—…")
FINAL_PHONEMES = frozenset(".!?;:…")
F0_RATE_HZ = 80.0  # one F0 / energy value per 300 samples at 24 kHz
VOICED_HZ = 30.0
FINAL_SPAN_S = 0.4
TREMOR_HZ = 6.0


def apply_durations(durations: np.ndarray, phonemes: str, params: ProsodyParams) -> np.ndarray:
    """Float per-token durations (with the two padding tokens) -> integer frames after the edits.

    ``phonemes`` is the chunk's phoneme string; token i+1 is phonemes[i] (tokens 0 and -1 pad).
    Rate is applied by the duration graph's ``speed`` input, so only pauses and phrase-final
    lengthening are edited here.
    """
    d = np.asarray(durations, dtype=np.float32).reshape(-1).copy()
    if len(phonemes) != d.shape[0] - 2:
        raise ValueError(f"{len(phonemes)} phonemes for {d.shape[0]} durations")
    if params.pause_scale != 1.0:
        for i, ch in enumerate(phonemes):
            if ch in PAUSE_PHONEMES:
                d[i + 1] *= params.pause_scale
    if params.final_lengthening != 1.0:
        for start, end in _final_words(phonemes):
            d[start + 1:end + 1] *= params.final_lengthening
    return frames_from_durations(d)


def _final_words(phonemes: str) -> list[tuple[int, int]]:
    """[start, end) phoneme spans of the last word before each final punctuation (or the end)."""
    spans = []
    ends = [i for i, ch in enumerate(phonemes) if ch in FINAL_PHONEMES]
    if not ends or phonemes.rstrip()[-1:] not in FINAL_PHONEMES:
        ends.append(len(phonemes.rstrip()))
    for end in ends:
        j = end
        while j > 0 and phonemes[j - 1] == " ":
            j -= 1
        start = phonemes.rfind(" ", 0, j) + 1
        if start < j:
            spans.append((start, j))
    return spans


def apply_f0(f0: np.ndarray, params: ProsodyParams) -> np.ndarray:
    """Shift level, scale range around the median, shape the final contour, add tremor."""
    out = np.asarray(f0, dtype=np.float32).copy()
    flat = out.reshape(-1)
    voiced = flat > VOICED_HZ
    if not voiced.any():
        return out
    logf = np.log(np.where(voiced, flat, 1.0))
    shift = np.zeros_like(logf)
    if params.pitch_range != 1.0:
        centre = float(np.median(logf[voiced]))
        shift += (params.pitch_range - 1.0) * (logf - centre)
    if params.pitch_shift_st:
        shift += params.pitch_shift_st * np.log(2) / 12
    if params.final_contour_st:
        last = int(np.flatnonzero(voiced)[-1])
        span = int(FINAL_SPAN_S * F0_RATE_HZ)
        first = max(0, last - span + 1)
        ramp = np.linspace(0.0, 1.0, last - first + 1) ** 2
        shift[first:last + 1] += params.final_contour_st * np.log(2) / 12 * ramp
    if params.tremor_st:
        t = np.arange(flat.shape[0]) / F0_RATE_HZ
        shift += params.tremor_st * np.log(2) / 12 * np.sin(2 * np.pi * TREMOR_HZ * t)
    moved = voiced & (shift != 0)
    flat[moved] = np.exp(logf[moved] + shift[moved]).astype(np.float32)
    return out


def apply_energy(energy: np.ndarray, params: ProsodyParams) -> np.ndarray:
    """Offset the decoder's energy curve by the vocal-effort parameter."""
    out = np.asarray(energy, dtype=np.float32)
    if not params.effort:
        return out.copy()
    return (out + np.float32(params.effort)).astype(np.float32)


def apply_gain(audio: np.ndarray, db: float) -> np.ndarray:
    """Loudness change in dB with a soft knee above 0.95 so boosts never hard-clip."""
    if not db:
        return audio
    y = audio * np.float32(10 ** (db / 20))
    knee = 0.95
    over = np.abs(y) > knee
    if over.any():
        y[over] = np.sign(y[over]) * (knee + (1 - knee) * np.tanh((np.abs(y[over]) - knee) / (1 - knee)))
    return y.astype(np.float32)
