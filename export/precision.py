"""Precision variants of the Kokoro stage graphs: int8 (as shipped), fp32 and fp16.

The shipped graph is dynamically int8 quantized by onnxruntime's quantizer. Every quantized weight
appears in one of a handful of fixed node patterns; ``dequantize`` recognizes exactly those and
rewrites each into the float op the quantizer started from:

* ``DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp, W_zp) -> Cast(float)
  -> Mul(x_scale * W_scale)``  becomes  ``MatMul(x, W)``
* ``DynamicQuantizeLinear(x) -> ConvInteger(x_q, W_q, x_zp, W_zp) [-> Add(quantized bias)]
  -> Cast(float) -> Mul(x_scale * W_scale)``  becomes  ``Conv(x, W [, bias])``
  (the quantized bias is ``int32(Floor(bias / (x_scale * W_scale)))``; the float bias is used)
* ``com.microsoft.DynamicQuantizeLSTM(X, W_q, R_q, B, ..., W_scale, W_zp, R_scale, R_zp)``
  becomes ``LSTM(X, W, R, B, ...)``; the quantizer stored W / R transposed to
  [dirs, input, 4*hidden] / [dirs, hidden, 4*hidden], ONNX wants [dirs, 4*hidden, input|hidden];
  the gate order (i, o, f, c) is the same for both ops.
* ``Gather(E_q, ids) -> DequantizeLinear(scale, zp)``  becomes  ``Gather(E, ids)``

with ``W = (W_q - W_zp) * W_scale`` (per tensor, or per output channel as stored). Anything else
that involves a quantized op raises ``ValueError`` naming the node: a graph this module does not
understand is refused instead of converted into something subtly wrong.

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

PRECISIONS = ("int8", "fp32", "fp16")

IR_VERSION = 9
"""onnxruntime 1.31 reads IR <= 13 while onnx 1.23 writes 14; the source graph is IR 9."""

INTEGER_OPS = frozenset({"MatMulInteger", "ConvInteger", "DynamicQuantizeLinear", "DynamicQuantizeLSTM"})
"""Ops that must not survive ``dequantize``."""

_QUANTIZED_OPS = INTEGER_OPS | {
    "DequantizeLinear",
    "QuantizeLinear",
    "QLinearMatMul",
    "QLinearConv",
    "MatMulIntegerToFloat",
    "DynamicQuantizeMatMul",
    "QAttention",
    "QGemm",
    "QLinearAdd",
    "QLinearMul",
}

FP16_OP_BLOCK_LIST = (
    # shape arithmetic and running sums: integers / sums beyond 2048 are not exact in float16
    "Range",
    "CumSum",
    # float32-only on every provider (the CUDA provider has no STFT kernel at all)
    "STFT",
)
"""Op types kept in float32 everywhere; see ``fp16_node_block_list`` for the node-level regions."""


# --------------------------------------------------------------------------------------------
# public API


def convert_precision(model: onnx.ModelProto, precision: str) -> onnx.ModelProto:
    """Return a copy of the int8 ``model`` in ``precision`` ("int8", "fp32" or "fp16").

    The graph interface (input / output names, float32 io) is unchanged. The result has
    ``ir_version`` 9 and passes ``onnx.checker.check_model``.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
    if precision == "int8":
        out = onnx.ModelProto()
        out.CopyFrom(model)
    elif precision == "fp32":
        out = _dequantize(model)
    else:
        out = _to_fp16(_dequantize(model), FP16_OP_BLOCK_LIST, None)
    return _finish(out)


def dequantize(model: onnx.ModelProto) -> onnx.ModelProto:
    """The float32 graph: every quantized weight dequantized, every integer op replaced."""
    return _finish(_dequantize(model))


def round_weights_to_fp16(
    model_fp32: onnx.ModelProto,
    op_block_list: Iterable[str] = FP16_OP_BLOCK_LIST,
    node_block_list: Iterable[str] | None = None,
) -> onnx.ModelProto:
    """Copy of a float32 graph whose weights are rounded to float16 and back: exactly the float
    initializers that ``to_fp16`` stores in float16 (not the ones its float32 regions read).

    Runs wherever the fp32 graph runs and shows the weight-precision part of the fp16 error.
    """
    return _finish(_emulate(model_fp32, op_block_list, node_block_list, weights_only=True))


def fp16_node_block_list(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes kept in float32 by position rather than op type. Three regions of the
    decoder's iSTFTNet generator (the other stages have none):

    * the harmonic source's phase: a ``CumSum`` that reaches a ``Sin`` through element-wise and
      layout ops, those ops, and the element-wise / layout ops feeding the ``CumSum``
      (f0 -> f0 / sr mod 1 -> CumSum -> * 2 pi -> upsample -> Sin). The phase is an unwrapped
      running sum that reaches ~1e4 rad within seconds (float16 spacing there: ~8 rad), and
      float16 rounding of f0 / sr before the sum drifts the phase (audio SNR vs fp32 drops from
      ~31 dB to ~1 dB on a 120-token utterance when only CumSum -> Sin is kept float32).
    * the analysis STFT's magnitude / phase (everything after an ``STFT`` up to the next ``Conv``):
      the phase is an atan2 built from ``Div(imag, real)``, which is 0/0 = NaN once small
      components underflow in float16.
    * the inverse STFT (everything after an ``Exp``): the magnitudes span 1e-30 .. 20 (float16
      flushes everything below 6e-8) and the overlap-add is divided by a window envelope that
      falls to 6e-4; in float16 the audio decorrelates from fp32 (correlation ~0.5-0.6).

    The cost is small: these regions are element-wise ops, an STFT and a 20-tap ConvTranspose.
    """
    nodes = list(model.graph.node)  # one wrapper per node: ids below stay valid
    producers = _producers(nodes)
    consumers = _consumers(nodes)

    def downstream(starts, until: str | None = None, through=None) -> list[onnx.NodeProto]:
        """``starts`` and what they feed; a node of type ``until`` ends its path (it is included),
        and with ``through`` given only nodes of those types (or ``until``) are entered."""
        seen: dict[int, onnx.NodeProto] = {}
        stack = list(starts)
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen[id(node)] = node
            if node.op_type == until:
                continue
            for o in node.output:
                stack.extend(
                    c for c in consumers.get(o, ()) if through is None or c.op_type in through or c.op_type == until
                )
        return list(seen.values())

    def upstream(starts, entering) -> list[onnx.NodeProto]:
        """``starts`` and the nodes they depend on, entering only nodes for which ``entering``
        holds."""
        seen: dict[int, onnx.NodeProto] = {}
        stack = list(starts)
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen[id(node)] = node
            stack.extend(p for p in (producers.get(i) for i in _node_inputs(node)) if p is not None and entering(p))
        return list(seen.values())

    def of_type(op: str) -> list[onnx.NodeProto]:
        return [n for n in nodes if n.op_type == op]

    # running sums that reach a Sin through element-wise / layout ops only, and what feeds them
    # through such ops (f0 -> f0 / sr mod 1 -> CumSum -> * 2 pi -> upsample -> Sin)
    after_cumsum = {id(n) for n in downstream(of_type("CumSum"), until="Sin", through=_PHASE_PATH_OPS)}
    phase_sins = [n for n in nodes if id(n) in after_cumsum and n.op_type == "Sin"]
    sin_to_cumsum = upstream(phase_sins, entering=lambda p: id(p) in after_cumsum)
    phase_cumsums = [n for n in sin_to_cumsum if n.op_type == "CumSum"]
    keep = {id(n) for n in sin_to_cumsum}
    keep |= {id(n) for n in upstream(phase_cumsums, entering=lambda p: p.op_type in _PHASE_PATH_OPS)}
    keep |= {id(n) for n in downstream(of_type("STFT"), until="Conv") if n.op_type != "Conv"}
    keep |= {id(n) for n in downstream(of_type("Exp"))}
    return [n.name for n in nodes if id(n) in keep]


_PHASE_PATH_OPS = frozenset({
    "Add", "Sub", "Mul", "Div", "Mod", "Neg", "Floor", "Cast", "Identity",
    "Transpose", "Reshape", "Unsqueeze", "Squeeze", "Slice", "Gather", "Concat", "Resize", "Upsample",
})


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
    return _finish(_to_fp16(model_fp32, op_block_list, node_block_list))


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
    return _finish(_emulate(model_fp32, op_block_list, node_block_list, weights_only=False))


def _dequantize(model: onnx.ModelProto) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    _Dequantizer(out.graph).run()
    _remove_dead_nodes(out.graph)
    for node in out.graph.node:
        if node.op_type in _QUANTIZED_OPS:
            raise ValueError(
                f"unrecognized quantization pattern at {node.op_type} node {node.name!r}: "
                "still read by a node that was not converted"
            )
    return out


def _to_fp16(model_fp32, op_block_list, node_block_list) -> onnx.ModelProto:
    out = _unique_node_names(model_fp32)  # copy; blocking goes by node name
    if node_block_list is None:
        node_block_list = fp16_node_block_list(out)
    _Fp16Converter(out, set(op_block_list), set(node_block_list)).run()
    return out


def _emulate(model_fp32, op_block_list, node_block_list, weights_only: bool) -> onnx.ModelProto:
    out = _unique_node_names(model_fp32)
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
        _remove_dead_nodes(g)

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


# --------------------------------------------------------------------------------------------
# dequantization


class _Dequantizer:
    def __init__(self, graph: onnx.GraphProto) -> None:
        self.g = graph
        self.init = {t.name: t for t in graph.initializer}
        self.nodes = list(graph.node)  # one wrapper per node: ids below stay valid
        self.producer = _producers(self.nodes)
        self.consumers = _consumers(self.nodes)
        self.graph_outputs = {o.name for o in graph.output}
        self.replace: dict[int, onnx.NodeProto] = {}  # id(anchor node) -> float node
        self.drop: set[int] = set()  # ids of nodes folded into a replacement
        self.new_inits: dict[str, onnx.TensorProto] = {}
        self.cache: dict[tuple, str] = {}
        self.node_names = {n.name for n in self.nodes}
        self.tensor_names = (
            set(self.init) | set(self.producer) | {i.name for i in graph.input} | self.graph_outputs
        )

    # -- traversal ------------------------------------------------------------------------------
    def run(self) -> None:
        handlers = {
            "MatMulInteger": self._matmul_integer,
            "ConvInteger": self._conv_integer,
            "DynamicQuantizeLSTM": self._lstm,
            "DequantizeLinear": self._dequantize_linear,
        }
        for node in self.nodes:
            if node.op_type in handlers:
                handlers[node.op_type](node)
            elif node.op_type in _QUANTIZED_OPS - {"DynamicQuantizeLinear"}:
                raise ValueError(f"unsupported quantized op {node.op_type} in node {node.name!r}")
        nodes = []
        for node in self.nodes:
            if id(node) in self.replace:
                nodes.append(self.replace[id(node)])
            elif id(node) not in self.drop:
                nodes.append(node)
        del self.g.node[:]
        self.g.node.extend(nodes)
        self.g.initializer.extend(self.new_inits.values())
        # The DynamicQuantizeLinear nodes and scale products are now dead; _remove_dead_nodes
        # drops them, and dequantize() refuses any that something else still reads.

    # -- helpers --------------------------------------------------------------------------------
    def _fail(self, node: onnx.NodeProto, why: str) -> ValueError:
        return ValueError(f"unrecognized quantization pattern at {node.op_type} node {node.name!r}: {why}")

    def _array(self, name: str, node: onnx.NodeProto, what: str) -> np.ndarray:
        if name not in self.init:
            raise self._fail(node, f"{what} {name!r} is not an initializer")
        return numpy_helper.to_array(self.init[name])

    def _only_consumer(self, name: str, node: onnx.NodeProto, op_type: str | tuple[str, ...]) -> onnx.NodeProto:
        ops = (op_type,) if isinstance(op_type, str) else op_type
        cs = self.consumers.get(name, [])
        if name in self.graph_outputs or len(cs) != 1 or cs[0].op_type not in ops:
            found = [c.op_type for c in cs] + (["<graph output>"] if name in self.graph_outputs else [])
            raise self._fail(node, f"{name!r} should feed exactly one {'/'.join(ops)}, feeds {found}")
        return cs[0]

    def _dql(self, node: onnx.NodeProto, q_name: str, zp_name: str) -> onnx.NodeProto:
        """The DynamicQuantizeLinear that quantizes the activation input of ``node``."""
        d = self.producer.get(q_name)
        if d is None or d.op_type != "DynamicQuantizeLinear":
            raise self._fail(node, f"activation {q_name!r} is not produced by DynamicQuantizeLinear")
        if q_name != d.output[0] or zp_name != d.output[2]:
            raise self._fail(node, "activation and its zero point come from different quantizers")
        return d

    def _scale_of_product(self, node: onnx.NodeProto, name: str, x_scale: str) -> str:
        """``name`` must be Mul(x_scale, W_scale) with W_scale an initializer; returns W_scale."""
        m = self.producer.get(name)
        if m is None or m.op_type != "Mul" or x_scale not in m.input:
            raise self._fail(node, f"{name!r} is not Mul(activation scale, weight scale)")
        others = [i for i in m.input if i != x_scale]
        if len(others) != 1 or others[0] not in self.init:
            raise self._fail(node, f"{name!r} does not multiply by a weight-scale initializer")
        return others[0]

    def _rescale_mul(self, node: onnx.NodeProto, cast: onnx.NodeProto) -> tuple[onnx.NodeProto, str]:
        """The Cast -> Mul(scale) tail; returns (Mul node, name of the combined scale)."""
        to = [a.i for a in cast.attribute if a.name == "to"]
        if to != [onnx.TensorProto.FLOAT]:
            raise self._fail(node, f"Cast {cast.name!r} does not cast to float")
        mul = self._only_consumer(cast.output[0], node, "Mul")
        scales = [i for i in mul.input if i != cast.output[0]]
        if len(scales) != 1:
            raise self._fail(node, f"Mul {mul.name!r} does not rescale the integer result")
        return mul, scales[0]

    def _float_weight(self, key: tuple, base: str, make) -> str:
        if key not in self.cache:
            name = base[: -len("_quantized")] if base.endswith("_quantized") else base + "_fp32"
            while name in self.tensor_names:
                name += "_fp32"
            self.tensor_names.add(name)
            self.new_inits[name] = numpy_helper.from_array(np.ascontiguousarray(make(), dtype=np.float32), name)
            self.cache[key] = name
        return self.cache[key]

    def _node_name(self, base: str) -> str:
        name = base[: -len("_quant")] if base.endswith("_quant") else base + "_float"
        while name in self.node_names:
            name += "_"
        self.node_names.add(name)
        return name

    @staticmethod
    def _dequant(w: np.ndarray, zp: np.ndarray | None, scale: np.ndarray, axis_shape: tuple) -> np.ndarray:
        w = w.astype(np.int32)
        if zp is not None:
            w = w - zp.astype(np.int32).reshape(axis_shape if zp.size > 1 else ())
        return w.astype(np.float64) * scale.astype(np.float64).reshape(axis_shape if scale.size > 1 else ())

    def _check_channel_param(self, node, name, arr, channels):
        if arr.size not in (1, channels):
            raise self._fail(node, f"{name!r} has shape {arr.shape}, expected a scalar or {channels} channels")

    # -- MatMulInteger ----------------------------------------------------------------------------
    def _matmul_integer(self, node: onnx.NodeProto) -> None:
        if len(node.input) != 4 or not all(node.input):
            raise self._fail(node, "expected inputs (x_q, W_q, x_zero_point, W_zero_point)")
        x_q, w_name, x_zp, w_zp_name = node.input
        d = self._dql(node, x_q, x_zp)
        w = self._array(w_name, node, "weight")
        w_zp = self._array(w_zp_name, node, "weight zero point")
        if w.ndim != 2:
            raise self._fail(node, f"weight {w_name!r} has rank {w.ndim}, expected 2")
        cast = self._only_consumer(node.output[0], node, "Cast")
        mul, scale = self._rescale_mul(node, cast)
        w_scale_name = self._scale_of_product(node, scale, d.output[1])
        w_scale = self._array(w_scale_name, node, "weight scale")
        n_out = w.shape[1]
        self._check_channel_param(node, w_zp_name, w_zp, n_out)
        self._check_channel_param(node, w_scale_name, w_scale, n_out)
        wf = self._float_weight(
            ("mm", w_name, w_zp_name, w_scale_name),
            w_name,
            lambda: self._dequant(w, w_zp, w_scale, (1, n_out)),
        )
        self.replace[id(node)] = helper.make_node(
            "MatMul", [d.input[0], wf], [mul.output[0]], name=self._node_name(node.name)
        )
        self.drop.update({id(cast), id(mul)})

    # -- ConvInteger ------------------------------------------------------------------------------
    def _conv_integer(self, node: onnx.NodeProto) -> None:
        if len(node.input) != 4 or not all(node.input):
            raise self._fail(node, "expected inputs (x_q, W_q, x_zero_point, W_zero_point)")
        x_q, w_name, x_zp, w_zp_name = node.input
        d = self._dql(node, x_q, x_zp)
        w = self._array(w_name, node, "weight")
        w_zp = self._array(w_zp_name, node, "weight zero point")
        nxt = self._only_consumer(node.output[0], node, ("Cast", "Add"))
        folded = [nxt]
        bias_name = None
        bias_scale_name = None
        if nxt.op_type == "Add":
            add = nxt
            (bias_q,) = [i for i in add.input if i != node.output[0]] or [None]
            bias_name, bias_scale_name = self._quantized_bias(node, bias_q, d.output[1])
            cast = self._only_consumer(add.output[0], node, "Cast")
            folded.append(cast)
        else:
            cast = nxt
        mul, scale = self._rescale_mul(node, cast)
        folded.append(mul)
        if bias_scale_name is not None and scale != bias_scale_name:
            raise self._fail(node, "bias quantized with a different scale than the output is rescaled by")
        w_scale_name = self._scale_of_product(node, scale, d.output[1])
        w_scale = self._array(w_scale_name, node, "weight scale")
        n_out = w.shape[0]
        self._check_channel_param(node, w_zp_name, w_zp, n_out)
        self._check_channel_param(node, w_scale_name, w_scale, n_out)
        axis_shape = (n_out,) + (1,) * (w.ndim - 1)
        wf = self._float_weight(
            ("conv", w_name, w_zp_name, w_scale_name),
            w_name,
            lambda: self._dequant(w, w_zp, w_scale, axis_shape),
        )
        inputs = [d.input[0], wf]
        if bias_name is not None:
            bias = self._array(bias_name, node, "bias")
            if bias.shape != (n_out,) or bias.dtype != np.float32:
                raise self._fail(node, f"bias {bias_name!r} has shape {bias.shape} / {bias.dtype}")
            inputs.append(bias_name)
        conv = helper.make_node("Conv", inputs, [mul.output[0]], name=self._node_name(node.name))
        allowed = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}
        for a in node.attribute:
            if a.name not in allowed:
                raise self._fail(node, f"unexpected attribute {a.name!r}")
            conv.attribute.append(a)
        self.replace[id(node)] = conv
        self.drop.update(id(n) for n in folded)

    def _quantized_bias(self, node: onnx.NodeProto, name: str | None, x_scale: str):
        """Match Reshape(Cast<int32>(Floor|Round(Div(bias, Mul(x_scale, W_scale)))), shape).

        Returns (float bias initializer, name of the bias scale). The matched nodes become dead
        and are removed with the rest.
        """
        chain = []
        cur = name
        for op in ("Reshape", "Cast", ("Floor", "Round"), "Div"):
            ops = (op,) if isinstance(op, str) else op
            p = self.producer.get(cur) if cur else None
            if p is None or p.op_type not in ops:
                raise self._fail(node, f"bias input {name!r} is not a quantized bias ({'/'.join(ops)} expected)")
            chain.append(p)
            cur = p.input[0]
        reshape, cast, _, div = chain
        shape = self._array(reshape.input[1], node, "bias reshape shape")
        if shape.ndim != 1 or int(np.prod(shape[shape != -1])) != 1:
            raise self._fail(node, f"bias reshape to {shape.tolist()} does not broadcast over channels")
        if [a.i for a in cast.attribute if a.name == "to"] != [onnx.TensorProto.INT32]:
            raise self._fail(node, "quantized bias is not cast to int32")
        bias_name, bias_scale = div.input
        if bias_name not in self.init:
            raise self._fail(node, f"bias {bias_name!r} is not an initializer")
        self._scale_of_product(node, bias_scale, x_scale)
        return bias_name, bias_scale

    # -- DynamicQuantizeLSTM ----------------------------------------------------------------------
    def _lstm(self, node: onnx.NodeProto) -> None:
        if node.domain != "com.microsoft":
            raise self._fail(node, f"unexpected domain {node.domain!r}")
        ins = list(node.input) + [""] * (12 - len(node.input))
        if len(node.input) > 12 or not all(ins[i] for i in (0, 1, 2, 8, 9, 10, 11)):
            raise self._fail(node, "expected X, W, R and W/R scales and zero points")
        w_name, r_name = ins[1], ins[2]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        hidden = attrs.get("hidden_size")
        if hidden is None:
            raise self._fail(node, "hidden_size missing")
        mats = []
        for mat_name, s_name, z_name in ((w_name, ins[8], ins[9]), (r_name, ins[10], ins[11])):
            q = self._array(mat_name, node, "weight")
            s = self._array(s_name, node, "scale")
            z = self._array(z_name, node, "zero point")
            if q.ndim != 3 or q.shape[2] != 4 * hidden:
                raise self._fail(node, f"{mat_name!r} has shape {q.shape}, expected [dirs, in, {4 * hidden}]")
            dirs = q.shape[0]
            for arr, nm in ((s, s_name), (z, z_name)):
                if arr.shape not in ((dirs,), (dirs, 4 * hidden)):
                    raise self._fail(node, f"{nm!r} has shape {arr.shape}")

            def make(q=q, s=s, z=z, dirs=dirs):
                def per(a):  # broadcast over [dirs, in, 4*hidden]
                    return a.reshape(dirs, 1, 1) if a.ndim == 1 else a.reshape(dirs, 1, 4 * hidden)

                f = (q.astype(np.int32) - per(z).astype(np.int32)).astype(np.float64) * per(s).astype(np.float64)
                return f.transpose(0, 2, 1)  # -> [dirs, 4*hidden, in]

            mats.append(self._float_weight(("lstm", mat_name, s_name, z_name), mat_name, make))
        if ins[1] == ins[2]:
            raise self._fail(node, "W and R share one initializer")
        lstm_inputs = [ins[0], mats[0], mats[1], *ins[3:8]]
        while lstm_inputs and not lstm_inputs[-1]:
            lstm_inputs.pop()
        lstm = helper.make_node("LSTM", lstm_inputs, list(node.output), name=self._node_name(node.name))
        lstm.attribute.extend(node.attribute)
        self.replace[id(node)] = lstm

    # -- Gather -> DequantizeLinear (quantized embedding tables) ------------------------------
    def _dequantize_linear(self, node: onnx.NodeProto) -> None:
        x = node.input[0]
        gather = self.producer.get(x)
        if gather is None or gather.op_type != "Gather" or gather.input[0] not in self.init:
            raise self._fail(node, "only Gather(quantized table) -> DequantizeLinear is supported")
        self._only_consumer(x, node, "DequantizeLinear")
        table_name = gather.input[0]
        table = self._array(table_name, node, "table")
        scale = self._array(node.input[1], node, "scale")
        zp_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
        zp = self._array(zp_name, node, "zero point") if zp_name else None
        if scale.size != 1 or (zp is not None and zp.size != 1):
            raise self._fail(node, "per-axis dequantization of a gathered table is not supported")
        tf = self._float_weight(
            ("gather", table_name, node.input[1], zp_name),
            table_name,
            lambda: self._dequant(table, zp, scale, ()),
        )
        new = helper.make_node("Gather", [tf, gather.input[1]], [node.output[0]], name=self._node_name(gather.name))
        new.attribute.extend(gather.attribute)
        self.replace[id(gather)] = new
        self.drop.add(id(node))


# --------------------------------------------------------------------------------------------
# graph utilities


def _producers(nodes: Iterable[onnx.NodeProto]) -> dict[str, onnx.NodeProto]:
    return {o: n for n in nodes for o in n.output if o}


def _consumers(nodes: Iterable[onnx.NodeProto]) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = collections.defaultdict(list)
    for n in nodes:
        for i in _node_inputs(n):
            out[i].append(n)
    return out


def _node_inputs(n: onnx.NodeProto) -> Iterable[str]:
    """Inputs of ``n`` including names its subgraphs read from the enclosing scope."""
    yield from (i for i in n.input if i)
    for a in n.attribute:
        subs = [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)
        for sg in subs:
            for sn in sg.node:
                yield from _node_inputs(sn)


def _remove_dead_nodes(g: onnx.GraphProto) -> None:
    """Drop nodes whose outputs reach no graph output, then unused initializers / value_info."""
    needed = {o.name for o in g.output}
    live = []
    for n in reversed(g.node):
        if any(o in needed for o in n.output):
            live.append(n)
            needed.update(_node_inputs(n))
    live.reverse()
    del g.node[:]
    g.node.extend(live)
    inits = [t for t in g.initializer if t.name in needed]
    del g.initializer[:]
    g.initializer.extend(inits)
    produced = {o for n in g.node for o in n.output}
    vis = [v for v in g.value_info if v.name in produced]
    del g.value_info[:]
    g.value_info.extend(vis)


def _unique_node_names(model: onnx.ModelProto) -> onnx.ModelProto:
    """Copy with every node named uniquely (the fp16 converter keys its casts on node names)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    seen: set[str] = set()
    for i, n in enumerate(out.graph.node):
        if not n.name or n.name in seen:
            base = n.name or f"{n.op_type}_{i}"
            name = base
            k = 0
            while name in seen:
                k += 1
                name = f"{base}_{k}"
            n.name = name
        seen.add(n.name)
    return out


def _saturate_fp16(arr: np.ndarray) -> np.ndarray:
    info = np.finfo(np.float16)
    return np.clip(arr, info.min, info.max).astype(np.float16)


def _finish(model: onnx.ModelProto) -> onnx.ModelProto:
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model
