"""What stays float32 in the fp16 graph: op types everywhere, and three decoder regions by node.

Kept apart from the converter because these lists encode findings about the Kokoro decoder (where
float16 overflows, underflows or drifts), not mechanics of the conversion.
"""

from __future__ import annotations

import onnx

from .graph_utils import consumer_map, node_inputs, producer_map

FP16_OP_BLOCK_LIST = (
    # shape arithmetic and running sums: integers / sums beyond 2048 are not exact in float16
    "Range",
    "CumSum",
    # float32-only on every provider (the CUDA provider has no STFT kernel at all)
    "STFT",
)
"""Op types kept in float32 everywhere; see ``fp16_node_block_list`` for the node-level regions."""


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
    producers = producer_map(nodes)
    consumers = consumer_map(nodes)

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
            stack.extend(p for p in (producers.get(i) for i in node_inputs(node)) if p is not None and entering(p))
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
