"""Median fundamental frequency of speech, and pitch intervals in semitones.

`median_f0_hz` runs YIN (librosa.yin, 50-600 Hz, >= 40 ms frames, 10 ms hop) and keeps a frame only
when it is voiced by two gates:

- energy: the frame is within `ENERGY_GATE_DB` of the loudest frame (no pauses, no breath noise);
- periodicity: the normalized correlation between the frame and itself shifted by the estimated
  period is at least `PERIODICITY_GATE` (rejects fricatives and YIN's guesses on noise).

On Kokoro speech it agrees within 0.5% with librosa.pyin restricted to the same loud frames (plain
pyin also calls the -76 dB hum after an utterance voiced, which biases its median), and it is ~30x
faster: ~10 ms instead of ~0.35 s for a 3 s clip on 2 CPU cores.
"""

from __future__ import annotations

import math

import numpy as np

from ._audio import as_mono_float32

FMIN_HZ = 50.0
FMAX_HZ = 600.0
FRAME_S = 0.040
HOP_S = 0.010
ENERGY_GATE_DB = 30.0
PERIODICITY_GATE = 0.6


def f0_track(audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (f0 in Hz, voiced mask), one value every 10 ms, frames centred on their time."""
    import librosa

    samples = as_mono_float32(audio, sr)
    frame = 1 << math.ceil(math.log2(FRAME_S * sr))
    hop = max(1, round(HOP_S * sr))
    if sr / FMIN_HZ >= frame // 2:
        raise ValueError(f"sample rate {sr} Hz is too low for a {FMIN_HZ:g} Hz pitch floor")
    f0 = librosa.yin(samples, fmin=FMIN_HZ, fmax=FMAX_HZ, sr=sr, frame_length=frame, hop_length=hop)

    padded = np.pad(samples.astype(np.float64), frame // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop][: f0.size].T  # (frame, T)
    half = frame // 2
    head = frames[:half]
    lag = np.clip(np.rint(sr / f0).astype(np.int64), 1, frame - half)
    shifted = np.take_along_axis(frames, lag[None, :] + np.arange(half)[:, None], axis=0)
    energy_head = np.einsum("ij,ij->j", head, head)
    energy_shift = np.einsum("ij,ij->j", shifted, shifted)
    corr = np.einsum("ij,ij->j", head, shifted) / np.sqrt(energy_head * energy_shift + 1e-20)

    peak = float(energy_head.max())
    loud = energy_head >= peak * 10.0 ** (-ENERGY_GATE_DB / 10.0) if peak > 0 else np.zeros_like(corr, bool)
    voiced = loud & (corr >= PERIODICITY_GATE)
    return f0, voiced


def median_f0_hz(audio: np.ndarray, sr: int) -> float:
    """Median F0 (Hz) over the voiced frames; raises ValueError when no frame is voiced."""
    f0, voiced = f0_track(audio, sr)
    if not voiced.any():
        raise ValueError("no voiced frames: cannot measure pitch")
    return float(np.median(f0[voiced]))


def semitones(a_hz: float, b_hz: float) -> float:
    """Interval from `a_hz` to `b_hz` in semitones (positive when b is higher): 12*log2(b/a)."""
    if not (a_hz > 0 and b_hz > 0):
        raise ValueError(f"frequencies must be positive, got {a_hz} and {b_hz}")
    return 12.0 * math.log2(b_hz / a_hz)
