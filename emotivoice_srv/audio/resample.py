"""Sample-rate conversion for responses (soxr: band-limited, fast, no SciPy on the serve path)."""
from __future__ import annotations

import numpy as np


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Mono float32 audio at ``from_rate`` -> ``to_rate`` (a no-op when they are equal)."""
    if from_rate == to_rate or audio.size == 0:
        return np.asarray(audio, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(audio, dtype=np.float32), from_rate, to_rate, quality="HQ").astype(np.float32)
