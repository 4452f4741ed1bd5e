"""Silence at the edges of a rendered chunk: trimmed where a sentence was cut into chunks.

The model ends every utterance as if it ended a sentence (a long trailing silence) and starts it
after a short one. Where one sentence became two chunks (a clause cut for an early first chunk, or
a sentence too long for the model), that silence would become a ~1 s hole mid-sentence; trimmed to a
comma's pause, the joined audio sounds like one sentence.
"""
from __future__ import annotations

import numpy as np

FRAME_S = 0.01
FLOOR_DB = 40.0
"""Frames quieter than the loudest frame by this much count as silence."""


def _active_frames(audio: np.ndarray, rate: int) -> tuple[int, int, int] | None:
    """(first active frame, last active frame, frame length), or None for silence."""
    n = max(1, int(FRAME_S * rate))
    frames = len(audio) // n
    if frames == 0:
        return None
    rms = np.sqrt(np.mean(audio[:frames * n].reshape(frames, n).astype(np.float64) ** 2, axis=1)) + 1e-9
    db = 20 * np.log10(rms)
    active = np.flatnonzero(db > db.max() - FLOOR_DB)
    if db.max() < -80 or active.size == 0:
        return None
    return int(active[0]), int(active[-1]), n


def trim_edges(audio: np.ndarray, rate: int, lead_s: float | None = None, tail_s: float | None = None) -> np.ndarray:
    """Keep at most ``lead_s`` of silence before the first sound and ``tail_s`` after the last (None:
    that edge untouched). Silence-only audio is returned unchanged."""
    found = None if lead_s is None and tail_s is None else _active_frames(audio, rate)
    if found is None:
        return audio
    first, last, n = found
    start = 0 if lead_s is None else max(0, first * n - int(lead_s * rate))
    end = len(audio) if tail_s is None else min(len(audio), (last + 1) * n + int(tail_s * rate))
    return audio[start:end]
