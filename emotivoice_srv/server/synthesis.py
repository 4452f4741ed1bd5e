"""Worker-side synthesis jobs: run on pool threads, never on the event loop.

``render_whole`` returns the encoded response body. ``render_stream`` hands each encoded piece to
``emit`` as soon as its utterance is rendered (the WAV header first). Both check the CancelToken
before each utterance, so a gone client or a passed deadline stops the work at the next boundary.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ..audio.encode import encode, to_int16, wav_stream_header
from ..engine import Engine
from .pool import CancelToken
from .schemas import SynthesisRequest


@dataclass
class Rendered:
    body: bytes
    audio_seconds: float
    compute_seconds: float
    chunks: int

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


def _audio_chunks(engine: Engine, req: SynthesisRequest, token: CancelToken) -> Iterator[np.ndarray]:
    """Validated eagerly (raises before the first chunk), then rendered lazily with cancellation checks."""
    chunks = engine.stream(req.text, req.options)
    resample = _Resampler(engine.sample_rate, req.sample_rate)
    while True:
        token.check()
        chunk = next(chunks, None)
        if chunk is None:
            return
        yield resample(chunk.audio, chunk.is_last)


def render_whole(engine: Engine, req: SynthesisRequest, token: CancelToken) -> Rendered:
    t0 = time.perf_counter()
    pieces = list(_audio_chunks(engine, req, token))
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    body = encode(audio, req.sample_rate, req.format)
    return Rendered(body, len(audio) / req.sample_rate, time.perf_counter() - t0, len(pieces))


def render_stream(engine: Engine, req: SynthesisRequest, token: CancelToken,
                  emit: Callable[[bytes], None]) -> Rendered:
    """Emit the WAV header (wav only) and then each utterance as 16-bit PCM."""
    t0 = time.perf_counter()
    samples = n = 0
    pieces = _audio_chunks(engine, req, token)
    first = next(pieces, None)  # validation + first utterance before anything is sent
    if req.format == "wav":
        emit(wav_stream_header(req.sample_rate))
    for audio in itertools.chain([] if first is None else [first], pieces):
        emit(to_int16(audio).tobytes())
        samples += len(audio)
        n += 1
    return Rendered(b"", samples / req.sample_rate, time.perf_counter() - t0, n)
