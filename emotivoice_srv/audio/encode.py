"""Encoding float32 PCM into container formats (a separate step from synthesis)."""
from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np

from ..errors import InvalidInput

# format -> (soundfile format, subtype)
FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "pcm": (None, None),  # raw little-endian int16
}


CONTENT_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg; codecs=opus",
    "mp3": "audio/mpeg",
    "pcm": "audio/pcm",
}
STREAMABLE = ("wav", "pcm")
"""Formats whose bytes can be sent chunk by chunk as utterances are rendered."""
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def content_type(fmt: str, sample_rate: int) -> str:
    """MIME type; raw PCM says its rate and layout since nothing in the bytes does."""
    if fmt == "pcm":
        return f"audio/pcm; rate={sample_rate}; channels=1; encoding=s16le"
    return CONTENT_TYPES[fmt]


def check_format(fmt: str, sample_rate: int) -> None:
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown audio format {fmt!r}; choose from {', '.join(FORMATS)}", code="unknown_format")
    if fmt == "opus" and sample_rate not in OPUS_RATES:
        raise InvalidInput(f"opus supports sample rates {', '.join(map(str, OPUS_RATES))}, not {sample_rate}",
                           code="unsupported_sample_rate")


def wav_stream_header(sample_rate: int) -> bytes:
    """A 16-bit mono WAV header for a stream of unknown length (sizes set to 0xFFFFFFFF, the
    convention players and libsndfile accept: read until the connection ends)."""
    unknown = 0xFFFFFFFF
    return (b"RIFF" + struct.pack("<I", unknown) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data" + struct.pack("<I", unknown))


def to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")


def encode(audio: np.ndarray, sample_rate: int, fmt: str = "wav") -> bytes:
    """Encode mono float32 audio; raises InvalidInput for an unknown format."""
    check_format(fmt, sample_rate)
    if fmt == "pcm":
        return to_int16(audio).tobytes()
    import soundfile as sf

    container, subtype = FORMATS[fmt]
    buf = io.BytesIO()
    # 16-bit containers get our own rounding, so a file and a stream of the same audio hold the same samples
    samples = to_int16(audio) if subtype == "PCM_16" else np.clip(audio, -1.0, 1.0)
    sf.write(buf, samples, sample_rate, format=container, subtype=subtype)
    return buf.getvalue()


def format_from_path(path: Path) -> str:
    ext = Path(path).suffix.lower().lstrip(".")
    return {"oga": "ogg", "raw": "pcm"}.get(ext, ext or "wav")


def write_file(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write audio to ``path`` in the format its extension names (wav, flac, ogg, opus, mp3, pcm)."""
    Path(path).write_bytes(encode(audio, sample_rate, format_from_path(path)))
