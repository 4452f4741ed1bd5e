"""Long-term-spectrum equalizer: the post-decoder timbre stage of cloned voices (pure numpy).

Why: the stock packs span five Japanese speakers, so the style alone cannot reach most reference
timbres; the spectral envelope averaged over seconds of speech (vocal tract length, breathiness,
the recording's tilt) can be moved afterwards with a fixed, smooth filter. The curve is the
difference between the reference's and the clone's long-term spectra, cepstrally smoothed (only
slow changes across frequency: envelope, not harmonics or one sentence's formants), shifted so the
clone's loudness is unchanged, scaled by a strength and clipped to a bound. It is stored in the
voice recipe as gains on a fixed grid and applied to every rendered utterance as one zero-phase
FFT filter (sub-millisecond per second of audio).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ANALYSIS_RATE = 16_000
N_FFT = 512
HOP = 128
GRID_HZ = tuple(float(f) for f in np.linspace(0.0, ANALYSIS_RATE / 2, 65))
"""Frequencies of the stored gains (125 Hz apart up to 8 kHz, where the reference audio ends)."""
FADE_TO_HZ = 12_000.0
"""Above 8 kHz the top gain fades linearly to 0 dB here (the reference says nothing up there)."""
SPEECH_GATE_DB = 35.0


@dataclass(frozen=True)
class EqConfig:
    """How the curve is made. ``strength`` 0 disables the stage."""

    strength: float = 1.0
    max_db: float = 12.0
    lifter: int = 40
    """Cepstral coefficients kept (over 0-8 kHz): 40 keeps detail coarser than ~200 Hz (chosen on the
    Flite tuning speakers over 24 and 64; see docs/cloning.md)."""


def long_term_spectrum_db(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean power spectrum (dB, N_FFT//2+1 bins over 0-8 kHz) of the speech frames of ``audio``."""
    from .resample import resample

    x = resample(np.asarray(audio, np.float32), sample_rate, ANALYSIS_RATE).astype(np.float64)
    if x.size < N_FFT:
        x = np.pad(x, (0, N_FFT - x.size))
    n = 1 + (x.size - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(x, (n, N_FFT), (x.strides[0] * HOP, x.strides[0]))
    power = np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1)) ** 2
    frame_db = 10 * np.log10(power.sum(1) + 1e-12)
    speech = frame_db > np.percentile(frame_db, 95) - SPEECH_GATE_DB
    return 10 * np.log10(power[speech].mean(0) + 1e-12)


def _cepstral_smooth(curve_db: np.ndarray, keep: int) -> np.ndarray:
    """Low-quefrency part of a curve over 0..Nyquist (even extension, so the edges stay smooth)."""
    full = np.concatenate([curve_db, curve_db[-2:0:-1]])
    cep = np.fft.ifft(full).real
    lifter = np.zeros_like(cep)
    lifter[:keep] = 1.0
    lifter[cep.size - keep + 1:] = 1.0
    return np.fft.fft(cep * lifter).real[: curve_db.size]


def design(reference_db: np.ndarray, clone_db: np.ndarray, config: EqConfig = EqConfig()) -> tuple[float, ...]:
    """Gains (dB) on ``GRID_HZ`` that move the clone's long-term spectrum toward the reference's."""
    if config.strength <= 0:
        return ()
    smooth = _cepstral_smooth(np.asarray(reference_db) - np.asarray(clone_db), config.lifter) * config.strength
    # keep the clone's loudness: the filtered clone spectrum has the same total power
    clone_power = 10 ** (np.asarray(clone_db) / 10)
    smooth -= 10 * np.log10(float((clone_power * 10 ** (smooth / 10)).sum() / clone_power.sum()))
    smooth = np.clip(smooth, -config.max_db, config.max_db)
    bins_hz = np.linspace(0.0, ANALYSIS_RATE / 2, smooth.size)
    return tuple(round(float(g), 3) for g in np.interp(GRID_HZ, bins_hz, smooth))


def gain_curve(gains_db: tuple[float, ...], n_bins: int, sample_rate: int) -> np.ndarray:
    """Linear amplitude gains for an rfft of ``2*(n_bins-1)`` samples at ``sample_rate``."""
    freqs = np.linspace(0.0, sample_rate / 2, n_bins)
    grid = np.asarray(GRID_HZ + (FADE_TO_HZ,))
    values = np.asarray(tuple(gains_db) + (0.0,))
    db = np.interp(freqs, grid, values)
    if freqs[-1] > GRID_HZ[-1]:
        db[freqs > FADE_TO_HZ] = 0.0
    return 10 ** (db / 20)


def apply(audio: np.ndarray, sample_rate: int, gains_db: tuple[float, ...]) -> np.ndarray:
    """``audio`` through the zero-phase filter ``gains_db`` (a no-op for an empty curve)."""
    if not gains_db or audio.size == 0:
        return audio
    n = 1 << int(np.ceil(np.log2(audio.size + 2048)))
    spectrum = np.fft.rfft(np.asarray(audio, np.float64), n)
    out = np.fft.irfft(spectrum * gain_curve(gains_db, spectrum.size, sample_rate), n)[: audio.size]
    return out.astype(np.float32)
