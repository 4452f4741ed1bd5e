"""Checked lookups for the quantizer's node patterns, kept apart from the rewriting.

Every lookup either returns the piece of the pattern it expects or raises ``ValueError`` naming the
node, so ``dequantize`` can refuse a graph it does not understand instead of converting it into
something subtly wrong.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from .graph_utils import consumer_map, producer_map


class QuantPatternMatcher:
    """Index of a quantized graph (initializers, producers, consumers) with checked lookups."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.g = graph
        self.init = {t.name: t for t in graph.initializer}
        self.nodes = list(graph.node)  # one wrapper per node: ids below stay valid
        self.producer = producer_map(self.nodes)
        self.consumers = consumer_map(self.nodes)
        self.graph_outputs = {o.name for o in graph.output}

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

    def _check_channel_param(self, node, name, arr, channels):
        if arr.size not in (1, channels):
            raise self._fail(node, f"{name!r} has shape {arr.shape}, expected a scalar or {channels} channels")

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
