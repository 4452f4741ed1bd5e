"""Reference audio intake: bytes of any common container -> canonical mono speech, or a clear refusal.

Canonical form: 16 kHz mono (soxr), leading/trailing silence cut and inner pauses shortened to
``max_pause_s``, loudness normalized to ``TARGET_RMS_DBFS`` over the speech frames, then quantized
to 16 bits. Quantizing makes the form exact and hashable: the same samples in a WAV, a FLAC or a
differently named file give the same ``sha256`` and therefore the same cache entry. The upload
never touches the file system here (it is decoded from memory).
"""
from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

import numpy as np

from ..errors import BodyTooLarge, InvalidAudio

SAMPLE_RATE = 16_000
FRAME_S = 0.03
TARGET_RMS_DBFS = -23.0
SILENCE_PEAK_DBFS = -60.0
"""A clip whose loudest 30 ms frame is below this is silent."""
SPEECH_GATE_DB = 40.0
"""Frames more than this below the loudest frame count as silence."""
CLIPPED_FRACTION = 0.05
MIN_VOICED_FRACTION = 0.15
"""Speech is voiced a good part of the time; noise (hiss, clipped static) almost never is."""


@dataclass(frozen=True)
class IntakeLimits:
    """What a reference upload may be. Every field has a CLI flag and an EMOTIVOICE_* variable."""

    min_speech_s: float = 3.0
    max_speech_s: float = 30.0
    max_bytes: int = 20 * 1024 * 1024
    max_pause_s: float = 0.3

    @property
    def max_input_s(self) -> float:
        """Longest decoded input before trimming: generous room for pauses, but bounded work."""
        return 2.0 * self.max_speech_s + 10.0


@dataclass(frozen=True)
class ReferenceAudio:
    samples: np.ndarray
    """float32 mono at ``SAMPLE_RATE``, exactly the 16-bit values divided by 32768."""
    sha256: str
    speech_s: float
    source_rate: int
    source_channels: int
    source_format: str

    sample_rate: int = SAMPLE_RATE

    def halves(self) -> tuple[np.ndarray, np.ndarray]:
        mid = self.samples.size // 2
        return self.samples[:mid], self.samples[mid:]


def decode(data: bytes, limits: IntakeLimits) -> tuple[np.ndarray, int, int, str]:
    """(float32 [frames, channels], rate, channels, format) or InvalidAudio naming the problem."""
    import soundfile as sf

    if len(data) > limits.max_bytes:
        raise BodyTooLarge(f"reference audio of {len(data)} bytes is over the limit of {limits.max_bytes}",
                           code="audio_too_large")
    if not data:
        raise InvalidAudio("the reference audio file is empty", code="audio_empty")
    try:
        info = sf.info(io.BytesIO(data))
        if info.frames <= 0 or info.samplerate <= 0:
            raise InvalidAudio("the reference audio has no samples", code="audio_empty")
        if info.frames / info.samplerate > limits.max_input_s:
            raise InvalidAudio(f"the reference audio lasts {info.frames / info.samplerate:.1f} s; at most "
                               f"{limits.max_speech_s:g} s of speech is accepted", code="audio_too_long")
        audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except InvalidAudio:
        raise
    except Exception as exc:  # libsndfile raises several types for garbage input
        reason = re.sub(r"^Error opening <[^>]*>: ", "", str(exc).strip()) or type(exc).__name__
        raise InvalidAudio(f"the reference audio cannot be decoded (send WAV, FLAC, OGG or MP3): {reason}",
                           code="audio_unreadable") from None
    if audio.shape[0] == 0:
        raise InvalidAudio("the reference audio has no samples", code="audio_empty")
    return audio, int(rate), int(audio.shape[1]), str(info.format)


def _frame_db(samples: np.ndarray, frame: int) -> np.ndarray:
    n = samples.size // frame
    frames = samples[: n * frame].reshape(n, frame).astype(np.float64)
    return 10.0 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)


def trim_silence(samples: np.ndarray, rate: int, max_pause_s: float) -> np.ndarray:
    """Cut leading/trailing silence and shorten every inner pause to ``max_pause_s``."""
    frame = int(FRAME_S * rate)
    db = _frame_db(samples, frame)
    if db.size == 0:
        return samples[:0]
    loud = db >= db.max() - SPEECH_GATE_DB
    keep_pause = int(round(max_pause_s / FRAME_S))
    kept, quiet_run = [], 0
    first, last = int(np.argmax(loud)), int(loud.size - 1 - np.argmax(loud[::-1]))
    for i in range(first, last + 1):
        quiet_run = 0 if loud[i] else quiet_run + 1
        if quiet_run <= keep_pause:
            kept.append(i)
    idx = (np.asarray(kept)[:, None] * frame + np.arange(frame)[None, :]).reshape(-1)
    return samples[idx]


def _voiced_fraction(samples: np.ndarray, rate: int) -> float:
    from ..quality.pitch import f0_track

    _, voiced = f0_track(samples, rate)
    return float(voiced.mean()) if voiced.size else 0.0


def check_speech(ref: ReferenceAudio) -> None:
    """Refuse audio that is not speech (the costliest check: a pitch track). Callers may skip it for
    audio whose hash is already in the fit cache — only speech ever gets there."""
    voiced = _voiced_fraction(ref.samples, ref.sample_rate)
    if voiced < MIN_VOICED_FRACTION:
        raise InvalidAudio(f"the reference does not sound like speech (voiced {voiced:.0%} of the time)",
                           code="audio_not_speech")


def prepare(data: bytes, limits: IntakeLimits, *, speech_check: bool = True) -> ReferenceAudio:
    """Decode, check and normalize an upload (raises InvalidAudio / BodyTooLarge with a reason)."""
    from ..audio.resample import resample

    audio, rate, channels, fmt = decode(data, limits)
    if not np.all(np.isfinite(audio)):
        raise InvalidAudio("the reference audio contains NaN or infinite samples", code="audio_unreadable")
    mono = audio.mean(axis=1) if channels > 1 else audio[:, 0]
    peak = float(np.max(np.abs(mono)))
    if peak <= 10 ** (SILENCE_PEAK_DBFS / 20):
        raise InvalidAudio(f"the reference audio is silent (peak {20 * np.log10(peak + 1e-12):.0f} dBFS)",
                           code="audio_silent")
    clipped = float(np.mean(np.abs(mono) >= 0.999 * max(peak, 1e-9))) if peak >= 0.99 else 0.0
    if clipped > CLIPPED_FRACTION:
        raise InvalidAudio(f"{clipped:.0%} of the reference samples are clipped; record it at a lower level",
                           code="audio_clipped")
    mono = resample(np.ascontiguousarray(mono), rate, SAMPLE_RATE)
    speech = trim_silence(mono, SAMPLE_RATE, limits.max_pause_s)
    speech_s = speech.size / SAMPLE_RATE
    if speech_s < limits.min_speech_s:
        raise InvalidAudio(f"the reference has {speech_s:.1f} s of speech; at least {limits.min_speech_s:g} s "
                           "is needed", code="audio_too_short")
    if speech_s > limits.max_speech_s:
        raise InvalidAudio(f"the reference has {speech_s:.1f} s of speech; at most {limits.max_speech_s:g} s "
                           "is accepted (send a shorter clip)", code="audio_too_long")
    db = _frame_db(speech, int(FRAME_S * SAMPLE_RATE))
    active = db[db >= db.max() - SPEECH_GATE_DB]
    rms_db = 10 * np.log10(np.mean(10 ** (active / 10)))
    gain = 10 ** ((TARGET_RMS_DBFS - rms_db) / 20)
    speech = speech * gain
    top = float(np.max(np.abs(speech)))
    if top > 0.98:
        speech = speech * (0.98 / top)
    pcm = np.clip(np.round(speech * 32768.0), -32768, 32767).astype("<i2")
    digest = hashlib.sha256(b"pcm_s16le/16000/mono\0" + pcm.tobytes()).hexdigest()
    ref = ReferenceAudio(pcm.astype(np.float32) / 32768.0, digest, round(speech_s, 3), rate, channels, fmt)
    if speech_check:
        check_speech(ref)
    return ref
