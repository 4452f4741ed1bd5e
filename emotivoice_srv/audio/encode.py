"""Encoding float32 PCM into container formats (a separate step from synthesis)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import InvalidInput

# format -> (soundfile format, subtype)
FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "pcm": (None, None),  # raw little-endian int16
}


def to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")


def encode(audio: np.ndarray, sample_rate: int, fmt: str = "wav") -> bytes:
    """Encode mono float32 audio; raises InvalidInput for an unknown format."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown audio format {fmt!r}; choose from {', '.join(FORMATS)}")
    if fmt == "pcm":
        return to_int16(audio).tobytes()
    import soundfile as sf

    container, subtype = FORMATS[fmt]
    buf = io.BytesIO()
    sf.write(buf, np.clip(audio, -1.0, 1.0), sample_rate, format=container, subtype=subtype)
    return buf.getvalue()


def format_from_path(path: Path) -> str:
    ext = Path(path).suffix.lower().lstrip(".")
    return {"oga": "ogg", "raw": "pcm"}.get(ext, ext or "wav")


def write_file(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write audio to ``path`` in the format its extension names (wav, flac, ogg, mp3, pcm)."""
    Path(path).write_bytes(encode(audio, sample_rate, format_from_path(path)))
