"""Cutting the single Kokoro graph into the three stages the host drives.

The names below are the tensors where the original graph is cut; they keep the module paths of the
PyTorch model (see docs/architecture.md). Each stage's boundary tensors are renamed to plain names so
the runtime never depends on exporter-generated identifiers.
"""
from __future__ import annotations

import onnx
import onnx.utils

from emotivoice_srv.errors import SourceError

IR_VERSION = 9  # onnxruntime 1.31 reads at most IR 13; onnx 1.23 would write 14

# stage -> (inputs, outputs), each as (original tensor name, bundle name)
STAGE_CUTS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = {
    "duration": (
        (("tokens", "tokens"), ("style", "style"), ("speed", "speed")),
        (("/encoder/Div_output_0", "durations"),
         ("/encoder/predictor/text_encoder/Concat_4_output_0", "prosody_features"),
         ("/encoder/text_encoder/Transpose_2_output_0", "text_features")),
    ),
    "prosody": (
        (("/encoder/MatMul_output_0", "prosody_aligned"), ("style", "style")),
        (("/encoder/Reshape_output_0", "f0"), ("/encoder/Reshape_1_output_0", "energy")),
    ),
    "decoder": (
        (("/encoder/MatMul_1_output_0", "text_aligned"), ("/encoder/Reshape_output_0", "f0"),
         ("/encoder/Reshape_1_output_0", "energy"), ("style", "style")),
        (("audio", "audio"),),
    ),
}


def rename_tensor(model: onnx.ModelProto, old: str, new: str) -> None:
    """Rename a tensor everywhere it appears (node inputs/outputs, graph inputs/outputs)."""
    if old == new:
        return
    graph = model.graph
    for node in graph.node:
        node.input[:] = [new if x == old else x for x in node.input]
        node.output[:] = [new if x == old else x for x in node.output]
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.name == old:
            value.name = new


def split_stages(model: onnx.ModelProto) -> dict[str, onnx.ModelProto]:
    """Extract the duration, prosody and decoder graphs from the full Kokoro graph."""
    names = {o for node in model.graph.node for o in node.output} | {i.name for i in model.graph.input}
    extractor = onnx.utils.Extractor(model)
    stages = {}
    for stage, (inputs, outputs) in STAGE_CUTS.items():
        missing = [old for old, _ in inputs + outputs if old not in names]
        if missing:
            raise SourceError(f"source graph has no tensors {missing}: not the expected Kokoro export")
        sub = extractor.extract_model([old for old, _ in inputs], [old for old, _ in outputs])
        for old, new in inputs + outputs:
            rename_tensor(sub, old, new)
        sub.ir_version = IR_VERSION
        sub.graph.name = f"kokoro_{stage}"
        stages[stage] = sub
    return stages
