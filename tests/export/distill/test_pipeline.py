"""Teacher corpus -> training -> resume, on the real int8 teacher with a tiny student."""
from __future__ import annotations

import json

import numpy as np
import pytest

from export.distill.corpus import CorpusConfig, build_corpus, combined_summary, load_corpus, render_recorded

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
    described = json.loads((corpus_dir / "corpus-template.json").read_text())
    assert described == again and described["teacher_bundle"] == engine.manifest.name
    assert {"blend0", "blend1"} <= set(described["voices"])
    records = load_corpus(corpus_dir)
    assert {"tokens", "style", "durations", "frames", "f0", "energy", "audio"} <= set(records[0])


def test_sentence_families_add_up_in_one_corpus(engine, corpus_dir, tmp_path):
    import shutil

    both = tmp_path / "corpus"
    shutil.copytree(corpus_dir, both)
    template = json.loads((both / "corpus-template.json").read_text())
    opened = build_corpus(engine, CorpusConfig(out_dir=both, sentences=2, seed=1, blends=1, eval_file=None,
                                               family="open"))
    assert sorted(p.name for p in both.glob("shard-open-*.pkl")) == ["shard-open-00000.pkl"]
    total = json.loads((both / "corpus.json").read_text())
    assert total == combined_summary(both) and total["families"] == ["open", "template"]
    assert total["utterances"] == template["utterances"] + opened["utterances"]
    assert total["audio_seconds"] == pytest.approx(template["audio_seconds"] + opened["audio_seconds"], abs=0.1)
    assert len(load_corpus(both)) == total["utterances"]  # training reads every family

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


def test_a_run_started_from_another_counts_all_earlier_steps(corpus_dir, tmp_path):
    pytest.importorskip("torch")
    from export.distill.student import StudentConfig
    from export.distill.train import TrainConfig, train

    tiny = StudentConfig(enc_dim=32, prosody_dim=24, text_dim=16, dec_dim=32, dec_blocks=2, bands=16)
    base = TrainConfig(corpus_dir=corpus_dir, out_dir=tmp_path / "a", steps=2, batch=2, window_frames=8, threads=1)
    train(base, tiny)
    second = train(TrainConfig(**{**base.__dict__, "out_dir": tmp_path / "b", "init_from": tmp_path / "a/checkpoint.pt"}))
    third = train(TrainConfig(**{**base.__dict__, "out_dir": tmp_path / "c", "steps": 3,
                                 "init_from": tmp_path / "b/checkpoint.pt"}))
    assert second["total_steps"] == 4 and third["total_steps"] == 7
    assert third["init"]["init_chain"] == [str(tmp_path / "b/checkpoint.pt"), str(tmp_path / "a/checkpoint.pt")]
    assert third["total_train_seconds"] >= third["train_seconds"]


def test_evaluate_scores_a_runs_checkpoint_with_whisper_over_both_voices(corpus_dir, bundle_dir, tmp_path):
    """A 3-step student babbles: the score must say so (a broken evaluation would report 0)."""
    pytest.importorskip("torch")
    from export.distill.evaluate import EVAL_VOICES, evaluate_run
    from export.distill.student import StudentConfig
    from export.distill.train import TrainConfig, train

    tiny = StudentConfig(enc_dim=32, prosody_dim=24, text_dim=16, dec_dim=32, dec_blocks=2, bands=16)
    train(TrainConfig(corpus_dir=corpus_dir, out_dir=tmp_path / "run", steps=3, batch=2, window_frames=8,
                      threads=1), tiny)
    sentences = ["The quick brown fox jumps over the lazy dog.", "Please call me back tomorrow morning."]
    result = evaluate_run(tmp_path / "run" / "checkpoint.pt", tmp_path, bundle_dir, sentences)
    assert set(result["per_voice"]) == set(EVAL_VOICES)
    assert result["pooled"] > 0.5 and len(result["errors"]) >= 2


def test_snapshots_are_kept_and_one_exports_with_its_own_provenance(corpus_dir, tmp_path):
    torch = pytest.importorskip("torch")
    import json

    from export.distill.graphs import export_student
    from export.distill.student import StudentConfig
    from export.distill.train import TrainConfig, summary_at, train

    tiny = StudentConfig(enc_dim=32, prosody_dim=24, text_dim=16, dec_dim=32, dec_blocks=2, bands=16)
    run = tmp_path / "run"
    summary = train(TrainConfig(corpus_dir=corpus_dir, out_dir=run, steps=4, batch=2, window_frames=8,
                                checkpoint_every=1, snapshot_every=2, threads=1), tiny)
    assert sorted(p.name for p in run.glob("checkpoint-*.pt")) == ["checkpoint-000002.pt", "checkpoint-000004.pt"]
    early = torch.load(run / "checkpoint-000002.pt", weights_only=False)
    at = summary_at(early, summary)
    assert (at["steps"], at["done"], at["final_losses"]["step"]) == (2, False, 2)
    assert at["snapshot_of_run"]["steps"] == 4 and summary_at(torch.load(run / "checkpoint.pt", weights_only=False),
                                                               summary) == summary
    meta = export_student(run / "checkpoint-000002.pt", tmp_path, tmp_path / "out", "run")
    assert meta["training"]["steps"] == 2
    assert json.loads((tmp_path / "out" / "student.json").read_text())["training"]["steps"] == 2
