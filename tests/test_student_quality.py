"""Acceptance of the distilled student on real audio: intelligibility, emotion, and the teacher's voice.

The student (the default fallback tier) must stay intelligible (Whisper tiny.en WER over the shared
development sentences with two voices, at its measured bar), must still follow the emotion presets (the engine's edits
drive its F0, durations and gain), and must sound like the teacher rendering the same voice.
Measured numbers are attached with ``record_property``; bench/results/distill-*.md has the full set.
"""
from __future__ import annotations

import numpy as np
import pytest

from emotivoice_srv.bundle.student import FALLBACK_NAME

EVAL_VOICES = ("en_female_1", "en_male_1")
SAMPLE = 6
SR = 24_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def student(bundle_dir, tmp_path_factory):
    from emotivoice_srv import Engine, EngineConfig
    from export.fallback import build_fallback_bundle

    out = tmp_path_factory.mktemp("student") / FALLBACK_NAME
    build_fallback_bundle(bundle_dir, out)
    return Engine.load(EngineConfig(bundle_dir=out, device="cpu", precision="fp32", threads=2))


@pytest.fixture(scope="module")
def render(student):
    cache: dict[tuple, np.ndarray] = {}

    def _render(text: str, voice: str, emotion: str = "neutral", engine=None) -> np.ndarray:
        engine = engine or student
        key = (id(engine), text, voice, emotion)
        if key not in cache:
            cache[key] = engine.synthesize(text, voice=voice, emotion=emotion).audio
        return cache[key]

    return _render


WER_BAR = 0.11
"""Measured 9.4 % (bench/results/distill-cpu2-2026-11-22.md) for the committed student: the issue's
10 % target, met by a checkpoint chosen on separate dev sentences (10.0 % there; the run's other
checkpoints scored 10.9-11.7 % on dev and 7.9-10.4 % here, so about a point of the margin is
checkpoint-to-checkpoint noise). The bar guards the committed student against regressions, with
room for a few words of numeric drift between thread counts and machines."""


def test_student_wer_stays_within_its_measured_bar_with_two_voices(render, eval_sentences, record_property):
    from emotivoice_srv.quality import Transcriber, word_error_rate

    asr = Transcriber()
    refs, hyps = [], []
    for voice in EVAL_VOICES:
        for sentence in eval_sentences:
            refs.append(sentence)
            hyps.append(asr.transcribe(render(sentence, voice), SR))
    wer = word_error_rate(refs, hyps)
    record_property("student_wer", round(wer, 4))
    assert len(refs) >= 40
    assert wer <= WER_BAR, [(r, h) for r, h in zip(refs, hyps) if word_error_rate([r], [h]) > 0]


def _median_shift(render, sentences, emotion, fn):
    a = np.array([fn(render(s, v, emotion)) for v in EVAL_VOICES for s in sentences])
    n = np.array([fn(render(s, v)) for v in EVAL_VOICES for s in sentences])
    return a, n


def test_emotion_presets_move_f0_rate_and_energy_the_right_way_on_the_student(render, eval_sentences,
                                                                              record_property):
    from emotivoice_srv.quality import active_rms_db, median_f0_hz, speech_duration_s

    sample = eval_sentences[:SAMPLE]
    f0 = lambda a: median_f0_hz(a, SR)  # noqa: E731
    for emotion in ("happy", "surprised"):
        a, n = _median_shift(render, sample, emotion, f0)
        shift = float(np.median(12 * np.log2(a / n)))
        record_property(f"student_f0_shift_st_{emotion}", round(shift, 2))
        assert shift >= 1.5, emotion
    a, n = _median_shift(render, sample, "sad", f0)
    sad_shift = float(np.median(12 * np.log2(a / n)))
    a, n = _median_shift(render, sample, "sad", lambda x: speech_duration_s(x, SR))
    slowdown = float(np.median(a / n))
    a, n = _median_shift(render, sample, "angry", lambda x: active_rms_db(x, SR))
    gain = float(np.median(a - n))
    record_property("student_sad", {"f0_shift_st": round(sad_shift, 2), "duration_ratio": round(slowdown, 3)})
    record_property("student_angry_rms_gain_db", round(gain, 2))
    assert sad_shift < -1.0 and slowdown >= 1.08 and gain >= 2.0


def test_student_sounds_like_the_teacher_rendering_the_same_voice(render, engine, eval_sentences, record_property):
    """Student vs teacher rendition of the same sentence and voice is closer (d-vector cosine) than the
    teacher's two voices are to each other, and at least 0.75 (the GE2E figures are in bench distill)."""
    from emotivoice_srv.quality import SpeakerEncoder, cosine

    enc = SpeakerEncoder()
    sample = eval_sentences[:SAMPLE]

    def embed(voice, engine_=None):
        return enc.embed(np.concatenate([render(s, voice, engine=engine_) for s in sample]), SR)

    same = [cosine(embed(v), embed(v, engine)) for v in EVAL_VOICES]
    other = cosine(embed(EVAL_VOICES[0], engine), embed(EVAL_VOICES[1], engine))
    record_property("student_vs_teacher_dvector", [round(x, 3) for x in same])
    assert min(same) >= 0.75 and min(same) > other + 0.1
