"""float32 -> float16: the fp16 graph and its two float32 stand-ins for CPU checks.

The fp16 graph (``to_fp16``) is the fp32 graph with float16 weights and compute and float32
inputs / outputs. What breaks in half precision stays float32: a few op types
(``FP16_OP_BLOCK_LIST``) and three regions of the decoder's generator (``fp16_node_block_list``:
the harmonic source's phase, the analysis STFT's magnitude / phase, the inverse STFT). The graph is
meant for the CUDA execution provider. onnxruntime's x86 CPU provider runs it, but falls back to
float32 for nearly every op (it has float16 kernels for Transpose, Concat and the layer norms only),
so on CPU two stand-ins are the checkable ones: ``round_weights_to_fp16`` (float32 graph, weights
rounded to float16 and back) and ``emulate_fp16`` (additionally every activation the float16 graph
stores rounded to float16).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .fp16_block_list import FP16_OP_BLOCK_LIST, fp16_node_block_list
from .graph_utils import finish, remove_dead_nodes, unique_node_names


def to_fp16(
    model_fp32: onnx.ModelProto,
    op_block_list: Iterable[str] = FP16_OP_BLOCK_LIST,
    node_block_list: Iterable[str] | None = None,
) -> onnx.ModelProto:
    """float16 weights and compute, float32 graph inputs and outputs.

    Every node computes in float16 except the blocked ones (``op_block_list`` by type,
    ``node_block_list`` by name; default ``fp16_node_block_list``), casts that turn floats into
    integers / booleans (shape arithmetic stays exact), and the ``roi`` / ``scales`` inputs of
    ``Resize`` (float32 by definition). Cast nodes are inserted where a tensor crosses between the
    two precisions; a float initializer read on both sides is stored in both.

    Written here rather than with onnxconverter-common's ``convert_float_to_float16`` because on
    these graphs that produced invalid or wrong models: it clips constants to +-1e4 (the Snake
    activation's 1/alpha reaches 1.06e4), retypes ``Cast(to=FLOAT)`` outputs without changing the
    cast, keeps initializers shared with a blocked node in float32 for every reader, and breaks a
    graph output that is also read inside the graph (stage a's prosody features).
    """
    return finish(fp16_graph(model_fp32, op_block_list, node_block_list))


def emulate_fp16(
    model_fp32: onnx.ModelProto,
    op_block_list: Iterable[str] = FP16_OP_BLOCK_LIST,
    node_block_list: Iterable[str] | None = None,
) -> onnx.ModelProto:
    """CPU emulation of ``to_fp16``: float32 compute, but every weight, input and node output the
    float16 graph would hold in float16 is rounded to float16 (Cast to float16 and back).

    onnxruntime's CPU provider has float16 kernels for few ops (x86: Transpose, Concat,
    LayerNormalization, SkipLayerNormalization) and silently runs the rest of an fp16 graph in
    float32, so running the fp16 graph on CPU mostly measures weight rounding. This measures the
    storage precision a GPU run has (not its float16 arithmetic inside kernels).
    """
    return finish(_emulate(model_fp32, op_block_list, node_block_list, weights_only=False))


def round_weights_to_fp16(
    model_fp32: onnx.ModelProto,
    op_block_list: Iterable[str] = FP16_OP_BLOCK_LIST,
    node_block_list: Iterable[str] | None = None,
) -> onnx.ModelProto:
    """Copy of a float32 graph whose weights are rounded to float16 and back: exactly the float
    initializers that ``to_fp16`` stores in float16 (not the ones its float32 regions read).

    Runs wherever the fp32 graph runs and shows the weight-precision part of the fp16 error.
    """
    return finish(_emulate(model_fp32, op_block_list, node_block_list, weights_only=True))


def fp16_graph(model_fp32, op_block_list, node_block_list) -> onnx.ModelProto:
    """``to_fp16`` without the final IR stamp and check (for callers that finish it themselves)."""
    out = unique_node_names(model_fp32)  # copy; blocking goes by node name
    if node_block_list is None:
        node_block_list = fp16_node_block_list(out)
    _Fp16Converter(out, set(op_block_list), set(node_block_list)).run()
    return out


def _emulate(model_fp32, op_block_list, node_block_list, weights_only: bool) -> onnx.ModelProto:
    out = unique_node_names(model_fp32)
    if node_block_list is None:
        node_block_list = fp16_node_block_list(out)
    _Fp16Converter(out, set(op_block_list), set(node_block_list)).emulate(weights_only)
    return out


_FLOAT = onnx.TensorProto.FLOAT
_HALF = onnx.TensorProto.FLOAT16
_FP32_INPUT_SLOTS = {"Resize": {1, 2}}
"""Inputs that are float32 whatever the data type of the node (Resize's roi and scales)."""
_FLOAT_SOURCES = {"Cast", "ConstantOfShape", "Constant"}
"""Ops with a float output and no float input that the conversion retypes through an attribute."""


class _Fp16Converter:
    def __init__(self, model: onnx.ModelProto, op_block: set[str], node_block: set[str]) -> None:
        self.g = graph = model.graph
        self.op_block = op_block
        self.node_block = node_block
        self.nodes = list(graph.node)  # one wrapper per node: ids below stay valid
        for n in self.nodes:
            if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in n.attribute):
                raise ValueError(f"fp16 conversion does not handle subgraphs (node {n.name!r})")
        self.types = _elem_types(model)
        self.inits = {t.name: t for t in graph.initializer}
        self.taken = set(self.types) | set(self.inits) | {n.name for n in self.nodes}

    def _fresh(self, base: str) -> str:
        name = base
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name

    def _is_float(self, name: str) -> bool:
        return bool(name) and self.types.get(name) == _FLOAT

    def _converts(self, n: onnx.NodeProto) -> bool:
        if n.op_type in self.op_block or n.name in self.node_block:
            return False
        if n.domain not in ("", "ai.onnx", "com.microsoft"):
            return False
        float_in = any(self._is_float(i) for i in n.input)
        float_out = any(self._is_float(o) for o in n.output)
        if n.op_type == "Cast":
            # float -> int / bool stays float32 so shape arithmetic remains exact
            return _attr(n, "to") == _FLOAT
        if float_in:
            return True
        if float_out and n.op_type in _FLOAT_SOURCES:
            t = _attr(n, "value")
            return t is None or t.data_type == _FLOAT
        return False

    def run(self) -> None:
        g = self.g
        converts = {id(n): self._converts(n) for n in self.nodes}
        half = {o for n in self.nodes if converts[id(n)] for o in n.output if self._is_float(o)}

        # float16 tensors that are graph outputs: compute under a private name, cast at the end
        tail = []
        for out in g.output:
            if out.name in half:
                inner = self._fresh(out.name + "_fp16")
                for n in self.nodes:
                    for k, o in enumerate(n.output):
                        if o == out.name:
                            n.output[k] = inner
                    for k, i in enumerate(n.input):
                        if i == out.name:
                            n.input[k] = inner
                half.discard(out.name)
                half.add(inner)
                self.types[inner] = _FLOAT
                cast_name = self._fresh(out.name + "_to_fp32")
                tail.append(helper.make_node("Cast", [inner], [out.name], to=_FLOAT, name=cast_name))

        casts: dict[tuple[str, int], str] = {}
        init_want: dict[str, set[int]] = collections.defaultdict(set)
        init_refs: list[tuple[onnx.NodeProto, int, str]] = []
        nodes: list[onnx.NodeProto] = []
        for n in self.nodes:
            conv = converts[id(n)]
            keep32 = _FP32_INPUT_SLOTS.get(n.op_type, set())
            for k, x in enumerate(n.input):
                if not self._is_float(x):
                    continue
                want = _HALF if conv and k not in keep32 else _FLOAT
                if x in self.inits:
                    init_want[x].add(want)
                    if want == _HALF:
                        init_refs.append((n, k, x))
                    continue
                have = _HALF if x in half else _FLOAT
                if have != want:
                    key = (x, want)
                    if key not in casts:
                        suffix = "_fp16" if want == _HALF else "_fp32"
                        casts[key] = self._fresh(x + suffix)
                        cast_name = self._fresh(casts[key] + "_cast")
                        nodes.append(helper.make_node("Cast", [x], [casts[key]], to=want, name=cast_name))
                    n.input[k] = casts[key]
            if conv:
                self._retype_attributes(n)
            nodes.append(n)
        nodes.extend(tail)

        # initializers: float16 in place when only float16 readers, both copies when shared
        half_name: dict[str, str] = {}
        for name, wants in init_want.items():
            if _HALF not in wants:
                continue
            t = self.inits[name]
            arr16 = _saturate_fp16(numpy_helper.to_array(t))
            if wants == {_HALF}:
                t.CopyFrom(numpy_helper.from_array(arr16, name))
                half_name[name] = name
            else:
                copy = self._fresh(name + "_fp16")
                g.initializer.append(numpy_helper.from_array(arr16, copy))
                half_name[name] = copy
        for n, k, x in init_refs:
            n.input[k] = half_name[x]
        del g.node[:]  # (copies the nodes: edit them before this)
        g.node.extend(nodes)
        # types changed along the way: drop the stale value_info
        del g.value_info[:]

    def emulate(self, weights_only: bool) -> None:
        g = self.g
        converts = {id(n): self._converts(n) for n in self.nodes}
        rounded: dict[str, str] = {}  # float32 tensor -> its float16-rounded float32 copy
        rounded_inits: list[onnx.TensorProto] = []

        def round_trip(name: str, nodes: list[onnx.NodeProto], out: str | None = None) -> str:
            out = out or self._fresh(name + "_fp16r")
            mid = self._fresh(name + "_as_fp16")
            nodes.append(helper.make_node("Cast", [name], [mid], to=_HALF, name=self._fresh(mid + "_cast")))
            nodes.append(helper.make_node("Cast", [mid], [out], to=_FLOAT, name=self._fresh(out + "_cast")))
            return out

        produced_rounded: set[str] = set()
        nodes: list[onnx.NodeProto] = []
        for n in self.nodes:
            conv = converts[id(n)]
            if conv:
                keep32 = _FP32_INPUT_SLOTS.get(n.op_type, set())
                for k, x in enumerate(n.input):
                    if not self._is_float(x) or k in keep32 or x in produced_rounded:
                        continue
                    if weights_only and x not in self.inits:
                        continue
                    if x not in rounded:
                        if x in self.inits:
                            arr = _saturate_fp16(numpy_helper.to_array(self.inits[x])).astype(np.float32)
                            rounded[x] = self._fresh(x + "_fp16r")
                            rounded_inits.append(numpy_helper.from_array(arr, rounded[x]))
                        else:
                            rounded[x] = round_trip(x, nodes)
                    n.input[k] = rounded[x]
            nodes.append(n)
            if conv and not weights_only:
                for k, o in enumerate(n.output):
                    if self._is_float(o):
                        pre = self._fresh(o + "_fp32")
                        n.output[k] = pre
                        round_trip(pre, nodes, out=o)
                        produced_rounded.add(o)
        del g.node[:]
        g.node.extend(nodes)
        g.initializer.extend(rounded_inits)
        remove_dead_nodes(g)

    @staticmethod
    def _retype_attributes(n: onnx.NodeProto) -> None:
        for a in n.attribute:
            if n.op_type == "Cast" and a.name == "to" and a.i == _FLOAT:
                a.i = _HALF
            elif a.type == onnx.AttributeProto.TENSOR and a.t.data_type == _FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(_saturate_fp16(numpy_helper.to_array(a.t)), a.t.name))


def _attr(n: onnx.NodeProto, name: str):
    for a in n.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return None


def _elem_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every tensor (onnx type inference; contrib ops it cannot type get the type
    of their first input)."""
    g = model.graph
    inferred = onnx.shape_inference.infer_shapes(model).graph
    types = {
        v.name: v.type.tensor_type.elem_type
        for v in list(inferred.value_info) + list(inferred.input) + list(inferred.output)
        if v.type.tensor_type.elem_type
    }
    types.update({t.name: t.data_type for t in g.initializer})
    for n in g.node:  # contrib ops onnx does not know: outputs typed like the first input
        for o in n.output:
            if o and o not in types:
                if n.domain == "com.microsoft" and n.input and n.input[0] in types:
                    types[o] = types[n.input[0]]
                else:
                    raise ValueError(f"cannot infer the type of {o!r} (output of {n.op_type} node {n.name!r})")
    return types


def _saturate_fp16(arr: np.ndarray) -> np.ndarray:
    info = np.finfo(np.float16)
    return np.clip(arr, info.min, info.max).astype(np.float16)
