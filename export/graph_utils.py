"""Graph walking and clean-up shared by the precision conversions.

Both the dequantizer and the fp16 converter rewrite node lists in place and need the same few
primitives: who produces / reads a tensor, dropping what no output needs, unique node names to key
on, and one final step that stamps the IR version and checks the model.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

import onnx

IR_VERSION = 9
"""onnxruntime 1.31 reads IR <= 13 while onnx 1.23 writes 14; the source graph is IR 9."""


def producer_map(nodes: Iterable[onnx.NodeProto]) -> dict[str, onnx.NodeProto]:
    return {o: n for n in nodes for o in n.output if o}


def consumer_map(nodes: Iterable[onnx.NodeProto]) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = collections.defaultdict(list)
    for n in nodes:
        for i in node_inputs(n):
            out[i].append(n)
    return out


def node_inputs(n: onnx.NodeProto) -> Iterable[str]:
    """Inputs of ``n`` including names its subgraphs read from the enclosing scope."""
    yield from (i for i in n.input if i)
    for a in n.attribute:
        subs = [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)
        for sg in subs:
            for sn in sg.node:
                yield from node_inputs(sn)


def remove_dead_nodes(g: onnx.GraphProto) -> None:
    """Drop nodes whose outputs reach no graph output, then unused initializers / value_info."""
    needed = {o.name for o in g.output}
    live = []
    for n in reversed(g.node):
        if any(o in needed for o in n.output):
            live.append(n)
            needed.update(node_inputs(n))
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


def unique_node_names(model: onnx.ModelProto) -> onnx.ModelProto:
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


def finish(model: onnx.ModelProto) -> onnx.ModelProto:
    """Stamp ``IR_VERSION`` and run the checker: the last step of every public conversion."""
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model
