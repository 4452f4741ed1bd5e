"""Transcribing real synthesized English speech."""

from __future__ import annotations

import time

import numpy as np
import pytest

from emotivoice_srv.quality import Transcriber, word_error_rate
from emotivoice_srv.quality.asr import pack_windows

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


def test_packing_keeps_order_and_fills_each_window_up_to_its_length() -> None:
    assert pack_windows([5, 5, 5, 5, 5], max_seconds=12, gap_seconds=1) == [[0, 1], [2, 3], [4]]
    assert pack_windows([3, 30, 3, 3], max_seconds=10, gap_seconds=0.5) == [[0], [1], [2, 3]]  # too long: alone
    assert pack_windows([], max_seconds=10) == []
    groups = pack_windows([2.0] * 40)
    assert [i for g in groups for i in g] == list(range(40)) and len(groups) < 40


def test_packed_transcripts_match_the_joined_references(synthesize, short_sentences, transcriber) -> None:
    clips = [synthesize(text, "jf_alpha") for text in short_sentences]
    packed = transcriber.transcribe_packed(clips, SR)
    assert len(packed) < len(clips)  # several clips share a window
    assert [i for group, _ in packed for i in group] == list(range(len(clips)))
    refs = [" ".join(short_sentences[i] for i in group) for group, _ in packed]
    assert word_error_rate(refs, [text for _, text in packed]) <= 0.10, packed
