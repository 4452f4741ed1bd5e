"""The engine: real graphs, real text, clear errors before any graph runs."""
from __future__ import annotations

import numpy as np
import pytest

from emotivoice_srv import (
    InvalidInput,
    SynthesisOptions,
    TextEmpty,
    TextTooLong,
    UnknownEmotion,
    UnknownVoice,
)


def test_synthesizes_24khz_float_audio_with_timings(engine):
    result = engine.synthesize("Hello world.", voice="jf_alpha")
    assert result.sample_rate == 24_000 and result.audio.dtype == np.float32
    assert 0.5 < result.duration_s < 3.0
    assert 0.01 < np.abs(result.audio).max() <= 1.0
    assert {"frontend", "duration", "prosody", "decoder", "total", "rtf"} <= set(result.timings)


def test_picks_int8_on_cpu(engine):
    assert engine.precision == "int8"
    assert engine.graphs.runtime.providers == ("CPUExecutionProvider",)


def test_neutral_engine_output_equals_the_plain_chain(engine):
    """Neutral emotion adds no edits: the engine renders exactly what the graphs give."""
    from emotivoice_srv.prosody import ProsodyParams

    utt = engine.frontend.prepare("A plain sentence.", 100)[0]
    voice = engine.voices.get("jm_kumo")
    audio, _ = engine.render(utt, voice, ProsodyParams())
    result = engine.synthesize("A plain sentence.", voice="jm_kumo")
    np.testing.assert_array_equal(result.audio, audio)


def test_stream_yields_one_chunk_per_sentence_and_equals_the_whole(engine):
    text = "First sentence here. Second one follows. And a third."
    chunks = list(engine.stream(text, SynthesisOptions(voice="jf_alpha")))
    assert [c.index for c in chunks] == [0, 1, 2] and chunks[-1].is_last
    whole = engine.synthesize(text, voice="jf_alpha").audio
    np.testing.assert_array_equal(np.concatenate([c.audio for c in chunks]), whole)


def test_stream_sends_the_first_clause_first_and_whole_renders_never_cut(engine):
    from dataclasses import replace

    text = "Hello there, how are you today? I am fine."
    chunks = list(engine.stream(text, SynthesisOptions(voice="en_female_1")))
    assert [c.text for c in chunks] == ["Hello there,", "how are you today?", "I am fine."]
    assert len(chunks[0].audio) < len(chunks[1].audio)  # the first audio costs a clause
    assert engine.synthesize(text, voice="en_female_1").chunks == 2
    whole_sentences = replace(engine.config, stream_first_clause_words=0)
    engine.config, saved = whole_sentences, engine.config
    try:
        assert [c.text for c in engine.stream(text, SynthesisOptions(voice="en_female_1"))] == \
            ["Hello there, how are you today?", "I am fine."]
    finally:
        engine.config = saved


def test_long_text_is_chunked_and_synthesized(engine):
    sentence = ("The committee met on Tuesday to discuss the budget, the schedule, and the many open questions "
                "that remained after the last review; nobody expected a quick answer. ")
    text = (sentence * 7)[:1000]
    assert len(text) == 1000
    utterances = engine.frontend.prepare(text, 10_000)
    assert len(utterances) >= 6
    assert all(len(u.phonemes) <= engine.manifest.max_tokens for u in utterances)
    result = engine.synthesize(text, voice="jm_kumo", speed=2.0)
    assert result.chunks == len(utterances) and result.duration_s > 20


def test_one_sentence_longer_than_the_token_limit_is_split(engine):
    text = ", ".join(["the quick brown fox jumps over the lazy dog"] * 20) + "."
    utterances = engine.frontend.prepare(text, 10_000)
    assert len(utterances) > 1 and all(len(u.phonemes) <= 510 for u in utterances)


@pytest.mark.parametrize("text", ["", "   ", "...!?", "🙂🙂🙂", "— … —"])
def test_empty_or_unspeakable_text_is_a_clear_error(engine, text):
    with pytest.raises(TextEmpty):
        engine.synthesize(text, voice="jf_alpha")


def test_text_over_the_limit_is_rejected(engine):
    with pytest.raises(TextTooLong, match="limit is 10000"):
        engine.synthesize("a" * 10_001, voice="jf_alpha")


def test_unknown_voice_names_the_available_ones(engine):
    with pytest.raises(UnknownVoice, match="jf_alpha"):
        engine.synthesize("Hello.", voice="nobody")


def test_unknown_emotion(engine):
    with pytest.raises(UnknownEmotion):
        engine.synthesize("Hello.", voice="jf_alpha", emotion="bored")


@pytest.mark.parametrize("kwargs", [
    {"intensity": 1.5, "emotion": "happy"}, {"intensity": -0.1, "emotion": "happy"},
    {"speed": 0.0}, {"speed": 9.0}, {"speed": float("nan")}, {"pitch": 40.0}, {"energy": 50.0},
    {"emotion": "happy", "prompt": "sad"},
])
def test_out_of_range_options_are_rejected_before_inference(engine, kwargs):
    with pytest.raises(InvalidInput):
        engine.synthesize("Hello.", voice="jf_alpha", **kwargs)


def test_unknown_characters_are_dropped_not_fatal(engine):
    result = engine.synthesize("Hello ☃ world ✓ ∑ 你好.", voice="jf_alpha")
    assert result.duration_s > 0.5


def test_prompt_and_mix_render(engine):
    assert engine.synthesize("Great news!", voice="jf_alpha", prompt="very excited").emotion.label == "happy"
    mixed = engine.synthesize("Great news!", voice="jf_alpha", emotion={"happy": 0.7, "surprised": 0.3})
    assert dict(mixed.emotion.mix) == {"happy": 0.7, "surprised": 0.3}


def test_stream_renders_lazily_one_sentence_at_a_time(engine, monkeypatch):
    """The first chunk is available after rendering the first sentence only."""
    calls = []
    real_render = engine.render
    monkeypatch.setattr(engine, "render", lambda *a: calls.append(1) or real_render(*a))
    stream = engine.stream("One short sentence. Then a second one. And a third.", SynthesisOptions(voice="jm_kumo"))
    assert calls == []  # validation and text preparation only
    first = next(stream)
    assert first.index == 0 and len(calls) == 1
    assert len(list(stream)) == 2 and len(calls) == 3


def test_concurrent_synthesis_matches_sequential(engine):
    from concurrent.futures import ThreadPoolExecutor

    jobs = [("Thread safety matters.", "en_female_1", "happy"), ("Four at once.", "en_male_1", "sad"),
            ("Same answers every time.", "jf_alpha", None), ("No shared state leaks.", "jm_kumo", "angry")]
    sequential = [engine.synthesize(t, voice=v, emotion=e).audio for t, v, e in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda j: engine.synthesize(j[0], voice=j[1], emotion=j[2]).audio, jobs))
    for a, b in zip(sequential, parallel):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_overlapping_renders_use_the_narrow_sessions_and_sound_the_same(bundle_dir):
    """With a second, 1-thread session set, a render that overlaps another one runs on it; the
    audio matches the wide sessions' (only the threading differs)."""
    import threading

    from emotivoice_srv import Engine, EngineConfig

    engine = Engine.load(EngineConfig(bundle_dir, device="cpu", threads=2))
    text = "Two at once."
    alone = engine.synthesize(text, voice="en_female_1").audio
    assert engine.add_narrow_sessions(1) > 0 and "narrow_sessions" in engine.load_seconds
    used = []
    real = engine.narrow.decode
    engine.narrow.decode = lambda *a: used.append(1) or real(*a)
    barrier = threading.Barrier(2)
    results = []

    def render():
        barrier.wait()
        results.append(engine.synthesize(text, voice="en_female_1").audio)

    threads = [threading.Thread(target=render) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert used, "no render ran on the narrow sessions although two overlapped"
    for audio in results:
        np.testing.assert_allclose(audio, alone, atol=1e-3)
    assert engine._rendering == 0
    engine.synthesize(text, voice="en_female_1")
    assert len(used) <= 2  # a lone render goes back to the wide sessions


def test_a_cut_sentence_keeps_a_commas_pause_not_a_sentence_end(engine):
    """The clause cut for an early first chunk must not leave the model's sentence-final silence inside
    the sentence: the joined stream is about as long as the whole render."""
    text = "Hello there, how are you today?"
    chunks = list(engine.stream(text, SynthesisOptions(voice="en_female_1")))
    whole = engine.synthesize(text, voice="en_female_1")
    assert len(chunks) == 2
    assert sum(len(c.audio) for c in chunks) / whole.sample_rate < whole.duration_s + 0.5
