"""A per-voice equalizer strength from the reference's own consistency (a fit signal that is not an
encoder): measured in ``python -m bench clone --eq-ablation reliability``, not shipped.

Why: the equalizer moves the clone's long-term spectrum by the smoothed difference ``d`` between the
reference's and the clone's; from a short reference that difference is partly noise (one sentence's
sounds, the room). Split the reference's speech into alternating chunks A and B: the smoothed
``(A - B) / 2`` estimates the noise in the reference curve, and the equalizer is shrunk by how much of
``d`` that noise could explain (James-Stein): ``s = clip(1 - mean(noise^2) / mean(d^2), 0, 1)``, the
constant (loudness) parts removed first, since the equalizer keeps loudness anyway.
"""
from __future__ import annotations

import numpy as np

CHUNK_S = 0.25


def split_alternating(samples: np.ndarray, sample_rate: int, chunk_s: float = CHUNK_S) -> tuple[np.ndarray, np.ndarray]:
    """Even and odd ``chunk_s`` pieces of ``samples``, each joined."""
    n = max(1, int(chunk_s * sample_rate))
    pieces = [samples[i:i + n] for i in range(0, samples.size, n)]
    return np.concatenate(pieces[0::2]), np.concatenate(pieces[1::2] or [np.zeros(n, samples.dtype)])


def reliability_strength(samples: np.ndarray, sample_rate: int, reference_db: np.ndarray, clone_db: np.ndarray,
                         lifter: int) -> float:
    """The shrunk strength in [0, 1] for the curve ``reference_db - clone_db`` (see module docstring)."""
    from emotivoice_srv.audio.timbre_eq import _cepstral_smooth, long_term_spectrum_db

    a, b = split_alternating(samples, sample_rate)
    noise = _cepstral_smooth((long_term_spectrum_db(a, sample_rate) - long_term_spectrum_db(b, sample_rate)) / 2,
                             lifter)
    signal = _cepstral_smooth(np.asarray(reference_db) - np.asarray(clone_db), lifter)
    noise, signal = noise - noise.mean(), signal - signal.mean()
    return float(np.clip(1.0 - np.mean(noise ** 2) / max(float(np.mean(signal ** 2)), 1e-12), 0.0, 1.0))
