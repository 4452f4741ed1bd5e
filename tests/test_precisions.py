"""fp32 and fp16 bundles say the same words with the same melody as the int8 bundle.

fp16 graphs are meant for CUDA; onnxruntime's CPU provider runs them too (it computes most fp16 ops
in float32 internally), which checks the graph and its fp16-rounded weights without a GPU.
"""
from __future__ import annotations

import numpy as np
import pytest

from emotivoice_srv import Engine, EngineConfig
from emotivoice_srv.prosody import expand, frames_from_durations

pytestmark = pytest.mark.slow
SENTENCES = 5


@pytest.fixture(scope="module")
def float_bundle(bundle_root):
    from export import build_bundle

    out = bundle_root / "kokoro-82m-float"
    build_bundle(out, ("int8", "fp32", "fp16"), progress=False)
    return out


@pytest.fixture(scope="module")
def engines(float_bundle):
    return {p: Engine.load(EngineConfig(float_bundle, device="cpu", precision=p, threads=2))
            for p in ("int8", "fp32", "fp16")}


@pytest.fixture(scope="module")
def transcriber():
    from emotivoice_srv.quality import Transcriber

    return Transcriber()




@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_transcripts_match_int8(precision, engines, transcriber, eval_sentences, record_property):
    """Whisper hears the same words: transcript-vs-transcript WER <= 5% and no worse against the text."""
    from emotivoice_srv.quality import word_error_rate

    texts = eval_sentences[:SENTENCES]
    heard = {p: [transcriber.transcribe(engines[p].synthesize(t, voice="en_male_1").audio, 24_000) for t in texts]
             for p in ("int8", precision)}
    between = word_error_rate(heard["int8"], heard[precision])
    record_property(f"transcript_wer_{precision}_vs_int8", round(between, 4))
    assert between <= 0.05, list(zip(heard["int8"], heard[precision]))
    assert word_error_rate(texts, heard[precision]) <= word_error_rate(texts, heard["int8"]) + 0.05


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_f0_curves_agree_within_a_few_percent(precision, engines, eval_sentences):
    base = engines["int8"]
    other = engines[precision]
    for sentence in eval_sentences[:SENTENCES]:
        utt = base.frontend.prepare(sentence, 1000)[0]
        style = base.voices.get("en_male_1").style(len(utt.phonemes))
        frames = frames_from_durations(base.graphs.duration(utt.tokens, style, 1.0).durations)
        curves = []
        for engine in (base, other):
            out = engine.graphs.duration(utt.tokens, style, 1.0)
            f0, _ = engine.graphs.prosody(expand(out.prosody_features, frames), style)
            curves.append(f0.reshape(-1))
        voiced = (curves[0] > 60) & (curves[1] > 60)
        rel = np.abs(curves[1][voiced] - curves[0][voiced]) / curves[0][voiced]
        assert voiced.sum() > 20
        assert np.median(rel) < 0.03 and np.mean(rel) < 0.05


def test_fp16_graphs_hold_fp16_weights(float_bundle):
    import onnx

    from emotivoice_srv.bundle import read_manifest

    manifest = read_manifest(float_bundle)
    assert manifest.precisions == ("int8", "fp32", "fp16")
    model = onnx.load(str(float_bundle / manifest.graph("decoder", "fp16").file))
    kinds = [init.data_type for init in model.graph.initializer]
    assert kinds.count(onnx.TensorProto.FLOAT16) > kinds.count(onnx.TensorProto.FLOAT)
    for spec in manifest.graphs:
        assert spec.inputs and spec.outputs and spec.bytes > 0
