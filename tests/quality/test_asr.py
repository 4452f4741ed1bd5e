"""Transcribing real synthesized English speech."""

from __future__ import annotations

import time

import numpy as np
import pytest

from emotivoice_srv.quality import Transcriber, word_error_rate

SR = 24_000


def test_transcripts_of_jf_alpha_have_at_most_10_percent_wer(
    synthesize, short_sentences, transcriber
) -> None:
    hyps = [transcriber.transcribe(synthesize(text, "jf_alpha"), SR) for text in short_sentences]
    assert word_error_rate(list(short_sentences), hyps) <= 0.10, hyps


def test_transcribe_accepts_any_sample_rate(synthesize, short_sentences, transcriber) -> None:
    import soxr

    speech = synthesize(short_sentences[2], "jf_alpha")
    at_16k = soxr.resample(speech, SR, 16_000).astype(np.float32)
    assert word_error_rate([short_sentences[2]], [transcriber.transcribe(at_16k, 16_000)]) <= 0.15


def test_a_clip_transcribes_in_under_three_seconds(synthesize, short_sentences, transcriber) -> None:
    speech = synthesize(short_sentences[0], "jf_alpha")
    start = time.perf_counter()
    transcriber.transcribe(speech, SR)
    assert time.perf_counter() - start < 3.0


def test_silence_transcribes_to_little_or_nothing(transcriber) -> None:
    assert len(transcriber.transcribe(np.zeros(SR, dtype=np.float32), SR).split()) <= 2


def test_invalid_settings_are_rejected(tmp_path) -> None:
    with pytest.raises(ValueError, match="beam_size"):
        Transcriber(beam_size=0)
    with pytest.raises(FileNotFoundError):
        Transcriber(tmp_path)
