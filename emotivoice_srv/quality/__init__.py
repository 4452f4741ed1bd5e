"""Measurement tools for tests and benchmarks on synthesized speech (24 kHz float32 mono arrays).

Importing this package is cheap: faster-whisper, librosa and onnxruntime load on first use.

- intelligibility: `Transcriber` (faster-whisper tiny.en), `normalize_transcript`, `word_error_rate`
- pitch: `median_f0_hz`, `semitones`
- loudness and rate: `active_rms_db`, `speech_duration_s`
- speaker identity: `SpeakerEncoder` (d-vector), `cosine`
"""

from .asr import Transcriber
from .energy import active_rms_db, speech_duration_s
from .pitch import median_f0_hz, semitones
from .speaker import SpeakerEncoder, cosine
from .wer import edit_distance, normalize_transcript, word_error_rate

__all__ = [
    "SpeakerEncoder",
    "Transcriber",
    "active_rms_db",
    "cosine",
    "edit_distance",
    "median_f0_hz",
    "normalize_transcript",
    "semitones",
    "speech_duration_s",
    "word_error_rate",
]
