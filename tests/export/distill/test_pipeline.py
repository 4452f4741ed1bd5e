"""Teacher corpus -> training -> resume, on the real int8 teacher with a tiny student."""
from __future__ import annotations

import json

import numpy as np
import pytest

from export.distill.corpus import CorpusConfig, build_corpus, load_corpus, render_recorded

TEXTS = ["The quiet librarian found a silver spoon.", "Wait! It's 12:30, Anna?"]


def test_recorded_render_is_the_engines_own_rendering(engine):
    from emotivoice_srv import SynthesisOptions

    options = SynthesisOptions(voice="en_male_1", emotion="sad", intensity=0.8)
    records = render_recorded(engine, TEXTS[0], options)
    assert len(records) == 1
    r = records[0]
    reference = engine.synthesize(TEXTS[0], options)
    # the recorded audio is the decoder's output before the host gain the emotion applies
    gain = 10 ** (reference.prosody.energy_db / 20)
    np.testing.assert_allclose(r["audio"].astype(np.float32) * gain, reference.audio, atol=2e-3)
    assert r["frames"].sum() * 600 == len(r["audio"]) and len(r["f0"]) == 2 * r["frames"].sum()
    assert r["speed"] == pytest.approx(reference.prosody.rate)
    assert not np.array_equal(r["f0"], r["f0_raw"])  # sad edits the teacher's pitch curve


@pytest.fixture(scope="module")
def corpus_dir(engine, tmp_path_factory):
    out = tmp_path_factory.mktemp("distill") / "corpus"
    summary = build_corpus(engine, CorpusConfig(out_dir=out, sentences=4, blends=2, eval_file=None))
    assert summary["utterances"] >= 4 and summary["audio_seconds"] > 2
    return out


def test_corpus_is_resumable_and_described(engine, corpus_dir):
    shards = sorted(corpus_dir.glob("shard-*.pkl"))
    stamp = [p.stat().st_mtime_ns for p in shards]
    again = build_corpus(engine, CorpusConfig(out_dir=corpus_dir, sentences=4, blends=2, eval_file=None))
    assert [p.stat().st_mtime_ns for p in shards] == stamp  # kept, not re-rendered
    described = json.loads((corpus_dir / "corpus.json").read_text())
    assert described == again and described["teacher_bundle"] == engine.manifest.name
    assert {"blend0", "blend1"} <= set(described["voices"])
    records = load_corpus(corpus_dir)
    assert {"tokens", "style", "durations", "frames", "f0", "energy", "audio"} <= set(records[0])


def test_training_checkpoints_and_resumes_where_it_stopped(corpus_dir, tmp_path):
    torch = pytest.importorskip("torch")
    from export.distill.student import StudentConfig
    from export.distill.train import TrainConfig, load_student, train

    tiny = StudentConfig(enc_dim=32, prosody_dim=24, text_dim=16, dec_dim=32, dec_blocks=2, bands=16)
    config = TrainConfig(corpus_dir=corpus_dir, out_dir=tmp_path, steps=3, batch=2, window_frames=8,
                         checkpoint_every=2, threads=1)
    first = train(config, tiny)
    assert first["steps"] == 3 and first["done"]
    resumed = train(TrainConfig(**{**config.__dict__, "steps": 5}))
    assert resumed["steps"] == 5
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["step"] == 5 and state["student_config"]["dec_dim"] == 32
    assert all(np.isfinite(v) for k, v in resumed["final_losses"].items() if k != "step")
    assert load_student(tmp_path / "checkpoint.pt").config == tiny
