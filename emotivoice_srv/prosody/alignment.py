"""Durations -> frame alignment, done on the host between the duration and prosody graphs.

The original graph multiplies features by a one-hot alignment matrix; repeating each token's
column ``frames[i]`` times is the same product without building the matrix (and bit-identical,
since every output element is one input element times 1 plus zeros).
"""
from __future__ import annotations

import numpy as np


def frames_from_durations(durations: np.ndarray) -> np.ndarray:
    """Per-token frame counts exactly as Kokoro computes them: round half to even, at least 1."""
    return np.maximum(np.round(np.asarray(durations, dtype=np.float32)), 1).astype(np.int64)


def expand(features: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """[1, C, T] token features -> [1, C, sum(frames)] frame features."""
    if features.ndim != 3 or features.shape[2] != frames.shape[0]:
        raise ValueError(f"features {features.shape} do not match {frames.shape[0]} durations")
    return np.ascontiguousarray(np.repeat(features, frames, axis=2), dtype=np.float32)
