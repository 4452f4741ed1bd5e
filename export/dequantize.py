"""int8 -> float32: rewrite the quantizer's node patterns into the float ops it started from.

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
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .graph_utils import finish, remove_dead_nodes
from .quant_patterns import QuantPatternMatcher

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


def dequantize(model: onnx.ModelProto) -> onnx.ModelProto:
    """The float32 graph: every quantized weight dequantized, every integer op replaced."""
    return finish(dequantize_graph(model))


def dequantize_graph(model: onnx.ModelProto) -> onnx.ModelProto:
    """``dequantize`` without the final IR stamp and check (for callers that convert further)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    _Dequantizer(out.graph).run()
    remove_dead_nodes(out.graph)
    for node in out.graph.node:
        if node.op_type in _QUANTIZED_OPS:
            raise ValueError(
                f"unrecognized quantization pattern at {node.op_type} node {node.name!r}: "
                "still read by a node that was not converted"
            )
    return out


class _Dequantizer(QuantPatternMatcher):
    """Rewrites each recognized pattern into its float op; the base class finds and checks the pieces."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        super().__init__(graph)
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
        # The DynamicQuantizeLinear nodes and scale products are now dead; remove_dead_nodes
        # drops them, and dequantize() refuses any that something else still reads.

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

    # -- MatMulInteger ----------------------------------------------------------------------------
    def _integer_operands(self, node: onnx.NodeProto):
        """(DynamicQuantizeLinear of x, weight name, weight, zero-point name, zero point) of an integer op."""
        if len(node.input) != 4 or not all(node.input):
            raise self._fail(node, "expected inputs (x_q, W_q, x_zero_point, W_zero_point)")
        x_q, w_name, x_zp, w_zp_name = node.input
        d = self._dql(node, x_q, x_zp)
        w = self._array(w_name, node, "weight")
        w_zp = self._array(w_zp_name, node, "weight zero point")
        return d, w_name, w, w_zp_name, w_zp

    def _matmul_integer(self, node: onnx.NodeProto) -> None:
        d, w_name, w, w_zp_name, w_zp = self._integer_operands(node)
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
        d, w_name, w, w_zp_name, w_zp = self._integer_operands(node)
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
