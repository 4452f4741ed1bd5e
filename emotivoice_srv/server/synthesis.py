"""Worker-side synthesis jobs as step generators: one utterance per step, run by the pool.

``whole_steps`` returns (as the generator's value) the encoded response body. ``stream_steps`` hands
each encoded piece to ``emit`` as soon as its utterance is rendered (the WAV header first). Both yield
the seconds of audio each step produced, which the pool uses to schedule streams by playback time.
Nothing runs until the pool calls ``next()``, so creating a job on the event loop costs nothing.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

import numpy as np

from ..audio.encode import encode, to_int16, wav_stream_header
from ..engine import Engine
from .schemas import SynthesisRequest


@dataclass
class Rendered:
    body: bytes
    audio_seconds: float
    compute_seconds: float
    """Time spent in this request's own steps (waiting between steps excluded)."""
    chunks: int
    manifest_id: str | None = None
    """The detached C2PA manifest of this body (formats that cannot carry one), when marking is on."""

    @property
    def rtf(self) -> float:
        return self.compute_seconds / max(self.audio_seconds, 1e-9)


class _Resampler:
    """Continuous resampling across chunk boundaries (no clicks where utterances meet)."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self._stream = None
        if from_rate != to_rate:
            import soxr

            self._stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32", quality="HQ")

    def __call__(self, audio: np.ndarray, last: bool) -> np.ndarray:
        if self._stream is None:
            return audio
        return self._stream.resample_chunk(np.asarray(audio, dtype=np.float32), last=last)


def _audio_chunks(engine: Engine, req: SynthesisRequest) -> Iterator[np.ndarray]:
    """Validated on the first ``next()`` (errors raise before any audio), then rendered lazily."""
    resample = _Resampler(engine.sample_rate, req.sample_rate)
    for chunk in engine.stream(req.text, req.options):
        yield resample(chunk.audio, chunk.is_last)


Seal = Callable[[bytes], "tuple[bytes, str | None]"]
"""Marks an encoded body: (body to send, detached manifest id or None). Raises rather than pass it unmarked."""


def whole_steps(engine: Engine, req: SynthesisRequest, seal: Seal | None = None) -> Generator[float, None, Rendered]:
    """Render, encode and (when ``seal`` is given) sign; all on the worker thread."""
    pieces, work = [], 0.0
    t = time.perf_counter()
    for audio in _audio_chunks(engine, req):
        pieces.append(audio)
        work += time.perf_counter() - t
        yield len(audio) / req.sample_rate
        t = time.perf_counter()
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    body = encode(audio, req.sample_rate, req.format)
    manifest_id = None
    if seal is not None:
        body, manifest_id = seal(body)
    work += time.perf_counter() - t
    return Rendered(body, len(audio) / req.sample_rate, work, len(pieces), manifest_id)


def stream_steps(engine: Engine, req: SynthesisRequest,
                 emit: Callable[[bytes], None]) -> Generator[float, None, Rendered]:
    """Emit the WAV header (wav only) with the first utterance, then each utterance as 16-bit PCM."""
    samples = n = 0
    work = 0.0
    t = time.perf_counter()
    for audio in _audio_chunks(engine, req):
        if n == 0 and req.format == "wav":
            emit(wav_stream_header(req.sample_rate))
        emit(to_int16(audio).tobytes())
        samples += len(audio)
        n += 1
        work += time.perf_counter() - t
        yield len(audio) / req.sample_rate
        t = time.perf_counter()
    return Rendered(b"", samples / req.sample_rate, work, n)
