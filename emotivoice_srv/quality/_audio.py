"""Shared helpers: input validation, resampling and short-time framing (numpy only)."""

from __future__ import annotations

import numpy as np


def as_mono_float32(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Return `audio` as a contiguous 1-D float32 array; reject empty, non-finite or multi-channel input."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    arr = np.asarray(audio)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"expected mono audio (1-D), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("audio is empty")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError("audio contains NaN or infinite samples")
    return arr


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample 1-D float32 audio with soxr (high quality); a no-op when the rates match."""
    if orig_sr == target_sr:
        return audio
    import soxr

    return np.ascontiguousarray(soxr.resample(audio, orig_sr, target_sr, quality="HQ"), dtype=np.float32)


def frame_power(audio: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Mean square of each frame (frames start every `hop_length` samples; the tail is zero-padded)."""
    n_frames = max(1, 1 + -(-(audio.size - frame_length) // hop_length))
    padded = np.zeros((n_frames - 1) * hop_length + frame_length, dtype=np.float64)
    padded[: audio.size] = audio
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length]
    return np.mean(frames * frames, axis=1)
